"""Outbound email: templates in zh-CN and en, composed safely and sent through the outbox."""
