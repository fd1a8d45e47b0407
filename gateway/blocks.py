"""The block list: principals suspended and purposes frozen by incident containment.

Kept in the state database (schema privacy_gateway) so every gateway replica shares it;
each change is announced with NOTIFY on CHANNEL so replicas update their in-memory
BlockList without polling. The gateway refuses logins of a blocked principal (SQLSTATE
28000, `access suspended`) and ends its live sessions (57P01).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg

from gateway import tasks

CHANNEL = "privacy_gateway_blocks"
SUSPENDED_MESSAGE = "access suspended"

_MIGRATION = """
CREATE SCHEMA IF NOT EXISTS privacy_gateway;
CREATE TABLE IF NOT EXISTS privacy_gateway.principal_blocks (
    principal   text PRIMARY KEY,
    reason      text,
    incident_id text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    created_by  text
);
CREATE TABLE IF NOT EXISTS privacy_gateway.frozen_purposes (
    purpose     text PRIMARY KEY,
    reason      text,
    incident_id text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    created_by  text
);
"""


@dataclass(frozen=True)
class Block:
    """One entry: who or what is blocked, why, and by which incident."""

    name: str
    reason: str | None = None
    incident_id: str | None = None
    created_at: datetime | None = None
    created_by: str | None = None


@dataclass
class BlockList:
    """In-memory view a replica consults on every login and purpose binding."""

    principals: dict[str, Block] = field(default_factory=dict)
    purposes: dict[str, Block] = field(default_factory=dict)

    def is_blocked(self, principal: str) -> bool:
        return principal in self.principals

    def is_frozen(self, purpose: str) -> bool:
        return purpose in self.purposes

    def apply(self, event: dict[str, Any]) -> None:
        """Apply one NOTIFY payload; unknown actions are ignored (a newer writer)."""
        action = event.get("action")
        if action == "block":
            self.principals[event["principal"]] = Block(event["principal"],
                                                        incident_id=event.get("incident_id"))
        elif action == "unblock":
            self.principals.pop(event["principal"], None)
        elif action == "freeze":
            self.purposes[event["purpose"]] = Block(event["purpose"],
                                                    incident_id=event.get("incident_id"))
        elif action == "unfreeze":
            self.purposes.pop(event["purpose"], None)


async def migrate(conn: asyncpg.Connection) -> None:
    """Create the block tables when missing (idempotent)."""
    await conn.execute(_MIGRATION)


async def load_blocks(conn: asyncpg.Connection) -> BlockList:
    """The current block list, read from the state database."""
    blocks = BlockList()
    rows = await conn.fetch("SELECT principal AS name, reason, incident_id, created_at, created_by"
                            " FROM privacy_gateway.principal_blocks")
    blocks.principals = {r["name"]: Block(**dict(r)) for r in rows}
    rows = await conn.fetch("SELECT purpose AS name, reason, incident_id, created_at, created_by"
                            " FROM privacy_gateway.frozen_purposes")
    blocks.purposes = {r["name"]: Block(**dict(r)) for r in rows}
    return blocks


async def block_principal(conn: asyncpg.Connection, principal: str, reason: str,
                          incident_id: str | None = None, by: str | None = None) -> bool:
    """Suspend a principal on every replica; False when it was already blocked."""
    return await _add(conn, "principal_blocks", "principal", principal, reason, incident_id, by,
                      {"action": "block", "principal": principal, "incident_id": incident_id})


async def unblock_principal(conn: asyncpg.Connection, principal: str) -> bool:
    """Lift a suspension; False when the principal was not blocked."""
    return await _remove(conn, "principal_blocks", "principal", principal,
                         {"action": "unblock", "principal": principal})


async def freeze_purpose(conn: asyncpg.Connection, purpose: str, reason: str,
                         incident_id: str | None = None, by: str | None = None) -> bool:
    """Refuse a purpose on every replica; False when it was already frozen."""
    return await _add(conn, "frozen_purposes", "purpose", purpose, reason, incident_id, by,
                      {"action": "freeze", "purpose": purpose, "incident_id": incident_id})


async def unfreeze_purpose(conn: asyncpg.Connection, purpose: str) -> bool:
    """Lift a purpose freeze; False when the purpose was not frozen."""
    return await _remove(conn, "frozen_purposes", "purpose", purpose,
                         {"action": "unfreeze", "purpose": purpose})


async def listen(conn: asyncpg.Connection,
                 callback: Callable[[dict[str, Any]], Awaitable[None] | None]) -> None:
    """Call `callback(event)` for every block change announced on CHANNEL.

    `conn` must stay dedicated to listening. The callback gets the decoded payload; a
    replica typically applies it to its BlockList and ends the sessions it affects.
    """

    def on_notify(_conn: Any, _pid: int, _channel: str, payload: str) -> None:
        try:
            event = json.loads(payload)
        except ValueError:
            return  # not ours; a malformed payload must not stop the listener
        result = callback(event)
        if inspect.isawaitable(result):
            asyncio.ensure_future(result)

    await conn.add_listener(CHANNEL, on_notify)


async def _add(conn: asyncpg.Connection, table: str, key: str, name: str, reason: str,
               incident_id: str | None, by: str | None, event: dict[str, Any]) -> bool:
    # The insert and the NOTIFY commit together: a replica never hears of a block that
    # is not yet visible to load_blocks.
    async with conn.transaction():
        inserted = await conn.fetchval(
            f"INSERT INTO privacy_gateway.{table} ({key}, reason, incident_id, created_by)"
            f" VALUES ($1, $2, $3, $4) ON CONFLICT ({key}) DO NOTHING RETURNING true",
            name, reason, incident_id, by)
        await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, json.dumps(event))
    return bool(inserted)


async def _remove(conn: asyncpg.Connection, table: str, key: str, name: str,
                  event: dict[str, Any]) -> bool:
    async with conn.transaction():
        deleted = await conn.fetchval(
            f"DELETE FROM privacy_gateway.{table} WHERE {key} = $1 RETURNING true", name)
        await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, json.dumps(event))
    return bool(deleted)


class BlockWatcher:
    """Keeps one replica's BlockList current: load, LISTEN, reconnect, periodic reload.

    `on_block(principal)` runs for each principal newly blocked, so the replica can end
    its live sessions (57P01). While the state database is unreachable the last known
    list stays in force; after reconnecting the list is reloaded, so a change announced
    during the outage is not missed.
    """

    def __init__(self, connect: Callable[[], Awaitable[asyncpg.Connection]],
                 on_block: Callable[[str], None] | None = None,
                 reload_seconds: float = 30.0, retry_seconds: float = 1.0) -> None:
        self.blocks = BlockList()
        self._connect, self._on_block = connect, on_block
        self.reload_seconds, self.retry_seconds = reload_seconds, retry_seconds
        self._task: asyncio.Task | None = None
        self.connected = asyncio.Event()

    async def start(self) -> None:
        """First load (waits for it, up to a try), then keep watching in the background."""
        self._task = asyncio.create_task(self._run(), name="block-watcher")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.connected.wait(), 5)

    async def close(self) -> None:
        await tasks.cancel(self._task)
        self._task = None

    def _apply(self, event: dict[str, Any]) -> None:
        before = set(self.blocks.principals)
        self.blocks.apply(event)
        self._announce(set(self.blocks.principals) - before)

    def _replace(self, fresh: BlockList) -> None:
        added = set(fresh.principals) - set(self.blocks.principals)
        # In place: the session code may hold references to these mappings.
        for mine, theirs in ((self.blocks.principals, fresh.principals),
                             (self.blocks.purposes, fresh.purposes)):
            mine.clear()
            mine.update(theirs)
        self._announce(added)

    def _announce(self, principals: set[str]) -> None:
        for principal in sorted(principals):
            if self._on_block is not None:
                self._on_block(principal)

    async def _run(self) -> None:
        while True:
            try:
                conn = await self._connect()
            except (OSError, TimeoutError, asyncpg.PostgresError):
                await asyncio.sleep(self.retry_seconds)
                continue
            try:
                await self._watch(conn)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                pass  # reconnect below; the last known list stays in force
            finally:
                self.connected.clear()
                with contextlib.suppress(Exception):
                    await conn.close()
            await asyncio.sleep(self.retry_seconds)

    async def _watch(self, conn: asyncpg.Connection) -> None:
        """Listen and reload on one connection until it is lost."""
        lost = asyncio.Event()
        conn.add_termination_listener(lambda _conn: lost.set())
        await listen(conn, self._apply)
        self._replace(await load_blocks(conn))
        self.connected.set()
        while not lost.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(lost.wait(), self.reload_seconds)
            if not lost.is_set():
                self._replace(await load_blocks(conn))
