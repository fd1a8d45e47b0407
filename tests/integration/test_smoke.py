"""psycopg through the gateway: connect, query, purpose binding."""

from __future__ import annotations

import psycopg
import pytest

from tests.integration.conftest import conninfo


def test_select_through_gateway(gateway) -> None:
    with psycopg.connect(conninfo(gateway)) as conn:
        assert conn.execute("SELECT 1 + 1").fetchone() == (2,)
        assert conn.execute("SHOW privacy.purpose").fetchone() == ("customer_service",)


def test_wrong_password(gateway) -> None:
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(conninfo(gateway, password="nope"))
