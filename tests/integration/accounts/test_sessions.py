"""Server-side sessions: revocable, listed, refreshed with rotating tokens, and never leaked
outside Set-Cookie."""

from __future__ import annotations

import uuid
from contextlib import aclosing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from litestar import Litestar

from api.config import Settings
from api.db.engine import sqlalchemy_config
from api.domain.accounts.sessions import REFRESH_PATH, SessionTokens, revoke_all_sessions
from api.security.keys import Keys
from tests.conftest import make_settings
from tests.integration.accounts.browsers import (
    FIREFOX_ANDROID,
    browser,
    csrf,
    log_in,
    running_app,
    sign_up,
)
from tests.integration.helpers import PASSWORD, sql

HOST = "testserver.local"


def _set_cookies(response: httpx.Response) -> dict[str, str]:
    """Each cookie the response sets, name -> the whole Set-Cookie line."""
    return {line.split("=", 1)[0]: line for line in response.headers.get_list("set-cookie")}


def _cookie_value(line: str) -> str:
    return line.split(";", 1)[0].split("=", 1)[1]


async def _signed_up(app: Litestar, **kwargs: str) -> tuple[httpx.AsyncClient, str]:
    tab = browser(app, **kwargs)
    email = f"user-{uuid.uuid4().hex[:10]}@example.com"
    await sign_up(tab, email)
    return tab, email


async def test_session_tokens_appear_only_in_set_cookie_never_in_another_header_or_a_body(app: Litestar) -> None:
    async with browser(app) as tab:
        email = "leak@example.com"
        answers = [await sign_up(tab, email)]
        answers.append(await log_in(tab, email))
        answers.append(await tab.post(REFRESH_PATH))
        answers.append(await tab.get("/api/me"))
        assert [a.status_code for a in answers] == [201, 200, 204, 200]
        assert [sorted(_set_cookies(a)) for a in answers[:3]] == [["echoes_refresh", "echoes_session"]] * 3
        tokens = {
            _cookie_value(line) for answer in answers for name, line in _set_cookies(answer).items()
            if name in ("echoes_session", "echoes_refresh")
        }
        for answer in answers:
            assert "authorization" not in answer.headers
            other_headers = [v for k, v in answer.headers.multi_items() if k != "set-cookie"]
            for token in tokens:
                assert token not in answer.text
                assert all(token not in value for value in other_headers)


async def test_cookies_are_httponly_and_the_refresh_cookie_goes_only_to_the_refresh_path(app: Litestar) -> None:
    async with browser(app) as tab:
        cookies = _set_cookies(await sign_up(tab, "c@example.com"))
    access, refresh = cookies["echoes_session"], cookies["echoes_refresh"]
    assert "HttpOnly" in access and "SameSite=lax" in access and "Path=/;" in access
    assert "HttpOnly" in refresh and "SameSite=strict" in refresh and f"Path={REFRESH_PATH}" in refresh
    assert not _cookie_value(access).startswith("Bearer")


async def test_logging_out_ends_the_session_on_the_server_so_a_copied_cookie_stops_working(app: Litestar) -> None:
    tab, _ = await _signed_up(app)
    async with aclosing(tab), browser(app, ip="203.0.113.9") as thief:
        thief.cookies.set("echoes_session", tab.cookies["echoes_session"], domain=HOST)
        assert (await thief.get("/api/me")).status_code == 200
        logout = await tab.post("/api/auth/logout")
        assert logout.status_code == 204
        assert {"echoes_session", "echoes_refresh"} <= set(_set_cookies(logout))
        copied = await thief.get("/api/me")
        assert copied.status_code == 401 and copied.json()["code"] == "NOT_AUTHENTICATED"


async def test_log_out_everywhere_ends_every_session_of_the_account(app: Litestar) -> None:
    first, email = await _signed_up(app)
    async with aclosing(first), browser(app, user_agent=FIREFOX_ANDROID) as second:
        assert (await log_in(second, email)).status_code == 200
        assert (await first.post("/api/auth/logout-all")).status_code == 204
        assert (await first.get("/api/me")).status_code == 401
        assert (await second.get("/api/me")).status_code == 401
        assert (await second.post(REFRESH_PATH)).status_code == 401


