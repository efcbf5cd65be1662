"""Password hashing (argon2id) and the rules a new password must meet."""

from __future__ import annotations

import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from api.errors import InvalidInput

_hasher = PasswordHasher()

MIN_LENGTH = 10
MAX_LENGTH = 256
COMMON = frozenset(
    {
        "password123", "password1234", "1234567890", "12345678910", "qwertyuiop", "iloveyou123",
        "0123456789", "abcdefghij", "passwordpassword", "letmein123", "welcome123", "1q2w3e4r5t",
        "qwerty1234", "monkey1234", "dragon1234", "football12", "baseball12", "sunshine12",
        "princess12", "aaaaaaaaaa", "echoes1234", "echoesecho",
    }
)


def check_password_strength(password: str, *, email: str, field: str = "password") -> None:
    """Raise :class:`InvalidInput` with a sentence saying what to change."""
    if len(password) < MIN_LENGTH:
        raise InvalidInput(
            f"Please choose a password of at least {MIN_LENGTH} characters.", field=field
        )
    if len(password) > MAX_LENGTH:
        raise InvalidInput(f"Passwords can be at most {MAX_LENGTH} characters.", field=field)
    lowered = password.lower()
    local = email.split("@", 1)[0].lower()
    if lowered in COMMON or len(set(password)) < 4 or (len(local) >= 4 and local in lowered):
        raise InvalidInput(
            "That password is too easy to guess. Try a few unrelated words together.",
            field=field,
        )


async def hash_password(password: str) -> str:
    return await anyio.to_thread.run_sync(_hasher.hash, password)


_DUMMY_HASH = _hasher.hash("a password nobody has, used to keep timings even")


async def verify_password(password_hash: str | None, password: str) -> bool:
    """Constant-ish time: an unknown account still costs one argon2 verification."""

    def _verify() -> bool:
        try:
            return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
        except (VerificationError, InvalidHashError):
            return False

    return await anyio.to_thread.run_sync(_verify)
