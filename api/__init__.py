"""The Echoes HTTP API (Litestar)."""
