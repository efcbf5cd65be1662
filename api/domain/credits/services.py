"""The credit ledger: the one service that changes a user's credits.

Every change is a ``credit_transactions`` row written in the same transaction as the update
of the cached ``users.credit_balance``. Spending is one conditional ``UPDATE … WHERE
credit_balance >= n``: the row lock it takes serialises concurrent spenders, so a balance can
never be spent twice and never goes below zero (a CHECK constraint backs that up).
Idempotent kinds (a purchase per checkout session, a refund per clip, a share reward per
project, a referral per pair) are unique in the database; applying one twice is a no-op.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

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


def referral_reference(referred_id: uuid.UUID) -> str:
    """The ledger reference both sides' bonus for one referred person's first purchase share."""
    return f"referral:{referred_id}"


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

    # -- shortfalls ------------------------------------------------------------------------

    async def take_back(
        self, user_id: uuid.UUID, amount: int, reference: str, *, note: str, owed_because: str
    ) -> tuple[int, int]:
        """Claw back ``amount`` credits (a refund, a dispute): as many as the balance holds,
        the rest added to what the account owes, with the account flagged. Returns
        ``(taken, owed)``; applying the same ``reference`` again takes and owes nothing."""
        if amount <= 0 or await self._already(user_id, m.CreditKind.CHARGEBACK, reference):
            return 0, 0
        taken = await self.take_up_to(user_id, amount, m.CreditKind.CHARGEBACK, reference, note=note)
        owed = amount - taken
        if owed:
            total = await self.session.scalar(
                sa.update(m.User)
                .where(m.User.id == user_id)
                .values(credits_owed=m.User.credits_owed + owed)
                .returning(m.User.credits_owed)
            )
            await self.session.execute(
                sa.update(m.User)
                .where(m.User.id == user_id)
                .values(flagged_reason=f"Owes {total} credits: {owed_because} covered {_credits(owed)} already spent.")
            )
        return taken, owed

    async def forgive(self, user_id: uuid.UUID, amount: int) -> int:
        """Cancel up to ``amount`` of what the account owes (a dispute it won); returns how
        many. The flag goes once nothing is owed any more."""
        if amount <= 0:
            return 0
        owed = await self.session.scalar(
            sa.select(m.User.credits_owed).where(m.User.id == user_id).with_for_update()
        )
        cancelled = min(owed or 0, amount)
        if cancelled:
            left = (owed or 0) - cancelled
            await self.session.execute(
                sa.update(m.User)
                .where(m.User.id == user_id)
                .values(
                    credits_owed=left,
                    flagged_reason=m.User.flagged_reason if left else None,
                )
            )
        return cancelled

    async def taken_back(self, user_id: uuid.UUID, reference: str) -> int | None:
        """How many credits the claw-back ``reference`` really took (``None``: it never ran)."""
        amount = await self.session.scalar(
            sa.select(m.CreditTransaction.amount).where(
                m.CreditTransaction.user_id == user_id,
                m.CreditTransaction.kind == m.CreditKind.CHARGEBACK,
                m.CreditTransaction.reference == reference,
            )
        )
        return None if amount is None else -amount

    # -- bonuses ---------------------------------------------------------------------------

    async def grant_share_reward(self, user_id: uuid.UUID, project_id: uuid.UUID) -> bool:
        """One credit for sharing a project's video, once per project, and only for a project
        whose clips were paid for with credits (renders are free: a reward per render, or for
        free clips, could be farmed). The ledger's unique (user, kind, reference) makes
        concurrent shares of one project pay once."""
        if not await self._paid_with_credits(user_id, project_id):
            return False
        if await self._legacy_share_reward(user_id, project_id):
            return False
        row = await self.grant(user_id, SHARE_REWARD, m.CreditKind.SHARE, f"project:{project_id}")
        return row is not None

    async def _paid_with_credits(self, user_id: uuid.UUID, project_id: uuid.UUID) -> bool:
        """Whether one of the project's clips has a generation charged from the ledger and
        not refunded."""
        charge, refund = aliased(m.CreditTransaction), aliased(m.CreditTransaction)
        found = await self.session.scalar(
            sa.select(charge.id)
            .join(m.Clip, charge.reference.like(sa.func.concat("clip:", sa.cast(m.Clip.id, sa.String), ":gen:%")))
            .where(
                m.Clip.project_id == project_id,
                charge.user_id == user_id,
                charge.kind.in_((m.CreditKind.GENERATION, m.CreditKind.REGENERATION)),
                ~sa.exists().where(
                    refund.user_id == charge.user_id,
                    refund.kind == m.CreditKind.REFUND,
                    refund.reference == charge.reference,
                ),
            )
            .limit(1)
        )
        return found is not None

    async def _legacy_share_reward(self, user_id: uuid.UUID, project_id: uuid.UUID) -> bool:
        """A reward paid before rewards were per project (``video:<render id>``) counts."""
        found = await self.session.scalar(
            sa.select(m.CreditTransaction.id)
            .join(m.Render, m.CreditTransaction.reference == sa.func.concat("video:", sa.cast(m.Render.id, sa.String)))
            .where(
                m.Render.project_id == project_id,
                m.CreditTransaction.user_id == user_id,
                m.CreditTransaction.kind == m.CreditKind.SHARE,
            )
            .limit(1)
        )
        return found is not None

    async def grant_verification_bonuses(self, user_id: uuid.UUID) -> list[m.CreditTransaction]:
        """Everything that waited for this account's e-mail address to be verified: the
        sign-up bonus, its own referral bonus, and the referral bonus it earned as the
        referrer of people who have made their first purchase. Safe to call any number of
        times (each bonus is unique in the ledger); does nothing for an unverified account.
        Call it in the transaction that sets ``users.email_verified_at``."""
        verified = await self.session.scalar(
            sa.select(m.User.email_verified_at).where(m.User.id == user_id).with_for_update()
        )
        if verified is None:
            return []
        granted = [
            await self.grant(user_id, SIGNUP_BONUS, m.CreditKind.SIGNUP_BONUS, "signup"),
            *await self.pay_referral_bonuses(user_id),
        ]
        referred = await self.session.scalars(
            sa.select(m.User.id).where(m.User.referred_by_id == user_id).order_by(m.User.created_at)
        )
        for referred_id in list(referred):
            granted.extend(await self.pay_referral_bonuses(referred_id))
        return [row for row in granted if row is not None]

    async def pay_referral_bonuses(self, referred_id: uuid.UUID) -> list[m.CreditTransaction]:
        """Pay the referral bonus of ``referred_id``'s first purchase to each side whose
        e-mail address is verified (the other side is paid when it verifies). Nothing while
        that purchase is refunded or disputed; each side is paid at most once."""
        referred = await self.session.scalar(sa.select(m.User).where(m.User.id == referred_id))
        if referred is None or referred.referred_by_id is None:
            return []
        qualifying = await self.session.scalar(
            sa.select(m.Purchase.id).where(
                m.Purchase.user_id == referred_id,
                m.Purchase.referral_first.is_(True),
                m.Purchase.referral_reversed.is_(False),
            )
        )
        if qualifying is None:
            return []
        reference = referral_reference(referred_id)
        rows = []
        if referred.email_verified_at is not None:
            rows.append(
                await self.grant(
                    referred_id, REFERRAL_REWARD, m.CreditKind.REFERRAL, reference,
                    note="Referral reward for your first purchase",
                )
            )
        referrer_verified = await self.session.scalar(
            sa.select(m.User.email_verified_at).where(m.User.id == referred.referred_by_id)
        )
        if referrer_verified is not None:
            rows.append(
                await self.grant(
                    referred.referred_by_id, REFERRAL_REWARD, m.CreditKind.REFERRAL, reference,
                    note="Referral reward: someone you invited made their first purchase",
                )
            )
        return [row for row in rows if row is not None]

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
