"""Session tokens without I/O: what is accepted, and that nasty values are refused quietly."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest

from api.config import Settings
from api.domain.accounts.devices import client_network, describe_device
from api.domain.accounts.sessions import SessionTokens
from api.domain.visitors.identity import VisitorIdentity
from api.security.keys import Keys

KEYS = Keys.derive("unit-test-secret-" + "s" * 32)
SETTINGS = Settings(var_dir=Path("/nonexistent"), secret_key="unused")
TOKENS = SessionTokens(KEYS, SETTINGS)

# Fixed, so every test process (xdist) collects the same test ids.
SID = "0f6d1c1e9b8a4e4f8a0b5c2d3e4f5a6b"
NASTY = [
    "", " ", "é", "\u00ff\u00fe", "ünïcödé.ünïcödé.ünïcödé", "a.b", "a.b.c", "a.b.c.d", "a.b.c.d.e",
    "....", "%%%", "\x00", "Bearer x", "x" * 5000, "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
    f"{SID}.1.AAAA.AAAA", f"{SID}.99999999999999999999.AAAA.AAAA",
    "zz" * 16 + ".0.AAAA.AAAA", f"{SID}.-1.AAAA.AAAA", f"{SID}.1.AAAA.@@@",
]


def test_an_access_token_names_the_user_and_the_session() -> None:
    user_id, session_id = uuid.uuid4(), uuid.uuid4()
    claims = TOKENS.read_access_token(TOKENS.access_token(user_id, session_id))
    assert claims is not None
    assert (claims.user_id, claims.session_id) == (user_id, session_id)
    assert claims.expires_at > datetime.now(UTC)


def test_an_expired_access_token_is_still_read_so_log_out_can_end_its_session() -> None:
    past = datetime.now(UTC) - timedelta(hours=2)
    claims = TOKENS.read_access_token(TOKENS.access_token(uuid.uuid4(), uuid.uuid4(), now=past))
    assert claims is not None and claims.expires_at < datetime.now(UTC)


def test_access_tokens_signed_with_another_key_or_without_a_session_are_refused() -> None:
    other = SessionTokens(Keys.derive("another-secret-" + "o" * 32), SETTINGS)
    assert TOKENS.read_access_token(other.access_token(uuid.uuid4(), uuid.uuid4())) is None
    exp = int((datetime.now(UTC) + timedelta(minutes=5)).timestamp())
    no_sid = jwt.encode({"sub": str(uuid.uuid4()), "exp": exp}, KEYS.session_jwt, algorithm="HS256")
    assert TOKENS.read_access_token(no_sid) is None
    bad_sub = jwt.encode({"sub": "ü", "sid": str(uuid.uuid4()), "exp": exp}, KEYS.session_jwt, algorithm="HS256")
    assert TOKENS.read_access_token(bad_sub) is None
    string_exp = jwt.encode(
        {"sub": str(uuid.uuid4()), "sid": str(uuid.uuid4()), "exp": "soon"}, KEYS.session_jwt, algorithm="HS256"
    )
    assert TOKENS.read_access_token(string_exp) is None
    # A media-URL key must not sign a session: the keys are separate.
    media_signed = jwt.encode({"sub": str(uuid.uuid4()), "sid": str(uuid.uuid4()), "exp": exp}, KEYS.media_url)
    assert TOKENS.read_access_token(media_signed) is None


def test_refresh_tokens_carry_their_session_and_generation_and_cannot_be_forged() -> None:
    session_id = uuid.uuid4()
    token = TOKENS.refresh_token(session_id, 7)
    assert TOKENS.read_refresh_token(token) == (session_id, 7)
    body, _, _mac = token.rpartition(".")
    assert TOKENS.read_refresh_token(body + ".AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA") is None
    session_hex, _, rest = token.partition(".")
    assert TOKENS.read_refresh_token(f"{session_hex}.8.{rest.partition('.')[2]}") is None


@pytest.mark.parametrize("value", NASTY)
def test_nasty_values_are_refused_without_raising(value: str) -> None:
    assert TOKENS.read_access_token(value) is None
    assert TOKENS.read_refresh_token(value) is None
    assert VisitorIdentity(KEYS, secure_cookie=False).parse(value) is None


def test_a_visitor_cookie_with_a_non_ascii_signature_is_refused() -> None:
    identity = VisitorIdentity(KEYS, secure_cookie=False)
    visitor_id = uuid.uuid4()
    assert identity.parse(identity.cookie_value(visitor_id)) == visitor_id
    assert identity.parse(f"{visitor_id.hex}.ééééééééééééééééééééé") is None


@pytest.mark.parametrize(
    ("user_agent", "device"),
    [
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
         "Version/17.4 Mobile/15E148 Safari/604.1", "Safari on iOS"),
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
         "Chrome/124.0 Safari/537.36 Edg/124.0", "Edge on Windows"),
        ("Mozilla/5.0 (Android 14; Mobile; rv:125.0) Gecko/125.0 Firefox/125.0", "Firefox on Android"),
        ("curl/8.5.0", "Unknown device"),
        (None, "Unknown device"),
    ],
)
def test_devices_are_described_as_a_person_would(user_agent: str | None, device: str) -> None:
    assert describe_device(user_agent) == device


def test_only_the_network_of_a_client_address_is_kept() -> None:
    assert client_network("203.0.113.77") == "203.0.113.0/24"
    assert client_network("2001:db8:1:2:3::9") == "2001:db8:1::/48"
    assert client_network("testclient") is None
