"""Paths shared by tests: the repository root and the shared fixtures beside it."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURES = REPO_ROOT.parent / "shared" / "fixtures"
PHOTOS = FIXTURES / "photos"
#: The generated built-in music library is deterministic: tests build it once and share it.
MUSIC_CACHE = REPO_ROOT / ".cache" / "music"
