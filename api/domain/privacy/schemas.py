from __future__ import annotations

from typing import Annotated

import msgspec

from api.domain.tries.schemas import FreeTryClip


class DeleteAccountRequest(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    """The account's password, typed again to confirm."""

    password: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]


class FreeClipList(msgspec.Struct, rename="camel"):
    items: list[FreeTryClip]
