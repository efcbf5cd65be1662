"""Malformed signatures, cookies and tokens answer 4xx problem details at every entry point,
never 500: session cookie, refresh cookie, visitor cookie, CSRF header and cookie, media URL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
from litestar import Litestar

from api.config import Settings
from api.domain.accounts.sessions import REFRESH_PATH
from api.security.keys import Keys
from tests.integration.accounts.browsers import browser, csrf
from tests.integration.helpers import PASSWORD

NASTY: list[bytes] = [
    "é".encode(), b"\xff\xfe\xfd", "☃.☃.☃".encode(), "\u202e.\u202e.\u202e\u202e".encode(),
    b"a.b", b"a.b.c", b"a.b.c.d", b"a.b.c.d.e", b"....", b"====", b"%00%ff", b"Bearer x", b"Bearer \xc3\xa9",
    b'"quoted"', b"x" * 5000, "é".encode() * 40, b"eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.", b"!!!.@@@.###",
    uuid.uuid4().hex.encode() + b".1.AAAA.AAAA", uuid.uuid4().hex.encode() + b".99999999999999999999.AA.AA",
    uuid.uuid4().hex.encode() + b".\xc3\xa9",
]


def _assert_problem(response: httpx.Response, *statuses: int) -> None:
    sent = response.request.headers.get("cookie", "") + " " + str(response.request.url)[:200]
    assert response.status_code in statuses, (sent, response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"]


async def test_a_malformed_session_cookie_answers_401(app: Litestar) -> None:
    async with browser(app) as raw:
        for value in NASTY:
            _assert_problem(await raw.get("/api/me", headers={b"cookie": b"echoes_session=" + value}), 401)


async def test_a_well_signed_session_token_with_nonsense_claims_answers_401(
    app: Litestar, settings: Settings
) -> None:
    key = Keys.derive(settings.secret_key).session_jwt
    exp = int((datetime.now(UTC) + timedelta(minutes=5)).timestamp())
    payloads: list[dict[str, Any]] = [
        {"sub": "é", "sid": str(uuid.uuid4()), "exp": exp},
        {"sub": str(uuid.uuid4()), "sid": ["x"], "exp": exp},
        {"sub": str(uuid.uuid4()), "sid": str(uuid.uuid4()), "exp": "tomorrow"},
        {"sub": str(uuid.uuid4()), "sid": str(uuid.uuid4()), "exp": 10**30},
        {"sub": str(uuid.uuid4()), "exp": exp},
    ]
    async with browser(app) as raw:
        for payload in payloads:
            token = jwt.encode(payload, key, algorithm="HS256")
            _assert_problem(await raw.get("/api/me", headers={"cookie": f"echoes_session={token}"}), 401)


async def test_a_malformed_refresh_cookie_answers_401(app: Litestar) -> None:
    async with browser(app) as raw:
        token = await csrf(raw)
        for value in NASTY:
            cookie = f"echoes_csrf={token}; echoes_refresh=".encode() + value
            _assert_problem(await raw.post(REFRESH_PATH, headers={b"cookie": cookie, b"x-csrf-token": token.encode()}), 401)


async def test_a_malformed_visitor_cookie_is_treated_as_no_visitor(app: Litestar) -> None:
    async with browser(app) as raw:
        for value in NASTY:
            cookie = {b"cookie": b"echoes_visitor=" + value}
            _assert_problem(await raw.get(f"/api/try/{uuid.uuid4()}", headers=cookie), 404)
            _assert_problem(await raw.get("/api/events", headers=cookie), 401)


async def test_a_malformed_csrf_header_or_cookie_answers_403(app: Litestar) -> None:
    body = {"email": "nobody@example.com", "password": PASSWORD}
    async with browser(app) as raw:
        token = await csrf(raw)
        for value in NASTY:
            header = {b"cookie": f"echoes_csrf={token}".encode(), b"x-csrf-token": value}
            _assert_problem(await raw.post("/api/auth/login", json=body, headers=header), 403)
            cookie = {b"cookie": b"echoes_csrf=" + value, b"x-csrf-token": token.encode()}
            _assert_problem(await raw.post("/api/auth/login", json=body, headers=cookie), 403)


MEDIA_NASTY = ["²", "１２３", "9" * 5000, "-1", "1e9", "0x10", "1.5", " ", "é", "ü" * 27, "\u0000", "A" * 5000]


async def test_a_malformed_media_signature_or_expiry_answers_403(app: Litestar) -> None:
    path = "/media/clips/AAAAAAAAAAAAAAAAAAAAAA/poster.jpg"
    async with browser(app) as raw:
        for value in MEDIA_NASTY:
            _assert_problem(await raw.get(path, params={"exp": value, "sig": "AAAAAAAAAAAAAAAAAAAAAAAAAAA"}), 403)
            _assert_problem(await raw.get(path, params={"exp": "9999999999", "sig": value}), 403)
            _assert_problem(await raw.get(path, params={"exp": value, "sig": value, "dl": value}), 403)
