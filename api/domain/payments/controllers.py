"""``POST /api/credits/checkout``, the demo checkout page (outside production), and
``POST /api/webhooks/stripe``."""

from __future__ import annotations

from typing import Any

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, URLEncodedBody
from litestar.response import Redirect
from litestar.security.jwt import Token
from litestar.utils.scope.state import ScopeState
from sqlalchemy.ext.asyncio import AsyncSession

from api.config import Settings
from api.db.transaction import commit
from api.domain.accounts.auth import CSRF_COOKIE, PUBLIC, CurrentUser
from api.domain.credits.announce import announce_credit_changes
from api.domain.payments.demo import DEMO_PATH, render_demo_checkout
from api.domain.payments.schemas import (
    CheckoutCreate,
    CheckoutStarted,
    DemoCheckoutForm,
    WebhookReceipt,
)
from api.domain.payments.services import CheckoutService, pack_name
from api.domain.payments.stripe_gateway import CheckoutGateway
from api.domain.payments.webhook import StripeWebhookProcessor
from api.jobs import Queues
from api.ratelimit import RateLimiter

#: Each checkout is a call to Stripe; a person buys a few packs at most in an hour.
CHECKOUT_LIMIT_PER_HOUR = 30

_DEMO_PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


class CheckoutController(Controller):
    path = "/api/credits"
    tags = ["credits"]

    @post("/checkout", operation_id="StartCheckout", summary="Start buying a credit pack", status_code=201)
    async def start_checkout(
        self,
        request: Request[CurrentUser, Token, Any],
        data: JSONBody[CheckoutCreate],
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        checkout_gateway: NamedDependency[CheckoutGateway],
        limiter: NamedDependency[RateLimiter],
    ) -> CheckoutStarted:
        """Returns the payment page to send the browser to. Credits arrive only when the
        payment is confirmed to the webhook, never from the return to the success page."""
        await limiter.hit(
            "checkout", str(request.user.id), limit=CHECKOUT_LIMIT_PER_HOUR, window=3600,
            message="Too many checkouts started. Please try again in {wait}.",
        )
        started = await CheckoutService(db_session, settings).start(
            checkout_gateway, user_id=request.user.id, email=request.user.email, pack_id=data.pack
        )
        await commit(db_session)
        return started


class DemoCheckoutController(Controller):
    """The demo checkout page; mounted only when :attr:`Settings.demo_checkout` (never in
    production)."""

    path = "/api/credits"
    tags = ["credits"]

    @get(
        "/demo-checkout/{session_id:str}", operation_id="ShowDemoCheckout",
        summary="The demo checkout page", media_type=MediaType.HTML, include_in_schema=False, cache=False,
    )
    async def show_demo_checkout(
        self,
        request: Request[CurrentUser, Token, Any],
        session_id: FromPath[str],
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
    ) -> Response[str]:
        purchase = await CheckoutService(db_session, settings).demo_purchase(request.user.id, session_id)
        csrf_token = ScopeState.from_scope(request.scope).csrf_token or request.cookies.get(CSRF_COOKIE)
        page = render_demo_checkout(
            purchase, pack_name=pack_name(settings, purchase), csrf_token=str(csrf_token or ""),
            action_url=f"{DEMO_PATH}/{purchase.checkout_session_id}", done_url=f"{settings.public_url}/credits",
        )
        return Response(page, media_type=MediaType.HTML, headers=_DEMO_PAGE_HEADERS)

    @post(
        "/demo-checkout/{session_id:str}", operation_id="CompleteDemoCheckout",
        summary="Pay or cancel on the demo checkout page", include_in_schema=False, status_code=303,
    )
    async def complete_demo_checkout(
        self,
        request: Request[CurrentUser, Token, Any],
        session_id: FromPath[str],
        data: URLEncodedBody[DemoCheckoutForm],
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        queues: NamedDependency[Queues],
    ) -> Redirect:
        """A plain form post (``_csrf_token`` field); answers 303 to the success or cancel URL."""
        destination = await CheckoutService(db_session, settings).finish_demo(
            request.user.id, session_id, pay=data.action == "pay"
        )
        await commit(db_session)
        await announce_credit_changes(db_session, queues)
        return Redirect(destination, status_code=303)


class StripeWebhookController(Controller):
    path = "/api/webhooks"
    tags = ["payments"]
    opt = PUBLIC

    @post(
        "/stripe", operation_id="ReceiveStripeWebhook", summary="Stripe webhook endpoint",
        status_code=200, include_in_schema=False,
    )
    async def receive_stripe_webhook(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        queues: NamedDependency[Queues],
    ) -> WebhookReceipt:
        """Verified by its signature (the route is exempt from session auth and CSRF) and
        applied in one transaction together with the record of its event id."""
        receipt = await StripeWebhookProcessor(db_session, settings).receive(
            await request.body(), request.headers.get("stripe-signature")
        )
        await commit(db_session)
        await announce_credit_changes(db_session, queues)
        return receipt
