from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import msgspec

from api.db.models import UserRole

Email = Annotated[str, msgspec.Meta(max_length=320)]


class SignupRequest(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    email: Email
    password: Annotated[str, msgspec.Meta(max_length=256)]
    display_name: Annotated[str, msgspec.Meta(max_length=80)] | None = None
    referral_code: Annotated[str, msgspec.Meta(max_length=32)] | None = None


class LoginRequest(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    email: Email
    password: Annotated[str, msgspec.Meta(max_length=256)]


class Me(msgspec.Struct, rename="camel"):
    id: uuid.UUID
    email: str
    display_name: str
    credit_balance: int
    referral_code: str
    role: UserRole
    created_at: datetime


class SignupResult(msgspec.Struct, rename="camel"):
    user: Me
    claimed_clip_ids: list[uuid.UUID]
    referral_applied: bool


class CsrfToken(msgspec.Struct, rename="camel"):
    token: str
    header_name: str


class PasswordChange(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    current_password: Annotated[str, msgspec.Meta(max_length=256)]
    new_password: Annotated[str, msgspec.Meta(max_length=256)]


class SignedInSession(msgspec.Struct, rename="camel"):
    """One browser signed in to the account. ``network`` is coarse (IPv4 /24, IPv6 /48)."""

    id: uuid.UUID
    device: str
    network: str | None
    created_at: datetime
    last_seen_at: datetime
    current: bool


class SignedInSessionList(msgspec.Struct, rename="camel"):
    items: list[SignedInSession]
