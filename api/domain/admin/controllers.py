"""Admin endpoints: users, credit adjustments (ledger rows with a reason), reconciliation."""

from __future__ import annotations

import uuid
from datetime import datetime
from functools import partial
from typing import Annotated, Any

import msgspec
import sqlalchemy as sa
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.security.jwt import Token
from sqlalchemy.ext.asyncio import AsyncSession

from api.db import models as m
from api.db.transaction import after_commit, commit
from api.domain.accounts.auth import CurrentUser, admin_guard
from api.domain.clips import lifecycle
from api.domain.credits.announce import announce_credit_changes
from api.domain.credits.schemas import CreditEntry
from api.domain.credits.services import CreditService
from api.errors import Conflict, InvalidInput, NotFound
from api.jobs import Queues, enqueue_generate_clip


class AdminUser(msgspec.Struct, rename="camel"):
    id: uuid.UUID
    email: str
    display_name: str
    role: m.UserRole
    credit_balance: int
    credits_owed: int
    flagged_reason: str | None
    created_at: datetime


class AdminUserPage(msgspec.Struct, rename="camel"):
    items: list[AdminUser]
    total: int


class CreditAdjustment(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    amount: int
    reason: Annotated[str, msgspec.Meta(min_length=3, max_length=500)]


class ReconcileRow(msgspec.Struct, rename="camel"):
    user_id: uuid.UUID
    email: str
    balance: int
    ledger_sum: int


class ReconcileReport(msgspec.Struct, rename="camel"):
    ok: bool
    users_checked: int
    mismatches: list[ReconcileRow]


class FailedJob(msgspec.Struct, rename="camel"):
    clip_id: uuid.UUID
    kind: m.ClipKind
    user_id: uuid.UUID | None
    project_id: uuid.UUID | None
    generation: int
    attempts: int
    provider: str | None
    error: str | None
    detail: str | None
    failed_at: datetime | None


class FailedJobPage(msgspec.Struct, rename="camel"):
    items: list[FailedJob]
    total: int


class RetriedJob(msgspec.Struct, rename="camel"):
    clip_id: uuid.UUID
    generation: int
    status: m.ClipStatus


class AdminController(Controller):
    path = "/api/admin"
    tags = ["admin"]
    guards = [admin_guard]

    @get("/users", operation_id="AdminListUsers", summary="List users", cache=False)
    async def list_users(
        self,
        db_session: NamedDependency[AsyncSession],
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
        offset: Annotated[int, QueryParameter(ge=0)] = 0,
    ) -> AdminUserPage:
        total = await db_session.scalar(sa.select(sa.func.count()).select_from(m.User))
        users = await db_session.scalars(
            sa.select(m.User).order_by(m.User.created_at.desc()).limit(limit).offset(offset)
        )
        return AdminUserPage(
            items=[
                AdminUser(
                    id=u.id, email=u.email, display_name=u.display_name, role=u.role,
                    credit_balance=u.credit_balance, credits_owed=u.credits_owed,
                    flagged_reason=u.flagged_reason, created_at=u.created_at,
                )
                for u in users
            ],
            total=int(total or 0),
        )

    @post(
        "/users/{user_id:uuid}/credits", operation_id="AdminAdjustCredits",
        summary="Adjust a user's credits", status_code=201,
    )
    async def adjust_credits(
        self,
        user_id: FromPath[uuid.UUID],
        data: JSONBody[CreditAdjustment],
        request: Request[CurrentUser, Token, Any],
        db_session: NamedDependency[AsyncSession],
        queues: NamedDependency[Queues],
    ) -> CreditEntry:
        """A positive or negative correction; a negative one never takes a balance below zero."""
        if data.amount == 0 or abs(data.amount) > 100_000:
            raise InvalidInput("The adjustment must be a non-zero number of credits (at most 100000).")
        if await db_session.get(m.User, user_id) is None:
            raise NotFound("We could not find that account.")
        row = await CreditService(db_session).adjust(
            user_id, data.amount, reason=data.reason.strip(), by=request.user.id
        )
        after_commit(db_session, partial(announce_credit_changes, db_session, queues))
        await commit(db_session)
        return CreditEntry(
            id=row.id, amount=row.amount, kind=row.kind, reference=row.reference,
            balance_after=row.balance_after, created_at=row.created_at, note=row.note,
        )

    @get("/reconcile", operation_id="AdminReconcileCredits", summary="Balances against the ledger", cache=False)
    async def reconcile(self, db_session: NamedDependency[AsyncSession]) -> ReconcileReport:
        rows = await CreditService(db_session).reconcile()
        bad = [ReconcileRow(r.user_id, r.email, r.balance, r.ledger_sum) for r in rows if not r.ok]
        return ReconcileReport(ok=not bad, users_checked=len(rows), mismatches=bad)

    @get("/failed-jobs", operation_id="AdminListFailedJobs", summary="Generations that failed for good", cache=False)
    async def list_failed_jobs(
        self,
        db_session: NamedDependency[AsyncSession],
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
        offset: Annotated[int, QueryParameter(ge=0)] = 0,
    ) -> FailedJobPage:
        """The dead letters: every clip whose generation failed after its last attempt."""
        failed = sa.select(m.Clip).where(m.Clip.status == m.ClipStatus.FAILED)
        total = await db_session.scalar(sa.select(sa.func.count()).select_from(failed.subquery()))
        clips = await db_session.scalars(
            failed.order_by(m.Clip.finished_at.desc().nulls_last()).limit(limit).offset(offset)
        )
        return FailedJobPage(
            items=[
                FailedJob(
                    clip_id=c.id, kind=c.kind, user_id=c.user_id, project_id=c.project_id,
                    generation=c.generation, attempts=c.attempts, provider=c.provider,
                    error=c.error_message, detail=(c.failure_detail or "")[-2000:] or None,
                    failed_at=c.finished_at,
                )
                for c in clips
            ],
            total=int(total or 0),
        )

    @post(
        "/failed-jobs/{clip_id:uuid}/retry", operation_id="AdminRetryFailedJob",
        summary="Run a failed generation again", status_code=202,
    )
    async def retry_failed_job(
        self, clip_id: FromPath[uuid.UUID], db_session: NamedDependency[AsyncSession],
        queues: NamedDependency[Queues],
    ) -> RetriedJob:
        """Queues a new generation of the clip at no charge (its credit was refunded when it failed)."""
        clip = await db_session.scalar(
            sa.select(m.Clip).where(m.Clip.id == clip_id).with_for_update(of=m.Clip)
        )
        if clip is None:
            raise NotFound("We could not find that clip.")
        if clip.status != m.ClipStatus.FAILED:
            raise Conflict("Only failed generations can be retried; this clip is " + clip.status.value + ".")
        generation = lifecycle.start_generation(clip, charged_credits=0)
        after_commit(db_session, partial(enqueue_generate_clip, queues, clip_id, generation))
        await commit(db_session)
        return RetriedJob(clip_id=clip_id, generation=generation, status=m.ClipStatus.QUEUED)