async def test_the_sessions_list_shows_each_device_and_ending_one_takes_effect_at_once(app: Litestar) -> None:
    laptop, email = await _signed_up(app)
    async with aclosing(laptop), browser(app, user_agent=FIREFOX_ANDROID, ip="192.0.2.44") as phone:
        assert (await log_in(phone, email)).status_code == 200
        listed = (await laptop.get("/api/auth/sessions")).json()["items"]
        assert [(s["device"], s["current"]) for s in listed] == [
            ("Firefox on Android", False), ("Safari on macOS", True),
        ]
        assert listed[0]["network"] == "192.0.2.0/24"
        phone_session = listed[0]["id"]
        assert (await laptop.delete(f"/api/auth/sessions/{phone_session}")).status_code == 204
        assert (await phone.get("/api/me")).status_code == 401
        assert (await phone.post(REFRESH_PATH)).status_code == 401
        assert (await laptop.get("/api/me")).status_code == 200
        assert [s["current"] for s in (await laptop.get("/api/auth/sessions")).json()["items"]] == [True]
        assert (await laptop.delete(f"/api/auth/sessions/{phone_session}")).status_code == 404


async def test_another_accounts_session_cannot_be_seen_or_ended(app: Litestar) -> None:
    alice, _ = await _signed_up(app)
    bob, _ = await _signed_up(app)
    async with aclosing(alice), aclosing(bob):
        bobs = (await bob.get("/api/auth/sessions")).json()["items"]
        assert len((await alice.get("/api/auth/sessions")).json()["items"]) == 1
        refused = await alice.delete(f"/api/auth/sessions/{bobs[0]['id']}")
        assert refused.status_code == 404 and refused.json()["code"] == "NOT_FOUND"
        assert (await bob.get("/api/me")).status_code == 200


async def test_changing_the_password_needs_the_current_one_and_ends_every_other_session(app: Litestar) -> None:
    here, email = await _signed_up(app)
    async with aclosing(here), browser(app, user_agent=FIREFOX_ANDROID) as elsewhere:
        assert (await log_in(elsewhere, email)).status_code == 200
        new_password = "a brand new passphrase here"
        wrong = await here.post("/api/me/password", json={"currentPassword": "not it at all", "newPassword": new_password})
        assert wrong.status_code == 422 and wrong.json()["code"] == "WRONG_PASSWORD"
        weak = await here.post("/api/me/password", json={"currentPassword": PASSWORD, "newPassword": "short"})
        assert weak.status_code == 422 and weak.json()["field"] == "newPassword"
        assert (await elsewhere.get("/api/me")).status_code == 200
        changed = await here.post("/api/me/password", json={"currentPassword": PASSWORD, "newPassword": new_password})
        assert changed.status_code == 204
        assert (await here.get("/api/me")).status_code == 200
        assert (await elsewhere.get("/api/me")).status_code == 401
        async with browser(app) as fresh:
            assert (await log_in(fresh, email)).status_code == 401
            assert (await log_in(fresh, email, new_password)).status_code == 200


async def test_an_expired_access_token_asks_for_a_refresh_and_the_refresh_rotates_both_cookies(
    app: Litestar, settings: Settings
) -> None:
    tokens = SessionTokens(Keys.derive(settings.secret_key), settings)
    tab, _ = await _signed_up(app)
    async with aclosing(tab):
        claims = tokens.read_access_token(tab.cookies["echoes_session"])
        assert claims is not None
        old = tokens.access_token(claims.user_id, claims.session_id, now=datetime.now(UTC) - timedelta(hours=1))
        tab.cookies.set("echoes_session", old, domain=HOST)
        expired = await tab.get("/api/me")
        assert expired.status_code == 401 and expired.json()["code"] == "ACCESS_TOKEN_EXPIRED"
        old_refresh = tab.cookies["echoes_refresh"]
        assert (await tab.post(REFRESH_PATH)).status_code == 204
        assert tab.cookies["echoes_refresh"] != old_refresh
        assert (await tab.get("/api/me")).status_code == 200


