"""SIGKILL under load: strict loses no completed record; buffered stays within its bound."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
import uuid
from pathlib import Path

import asyncpg
import pytest
from audit_load import SECRET

from gateway.audit.keys import AuditKeys
from gateway.audit.spool import Spool
from gateway.audit.store import read_log
from gateway.audit.verify import verify_chain
from gateway.audit.writer import AuditWriter

HERE = Path(__file__).parent
FLUSH_INTERVAL = 0.2  # the writer's default, the documented buffered bound


async def _run_and_kill(dsn: str, replica: str, spool: Path, mode: str) -> list[tuple]:
    env = {**os.environ, "PYTHONPATH": str(HERE)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(HERE / "audit_load.py"), dsn, replica, str(spool), mode,
        stdout=asyncio.subprocess.PIPE, env=env)
    completed: list[tuple[int, float]] = []
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline:
        line = await proc.stdout.readline()
        if line:
            seq, stamp = line.split()
            completed.append((int(seq), float(stamp)))
    proc.send_signal(signal.SIGKILL)
    killed_at = time.monotonic()
    completed += [(int(s), float(t)) for s, t in
                  (line.split() for line in (await proc.stdout.read()).decode().splitlines())]
    await proc.wait()
    return completed, killed_at


async def _stored_after_restart(dsn: str, replica: str, spool: Path) -> tuple[set, list]:
    # A restart replays whatever the killed process left in its spool.
    writer = AuditWriter(AuditKeys.derive(SECRET), replica, lambda: asyncpg.connect(dsn),
                         Spool(spool))
    await writer.start()
    await writer.close()
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            rows = [r async for r in read_log(conn, replica)]
    finally:
        await conn.close()
    return {r["seq"] for r in rows}, rows


@pytest.mark.parametrize("mode", ["strict", "buffered"])
async def test_sigkill_under_load(state_dsn, tmp_path, mode):
    replica = f"crash-{mode}-{uuid.uuid4().hex[:6]}"
    spool = tmp_path / "spool"
    completed, killed_at = await _run_and_kill(state_dsn, replica, spool, mode)
    assert len(completed) > 100
    stored, rows = await _stored_after_restart(state_dsn, replica, spool)
    lost = [(seq, stamp) for seq, stamp in completed if seq not in stored]
    if mode == "strict":
        assert lost == []
    else:  # only records from the last flush interval (plus one commit) may be gone
        assert all(killed_at - stamp < FLUSH_INTERVAL + 0.5 for _, stamp in lost)
    report = verify_chain(rows, AuditKeys.derive(SECRET))
    assert report.ok and len(report.open_chains) == 1  # the killed chain has no end marker
