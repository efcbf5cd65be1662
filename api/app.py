"""The Litestar application factory: wires settings, database, queues, storage and routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
import structlog
from advanced_alchemy.extensions.litestar import SQLAlchemyPlugin
from litestar import Litestar, Request, Response
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import HTTPException, ValidationException
from litestar.plugins.prometheus import PrometheusConfig
from litestar.security.jwt import Token
from redis.asyncio import Redis
from sqlalchemy.exc import DBAPIError

from api.config import Settings
from api.db.engine import sqlalchemy_config
from api.domain.accounts.auth import CsrfTokenShapeMiddleware, CurrentUser, build_auth, build_csrf
from api.domain.accounts.optional_user import build_optional_user
from api.domain.accounts.sessions import SessionTokens
from api.domain.moderation.photos import warm_up as warm_up_photo_classifier
from api.domain.payments.services import checkout_gateway_for
from api.domain.payments.stripe_gateway import CheckoutGateway
from api.domain.push.vapid import VapidKeys
from api.domain.visitors.identity import VisitorIdentity
from api.errors import EchoesError, problem_body, problem_for_status
from api.jobs import Queues
from api.logging import configure_logging
from api.openapi import PROBLEM_JSON, describe_api, openapi_config
from api.ratelimit import RateLimiter
from api.requestlog import request_id_middleware
from api.security.keys import Keys, as_text
from api.storage import MediaSigner, MediaUrls, Storage, media_urls, open_storage

log = structlog.get_logger()



def _problem(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response[Any]:
    return Response(content=body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def handle_echoes_error(request: Request[Any, Any, Any], exc: EchoesError) -> Response[Any]:
    headers = {}
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    body = problem_body(
        status=exc.status_code, code=exc.code, title=exc.title, detail=exc.detail,
        instance=request.url.path, **exc.extra,
    )
    return _problem(exc.status_code, body, headers)


def handle_validation_error(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    errors = exc.extra if isinstance(exc.extra, list) else []
    fields = ", ".join(str(e.get("key")) for e in errors if isinstance(e, dict) and e.get("key"))
    detail = f"Some fields are missing or invalid: {fields}." if fields else "The request is not valid."
    body = problem_body(
        status=400, code="INVALID_INPUT", title="Invalid input", detail=detail,
        instance=request.url.path, errors=errors,
    )
    return _problem(400, body)


def handle_http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    if status >= 500:
        log.error("http_error", path=request.url.path, method=request.method, exc_info=exc)
    detail = exc.detail
    if status == 403 and "CSRF" in (detail or ""):
        body = problem_body(
            status=403, code="CSRF_FAILED", title="Security check failed",
            detail="This page's security token is missing or out of date. Reload the page and try again.",
            instance=request.url.path,
        )
        return _problem(403, body)
    if status == 401:
        detail = "Please log in to continue."
    if status == 413:
        detail = "That upload is too large. Please choose a smaller file."
    body = problem_for_status(status, detail, instance=request.url.path)
    return _problem(status, body, dict(exc.headers or {}))


def _sqlstate(exc: BaseException) -> str | None:
    """The Postgres SQLSTATE behind a database error (the driver's exception is a cause)."""
    seen: BaseException | None = exc
    while seen is not None:
        state = getattr(seen, "sqlstate", None)
        if isinstance(state, str):
            return state
        seen = seen.__cause__
    return None


def handle_database_error(request: Request[Any, Any, Any], exc: DBAPIError) -> Response[Any]:
    """Postgres refusing a value the request carried (SQLSTATE class 22: a NUL character or a
    lone surrogate in a text, a number out of range) is the request's fault: 400. Anything
    else is ours: 500."""
    state = _sqlstate(exc.orig) if exc.orig is not None else None
    if state is None or not state.startswith("22"):
        return handle_unexpected_error(request, exc)
    log.warning("unstorable_input", path=request.url.path, method=request.method, sqlstate=state)
    body = problem_body(
        status=400, code="INVALID_INPUT", title="Invalid input",
        detail="Some of what was sent can't be stored (for example a text with control characters).",
        instance=request.url.path,
    )
    return _problem(400, body)


def handle_unexpected_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unhandled_error", path=request.url.path, method=request.method)
    return _problem(500, problem_for_status(500, None, instance=request.url.path))


def create_app(settings: Settings | None = None) -> Litestar:
    """Build the application. Tests pass their own ``settings``; production reads the env."""
    settings = settings or Settings.from_env()
    configure_logging(level=settings.log_level, json=settings.log_json)

    from api.domain.accounts.controllers import AccountController
    from api.domain.admin.controllers import AdminController
    from api.domain.credits.controllers import CreditController
    from api.domain.events.controllers import EventController, events_lifespan
    from api.domain.health.controllers import HealthController
    from api.domain.media.controllers import MediaController
    from api.domain.music.controllers import MusicController
    from api.domain.ops.controllers import OpsController
    from api.domain.payments.controllers import (
        CheckoutController,
        DemoCheckoutController,
        StripeWebhookController,
    )
    from api.domain.privacy.controllers import PrivacyController
    from api.domain.projects.controllers import ProjectController
    from api.domain.push.controllers import PushController
    from api.domain.renders.controllers import RenderController
    from api.domain.tries.controllers import FreeTryController

    db_config = sqlalchemy_config(settings)
    http_metrics = PrometheusConfig(
        app_name="echoes", prefix="echoes", group_path=True,
        exclude=["^/metrics$", "^/api/events"], exclude_unhandled_paths=True,
    )
    keys = Keys.derive(settings.secret_key)
    session_tokens = SessionTokens(keys, settings)
    jwt_auth = build_auth(settings, keys, session_tokens, db_config)
    storage = open_storage(settings)
    signer = media_urls(settings, MediaSigner(as_text(keys.media_url), default_ttl=settings.media_url_ttl))
    identity = VisitorIdentity(keys, secure_cookie=settings.is_production)
    vapid = VapidKeys.from_settings(settings)
    checkout_gateway = checkout_gateway_for(settings)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        redis = Redis.from_url(settings.redis_url)
        queues = Queues(
            settings.redis_url, prefix=settings.queue_prefix,
            clip_heartbeat=settings.clip_job_heartbeat_seconds,
            render_heartbeat=settings.render_job_heartbeat_seconds,
        )
        await queues.connect()
        app.state.redis = redis
        app.state.queues = queues
        app.state.limiter = RateLimiter(redis, prefix=settings.queue_prefix, limits=settings.rate_limits)
        if settings.media_safety.photo_moderation:
            await anyio.to_thread.run_sync(warm_up_photo_classifier)
        try:
            yield
        finally:
            await queues.disconnect()
            await redis.aclose()
            await checkout_gateway.aclose()

    def provide_settings() -> Settings:
        return settings

    def provide_storage() -> Storage:
        return storage

    def provide_signer() -> MediaUrls:
        return signer

    optional_user = build_optional_user(jwt_auth)

    async def provide_viewer(request: Request[Any, Any, Any]) -> CurrentUser | None:
        return await optional_user(request)

    def provide_session_tokens() -> SessionTokens:
        return session_tokens

    def provide_limiter(state: State) -> RateLimiter:
        return state.limiter

    def provide_identity() -> VisitorIdentity:
        return identity

    def provide_queues(state: State) -> Queues:
        return state.queues

    def provide_redis(state: State) -> Redis:
        return state.redis

    def provide_vapid() -> VapidKeys:
        return vapid

    def provide_checkout_gateway() -> CheckoutGateway:
        return checkout_gateway

    app = Litestar(
        route_handlers=[
            HealthController,
            OpsController,
            FreeTryController,
            MediaController,
            AccountController,
            CreditController,
            CheckoutController,
            *([DemoCheckoutController] if settings.demo_checkout else []),
            StripeWebhookController,
            AdminController,
            ProjectController,
            PrivacyController,
            MusicController,
            RenderController,
            EventController,
            PushController,
        ],
        plugins=[SQLAlchemyPlugin(config=db_config)],
        middleware=[request_id_middleware, http_metrics.middleware, CsrfTokenShapeMiddleware()],
        on_app_init=[jwt_auth.on_app_init],
        csrf_config=build_csrf(settings, keys),
        lifespan=[lifespan, events_lifespan(settings)],
        dependencies={
            "settings": Provide(provide_settings, sync_to_thread=False),
            "storage": Provide(provide_storage, sync_to_thread=False),
            "signer": Provide(provide_signer, sync_to_thread=False),
            "identity": Provide(provide_identity, sync_to_thread=False),
            "session_tokens": Provide(provide_session_tokens, sync_to_thread=False),
            "viewer": Provide(provide_viewer),
            "limiter": Provide(provide_limiter, sync_to_thread=False),
            "queues": Provide(provide_queues, sync_to_thread=False),
            "redis": Provide(provide_redis, sync_to_thread=False),
            "vapid": Provide(provide_vapid, sync_to_thread=False),
            "checkout_gateway": Provide(provide_checkout_gateway, sync_to_thread=False),
        },
        exception_handlers={
            EchoesError: handle_echoes_error,
            ValidationException: handle_validation_error,
            HTTPException: handle_http_error,
            DBAPIError: handle_database_error,
            Exception: handle_unexpected_error,
        },
        openapi_config=openapi_config(settings),
        # Uploads are refused by size while the body streams in; the intake then checks
        # the file itself against UPLOAD_MAX_BYTES.
        request_max_body_size=settings.upload_max_bytes + 256 * 1024,
        debug=False,
        signature_namespace={"Settings": Settings, "Storage": Storage, "MediaUrls": MediaUrls,
                             "Queues": Queues, "Redis": Redis,
                             "VisitorIdentity": VisitorIdentity,
                             "RateLimiter": RateLimiter, "SessionTokens": SessionTokens,
                             "CurrentUser": CurrentUser, "Token": Token},
    )
    describe_api(app)
    return app
