"""The committed API client (web/lib/api/openapi.json and schema.d.ts) matches the API."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from tests.paths import REPO_ROOT

CHECK = ["node", "web/scripts/generate-api-client.mjs", "--check"]


def test_the_generated_api_client_matches_the_api_schema() -> None:
    if shutil.which("node") is None:
        pytest.fail("node is not on PATH: install Node 20+")
    result = subprocess.run(
        CHECK,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "ECHOES_PYTHON": sys.executable},
    )
    assert result.returncode == 0, (
        "The web app's generated API client is out of date with the API.\n"
        "Fix it with `npm run generate:api-client` (at the repository root) and commit "
        "web/lib/api/openapi.json and web/lib/api/schema.d.ts.\n\n" + result.stdout + result.stderr
    )
