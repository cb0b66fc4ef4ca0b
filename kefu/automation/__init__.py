"""Automation for the agent console: triggers, auto-close, macros, saved views and reply checks."""
