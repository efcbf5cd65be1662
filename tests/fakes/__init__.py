"""Faithful local stand-ins for the external services Echoes talks to, for tests."""
