"""``/api/music``: the built-in library plus the user's own tracks."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, delete, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.security.jwt import Token
from sqlalchemy.ext.asyncio import AsyncSession

from api.config import Settings
from api.domain.accounts.auth import CurrentUser
from api.domain.music.services import MAX_TRACK_BYTES, MusicService, TrackList, TrackView
from api.errors import InvalidInput
from api.jobs import Queues, enqueue_transcode_music
from api.quotas import StorageQuota
from api.ratelimit import Action, RateLimiter
from api.storage import MediaUrls, Storage


class MusicController(Controller):
    path = "/api/music"
    tags = ["music"]

    @get("/", operation_id="ListMusic", summary="Built-in tracks and your own", cache=False)
    async def list_music(
        self, request: Request[CurrentUser, Token, Any], db_session: NamedDependency[AsyncSession],
        storage: NamedDependency[Storage], signer: NamedDependency[MediaUrls],
    ) -> TrackList:
        service = MusicService(db_session, storage=storage, signer=signer)
        return TrackList(tracks=[service.view(t) for t in await service.list(request.user.id)])

    @post(
        "/", operation_id="UploadMusic", summary="Upload your own track (multipart field `track`)",
        status_code=201, request_max_body_size=MAX_TRACK_BYTES + 512 * 1024,
    )
    async def upload_music(
        self, request: Request[CurrentUser, Token, Any], db_session: NamedDependency[AsyncSession],
        storage: NamedDependency[Storage], signer: NamedDependency[MediaUrls],
        settings: NamedDependency[Settings], limiter: NamedDependency[RateLimiter],
        queues: NamedDependency[Queues],
    ) -> TrackView:
        """MP3, M4A/AAC, WAV or OGG; at most 20 MB and 10 minutes. Checked by its content.
        An upload that would pass the account's music storage quota is refused (413).
        The track comes back ``processing``; a ``music.status`` event says when it is
        ``ready`` (or ``failed``, with the reason)."""
        await limiter.for_account(Action.UPLOAD_MUSIC, request.user.id)
        form = await request.form()
        upload = form.get("track")
        if not isinstance(upload, UploadFile):
            raise InvalidInput("Choose a music file to upload (form field “track”).", field="track")
        await StorageQuota(db_session, settings.storage_quotas).check_music(request.user.id, upload)
        title = form.get("title")
        service = MusicService(db_session, storage=storage, signer=signer)
        try:
            track = await service.add_upload(request.user.id, upload, title if isinstance(title, str) else None)
        finally:
            await upload.close()
        await db_session.commit()
        await enqueue_transcode_music(queues, track.id)
        return service.view(track)

    @delete("/{track_id:uuid}", operation_id="DeleteMusic", summary="Delete one of your tracks")
    async def delete_music(
        self, track_id: FromPath[uuid.UUID], request: Request[CurrentUser, Token, Any],
        db_session: NamedDependency[AsyncSession], storage: NamedDependency[Storage],
        signer: NamedDependency[MediaUrls],
    ) -> None:
        service = MusicService(db_session, storage=storage, signer=signer)
        keys = await service.delete(request.user.id, track_id)
        await db_session.commit()
        await service.delete_files(keys)
