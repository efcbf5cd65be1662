"""The Runpod handler's input contract and its environment."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from worker.runpod_handler import InvalidInput, handler_config, parse_input

PNG_BYTES = b"\x89PNG\r\n\x1a\n-not-decoded-here"
IMAGE = base64.b64encode(PNG_BYTES).decode()


def test_a_full_input_is_read_with_its_types() -> None:
    job = parse_input(
        {"image_base64": IMAGE, "aspect": "9:16", "duration": 3, "seed": 12, "prompt": "waves"}
    )
    assert (job.image, job.image_url) == (PNG_BYTES, None)
    assert (job.aspect, job.duration, job.seed, job.prompt) == ("9:16", 3.0, 12, "waves")


def test_defaults_fill_in_duration_seed_and_prompt() -> None:
    job = parse_input({"image_url": "https://photos.example/a.jpg", "aspect": "1:1"})
    assert (job.image_url, job.duration, job.seed, job.prompt) == (
        "https://photos.example/a.jpg",
        5.0,
        0,
        None,
    )


def test_a_data_uri_is_accepted_as_image_base64() -> None:
    assert (
        parse_input({"image_base64": f"data:image/png;base64,{IMAGE}", "aspect": "1:1"}).image
        == PNG_BYTES
    )


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("a string", "input must be a JSON object"),
        ({"aspect": "1:1"}, "exactly one of image_base64 and image_url"),
        ({"image_base64": IMAGE, "image_url": "https://x/a.jpg", "aspect": "1:1"}, "exactly one"),
        ({"image_base64": "%%%", "aspect": "1:1"}, "not valid base64"),
        ({"image_base64": "data:image/png,abc", "aspect": "1:1"}, "must be base64-encoded"),
        ({"image_url": "ftp://x/a.jpg", "aspect": "1:1"}, "http(s) URL"),
        ({"image_base64": IMAGE, "aspect": "4:3"}, "aspect must be one of"),
        ({"image_base64": IMAGE, "aspect": "1:1", "duration": 0}, "duration must be"),
        ({"image_base64": IMAGE, "aspect": "1:1", "duration": 11}, "duration must be"),
        ({"image_base64": IMAGE, "aspect": "1:1", "duration": True}, "duration must be"),
        ({"image_base64": IMAGE, "aspect": "1:1", "seed": "7"}, "seed must be an integer"),
        ({"image_base64": IMAGE, "aspect": "1:1", "prompt": "x" * 1001}, "prompt must be"),
        (
            {"image_base64": IMAGE, "aspect": "1:1", "ratio": "1280:720"},
            "unknown input fields: ratio",
        ),
    ],
)
def test_input_that_breaks_the_contract_is_refused_by_name(raw: Any, message: str) -> None:
    with pytest.raises(InvalidInput, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_input(raw)


def test_the_environment_configures_model_and_uploads() -> None:
    config = handler_config(
        {
            "ECHOES_I2V_MODEL": "gpu_models.wan:generate",
            "BUCKET_ENDPOINT_URL": "https://s3.example",
            "BUCKET_ACCESS_KEY_ID": "id",
            "BUCKET_SECRET_ACCESS_KEY": "secret",
            "ECHOES_OUTPUT_BUCKET": "clips",
            "ECHOES_OUTPUT_URL_TTL": "600",
        }
    )
    assert config.model == "gpu_models.wan:generate"
    assert config.uploads and (config.bucket_name, config.url_ttl) == ("clips", 600)


def test_an_empty_environment_means_the_builtin_model_and_inline_output() -> None:
    config = handler_config({})
    assert config.model is None and not config.uploads


def test_a_partial_bucket_configuration_is_refused() -> None:
    with pytest.raises(RuntimeError, match="BUCKET_ACCESS_KEY_ID"):
        handler_config({"BUCKET_ENDPOINT_URL": "https://s3.example"})
