"""The gateway block list: state, NOTIFY propagation to every replica, exact undo."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest

from gateway import blocks
from gateway.state.connect import as_url


@pytest.fixture(scope="module")
async def dsn(upstream_dsn: str) -> str:
    url = as_url(upstream_dsn)  # asyncpg takes URLs only
    conn = await asyncpg.connect(url)
    try:
        await blocks.migrate(conn)
        await blocks.migrate(conn)  # idempotent
    finally:
        await conn.close()
    return url


async def _replica(dsn: str) -> tuple[asyncpg.Connection, blocks.BlockList, list[float]]:
    """A listening connection and its BlockList, as one gateway replica keeps them."""
    conn = await asyncpg.connect(dsn)
    state = await blocks.load_blocks(conn)
    heard: list[float] = []
    loop = asyncio.get_running_loop()

    def on_event(event: dict) -> None:
        state.apply(event)
        heard.append(loop.time())

    await blocks.listen(conn, on_event)
    return conn, state, heard


async def _until(predicate, timeout: float = 1.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.005)


async def test_block_reaches_every_replica_within_a_second(dsn):
    name = f"p_{uuid.uuid4().hex[:8]}"
    replicas = [await _replica(dsn) for _ in range(2)]
    admin = await asyncpg.connect(dsn)
    loop = asyncio.get_running_loop()
    start = loop.time()
    assert await blocks.block_principal(admin, name, "leak", incident_id="INC-1", by="alice")
    for _, state, _ in replicas:
        await _until(lambda state=state: state.is_blocked(name))
    assert max(heard[-1] for _, _, heard in replicas) - start < 1.0
    assert not await blocks.block_principal(admin, name, "again")  # already blocked
    loaded = await blocks.load_blocks(admin)
    entry = loaded.principals[name]
    assert (entry.reason, entry.incident_id, entry.created_by) == ("leak", "INC-1", "alice")

    assert await blocks.unblock_principal(admin, name)
    for _, state, _ in replicas:
        await _until(lambda state=state: not state.is_blocked(name))
    assert not await blocks.unblock_principal(admin, name)
    for conn, _, _ in replicas:
        await conn.close()
    await admin.close()


async def test_freeze_and_unfreeze_purpose(dsn):
    purpose = f"purpose_{uuid.uuid4().hex[:6]}"
    conn, state, _ = await _replica(dsn)
    admin = await asyncpg.connect(dsn)
    assert await blocks.freeze_purpose(admin, purpose, "incident", incident_id="INC-2")
    await _until(lambda: state.is_frozen(purpose))
    assert purpose in (await blocks.load_blocks(admin)).purposes
    assert await blocks.unfreeze_purpose(admin, purpose)
    await _until(lambda: not state.is_frozen(purpose))
    await conn.close()
    await admin.close()


async def test_async_callback_and_bad_payload_are_handled(dsn):
    conn = await asyncpg.connect(dsn)
    got: list[dict] = []

    async def callback(event: dict) -> None:
        got.append(event)

    await blocks.listen(conn, callback)
    admin = await asyncpg.connect(dsn)
    await admin.execute("SELECT pg_notify($1, 'not json')", blocks.CHANNEL)
    await blocks.freeze_purpose(admin, "p_async", "x")
    await _until(lambda: bool(got))
    assert got == [{"action": "freeze", "purpose": "p_async", "incident_id": None}]
    await blocks.unfreeze_purpose(admin, "p_async")
    await conn.close()
    await admin.close()


def test_apply_ignores_unknown_actions():
    state = blocks.BlockList()
    state.apply({"action": "block", "principal": "a"})
    state.apply({"action": "something-new"})
    assert state.is_blocked("a") and not state.is_frozen("a")


async def test_watcher_follows_changes_and_survives_a_lost_connection(dsn):
    name = f"p_{uuid.uuid4().hex[:8]}"
    ended: list[str] = []
    app_name = f"watcher-{name}"
    watcher = blocks.BlockWatcher(
        lambda: asyncpg.connect(dsn, server_settings={"application_name": app_name}),
        ended.append,
                                  reload_seconds=0.2, retry_seconds=0.05)
    await watcher.start()
    admin = await asyncpg.connect(dsn)
    await blocks.block_principal(admin, name, "leak")
    await _until(lambda: watcher.blocks.is_blocked(name))
    assert [p for p in ended if p.startswith(name)] == [name]

    # The listening connection dies; a block made meanwhile arrives after reconnecting.
    assert await admin.fetchval("SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))"
                                " FROM pg_stat_activity WHERE application_name = $1",
                                app_name) == 1
    other = f"{name}_2"
    await blocks.block_principal(admin, other, "leak")
    await _until(lambda: watcher.blocks.is_blocked(other), timeout=3.0)
    assert watcher.blocks.is_blocked(name)
    assert sorted(p for p in ended if p.startswith(name)) == sorted([name, other])
    await blocks.unblock_principal(admin, name)
    await blocks.unblock_principal(admin, other)
    await _until(lambda: not watcher.blocks.is_blocked(other), timeout=3.0)
    await watcher.close()
    await admin.close()
