"""Rendering, downloads and sharing over HTTP, and the public video endpoint."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, delete, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from litestar.security.jwt import Token
from sqlalchemy.ext.asyncio import AsyncSession

from api.db.transaction import commit
from api.domain.accounts.auth import PUBLIC, CurrentUser
from api.domain.projects.services import ProjectService
from api.domain.renders.services import (
    PublicVideo,
    RenderList,
    RenderService,
    RenderView,
    ShareResult,
)
from api.jobs import Queues
from api.ratelimit import Action, RateLimiter
from api.storage import MediaUrls, Storage


def provide_renders(
    db_session: NamedDependency[AsyncSession], storage: NamedDependency[Storage],
    signer: NamedDependency[MediaUrls], queues: NamedDependency[Queues],
) -> RenderService:
    return RenderService(db_session, storage=storage, signer=signer, queues=queues)


class RenderController(Controller):
    path = "/api"
    tags = ["renders"]
    dependencies = {"renders": Provide(provide_renders, sync_to_thread=False)}

    @post("/projects/{project_id:uuid}/render", operation_id="RenderProject",
          summary="Make the video", status_code=202)
    async def render_project(
        self, project_id: FromPath[uuid.UUID], request: Request[CurrentUser, Token, Any],
        renders: NamedDependency[RenderService], db_session: NamedDependency[AsyncSession],
        limiter: NamedDependency[RateLimiter],
    ) -> Response[RenderView]:
        """Queues a render; asking again while one is queued or running returns that one (200)."""
        await limiter.for_account(Action.RENDER_VIDEO, request.user.id)
        project = await ProjectService.owned_project(db_session, project_id, request.user.id)
        render, created = await renders.start(project, request.user.id)
        await commit(db_session)
        return Response(renders.view(render), status_code=202 if created else 200)

    @get("/projects/{project_id:uuid}/renders", operation_id="ListProjectRenders",
         summary="A project's videos, newest first", cache=False)
    async def list_renders(
        self, project_id: FromPath[uuid.UUID], request: Request[CurrentUser, Token, Any],
        renders: NamedDependency[RenderService], db_session: NamedDependency[AsyncSession],
    ) -> RenderList:
        project = await ProjectService.owned_project(db_session, project_id, request.user.id)
        return RenderList(items=[renders.view(r) for r in await renders.history(project.id)])

    @get("/renders/{render_id:uuid}", operation_id="GetRender", summary="A video's status", cache=False)
    async def get_render(
        self, render_id: FromPath[uuid.UUID], request: Request[CurrentUser, Token, Any],
        renders: NamedDependency[RenderService],
    ) -> RenderView:
        return renders.view(await renders.get_owned(render_id, request.user.id))

    @post("/renders/{render_id:uuid}/cancel", operation_id="CancelRender", summary="Stop making a video",
          status_code=200)
    async def cancel_render(
        self, render_id: FromPath[uuid.UUID], request: Request[CurrentUser, Token, Any],
        renders: NamedDependency[RenderService], db_session: NamedDependency[AsyncSession],
    ) -> RenderView:
        render = await renders.cancel(await renders.get_owned(render_id, request.user.id, lock=True))
        await commit(db_session)
        return renders.view(render)

    @post("/renders/{render_id:uuid}/share", operation_id="ShareRender", summary="Share a video publicly",
          status_code=200)
    async def share_render(
        self, render_id: FromPath[uuid.UUID], request: Request[CurrentUser, Token, Any],
        renders: NamedDependency[RenderService], db_session: NamedDependency[AsyncSession],
    ) -> ShareResult:
        """An unguessable public link; sharing a project paid for with credits earns one
        credit, once per project."""
        result = await renders.share(render_id, request.user.id)
        await commit(db_session)
        return result

    @delete("/renders/{render_id:uuid}/share", operation_id="UnshareRender", summary="Stop sharing a video")
    async def unshare_render(
        self, render_id: FromPath[uuid.UUID], request: Request[CurrentUser, Token, Any],
        renders: NamedDependency[RenderService], db_session: NamedDependency[AsyncSession],
    ) -> None:
        await renders.unshare(render_id, request.user.id)
        await commit(db_session)

    @get("/public/videos/{slug:str}", operation_id="GetPublicVideo", summary="A shared video",
         opt=PUBLIC, cache=False)
    async def public_video(self, slug: FromPath[str], renders: NamedDependency[RenderService]) -> PublicVideo:
        """Title, poster, video and duration only: nothing private."""
        return await renders.public(slug)
