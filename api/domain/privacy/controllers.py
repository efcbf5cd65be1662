"""The person's own data over HTTP: export it, list claimed free clips.

``DELETE /api/me`` (account deletion) lives on the accounts controller beside ``GET /api/me``:
Litestar cannot serve one path from two controllers.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.response import Stream
from litestar.security.jwt import Token
from sqlalchemy.ext.asyncio import AsyncSession

from api.config import Settings
from api.domain.accounts.auth import CurrentUser
from api.domain.privacy.export import AccountExport, stream_archive
from api.domain.privacy.free_clips import account_free_clips
from api.domain.privacy.schemas import FreeClipList
from api.domain.tries.services import to_schema
from api.storage import MediaUrls, Storage


class PrivacyController(Controller):
    path = "/api/me"
    tags = ["accounts"]

    @get(
        "/export", operation_id="ExportAccount", summary="Download all your data as one ZIP",
        cache=False, media_type="application/zip",
    )
    async def export_account(
        self,
        request: Request[CurrentUser, Token, Any],
        db_session: NamedDependency[AsyncSession],
        storage: NamedDependency[Storage],
        settings: NamedDependency[Settings],
    ) -> Stream:
        """A ZIP (``application/zip``, streamed) with every photo, clip video, finished video
        and own music track, and ``account.json``: the account, projects, free clips, credit
        history and purchases."""
        plan = await AccountExport(db_session).plan(request.user.id)
        scratch = settings.var_dir / "exports"
        scratch.mkdir(parents=True, exist_ok=True)
        return Stream(
            stream_archive(plan, storage, scratch),
            media_type="application/zip",
            headers={"Content-Disposition": f'attachment; filename="{plan.filename}"'},
        )

    @get("/free-clips", operation_id="ListFreeClips", summary="Your claimed free clips", cache=False)
    async def list_free_clips(
        self,
        request: Request[CurrentUser, Token, Any],
        db_session: NamedDependency[AsyncSession],
        signer: NamedDependency[MediaUrls],
    ) -> FreeClipList:
        """Free clips made before signing up and claimed by this account, newest first. They
        are kept while the account exists."""
        clips = await account_free_clips(db_session, request.user.id)
        return FreeClipList(items=[to_schema(clip, signer, viewer_id=request.user.id) for clip in clips])
