"""The demo checkout: what stands in for Stripe's hosted page when no Stripe key is set.

It is labelled as a demo everywhere a person can see it and takes no payment. Paying or
cancelling on it does not touch a purchase directly: it builds the Stripe event the real
page would have caused, signs it with the webhook secret, and hands it to the same
verification and processing as ``POST /api/webhooks/stripe``, so the demo exercises the
real webhook path end to end.
"""

from __future__ import annotations

import secrets
import time
from html import escape
from typing import Any

from api.db import models as m
from api.domain.payments.stripe_gateway import CheckoutRequest, HostedCheckout, checkout_metadata

DEMO_SESSION_PREFIX = "cs_demo_"
DEMO_PATH = "/api/credits/demo-checkout"


class DemoCheckoutGateway:
    def __init__(self, public_url: str) -> None:
        self.public_url = public_url

    @property
    def demo(self) -> bool:
        return True

    async def create_checkout_session(self, request: CheckoutRequest) -> HostedCheckout:
        session_id = DEMO_SESSION_PREFIX + secrets.token_hex(16)
        return HostedCheckout(session_id=session_id, url=f"{self.public_url}{DEMO_PATH}/{session_id}")

    async def aclose(self) -> None:
        return None


def demo_session_event(
    purchase: m.Purchase, *, event_type: str, status: str, payment_status: str, payment_intent: str | None,
) -> dict[str, Any]:
    """The event Stripe would send for this purchase's session, shaped like Stripe's."""
    metadata = checkout_metadata(
        purchase_id=purchase.id, user_id=purchase.user_id, pack_id=purchase.pack_id, credits=purchase.credits
    )
    session = {
        "id": purchase.checkout_session_id, "object": "checkout.session", "mode": "payment",
        "status": status, "payment_status": payment_status, "payment_intent": payment_intent,
        "amount_total": purchase.amount_cents, "amount_subtotal": purchase.amount_cents,
        "currency": purchase.currency, "client_reference_id": str(purchase.user_id),
        "metadata": metadata, "url": None, "livemode": False,
        "created": int(purchase.created_at.timestamp()),
    }
    return {
        "id": "evt_demo_" + secrets.token_hex(12), "object": "event", "type": event_type,
        "created": int(time.time()), "livemode": False, "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None}, "data": {"object": session},
    }


def demo_payment_intent(purchase: m.Purchase) -> str:
    return "pi_demo_" + purchase.checkout_session_id.removeprefix(DEMO_SESSION_PREFIX)


def format_price(amount_cents: int, currency: str) -> str:
    amount = f"{amount_cents / 100:,.2f}"
    return f"${amount}" if currency.lower() == "usd" else f"{amount} {currency.upper()}"


_STYLE = """
:root { color-scheme: light; --ink: #1c1917; --muted: #57534e; --line: #e7e5e4;
  --accent: #b45309; --accent-ink: #fff; --paper: #fafaf9; }
* { box-sizing: border-box; }
body { margin: 0; min-height: 100vh; display: grid; place-items: center; padding: 24px;
  font: 16px/1.5 ui-sans-serif, system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: var(--ink); background: linear-gradient(160deg, #fff7ed, var(--paper) 60%); }
main { width: 100%; max-width: 420px; background: #fff; border: 1px solid var(--line);
  border-radius: 20px; box-shadow: 0 20px 45px -25px rgba(28, 25, 23, .35); overflow: hidden; }
.banner { background: #fef3c7; color: #78350f; padding: 12px 20px; font-size: 14px;
  font-weight: 600; border-bottom: 1px solid #fde68a; }
.body { padding: 24px 24px 28px; }
.brand { font-size: 13px; letter-spacing: .12em; text-transform: uppercase; color: var(--muted); margin: 0; }
h1 { font-size: 24px; margin: 4px 0 20px; }
dl { margin: 0 0 24px; border-top: 1px solid var(--line); }
dl div { display: flex; justify-content: space-between; padding: 12px 0; border-bottom: 1px solid var(--line); }
dt { color: var(--muted); }
dd { margin: 0; font-weight: 600; }
.total dd { font-size: 20px; }
.actions { display: grid; gap: 10px; }
button { width: 100%; font: inherit; font-weight: 600; padding: 13px 16px; border-radius: 12px;
  cursor: pointer; border: 1px solid var(--line); background: #fff; color: var(--ink); }
button.pay { background: var(--accent); border-color: var(--accent); color: var(--accent-ink); }
button:focus-visible { outline: 3px solid #fcd34d; outline-offset: 2px; }
form { margin: 0; }
.note { color: var(--muted); font-size: 14px; margin: 18px 0 0; }
a { color: var(--accent); }
"""


def render_demo_checkout(
    purchase: m.Purchase, *, pack_name: str, csrf_token: str, action_url: str, done_url: str,
) -> str:
    """The page: pack, price, and "Pay" / "Cancel" as plain form posts (no JavaScript)."""
    price = escape(format_price(purchase.amount_cents, purchase.currency))
    if purchase.status == m.PurchaseStatus.OPEN:
        token = escape(csrf_token, quote=True)
        action = escape(action_url, quote=True)
        body = f"""
      <div class="actions">
        <form method="post" action="{action}">
          <input type="hidden" name="_csrf_token" value="{token}">
          <input type="hidden" name="action" value="pay">
          <button class="pay" type="submit">Pay {price} (demo)</button>
        </form>
        <form method="post" action="{action}">
          <input type="hidden" name="_csrf_token" value="{token}">
          <input type="hidden" name="action" value="cancel">
          <button type="submit">Cancel</button>
        </form>
      </div>
      <p class="note">This server has no Stripe key, so no card is asked for and nothing is
        charged. "Pay" adds the credits as a real purchase would.</p>"""
    else:
        state = {
            m.PurchaseStatus.PAID: "This checkout is complete: the credits are in your account.",
            m.PurchaseStatus.AWAITING_PAYMENT: "This checkout is waiting for its payment.",
            m.PurchaseStatus.EXPIRED: "This checkout was cancelled. Nothing was charged.",
            m.PurchaseStatus.FAILED: "The payment for this checkout failed. Nothing was charged.",
            m.PurchaseStatus.MISMATCH: "This checkout did not match its pack, so nothing was added. We are looking into it.",
        }[purchase.status]
        body = f"""
      <p>{escape(state)}</p>
      <p><a href="{escape(done_url, quote=True)}">Back to your credits</a></p>"""
    return f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="robots" content="noindex">
  <title>Demo checkout — Echoes</title>
  <style>{_STYLE}</style>
</head>
<body>
  <main>
    <div class="banner" role="note">Demo checkout — no real payment is taken</div>
    <div class="body">
      <p class="brand">Echoes</p>
      <h1>Buy credits</h1>
      <dl>
        <div><dt>Pack</dt><dd>{escape(pack_name)}</dd></div>
        <div><dt>Credits</dt><dd>{purchase.credits}</dd></div>
        <div class="total"><dt>Total</dt><dd>{price}</dd></div>
      </dl>{body}
    </div>
  </main>
</body>
</html>
"""
