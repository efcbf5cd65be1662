"""The credit ledger: the one service that changes a user's credits.

Every change is a ``credit_transactions`` row written in the same transaction as the update
of the cached ``users.credit_balance``. Spending is one conditional ``UPDATE … WHERE
credit_balance >= n``: the row lock it takes serialises concurrent spenders, so a balance can
never be spent twice and never goes below zero (a CHECK constraint backs that up).
Idempotent kinds (a purchase per checkout session, a refund per clip, a share reward per
video, a referral per pair) are unique in the database; applying one twice is a no-op.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api.db import models as m
from api.errors import InsufficientCredits, NotFound

SIGNUP_BONUS = 1
REFERRAL_REWARD = 5
SHARE_REWARD = 1


@dataclass(frozen=True)
class Reconciliation:
    user_id: uuid.UUID
    email: str
    balance: int
    ledger_sum: int

    @property
    def ok(self) -> bool:
        return self.balance == self.ledger_sum


_CHANGES = "echoes.credit_changes"


def record_change(session: AsyncSession, row: m.CreditTransaction) -> None:
    """Remember a ledger row written in this session, to announce once it is committed."""
    session.info.setdefault(_CHANGES, []).append(row)


def take_changes(session: AsyncSession) -> list[m.CreditTransaction]:
    """The ledger rows recorded since the last call (call after the commit)."""
    return session.info.pop(_CHANGES, [])


def _credits(n: int) -> str:
    return f"{n} credit" if n == 1 else f"{n} credits"


class CreditService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _already(self, user_id: uuid.UUID, kind: m.CreditKind, reference: str) -> bool:
        if kind not in m.IDEMPOTENT_KINDS:
            return False
        found = await self.session.scalar(
            sa.select(m.CreditTransaction.id).where(
                m.CreditTransaction.user_id == user_id,
                m.CreditTransaction.kind == kind,
                m.CreditTransaction.reference == reference,
            )
        )
        return found is not None

    async def _move(
        self, user_id: uuid.UUID, amount: int, kind: m.CreditKind, reference: str, note: str | None
    ) -> m.CreditTransaction | None:
        if amount == 0:
            raise ValueError("a ledger row moves at least one credit")
        if await self._already(user_id, kind, reference):
            return None
        try:
            async with self.session.begin_nested():
                condition = [m.User.id == user_id]
                if amount < 0:
                    condition.append(m.User.credit_balance >= -amount)
                balance = await self.session.scalar(
                    sa.update(m.User)
                    .where(*condition)
                    .values(credit_balance=m.User.credit_balance + amount)
                    .returning(m.User.credit_balance)
                )
                if balance is None:
                    current = await self.session.scalar(
                        sa.select(m.User.credit_balance).where(m.User.id == user_id)
                    )
                    if current is None:
                        raise NotFound("We could not find that account.")
                    missing = -amount - current
                    raise InsufficientCredits(
                        f"This needs {_credits(-amount)} and you have {_credits(current)}. "
                        f"Buy {_credits(missing)} more to continue.",
                        required=-amount,
                        balance=current,
                        missing=missing,
                    )
                row = m.CreditTransaction(
                    user_id=user_id, amount=amount, kind=kind, reference=reference,
                    balance_after=balance, note=note,
                )
                self.session.add(row)
                await self.session.flush()
            record_change(self.session, row)
        except IntegrityError as exc:
            if kind in m.IDEMPOTENT_KINDS and "uq_credit_transactions_once" in str(exc.orig):
                return None
            raise
        return row

    async def grant(
        self, user_id: uuid.UUID, amount: int, kind: m.CreditKind, reference: str, *, note: str | None = None
    ) -> m.CreditTransaction | None:
        """Add credits; ``None`` if this (kind, reference) was already applied."""
        if amount <= 0:
            raise ValueError("grant takes a positive amount")
        return await self._move(user_id, amount, kind, reference, note)

    async def spend(
        self, user_id: uuid.UUID, amount: int, kind: m.CreditKind, reference: str, *, note: str | None = None
    ) -> m.CreditTransaction | None:
        """Take credits or raise :class:`InsufficientCredits` (with how many are missing)."""
        if amount <= 0:
            raise ValueError("spend takes a positive amount")
        return await self._move(user_id, -amount, kind, reference, note)

    async def spend_batch(
        self, user_id: uuid.UUID, references: list[str], kind: m.CreditKind, *, each: int = 1
    ) -> int:
        """Take ``each`` credit per reference, all or nothing; returns the balance after.

        One conditional UPDATE reserves the whole batch, so a batch either fits the balance
        or fails with the number of credits missing; one ledger row per reference keeps
        refunds per item simple.
        """
        if not references:
            return await self.balance(user_id)
        total = each * len(references)
        balance = await self.session.scalar(
            sa.update(m.User)
            .where(m.User.id == user_id, m.User.credit_balance >= total)
            .values(credit_balance=m.User.credit_balance - total)
            .returning(m.User.credit_balance)
        )
        if balance is None:
            current = await self.balance(user_id)
            missing = total - current
            raise InsufficientCredits(
                f"This needs {_credits(total)} and you have {_credits(current)}. "
                f"Buy {_credits(missing)} more to continue.",
                required=total,
                balance=current,
                missing=missing,
            )
        running = balance + total
        for reference in references:
            running -= each
            row = m.CreditTransaction(
                user_id=user_id, amount=-each, kind=kind, reference=reference, balance_after=running
            )
            self.session.add(row)
            record_change(self.session, row)
        await self.session.flush()
        return balance

    async def take_up_to(
        self, user_id: uuid.UUID, amount: int, kind: m.CreditKind, reference: str, *, note: str | None = None
    ) -> int:
        """Take as many of ``amount`` credits as the balance allows; returns how many were taken.

        Used for claw-backs (refunds, chargebacks), which must never push a balance below zero.
        """
        if await self._already(user_id, kind, reference):
            return 0
        balance = await self.session.scalar(
            sa.select(m.User.credit_balance).where(m.User.id == user_id).with_for_update()
        )
        if balance is None:
            raise NotFound("We could not find that account.")
        taken = min(balance, amount)
        if taken > 0:
            await self._move(user_id, -taken, kind, reference, note)
        return taken

    async def adjust(self, user_id: uuid.UUID, amount: int, *, reason: str, by: uuid.UUID) -> m.CreditTransaction:
        """An admin's correction, positive or negative, with the reason kept on the row."""
        row = await self._move(
            user_id, amount, m.CreditKind.ADJUSTMENT, f"admin:{by}:{uuid.uuid4()}", reason
        )
        assert row is not None
        return row

    async def balance(self, user_id: uuid.UUID) -> int:
        value = await self.session.scalar(sa.select(m.User.credit_balance).where(m.User.id == user_id))
        if value is None:
            raise NotFound("We could not find that account.")
        return value

    async def history(
        self, user_id: uuid.UUID, *, limit: int, offset: int
    ) -> tuple[list[m.CreditTransaction], int]:
        total = await self.session.scalar(
            sa.select(sa.func.count()).where(m.CreditTransaction.user_id == user_id)
        )
        rows = await self.session.scalars(
            sa.select(m.CreditTransaction)
            .where(m.CreditTransaction.user_id == user_id)
            .order_by(m.CreditTransaction.created_at.desc(), m.CreditTransaction.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return list(rows), int(total or 0)

    async def reconcile(self) -> list[Reconciliation]:
        """Cached balance against the ledger's sum, for every user."""
        ledger = (
            sa.select(
                m.CreditTransaction.user_id, sa.func.sum(m.CreditTransaction.amount).label("total")
            )
            .group_by(m.CreditTransaction.user_id)
            .subquery()
        )
        rows = await self.session.execute(
            sa.select(m.User.id, m.User.email, m.User.credit_balance, sa.func.coalesce(ledger.c.total, 0))
            .outerjoin(ledger, ledger.c.user_id == m.User.id)
            .order_by(m.User.created_at)
        )
        return [Reconciliation(uid, email, bal, int(total)) for uid, email, bal, total in rows]

    async def grant_share_reward(self, user_id: uuid.UUID, video_id: uuid.UUID) -> bool:
        """The first public share of a video earns its owner one credit, once per video."""
        row = await self.grant(user_id, SHARE_REWARD, m.CreditKind.SHARE, f"video:{video_id}")
        return row is not None

    async def refund_clip(self, user_id: uuid.UUID, clip_id: uuid.UUID, amount: int = 1) -> bool:
        """Give back the credit of a clip that failed for good, once per clip."""
        row = await self.grant(user_id, amount, m.CreditKind.REFUND, f"clip:{clip_id}")
        return row is not None

    async def refund_clip_generation(
        self, user_id: uuid.UUID, clip_id: uuid.UUID, generation: int, amount: int
    ) -> bool:
        """Give back what one generation of a clip cost, once per (clip, generation)."""
        row = await self.grant(user_id, amount, m.CreditKind.REFUND, f"clip:{clip_id}:gen:{generation}")
        return row is not None
