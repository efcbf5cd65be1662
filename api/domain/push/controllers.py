"""Web Push over HTTP: the application server key, and subscribing a browser."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import JSONBody
from litestar.security.jwt import Token
from sqlalchemy.ext.asyncio import AsyncSession

from api.config import Settings
from api.domain.accounts.auth import PUBLIC, CurrentUser
from api.domain.push.schemas import (
    PushKey,
    PushSubscriptionCreate,
    PushSubscriptionDelete,
    PushSubscriptionView,
)
from api.domain.push.services import PushSubscriptionService
from api.domain.push.vapid import VapidKeys
from api.net import OutboundPolicy


def provide_subscriptions(
    db_session: NamedDependency[AsyncSession], settings: NamedDependency[Settings]
) -> PushSubscriptionService:
    return PushSubscriptionService(db_session, outbound=OutboundPolicy.from_settings(settings))


class PushController(Controller):
    path = "/api/push"
    tags = ["push"]
    dependencies = {"subscriptions": Provide(provide_subscriptions, sync_to_thread=False)}

    @get("/key", operation_id="GetPushKey", summary="The key browsers subscribe with", opt=PUBLIC)
    async def get_key(self, vapid: NamedDependency[VapidKeys]) -> PushKey:
        """Pass ``publicKey`` as ``applicationServerKey`` to ``pushManager.subscribe()``."""
        return PushKey(public_key=vapid.application_server_key)

    @post(
        "/subscriptions", operation_id="CreatePushSubscription",
        summary="Send this browser notifications", status_code=201,
    )
    async def create_subscription(
        self, data: JSONBody[PushSubscriptionCreate], request: Request[CurrentUser, Token, Any],
        subscriptions: NamedDependency[PushSubscriptionService], db_session: NamedDependency[AsyncSession],
    ) -> PushSubscriptionView:
        """Body: the browser's ``PushSubscription.toJSON()``. Subscribing the same browser
        again updates it; each device a person uses is a subscription of its own. 409 when
        the browser is subscribed for another account."""
        subscription = await subscriptions.subscribe(
            request.user.id, data, user_agent=request.headers.get("user-agent")
        )
        await db_session.commit()
        return PushSubscriptionView(
            id=subscription.id, endpoint=subscription.endpoint,
            created_at=subscription.created_at, expires_at=subscription.expires_at,
        )

    @delete(
        "/subscriptions", operation_id="DeletePushSubscription",
        summary="Stop sending this browser notifications",
    )
    async def delete_subscription(
        self, data: JSONBody[PushSubscriptionDelete], request: Request[CurrentUser, Token, Any],
        subscriptions: NamedDependency[PushSubscriptionService], db_session: NamedDependency[AsyncSession],
    ) -> None:
        """Body: ``{"endpoint": subscription.endpoint}``; 404 when it is not one of yours."""
        await subscriptions.unsubscribe(request.user.id, data.endpoint)
        await db_session.commit()
