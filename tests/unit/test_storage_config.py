"""``STORAGE_URL`` picks the backend; S3 settings are validated at start-up; presigning
follows AWS Signature V4 to the letter."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from api.config import ConfigurationError, Settings
from api.storage.urls import sigv4_presign

S3_ENV = {"AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "shh"}


SettingsFrom = Callable[[dict[str, str]], Settings]


@pytest.fixture
def settings_from(tmp_path: Path) -> SettingsFrom:
    """Settings from ``env``, with generated secrets in a temporary var/, not the checkout's."""
    return lambda env: Settings.from_env({"ECHOES_VAR_DIR": str(tmp_path), **env})


def test_s3_storage_url_reads_bucket_endpoint_region_and_credentials(settings_from: SettingsFrom) -> None:
    settings = settings_from(
        {"STORAGE_URL": "s3://echoes-media?endpoint=http://seaweedfs:8333/&region=eu-west-3", **S3_ENV}
    )
    assert settings.s3 is not None
    assert (settings.s3.bucket, settings.s3.endpoint, settings.s3.region) == (
        "echoes-media", "http://seaweedfs:8333", "eu-west-3",
    )
    assert settings.s3.public_endpoint == "http://seaweedfs:8333"
    assert (settings.s3.access_key_id, settings.s3.secret_access_key) == ("AKID", "shh")
    assert "shh" not in repr(settings.s3)


def test_s3_without_endpoint_means_aws_in_its_region(settings_from: SettingsFrom) -> None:
    settings = settings_from({"STORAGE_URL": "s3://echoes-media?region=eu-west-3", **S3_ENV})
    assert settings.s3 is not None and settings.s3.endpoint == "https://s3.eu-west-3.amazonaws.com"


def test_presigned_urls_use_the_public_endpoint_when_set(settings_from: SettingsFrom) -> None:
    settings = settings_from({
        "STORAGE_URL": "s3://echoes-media?endpoint=http://seaweedfs:8333",
        "S3_PUBLIC_ENDPOINT": "https://media.example.com", **S3_ENV,
    })
    assert settings.s3 is not None and settings.s3.public_endpoint == "https://media.example.com"


def test_local_disk_is_the_default(settings_from: SettingsFrom) -> None:
    assert settings_from({}).s3 is None


@pytest.mark.parametrize(
    ("env", "complaint"),
    [
        ({"STORAGE_URL": "s3://echoes-media"}, "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"),
        ({"STORAGE_URL": "s3://Bad_Bucket", **S3_ENV}, "must look like"),
        ({"STORAGE_URL": "s3://echoes/sub/dir", **S3_ENV}, "must look like"),
        ({"STORAGE_URL": "s3://echoes?endpoint=x&acl=public", **S3_ENV}, "must look like"),
        ({"STORAGE_URL": "s3://echoes?endpoint=ftp://host", **S3_ENV}, "http(s)://host"),
        ({"STORAGE_URL": "s3://echoes", "S3_PUBLIC_ENDPOINT": "media.example.com", **S3_ENV}, "http(s)://host"),
        ({"STORAGE_URL": "gs://echoes"}, "is not supported"),
    ],
)
def test_bad_storage_settings_are_refused_at_start(env: dict[str, str], complaint: str, settings_from: SettingsFrom) -> None:
    with pytest.raises(ConfigurationError, match=complaint.replace("(", r"\(").replace(")", r"\)")):
        settings_from(env)


def test_sigv4_presign_matches_the_aws_documented_example() -> None:
    """The example of AWS's "Authenticating Requests: Using Query Parameters" page."""
    query = sigv4_presign(
        method="GET", host="examplebucket.s3.amazonaws.com", path="/test.txt", query={},
        access_key_id="AKIAIOSFODNN7EXAMPLE",
        secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        region="us-east-1", signed_at=datetime(2013, 5, 24, tzinfo=UTC), expires=86400,
    )
    assert query.endswith(
        "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
    )
