"""Echoes workers: SAQ job functions, motion providers and the Runpod handler."""
