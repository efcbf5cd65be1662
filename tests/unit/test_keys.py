"""Keys derived from SECRET_KEY: one per purpose, stable, and independent of each other."""

from __future__ import annotations

from dataclasses import fields

from api.security.keys import Keys, as_text

SECRET = "unit-test-secret-" + "z" * 32


def test_every_purpose_gets_its_own_key_and_none_is_the_secret_itself() -> None:
    keys = Keys.derive(SECRET)
    values = [getattr(keys, f.name) for f in fields(keys)]
    assert len(set(values)) == len(values)
    assert all(len(value) == 32 for value in values)
    assert SECRET.encode() not in values and as_text(keys.session_jwt) != SECRET


def test_derivation_is_stable_for_one_secret_and_differs_for_another() -> None:
    assert Keys.derive(SECRET) == Keys.derive(SECRET)
    other = Keys.derive(SECRET + "!")
    assert all(getattr(other, f.name) != getattr(Keys.derive(SECRET), f.name) for f in fields(other))


def test_keys_never_show_in_a_repr() -> None:
    keys = Keys.derive(SECRET)
    assert repr(keys) == "Keys(<derived>)"
    assert as_text(keys.csrf) not in repr(keys)
