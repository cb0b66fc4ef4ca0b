"""Adapters to systems outside Kefu (the exchange back office); no web framework imports here."""
