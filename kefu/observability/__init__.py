"""Metrics (Prometheus) and log context: what operators watch; imports no web framework."""
