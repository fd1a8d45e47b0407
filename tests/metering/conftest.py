"""Metering fixtures: the state schema in the test database."""

from __future__ import annotations

import pytest

from gateway.state.connect import as_url, prepare


@pytest.fixture(scope="session")
async def state_dsn(upstream_dsn: str) -> str:
    url = as_url(upstream_dsn)
    await prepare(url)
    return url
