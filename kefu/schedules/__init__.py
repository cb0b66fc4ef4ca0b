"""Business hours per team: weekly hours in a time zone, public holidays and dated exceptions."""
