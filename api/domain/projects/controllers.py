"""Projects over HTTP: create, list, get, rename, delete; photos; generate; edit clips."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, delete, get, patch, post, put
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody
from litestar.security.jwt import Token
from sqlalchemy.ext.asyncio import AsyncSession

from api.config import Settings
from api.db.transaction import commit
from api.domain.accounts.auth import CurrentUser
from api.domain.projects.schemas import (
    ClipUpdate,
    ClipView,
    GenerateResult,
    ProjectCreate,
    ProjectList,
    ProjectMusic,
    ProjectStyle,
    ProjectUpdate,
    ProjectView,
    RegenerateRequest,
    RegenerateResult,
    ReorderRequest,
    UploadResult,
)
from api.domain.projects.services import ProjectService
from api.errors import InvalidInput
from api.jobs import Queues
from api.quotas import StorageQuota
from api.ratelimit import Action, RateLimiter
from api.storage import MediaUrls, Storage

#: A batch upload may carry several photos; each is still held to UPLOAD_MAX_BYTES by the intake.
MAX_BATCH_UPLOAD_BYTES = 256 * 1024 * 1024
PHOTOS_FIELD = "photos"


def provide_projects(
    db_session: NamedDependency[AsyncSession],
    settings: NamedDependency[Settings],
    storage: NamedDependency[Storage],
    signer: NamedDependency[MediaUrls],
    queues: NamedDependency[Queues],
) -> ProjectService:
    return ProjectService(db_session, settings=settings, storage=storage, signer=signer, queues=queues)


class ProjectController(Controller):
    path = "/api/projects"
    tags = ["projects"]
    dependencies = {"projects": Provide(provide_projects, sync_to_thread=False)}

    @post("/", operation_id="CreateProject", summary="Create a project", status_code=201)
    async def create_project(
        self, request: Request[CurrentUser, Token, Any], data: JSONBody[ProjectCreate],
        projects: NamedDependency[ProjectService], db_session: NamedDependency[AsyncSession],
        limiter: NamedDependency[RateLimiter],
    ) -> ProjectView:
        await limiter.for_account(Action.CREATE_PROJECT, request.user.id)
        project = await projects.create(request.user.id, data)
        await commit(db_session)
        return await projects.view(project)

    @get("/", operation_id="ListProjects", summary="Your projects, newest first", cache=False)
    async def list_projects(
        self, request: Request[CurrentUser, Token, Any], projects: NamedDependency[ProjectService]
    ) -> ProjectList:
        return ProjectList(items=await projects.list(request.user.id))

    @get("/{project_id:uuid}", operation_id="GetProject", summary="A project with its clips in order", cache=False)
    async def get_project(
        self, project_id: FromPath[uuid.UUID], request: Request[CurrentUser, Token, Any],
        projects: NamedDependency[ProjectService],
    ) -> ProjectView:
        return await projects.view(await projects.get_owned(project_id, request.user.id))

    @patch("/{project_id:uuid}", operation_id="RenameProject", summary="Rename a project")
    async def rename_project(
        self, project_id: FromPath[uuid.UUID], data: JSONBody[ProjectUpdate],
        request: Request[CurrentUser, Token, Any], projects: NamedDependency[ProjectService],
        db_session: NamedDependency[AsyncSession],
    ) -> ProjectView:
        project = await projects.rename(await projects.get_owned(project_id, request.user.id), data.title)
        await commit(db_session)
        return await projects.view(project)

    @delete("/{project_id:uuid}", operation_id="DeleteProject", summary="Delete a project and all its files")
    async def delete_project(
        self, project_id: FromPath[uuid.UUID], request: Request[CurrentUser, Token, Any],
        projects: NamedDependency[ProjectService], db_session: NamedDependency[AsyncSession],
    ) -> None:
        """Cancels running generations, refunds clips not delivered, deletes every stored file."""
        await projects.delete(await projects.get_owned(project_id, request.user.id))
        await commit(db_session)

    @put("/{project_id:uuid}/music", operation_id="SetProjectMusic", summary="Choose the music")
    async def set_music(
        self, project_id: FromPath[uuid.UUID], data: JSONBody[ProjectMusic],
        request: Request[CurrentUser, Token, Any], projects: NamedDependency[ProjectService],
        db_session: NamedDependency[AsyncSession],
    ) -> ProjectView:
        """A built-in or own track (``trackId`` null for none), where in the track to start,
        its volume, and whether cuts snap to its beats."""
        project = await projects.set_music(project_id, request.user.id, data)
        await commit(db_session)
        return await projects.view(project)

    @put("/{project_id:uuid}/style", operation_id="SetProjectStyle", summary="Transitions, title card, captions")
    async def set_style(
        self, project_id: FromPath[uuid.UUID], data: JSONBody[ProjectStyle],
        request: Request[CurrentUser, Token, Any], projects: NamedDependency[ProjectService],
        db_session: NamedDependency[AsyncSession],
    ) -> ProjectView:
        project = await projects.set_style(project_id, request.user.id, data)
        await commit(db_session)
        return await projects.view(project)

    @post(
        "/{project_id:uuid}/photos", operation_id="UploadProjectPhotos",
        summary="Add photos (multipart, field `photos`, many files)", status_code=200,
        request_max_body_size=MAX_BATCH_UPLOAD_BYTES,
    )
    async def upload_photos(
        self, project_id: FromPath[uuid.UUID], request: Request[CurrentUser, Token, Any],
        projects: NamedDependency[ProjectService], db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings], limiter: NamedDependency[RateLimiter],
    ) -> UploadResult:
        """Each file is reported on its own (``outcomes``); a bad file does not spoil the rest.
        An upload that would pass the account's photo storage quota is refused whole (413)."""
        project = await projects.get_owned(project_id, request.user.id)
        form = await request.form()
        uploads = [f for f in form.getall(PHOTOS_FIELD) if isinstance(f, UploadFile)] if PHOTOS_FIELD in form else []
        if not uploads:
            raise InvalidInput("Choose one or more photos to upload (form field “photos”).", field=PHOTOS_FIELD)
        try:
            await limiter.for_account(Action.UPLOAD_PHOTO, request.user.id, cost=len(uploads))
            await StorageQuota(db_session, settings.storage_quotas).check_photos(request.user.id, uploads)
            result = await projects.add_photos(project, request.user.id, uploads)
            await commit(db_session)
            return result
        finally:
            for upload in uploads:
                await upload.close()

    @post("/{project_id:uuid}/generate", operation_id="GenerateProjectClips",
          summary="Make clips for every photo that has none", status_code=202)
    async def generate_clips(
        self, project_id: FromPath[uuid.UUID], request: Request[CurrentUser, Token, Any],
        projects: NamedDependency[ProjectService], db_session: NamedDependency[AsyncSession],
        limiter: NamedDependency[RateLimiter],
    ) -> GenerateResult:
        """One credit per clip, reserved for the whole batch at once: 402 (with ``missing``)
        when the balance does not cover all of them, and then nothing is charged or queued."""
        await limiter.for_account(Action.GENERATE_CLIPS, request.user.id)
        project, queued, balance = await projects.generate(project_id, request.user.id)
        await commit(db_session)
        return GenerateResult(queued=queued, credits_spent=queued, balance=balance, project=await projects.view(project))

    @put("/{project_id:uuid}/order", operation_id="ReorderProjectClips", summary="Set the order of the clips")
    async def reorder_clips(
        self, project_id: FromPath[uuid.UUID], data: JSONBody[ReorderRequest],
        request: Request[CurrentUser, Token, Any], projects: NamedDependency[ProjectService],
        db_session: NamedDependency[AsyncSession],
    ) -> ProjectView:
        project = await projects.reorder(project_id, request.user.id, data.clip_ids)
        await commit(db_session)
        return await projects.view(project)

    @patch("/{project_id:uuid}/clips/{clip_id:uuid}", operation_id="UpdateProjectClip",
           summary="Set a clip's optional prompt")
    async def update_clip(
        self, project_id: FromPath[uuid.UUID], clip_id: FromPath[uuid.UUID], data: JSONBody[ClipUpdate],
        request: Request[CurrentUser, Token, Any], projects: NamedDependency[ProjectService],
        db_session: NamedDependency[AsyncSession],
    ) -> ClipView:
        project = await projects.get_owned(project_id, request.user.id)
        clip = await projects.update_clip(project, clip_id, data.prompt)
        await commit(db_session)
        return projects.clip_view(clip)

    @post("/{project_id:uuid}/clips/{clip_id:uuid}/regenerate", operation_id="RegenerateProjectClip",
          summary="Make a clip again", status_code=202)
    async def regenerate_clip(
        self, project_id: FromPath[uuid.UUID], clip_id: FromPath[uuid.UUID],
        data: JSONBody[RegenerateRequest], request: Request[CurrentUser, Token, Any],
        projects: NamedDependency[ProjectService], db_session: NamedDependency[AsyncSession],
        limiter: NamedDependency[RateLimiter],
    ) -> RegenerateResult:
        """Three free regenerations per project, then one credit each; 409 while generating."""
        await limiter.for_account(Action.REGENERATE_CLIP, request.user.id)
        clip, spent, left, balance = await projects.regenerate(project_id, clip_id, request.user.id, data.prompt)
        await commit(db_session)
        return RegenerateResult(
            clip=projects.clip_view(clip), credits_spent=spent, free_regenerations_left=left, balance=balance
        )

    @delete("/{project_id:uuid}/clips/{clip_id:uuid}", operation_id="DeleteProjectClip",
            summary="Remove a clip (and its photo) from the project")
    async def delete_clip(
        self, project_id: FromPath[uuid.UUID], clip_id: FromPath[uuid.UUID],
        request: Request[CurrentUser, Token, Any], projects: NamedDependency[ProjectService],
        db_session: NamedDependency[AsyncSession],
    ) -> None:
        await projects.delete_clip(project_id, clip_id, request.user.id)
        await commit(db_session)
