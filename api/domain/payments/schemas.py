"""Payment API messages, and the parts of Stripe's webhook objects Echoes reads."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

import msgspec


class CheckoutCreate(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    pack: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]


class CheckoutStarted(msgspec.Struct, rename="camel"):
    """Send the browser to ``url``: Stripe's hosted page, or the demo checkout page."""

    purchase_id: uuid.UUID
    session_id: str
    url: str
    demo: bool


class DemoCheckoutForm(msgspec.Struct):
    """The demo page's form post (it also carries ``_csrf_token``, read by the middleware)."""

    action: Literal["pay", "cancel"]


class WebhookReceipt(msgspec.Struct, rename="camel"):
    event_id: str
    type: str
    duplicate: bool
    received: bool = True


# -- Stripe's wire objects: only the fields Echoes relies on; the rest are ignored. ----------


class StripeEventData(msgspec.Struct):
    object: dict[str, Any]


class StripeEventPayload(msgspec.Struct):
    """A v1 snapshot event: ``{"id": "evt_…", "type": …, "created": …, "data": {"object": …}}``."""

    id: Annotated[str, msgspec.Meta(min_length=1, max_length=255)]
    type: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    created: int
    data: StripeEventData
    livemode: bool = False


class StripeCheckoutSession(msgspec.Struct):
    id: str
    payment_status: str
    status: str | None = None
    payment_intent: str | None = None
    amount_total: int | None = None
    currency: str | None = None
    client_reference_id: str | None = None
    livemode: bool | None = None


class StripeCharge(msgspec.Struct):
    id: str
    amount: int
    amount_refunded: int
    payment_intent: str | None = None
    currency: str | None = None


class StripeDispute(msgspec.Struct):
    """``dp_…``: ``status`` is kept as text, Stripe adds values (``appeal_needs_response``)."""

    id: str
    amount: int
    currency: str
    charge: str
    status: str
    payment_intent: str | None = None
