"""Where the VAPID key comes from: kept under var/ in development, required in production."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from api.config import ConfigurationError, Settings
from api.domain.push.vapid import VapidKeys, b64url

PRODUCTION = {
    "ECHOES_ENV": "production",
    "SECRET_KEY": "s" * 40,
    "STRIPE_SECRET_KEY": "sk_test_123",
    "STRIPE_WEBHOOK_SECRET": "whsec_123",
    "VAPID_SUBJECT": "mailto:ops@example.com",
    "DATABASE_URL": "postgresql://echoes@db.internal/echoes",
    "REDIS_URL": "redis://cache.internal:6379/0",
    "PUBLIC_URL": "https://echoes.example.com",
}


def _key_pair() -> tuple[ec.EllipticCurvePrivateKey, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return key, b64url(public)


def _pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def test_development_generates_the_key_once_and_keeps_it_under_var(tmp_path: Path) -> None:
    env = {"ECHOES_ENV": "development", "ECHOES_VAR_DIR": str(tmp_path)}
    first = Settings.from_env(env)
    second = Settings.from_env(env)
    stored = tmp_path / "vapid_private_key.pem"
    assert stored.stat().st_mode & 0o777 == 0o600
    assert first.vapid_private_key == second.vapid_private_key == stored.read_text().strip()
    assert VapidKeys.from_settings(first).application_server_key == VapidKeys.from_settings(second).application_server_key


def test_production_refuses_to_start_without_a_vapid_key_or_subject(tmp_path: Path) -> None:
    env = {**PRODUCTION, "ECHOES_VAR_DIR": str(tmp_path)}
    with pytest.raises(ConfigurationError, match="VAPID_PRIVATE_KEY"):
        Settings.from_env(env)
    key, _ = _key_pair()
    without_subject = {k: v for k, v in env.items() if k != "VAPID_SUBJECT"}
    with pytest.raises(ConfigurationError, match="VAPID_SUBJECT"):
        Settings.from_env({**without_subject, "VAPID_PRIVATE_KEY": _pem(key)})
    assert not (tmp_path / "vapid_private_key.pem").exists()


@pytest.mark.parametrize("form", ["pem", "escaped-pem", "raw-base64url"])
def test_a_configured_key_in_any_common_form_gives_its_public_key(tmp_path: Path, form: str) -> None:
    key, public = _key_pair()
    value = {
        "pem": _pem(key),
        "escaped-pem": _pem(key).replace("\n", "\\n"),
        "raw-base64url": b64url(key.private_numbers().private_value.to_bytes(32, "big")),
    }[form]
    settings = Settings.from_env(
        {**PRODUCTION, "ECHOES_VAR_DIR": str(tmp_path), "VAPID_PRIVATE_KEY": value, "VAPID_PUBLIC_KEY": public}
    )
    keys = VapidKeys.from_settings(settings)
    assert keys.application_server_key == public
    assert keys.subject == "mailto:ops@example.com"
    assert keys.claims() == {"sub": "mailto:ops@example.com"} and keys.claims() is not keys.claims()


def test_a_public_key_that_does_not_match_the_private_key_is_refused(tmp_path: Path) -> None:
    key, _ = _key_pair()
    _, other_public = _key_pair()
    settings = Settings.from_env(
        {**PRODUCTION, "ECHOES_VAR_DIR": str(tmp_path), "VAPID_PRIVATE_KEY": _pem(key), "VAPID_PUBLIC_KEY": other_public}
    )
    with pytest.raises(ConfigurationError, match="does not belong"):
        VapidKeys.from_settings(settings)


@pytest.mark.parametrize("value", ["not a key", b64url(b"\x01" * 16)])
def test_an_unusable_private_key_is_a_configuration_error(tmp_path: Path, value: str) -> None:
    settings = Settings.from_env({**PRODUCTION, "ECHOES_VAR_DIR": str(tmp_path), "VAPID_PRIVATE_KEY": value})
    with pytest.raises(ConfigurationError, match="VAPID_PRIVATE_KEY"):
        VapidKeys.from_settings(settings)


def test_a_subject_that_push_services_would_refuse_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="VAPID_SUBJECT"):
        Settings.from_env({"ECHOES_VAR_DIR": str(tmp_path), "VAPID_SUBJECT": "ops@example.com"})
