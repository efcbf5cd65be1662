"""``GET /api/credits`` (balance and history) and ``GET /api/credits/packs``."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from litestar.security.jwt import Token
from sqlalchemy.ext.asyncio import AsyncSession

from api.config import Settings
from api.domain.accounts.auth import PUBLIC, CurrentUser
from api.domain.credits.schemas import CreditEntry, CreditHistory, Pack, PackList
from api.domain.credits.services import CreditService


class CreditController(Controller):
    path = "/api/credits"
    tags = ["credits"]

    @get("/", operation_id="GetCredits", summary="Credit balance and history", cache=False)
    async def get_credits(
        self,
        request: Request[CurrentUser, Token, Any],
        db_session: NamedDependency[AsyncSession],
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
        offset: Annotated[int, QueryParameter(ge=0)] = 0,
    ) -> CreditHistory:
        service = CreditService(db_session)
        rows, total = await service.history(request.user.id, limit=limit, offset=offset)
        return CreditHistory(
            balance=await service.balance(request.user.id),
            items=[
                CreditEntry(
                    id=r.id, amount=r.amount, kind=r.kind, reference=r.reference,
                    balance_after=r.balance_after, created_at=r.created_at, note=r.note,
                )
                for r in rows
            ],
            total=total,
            limit=limit,
            offset=offset,
        )

    @get("/packs", operation_id="ListCreditPacks", summary="Credit packs for sale", opt=PUBLIC)
    async def list_packs(self, settings: NamedDependency[Settings]) -> PackList:
        return PackList(
            packs=[
                Pack(id=p.id, name=p.name, credits=p.credits, price_cents=p.price_cents, currency=p.currency)
                for p in settings.credit_packs
            ],
            demo_checkout=settings.demo_checkout,
        )
