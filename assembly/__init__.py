"""The ffmpeg stage of Echoes: photos and clips in, finished MP4s out.

This package is framework-free: it imports nothing from ``api`` or ``worker`` and reads no
settings. Everything it needs is passed in as arguments.
"""
