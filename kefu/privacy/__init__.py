"""Data protection: retention purges, and customers' export and erasure requests (GDPR / PIPL)."""
