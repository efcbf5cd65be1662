"""A small blocklist for clip prompts, checked before any credit is spent.

Providers run their own moderation too (Runway refuses with ``SAFETY.*``); this catches the
obvious cases early with a message the person can act on, and costs nothing.

Terms match whole words only (with their usual inflections spelled out), so innocent words
that merely start the same way — "a shooting star", "sextant", "killdeer", "Essex" — pass.
"""

from __future__ import annotations

import re

from api.errors import InvalidInput

MAX_PROMPT_LENGTH = 500

#: Whole words or phrases; each line is one idea with the inflections people actually type.
_BLOCKED = (
    "nude", "nudes", "nudity", "naked", "nsfw", "porn", "porno", "pornographic", "pornography",
    "sex", "sexy", "sexual", "sexually", "explicit", "genital", "genitals", "topless",
    "gore", "gory", "bloody corpse", "blood everywhere",
    "decapitate", "decapitated", "decapitating", "decapitation",
    "dismember", "dismembered", "dismembering", "dismemberment",
    "mutilate", "mutilated", "mutilating", "mutilation",
    "behead", "beheaded", "beheading",
    "suicide", "self-harm", "self harm",
    "kill", "kills", "killed", "killing", "killer", "murder", "murders", "murdered", "murdering",
    "massacre", "massacred", "torture", "tortured", "torturing",
    "terrorist", "terrorism", "bomb", "bombs", "bombing",
    "shoot him", "shoot her", "shoot them", "shoots him", "shoots her", "shot dead",
    "school shooting", "mass shooting", "gunshot",
    "nazi", "nazis", "swastika", "child abuse", "rape", "raped", "raping",
)
_PATTERN = re.compile(
    r"(?<!\w)(" + "|".join(re.escape(term).replace(r"\ ", r"\s+") for term in _BLOCKED) + r")(?!\w)",
    re.IGNORECASE,
)


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
