"""SLA policies and each conversation's deadlines, counted in business time."""
