"""Local content checks that run before any provider sees a person's media."""
