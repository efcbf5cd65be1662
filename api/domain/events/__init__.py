"""Live events over Server-Sent Events (the types and Redis side live in :mod:`api.events`)."""
