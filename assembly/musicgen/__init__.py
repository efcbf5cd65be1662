"""Echoes' built-in music library, synthesised at setup (no network, no licensed tracks).

``build_library(out_dir)`` writes each track as ``<slug>.m4a`` with a ~15 s
``<slug>-preview.m4a`` and lists them in ``library.json``; ``load_library(out_dir)``
reads that list back. ``python -m assembly.musicgen --out var/music`` does the same from
the command line.
"""

from assembly.musicgen.library import GENERATOR_VERSION, TrackMeta, build_library, load_library

__all__ = ["GENERATOR_VERSION", "TrackMeta", "build_library", "load_library"]
