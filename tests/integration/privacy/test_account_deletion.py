"""Deleting an account: every file and row of the person goes, the accounting stays and
names no one, and nobody else's media is touched."""

from __future__ import annotations

import uuid
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.app import create_app
from api.config import Settings
from api.storage import Storage
from tests.integration.helpers import PASSWORD, sign_up, sql, with_csrf
from tests.integration.media import (
    all_keys,
    finish_clips,
    finish_render,
    own_track,
    paid_purchase,
    push_subscription,
)
from tests.integration.projects.conftest import give_credits, new_project, photo_files
from tests.paths import PHOTOS


async def _member_with_everything(
    client: AsyncTestClient[Any], db: async_sessionmaker[AsyncSession], storage: Storage, database_url: str,
    *, email: str, display_name: str,
) -> tuple[dict[str, Any], set[str]]:
    """An account with a claimed free clip, a project with finished clips and videos, own
    music, a purchase, a push subscription and an admin note in its ledger; returns the
    account and every storage key it owns."""
    before = await all_keys(storage)
    free = await client.post(
        "/api/try", files={"photo": ("chelsea.jpg", (PHOTOS / "chelsea.jpg").read_bytes(), "image/jpeg")}
    )
    assert free.status_code == 202, free.text
    me = (await sign_up(client, email, displayName=display_name))["user"]
    await give_credits(client, database_url, me, 3)
    project = await new_project(client, f"{display_name}'s garden")
    upload = await client.post(f"/api/projects/{project['id']}/photos", files=photo_files("coffee.jpg", "rocket.jpg"))
    assert upload.json()["accepted"] == 2
    await finish_clips(db, storage, project["id"])
    await finish_render(db, storage, project["id"], me["id"])
    await finish_render(db, storage, project["id"], me["id"])
    await own_track(db, storage, me["id"])
    await paid_purchase(db, me["id"])
    await push_subscription(db, me["id"])
    return me, await all_keys(storage) - before


async def test_deleting_the_account_removes_all_its_media_and_rows_and_keeps_anonymous_accounting(
    client: AsyncTestClient[Any], settings: Settings, db: async_sessionmaker[AsyncSession], storage: Storage,
    database_url: str,
) -> None:
    email, name = f"ada-{uuid.uuid4().hex[:8]}@example.com", "Ada Lovelace"
    async with AsyncTestClient(app=create_app(settings)) as other:
        bystander, theirs = await _member_with_everything(
            other, db, storage, database_url, email=f"bob-{uuid.uuid4().hex[:8]}@example.com", display_name="Bob",
        )
    me, mine = await _member_with_everything(client, db, storage, database_url, email=email, display_name=name)
    assert len(mine) == 2 + 2 * 2 + 2 * 2 + 2 * 2 + 1  # free-try photo+thumb, 2 photos+thumbs, 2 clips, 2 renders, music
    user_id = uuid.UUID(me["id"])
    ledger_before = await sql(database_url, "SELECT id, amount, kind FROM credit_transactions WHERE user_id = $1 ORDER BY id", user_id)
    assert any(row["kind"] == "adjustment" for row in ledger_before)

    wrong = await client.request("DELETE", "/api/me", json={"password": "not my password at all"})
    assert wrong.status_code == 422 and wrong.json()["code"] == "WRONG_PASSWORD"
    assert mine <= await all_keys(storage)
    assert (await client.get("/api/me")).status_code == 200

    deleted = await client.request("DELETE", "/api/me", json={"password": PASSWORD})
    assert deleted.status_code == 204, deleted.text

    remaining = await all_keys(storage)
    assert not mine & remaining, "every stored object of the account is gone"
    assert theirs <= remaining, "another account's media stays"
    assert (await client.get("/api/me")).status_code == 401
    for table in ("photos", "clips", "projects", "renders", "music_tracks", "push_subscriptions"):
        rows = await sql(database_url, f"SELECT count(*) AS n FROM {table} WHERE user_id = $1", user_id)
        assert rows[0]["n"] == 0, table
    active = await sql(database_url, "SELECT count(*) AS n FROM user_sessions WHERE user_id = $1 AND revoked_at IS NULL", user_id)
    assert active[0]["n"] == 0
    bystander_rows = await sql(database_url, "SELECT count(*) AS n FROM clips WHERE user_id = $1", uuid.UUID(bystander["id"]))
    assert bystander_rows[0]["n"] == 3

    ledger_after = await sql(database_url, "SELECT id, amount, kind, note FROM credit_transactions WHERE user_id = $1 ORDER BY id", user_id)
    assert [(r["id"], r["amount"], r["kind"]) for r in ledger_after] == [(r["id"], r["amount"], r["kind"]) for r in ledger_before]
    assert all(r["note"] is None for r in ledger_after)
    assert len(await sql(database_url, "SELECT id FROM purchases WHERE user_id = $1", user_id)) == 1
    user = (await sql(database_url, "SELECT * FROM users WHERE id = $1", user_id))[0]
    assert user["deleted_at"] is not None and user["display_name"] == "Deleted account"
    for table in ("users", "credit_transactions", "purchases"):
        leaks = await sql(
            database_url, f"SELECT count(*) AS n FROM {table} t WHERE t::text ILIKE $1 OR t::text ILIKE $2",
            f"%{email}%", f"%{name}%",
        )
        assert leaks[0]["n"] == 0, f"personal data left in {table}"

    await with_csrf(client)
    login = await client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 401
    again = await sign_up(client, email)
    assert again["user"]["id"] != me["id"]


async def test_account_deletion_needs_the_password(client: AsyncTestClient[Any]) -> None:
    await sign_up(client)
    missing = await client.request("DELETE", "/api/me", json={})
    assert missing.status_code == 400 and missing.json()["code"] == "INVALID_INPUT"
    assert (await client.get("/api/me")).status_code == 200
