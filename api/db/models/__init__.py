"""SQLAlchemy models, imported everywhere as ``from api.db import models as m``.

Models never import domain code. The schema is made only by the Alembic migrations in
``migrations/``; a test checks that these models and the migrations agree.
"""

from advanced_alchemy.base import orm_registry

from api.db.models.clip import Clip, ClipKind, ClipStatus
from api.db.models.credit import IDEMPOTENT_KINDS, CreditKind, CreditTransaction
from api.db.models.music import MusicTrack, TrackSource, TrackStatus
from api.db.models.payment import (
    OrphanRefund,
    PaymentDispute,
    Purchase,
    PurchaseStatus,
    StripeEvent,
)
from api.db.models.photo import Photo
from api.db.models.project import FREE_REGENERATIONS, MAX_CLIPS_PER_PROJECT, Project
from api.db.models.push import MAX_ENDPOINT_LENGTH, PushSubscription
from api.db.models.render import ACTIVE_RENDER_STATUSES, Render, RenderStatus
from api.db.models.session import UserSession
from api.db.models.user import User, UserRole

metadata = orm_registry.metadata

__all__ = [
    "ACTIVE_RENDER_STATUSES",
    "FREE_REGENERATIONS",
    "IDEMPOTENT_KINDS",
    "MAX_CLIPS_PER_PROJECT",
    "MAX_ENDPOINT_LENGTH",
    "Clip",
    "ClipKind",
    "ClipStatus",
    "CreditKind",
    "CreditTransaction",
    "MusicTrack",
    "OrphanRefund",
    "PaymentDispute",
    "Photo",
    "Project",
    "Purchase",
    "PurchaseStatus",
    "PushSubscription",
    "Render",
    "RenderStatus",
    "StripeEvent",
    "TrackSource",
    "TrackStatus",
    "User",
    "UserRole",
    "UserSession",
    "metadata",
]
