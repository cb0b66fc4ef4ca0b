"""Inbound email: turn raw RFC 5322 bytes into a ParsedEmail that never raises, whatever arrives.

`parse.parse_email` is the entry point; `raw` keeps the original bytes (compressed) beside it and
`quotes` strips reply history for display. Parsing needs no database and does no I/O: ingest and
threading build on it.
"""
