"""The phone channel: Twilio voice webhooks (menu, voice messages), call backs and their queue."""
