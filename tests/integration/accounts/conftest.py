"""The app running in the test's event loop, for tests that drive several browsers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from litestar import Litestar

from api.config import Settings
from tests.integration.accounts.browsers import running_app


@pytest.fixture
async def app(settings: Settings, clean_db: None) -> AsyncIterator[Litestar]:
    async with running_app(settings) as running:
        yield running
