"""Reach the state database: its DSN from the configuration, pools, and the schema."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from urllib.parse import quote

import asyncpg

from gateway.state import migrate, schema


def state_dsn(config) -> str:
    """The state DSN: config `state`, else the upstream database (schema privacy_gateway)."""
    dsn = config.values.get("state") or config.values.get("upstream")
    if not dsn:
        raise ValueError("state: no state database configured (set state or upstream)")
    return dsn


_PAIR = re.compile(r"\s*(\w+)\s*=\s*('(?:[^'\\]|\\.)*'|\S*)")


# libpq keys that are not parameters of the URL asyncpg reads (it would send them as
# server settings); the connect timeout is set by our own callers.
_URL_SKIP = frozenset({"dbname", "connect_timeout"})


def as_url(dsn: str) -> str:
    """A libpq key=value DSN as a postgresql:// URL (asyncpg takes URLs only)."""
    if "://" in dsn:
        return dsn
    parts = {k: (v[1:-1].replace("\\'", "'") if v.startswith("'") else v)
             for k, v in _PAIR.findall(dsn)}
    user = quote(parts.pop("user", ""), safe="")
    password = parts.pop("password", None)
    auth = f"{user}:{quote(password, safe='')}@" if password else (f"{user}@" if user else "")
    host, port = parts.pop("host", ""), parts.pop("port", "")
    netloc = f"{auth}{host}{':' + port if port else ''}"
    query = "&".join(f"{k}={quote(v, safe='')}" for k, v in parts.items()
                     if k not in _URL_SKIP)
    url = f"postgresql://{netloc}/{quote(parts.get('dbname', ''), safe='')}"
    return f"{url}?{query}" if query else url


def state_password(config) -> str | None:
    """The upstream password applies when the state lives in the upstream database."""
    if config.values.get("state"):
        return None
    return config.secret(config.values.get("upstream_password_env"))


async def connect(dsn: str, password: str | None = None,
                  timeout: float = 5.0) -> asyncpg.Connection:
    """One connection to the state database."""
    return await asyncpg.connect(as_url(dsn), password=password, timeout=timeout)


@contextlib.asynccontextmanager
async def command_connection(dsn: str, password: str | None, table: str,
                             what: str) -> AsyncIterator[asyncpg.Connection]:
    """A state connection for a CLI command that reads privacy_gateway.<table> (<what>).

    Failing to connect, a missing table, or any other failure inside the block ends the
    command with one CommandError line instead of a traceback; the connection is closed.
    """
    from gateway.cli import CommandError

    try:
        conn = await connect(dsn, password)
    except Exception as exc:  # any failure to connect is one line, not a traceback
        raise CommandError(f"state database unreachable ({type(exc).__name__})") from None
    try:
        yield conn
    except Exception as exc:
        if type(exc).__name__ == "UndefinedTableError":
            raise CommandError(f"no privacy_gateway.{table} in the state database"
                               " (no gateway has written to it yet)") from None
        raise CommandError(f"cannot read the {what} ({type(exc).__name__})") from None
    finally:
        await conn.close()


async def open_pool(dsn: str, password: str | None = None, size: int = 4,
                    timeout: float = 5.0) -> asyncpg.Pool:
    """A small pool for the background writers and detectors (not the hot path)."""
    return await asyncpg.create_pool(as_url(dsn), password=password, min_size=1, max_size=size,
                                     timeout=timeout)


async def ensure_schema(conn: asyncpg.Connection) -> list[int]:
    """Create or upgrade the gateway's tables; idempotent."""
    return await migrate.apply(conn, schema.COMPONENT, schema.MIGRATIONS)


async def prepare(dsn: str, password: str | None = None) -> list[int]:
    """Connect once and bring the schema up to date (startup and tests)."""
    conn = await connect(dsn, password)
    try:
        return await ensure_schema(conn)
    finally:
        await conn.close()
