"""The Telegram channel: a support bot per inbox (docs/channels/telegram.md)."""
