"""Production start-up names every missing setting at once, not one per failed attempt."""

from __future__ import annotations

import pytest

from api.config import PRODUCTION_REQUIRED, ConfigurationError, Settings


def test_an_empty_production_environment_names_every_required_setting_in_one_message() -> None:
    with pytest.raises(ConfigurationError) as refused:
        Settings.from_env({"ECHOES_ENV": "production"})
    message = str(refused.value)
    for name in PRODUCTION_REQUIRED:
        assert name in message


def test_s3_storage_in_production_also_needs_its_credentials() -> None:
    env = {name: "x" * 40 for name in PRODUCTION_REQUIRED}
    env |= {"ECHOES_ENV": "production", "STORAGE_URL": "s3://media?endpoint=http://127.0.0.1:9&region=x"}
    with pytest.raises(ConfigurationError) as refused:
        Settings.from_env(env)
    assert "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY" in str(refused.value)
    for name in PRODUCTION_REQUIRED:
        assert name not in str(refused.value)


def test_blank_values_count_as_missing() -> None:
    env = {name: "x" * 40 for name in PRODUCTION_REQUIRED} | {"ECHOES_ENV": "production", "SECRET_KEY": "  "}
    with pytest.raises(ConfigurationError, match=r"not set: SECRET_KEY \("):
        Settings.from_env(env)
