"""Database access: models, engine/session configuration and migrations."""
