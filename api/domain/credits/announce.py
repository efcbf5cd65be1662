"""Telling people about credit changes once they are committed: a live event, and a push
notification when credits were added for a reason they will care about."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from api.db import models as m
from api.domain.credits.services import take_changes
from api.domain.push.services import credits_added_notice
from api.events import CreditsChangedEvent, EventPublisher, user_owner
from api.jobs import Queues, enqueue_push

#: Additions worth a notification on the person's devices.
NOTIFY_KINDS = (m.CreditKind.PURCHASE, m.CreditKind.REFERRAL, m.CreditKind.SHARE, m.CreditKind.ADJUSTMENT)


async def announce_credit_changes(session: AsyncSession, queues: Queues) -> None:
    """Call after the commit that made the changes; never raises for a Redis hiccup."""
    rows = take_changes(session)
    if not rows:
        return
    events = EventPublisher.from_queues(queues)
    for row in rows:
        await events.publish(user_owner(row.user_id), CreditsChangedEvent.from_transaction(row))
        if row.amount > 0 and row.kind in NOTIFY_KINDS:
            await enqueue_push(
                queues, row.user_id, credits_added_notice(added=row.amount, balance=row.balance_after),
                key=f"credits:{row.id}",
            )
