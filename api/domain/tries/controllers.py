"""The free try over HTTP: ``POST /api/try`` and ``GET /api/try/{id}``."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, MultipartBody
from sqlalchemy.ext.asyncio import AsyncSession

from api.config import Settings
from api.domain.accounts.auth import PUBLIC, CurrentUser
from api.domain.tries.guards import refuse_cross_site
from api.domain.tries.schemas import FreeTryClip, FreeTryUpload
from api.domain.tries.services import FreeTryService, to_schema
from api.domain.visitors.identity import VISITOR_COOKIE, VisitorIdentity
from api.jobs import Queues
from api.ratelimit import Action, RateLimiter, client_subject
from api.storage import MediaUrls, Storage


def _service(db_session: AsyncSession, settings: Settings, storage: Storage, queues: Queues) -> FreeTryService:
    return FreeTryService(db_session, settings=settings, storage=storage, queues=queues)


class FreeTryController(Controller):
    opt = PUBLIC
    path = "/api/try"
    tags = ["free try"]

    @post(
        "/",
        operation_id="CreateFreeTry",
        summary="Upload one photo for a free, watermarked clip",
        status_code=202,
    )
    async def create_free_try(
        self,
        request: Request[Any, Any, Any],
        data: MultipartBody[FreeTryUpload],
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        storage: NamedDependency[Storage],
        queues: NamedDependency[Queues],
        signer: NamedDependency[MediaUrls],
        identity: NamedDependency[VisitorIdentity],
        limiter: NamedDependency[RateLimiter],
    ) -> Response[FreeTryClip]:
        """Accepts the photo (multipart field ``photo``) and queues the clip.

        One free try per visitor (signed cookie) and a few per network (IPv4 address, IPv6
        /64) in each window, and a try that fails for good does not count; beyond that, 429
        with ``Retry-After`` and a sentence saying when to come back. A post sent by another
        site's page is refused (403 ``CROSS_SITE_REQUEST``).
        """
        visitor_id = identity.parse(request.cookies.get(VISITOR_COOKIE)) or uuid.uuid4()
        service = _service(db_session, settings, storage, queues)
        try:
            refuse_cross_site(request, public_url=settings.public_url)
            ip_hash = client_subject(request, identity)
            await limiter.check(Action.START_FREE_TRY, ip_hash)
            clip = await service.start(visitor_id=visitor_id, ip_hash=ip_hash, upload=data.photo)
        finally:
            await data.photo.close()
        return Response(
            to_schema(clip, signer),
            status_code=202,
            cookies=[identity.cookie(visitor_id)],
            headers={"Location": f"/api/try/{clip.id}"},
        )

    @get("/{clip_id:uuid}", operation_id="GetFreeTry", summary="Status of a free-try clip", cache=False)
    async def get_free_try(
        self,
        clip_id: FromPath[uuid.UUID],
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        storage: NamedDependency[Storage],
        queues: NamedDependency[Queues],
        signer: NamedDependency[MediaUrls],
        identity: NamedDependency[VisitorIdentity],
        viewer: NamedDependency[CurrentUser | None],
    ) -> FreeTryClip:
        """Status, progress 0..1 and, once done, signed ``videoUrl`` and ``posterUrl``.

        Answers the browser that made the clip until an account claims it; from then on
        only that account, on any device, with ``downloadUrl`` (never for an anonymous visitor:
        sign up to download)."""
        visitor_id = identity.parse(request.cookies.get(VISITOR_COOKIE))
        clip = await _service(db_session, settings, storage, queues).get(
            clip_id, visitor_id=visitor_id, user_id=viewer.id if viewer else None
        )
        return to_schema(clip, signer, viewer_id=viewer.id if viewer else None)
