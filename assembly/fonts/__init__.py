"""Fonts that ship with Echoes (Inter, SIL Open Font License; see LICENSE-Inter.txt).

Text is rendered with Pillow from these files, so no system font or libfreetype-enabled
ffmpeg build is assumed.
"""

from __future__ import annotations

from pathlib import Path

_DIR = Path(__file__).parent

REGULAR = _DIR / "Inter-Regular.otf"
SEMIBOLD = _DIR / "Inter-SemiBold.otf"


def font_path(weight: str = "regular") -> Path:
    """Path of the shipped font file for ``weight`` (``"regular"`` or ``"semibold"``)."""
    return {"regular": REGULAR, "semibold": SEMIBOLD}[weight]
