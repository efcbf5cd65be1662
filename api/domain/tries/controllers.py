"""The free try over HTTP: ``POST /api/try`` and ``GET /api/try/{id}``."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, MultipartBody
from sqlalchemy.ext.asyncio import AsyncSession

from api.config import Settings
from api.domain.accounts.auth import PUBLIC
from api.domain.tries.schemas import FreeTryClip, FreeTryUpload
from api.domain.tries.services import FreeTryService, to_schema
from api.domain.visitors.identity import VISITOR_COOKIE, VisitorIdentity
from api.jobs import Queues
from api.storage import MediaSigner, Storage


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
        signer: NamedDependency[MediaSigner],
        identity: NamedDependency[VisitorIdentity],
    ) -> Response[FreeTryClip]:
        """Accepts the photo (multipart field ``photo``) and queues the clip.

        One free try per visitor (signed cookie) and a few per IP address in each window;
        beyond that, 429 with ``Retry-After`` and a sentence saying when to come back.
        """
        visitor_id = identity.parse(request.cookies.get(VISITOR_COOKIE)) or uuid.uuid4()
        service = _service(db_session, settings, storage, queues)
        ip_hash = identity.hash_ip(request.client.host if request.client else None)
        try:
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
        signer: NamedDependency[MediaSigner],
        identity: NamedDependency[VisitorIdentity],
    ) -> FreeTryClip:
        """Status, progress 0..1 and, once done, signed ``videoUrl`` and ``posterUrl``."""
        visitor_id = identity.parse(request.cookies.get(VISITOR_COOKIE))
        clip = await _service(db_session, settings, storage, queues).get(clip_id, visitor_id=visitor_id)
        return to_schema(clip, signer)
