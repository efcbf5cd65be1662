"""Payments: Stripe Checkout and webhooks against a faithful local fake, and the demo checkout."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from api.domain.credits.services import CreditService


async def assert_ledger_matches_balances(database_url: str) -> None:
    """Every user's cached balance equals the sum of their ledger rows."""
    engine = create_async_engine(database_url)
    try:
        async with AsyncSession(engine) as session:
            rows = await CreditService(session).reconcile()
    finally:
        await engine.dispose()
    mismatches = [r for r in rows if not r.ok]
    assert not mismatches, f"cached balances differ from the ledger: {mismatches}"
