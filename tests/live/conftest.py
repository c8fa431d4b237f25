"""Fixtures of the websocket tests: a real uvicorn server on a free port."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from orders_gql.settings import Settings

from .support import Running, running


@pytest.fixture
async def live(settings: Settings) -> AsyncIterator[Running]:
    async with running(settings) as r:
        yield r
