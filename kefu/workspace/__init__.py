"""The read side of the agent console: named views with counts, search and the customer panel."""
