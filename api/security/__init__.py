"""Key material derived from ``SECRET_KEY`` and the helpers that use it."""
