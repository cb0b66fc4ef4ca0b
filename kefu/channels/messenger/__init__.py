"""The Messenger channel: Facebook Page conversations and Instagram messaging (Meta's Messenger Platform)."""
