"""Sign-up and log-in: accounts, the sign-up bonus, referrals and claiming free tries."""

from __future__ import annotations

import re
import secrets
import uuid

import sqlalchemy as sa
import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api.db import models as m
from api.domain.accounts.passwords import check_password_strength, hash_password, verify_password
from api.domain.accounts.schemas import Me
from api.domain.credits.services import CreditService
from api.errors import Conflict, EchoesError, InvalidInput, NotFound

log = structlog.get_logger()

_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


class InvalidCredentials(EchoesError):
    status_code = 401
    code = "INVALID_CREDENTIALS"
    title = "Wrong email or password"


class WrongPassword(EchoesError):
    status_code = 422
    code = "WRONG_PASSWORD"
    title = "Wrong password"


class EmailTaken(Conflict):
    code = "EMAIL_TAKEN"
    title = "Email already registered"


def normalise_email(raw: str) -> str:
    email = raw.strip().lower()
    if not _EMAIL_RE.match(email):
        raise InvalidInput("Please enter a valid email address, like name@example.com.", field="email")
    return email


def new_referral_code() -> str:
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8))


def to_me(user: m.User) -> Me:
    return Me(
        id=user.id, email=user.email, display_name=user.display_name,
        credit_balance=user.credit_balance, referral_code=user.referral_code,
        role=user.role, created_at=user.created_at,
    )


class AccountService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def signup(
        self, *, email: str, password: str, display_name: str | None, referral_code: str | None,
        visitor_id: uuid.UUID | None,
    ) -> tuple[m.User, list[uuid.UUID], bool]:
        """Create the account, link the referrer, claim free tries. The sign-up bonus waits
        for a verified e-mail address (:meth:`CreditService.grant_verification_bonuses`)."""
        email = normalise_email(email)
        check_password_strength(password, email=email)
        name = (display_name or "").strip() or email.split("@", 1)[0]
        password_hash = await hash_password(password)
        referrer_id = None
        if referral_code:
            referrer_id = await self.session.scalar(
                sa.select(m.User.id).where(m.User.referral_code == referral_code.strip().upper())
            )
        for _ in range(5):
            user = m.User(
                email=email, password_hash=password_hash, display_name=name[:80],
                role=m.UserRole.USER, credit_balance=0, credits_owed=0,
                referral_code=new_referral_code(), referred_by_id=referrer_id,
            )
            try:
                async with self.session.begin_nested():
                    self.session.add(user)
                    await self.session.flush()
                break
            except IntegrityError as exc:
                if "uq_users_email" in str(exc.orig):
                    raise EmailTaken(
                        "An account with this email already exists. Log in instead, or use another email.",
                        field="email",
                    ) from None
                if "uq_users_referral_code" not in str(exc.orig):
                    raise
        else:  # pragma: no cover - 32^8 codes make five collisions in a row practically impossible
            raise RuntimeError("could not allocate a referral code")
        await CreditService(self.session).grant_verification_bonuses(user.id)
        claimed = await self.claim_free_tries(user.id, visitor_id)
        await self.session.refresh(user)
        log.info("signup", user_id=str(user.id), referred=referrer_id is not None, claimed=len(claimed))
        return user, claimed, referrer_id is not None

    async def login(self, *, email: str, password: str) -> m.User:
        try:
            email = normalise_email(email)
        except InvalidInput:
            email = ""
        user = await self.session.scalar(sa.select(m.User).where(m.User.email == email)) if email else None
        if not await verify_password(user.password_hash if user else None, password) or user is None:
            raise InvalidCredentials("That email and password don't match an account. Please try again.")
        return user

    async def confirm_password(self, user: m.User, password: str) -> None:
        """Raise :class:`WrongPassword` unless ``password`` is the account's current one
        (for changes that a borrowed, signed-in browser must not be able to make)."""
        if not await verify_password(user.password_hash, password):
            raise WrongPassword("That is not your current password.", field="currentPassword")

    async def change_password(self, user_id: uuid.UUID, *, current_password: str, new_password: str) -> m.User:
        """Set a new password; the caller ends the account's other sessions in the same unit."""
        user = await self.get(user_id)
        await self.confirm_password(user, current_password)
        check_password_strength(new_password, email=user.email, field="newPassword")
        if new_password == current_password:
            raise InvalidInput("Please choose a password different from the current one.", field="newPassword")
        user.password_hash = await hash_password(new_password)
        log.info("password_changed", user_id=str(user.id))
        return user

    async def claim_free_tries(self, user_id: uuid.UUID, visitor_id: uuid.UUID | None) -> list[uuid.UUID]:
        """Move the visitor's free-try clips (and their photos) into the account."""
        if visitor_id is None:
            return []
        clip_ids = list(
            await self.session.scalars(
                sa.update(m.Clip)
                .where(
                    m.Clip.visitor_id == visitor_id,
                    m.Clip.kind == m.ClipKind.FREE_TRY,
                    m.Clip.user_id.is_(None),
                )
                .values(user_id=user_id)
                .returning(m.Clip.id)
            )
        )
        await self.session.execute(
            sa.update(m.Photo)
            .where(m.Photo.visitor_id == visitor_id, m.Photo.user_id.is_(None))
            .values(user_id=user_id)
        )
        return clip_ids

    async def get(self, user_id: uuid.UUID) -> m.User:
        user = await self.session.get(m.User, user_id)
        if user is None:
            raise NotFound("We could not find that account.")
        return user
