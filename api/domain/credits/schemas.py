from __future__ import annotations

import uuid
from datetime import datetime

import msgspec

from api.db.models import CreditKind


class CreditEntry(msgspec.Struct, rename="camel"):
    id: uuid.UUID
    amount: int
    kind: CreditKind
    reference: str
    balance_after: int
    created_at: datetime
    note: str | None = None


class CreditHistory(msgspec.Struct, rename="camel"):
    balance: int
    items: list[CreditEntry]
    total: int
    limit: int
    offset: int


class Pack(msgspec.Struct, rename="camel"):
    id: str
    name: str
    credits: int
    price_cents: int
    currency: str


class PackList(msgspec.Struct, rename="camel"):
    packs: list[Pack]
    demo_checkout: bool