async def test_reusing_a_replaced_refresh_token_ends_the_whole_session(
    database_url: str, redis_url: str, queue_prefix: str, var_dir: Path, clean_db: None
) -> None:
    settings = make_settings(
        database_url=database_url, redis_url=redis_url, queue_prefix=queue_prefix, var_dir=var_dir,
        REFRESH_REUSE_GRACE_SECONDS="0",
    )
    async with running_app(settings) as app:
        victim, _ = await _signed_up(app)
        async with aclosing(victim), browser(app, ip="203.0.113.66") as thief:
            stolen = victim.cookies["echoes_refresh"]
            assert (await victim.post(REFRESH_PATH)).status_code == 204
            await csrf(thief)
            thief.cookies.set("echoes_refresh", stolen, domain=HOST, path=REFRESH_PATH)
            replay = await thief.post(REFRESH_PATH)
            assert replay.status_code == 401 and "echoes_session" not in _set_cookies(replay)
            assert (await victim.get("/api/me")).status_code == 401
            assert (await victim.post(REFRESH_PATH)).status_code == 401
    rows = await sql(database_url, "SELECT revoked_reason FROM user_sessions")
    assert [r["revoked_reason"] for r in rows] == ["refresh_reuse"]


async def test_two_tabs_refreshing_at_once_keep_the_session(app: Litestar) -> None:
    tab, _ = await _signed_up(app)
    async with aclosing(tab), browser(app) as other_tab:
        await csrf(other_tab)
        other_tab.cookies.set("echoes_session", tab.cookies["echoes_session"], domain=HOST)
        other_tab.cookies.set("echoes_refresh", tab.cookies["echoes_refresh"], domain=HOST, path=REFRESH_PATH)
        assert (await tab.post(REFRESH_PATH)).status_code == 204
        late = await other_tab.post(REFRESH_PATH)
        assert late.status_code == 204
        assert "echoes_refresh" not in _set_cookies(late) and "echoes_session" in _set_cookies(late)
        assert (await other_tab.get("/api/me")).status_code == 200
        assert (await tab.get("/api/me")).status_code == 200


async def test_a_forged_refresh_token_is_refused_without_ending_the_session_it_names(app: Litestar) -> None:
    tab, _ = await _signed_up(app)
    async with aclosing(tab), browser(app, ip="203.0.113.5") as attacker:
        await csrf(attacker)
        session_hex, generation, _nonce, _mac = tab.cookies["echoes_refresh"].split(".")
        forged = f"{session_hex}.{int(generation) + 1}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.{'A' * 43}"
        attacker.cookies.set("echoes_refresh", forged, domain=HOST, path=REFRESH_PATH)
        assert (await attacker.post(REFRESH_PATH)).status_code == 401
        assert (await tab.get("/api/me")).status_code == 200
        assert (await tab.post(REFRESH_PATH)).status_code == 204


async def test_revoke_all_sessions_can_keep_one_and_counts_what_it_ended(app: Litestar, settings: Settings) -> None:
    keep, email = await _signed_up(app)
    async with aclosing(keep), browser(app) as second, browser(app) as third:
        for other in (second, third):
            assert (await log_in(other, email)).status_code == 200
        me = (await keep.get("/api/me")).json()
        current = next(s["id"] for s in (await keep.get("/api/auth/sessions")).json()["items"] if s["current"])
        db = sqlalchemy_config(settings)
        async with db.get_session() as session:
            ended = await revoke_all_sessions(session, uuid.UUID(me["id"]), except_session_id=uuid.UUID(current))
            await session.commit()
        await db.get_engine().dispose()
        assert ended == 2
        assert (await keep.get("/api/me")).status_code == 200
        assert (await second.get("/api/me")).status_code == 401
        assert (await third.get("/api/me")).status_code == 401


async def test_deleting_a_user_deletes_their_sessions(app: Litestar, database_url: str) -> None:
    tab, _ = await _signed_up(app)
    async with aclosing(tab):
        user_id = (await tab.get("/api/me")).json()["id"]
    assert len(await sql(database_url, "SELECT id FROM user_sessions")) == 1
    await sql(database_url, "DELETE FROM credit_transactions")
    await sql(database_url, "DELETE FROM users WHERE id::text = $1", user_id)
    assert await sql(database_url, "SELECT id FROM user_sessions") == []
