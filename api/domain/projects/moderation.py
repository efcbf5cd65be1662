"""A small blocklist for clip prompts, checked before any credit is spent.

Providers run their own moderation too (Runway refuses with ``SAFETY.*``); this catches the
obvious cases early with a message the person can act on, and costs nothing.
"""

from __future__ import annotations

import re

from api.errors import InvalidInput

MAX_PROMPT_LENGTH = 500

_BLOCKED = (
    "nude", "naked", "nsfw", "porn", "sex", "sexual", "explicit", "genitals", "gore", "gory",
    "decapitat", "dismember", "mutilat", "behead", "blood everywhere", "suicide", "self-harm",
    "kill", "murder", "massacre", "torture", "terrorist", "bomb", "shooting", "nazi",
    "swastika", "child abuse", "rape",
)
_PATTERN = re.compile(r"\b(" + "|".join(re.escape(word) for word in _BLOCKED) + r")", re.IGNORECASE)


def clean_prompt(prompt: str | None) -> str | None:
    """The prompt, trimmed (``None`` when empty); 422 when too long or not allowed."""
    if prompt is None:
        return None
    text = " ".join(prompt.split())
    if not text:
        return None
    if len(text) > MAX_PROMPT_LENGTH:
        raise InvalidInput(
            f"Please keep the prompt under {MAX_PROMPT_LENGTH} characters (it has {len(text)}).",
            field="prompt",
        )
    match = _PATTERN.search(text)
    if match:
        raise InvalidInput(
            f"This prompt can't be used: “{match.group(0)}” goes against our content rules. "
            "Describe the gentle motion you'd like instead, e.g. “she smiles and the wind moves her hair”.",
            field="prompt",
        )
    return text
