"""Trust and safety: redacting pasted secrets, anti-phishing codes, proving who the customer is."""
