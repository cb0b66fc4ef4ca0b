"""The X channel: direct messages to the support account, through the Account Activity API."""
