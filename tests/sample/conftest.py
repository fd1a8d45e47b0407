"""Fixtures for the sample database tests: a scratch database beside the session's one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import scratch_database


@pytest.fixture
def scratch_dsn(server_dsn: str) -> Iterator[str]:
    """A database of its own, so odd-sized loads leave the session's sample data alone."""
    with scratch_database(server_dsn, "pgw_sample") as dsn:
        yield dsn
