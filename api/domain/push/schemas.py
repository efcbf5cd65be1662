"""Web Push over the wire: the browser's subscription JSON, and the notices we send."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import msgspec

#: Push services refuse bodies over 4096 bytes. aes128gcm adds a 86-byte header (salt,
#: record size, the sender's 65-byte key), a 16-byte tag and a 1-byte padding delimiter.
MAX_ENCRYPTED_BYTES = 4096
MAX_PAYLOAD_BYTES = MAX_ENCRYPTED_BYTES - 86 - 16 - 1

B64URL = r"^[A-Za-z0-9_-]+={0,2}$"


class PushKeys(msgspec.Struct):
    p256dh: Annotated[str, msgspec.Meta(min_length=86, max_length=90, pattern=B64URL)]
    auth: Annotated[str, msgspec.Meta(min_length=16, max_length=32, pattern=B64URL)]


class PushSubscriptionCreate(msgspec.Struct, rename="camel"):
    """What ``PushSubscription.toJSON()`` gives in the browser, posted as it is."""

    endpoint: Annotated[str, msgspec.Meta(min_length=10, max_length=2048)]
    keys: PushKeys
    expiration_time: float | None = None


class PushSubscriptionDelete(msgspec.Struct):
    endpoint: Annotated[str, msgspec.Meta(min_length=10, max_length=2048)]


class PushSubscriptionView(msgspec.Struct, rename="camel"):
    id: uuid.UUID
    endpoint: str
    created_at: datetime
    expires_at: datetime | None


class PushKey(msgspec.Struct, rename="camel"):
    """The ``applicationServerKey`` for ``pushManager.subscribe()`` (base64url, 65 bytes)."""

    public_key: str


class PushNotice(msgspec.Struct, kw_only=True, frozen=True, rename="camel"):
    """The JSON a push carries, for the service worker's ``showNotification``.

    ``url`` is the page to open on click (a path on the web app); ``tag`` names what the
    notice is about, so a newer notice with the same tag replaces the older one on screen
    (and at the push service, through the ``Topic`` header) instead of piling up.
    """

    title: str
    body: str
    url: str
    tag: str

    def payload(self) -> bytes:
        """The JSON to encrypt, its body shortened (with an ellipsis) to fit one push."""
        data = msgspec.json.encode(self)
        if len(data) <= MAX_PAYLOAD_BYTES:
            return data

        def shortened(keep: int) -> bytes:
            return msgspec.json.encode(msgspec.structs.replace(self, body=self.body[:keep].rstrip() + "…"))

        low, high = 0, len(self.body)
        while low < high:
            middle = (low + high + 1) // 2
            if len(shortened(middle)) <= MAX_PAYLOAD_BYTES:
                low = middle
            else:
                high = middle - 1
        data = shortened(low)
        if len(data) > MAX_PAYLOAD_BYTES:
            raise ValueError("a push notice's title, url and tag alone exceed one push")
        return data
