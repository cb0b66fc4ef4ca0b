"""Agent presence, capacity-aware assignment of conversations to agents, and transfers."""
