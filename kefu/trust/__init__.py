"""Trust and safety: proving who a customer is, and keeping the secrets they paste out of storage."""
