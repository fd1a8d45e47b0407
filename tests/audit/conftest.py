"""Audit fixtures: the state schema in the test database, and audit keys."""

from __future__ import annotations

import pytest

from gateway.audit.keys import AuditKeys
from gateway.state.connect import as_url, prepare


@pytest.fixture(scope="session")
async def state_dsn(upstream_dsn: str) -> str:
    """URL of the test database with the privacy_gateway schema in place."""
    url = as_url(upstream_dsn)
    await prepare(url)
    return url


@pytest.fixture(scope="session")
def keys() -> AuditKeys:
    return AuditKeys.derive("test audit secret, not for production")
