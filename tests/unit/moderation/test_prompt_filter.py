"""The prompt blocklist matches whole words: innocent words that share a prefix pass."""

from __future__ import annotations

import pytest

from api.domain.projects.moderation import clean_prompt
from api.errors import InvalidInput


@pytest.mark.parametrize(
    "prompt",
    [
        "a shooting star crosses the sky",
        "grandpa holds his sextant on deck",
        "a killdeer runs along the shore",
        "the children play in Essex",
        "skilled hands knead the dough",
        "a bombe glacée on the table",
        "she smiles and the wind moves her hair",
    ],
)
def test_innocent_prompts_that_share_a_prefix_with_a_blocked_word_pass(prompt: str) -> None:
    assert clean_prompt(prompt) == prompt


@pytest.mark.parametrize(
    ("prompt", "word"),
    [
        ("make her naked", "naked"),
        ("Sex on the beach", "Sex"),
        ("a sex-tape scene", "sex"),
        ("the soldier kills the prisoner", "kills"),
        ("someone gets killed", "killed"),
        ("a bomb goes off", "bomb"),
        ("a school  shooting", "school  shooting"),
        ("he is going to shoot her", "shoot her"),
        ("blood everywhere on the floor", "blood everywhere"),
        ("NSFW please", "NSFW"),
        ("a self-harm scene", "self-harm"),
        ("a decapitated statue comes alive", "decapitated"),
    ],
)
def test_blocked_words_still_block(prompt: str, word: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        clean_prompt(prompt)
    assert f"“{' '.join(word.split())}”" in refused.value.detail
    assert refused.value.code == "INVALID_INPUT"
