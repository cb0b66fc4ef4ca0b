"""Outbound webhooks: signed POSTs of conversation and message events to integrations' URLs."""
