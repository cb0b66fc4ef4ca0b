"""Reports: facts derived from the domain's durable logs, hourly rollups, and the dashboards' tables."""
