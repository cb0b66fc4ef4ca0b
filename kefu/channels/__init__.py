"""Official support channels (the registry customers check against) and the contact page's live facts."""
