"""The background writer against the real state database, including an outage."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import asyncpg
import psycopg
import pytest
from audit_faults import Outage

from gateway.audit.record import AuditRecord
from gateway.audit.spool import Spool
from gateway.audit.store import read_log
from gateway.audit.verify import verify_chain
from gateway.audit.writer import AuditWriter


def _writer(keys, dsn, tmp_path, **kw) -> AuditWriter:
    replica = f"test-{uuid.uuid4().hex[:8]}"
    return AuditWriter(keys, replica, lambda: asyncpg.connect(dsn, timeout=2),
                       Spool(tmp_path / "spool"), retry_seconds=0.1, **kw)


def _record(i: int) -> AuditRecord:
    return AuditRecord(session_id="s1", principal="crm_app", purpose="customer_service",
                       statement="SELECT * FROM public.customers WHERE id = $1", rows=i,
                       objects=[{"table": "public.customers", "columns": {"phone": "mask"}}])


async def _log(dsn: str, replica: str) -> list:
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            return [row async for row in read_log(conn, replica)]
    finally:
        await conn.close()


async def test_buffered_batches_and_verifies(state_dsn, keys, tmp_path):
    writer = _writer(keys, state_dsn, tmp_path, checkpoint_every=100)
    await writer.start()
    seqs = [writer.submit(_record(i)) for i in range(250)]
    writer.add_exposure((datetime.now(UTC), writer.replica, seqs[0], "s1", "crm_app",
                         "customer_service", "public.customers", ["1", "2"], ["person_name"],
                         ["mobile"], False, 2))
    await writer.close()
    rows = await _log(state_dsn, writer.replica)
    report = verify_chain(rows, keys)
    assert report.ok and report.open_chains == [] and report.checkpoints >= 2
    assert len(rows) == 250 + 2 + report.checkpoints


async def test_strict_record_is_in_database_when_durable(state_dsn, keys, tmp_path):
    writer = _writer(keys, state_dsn, tmp_path, mode="strict")
    await writer.start()
    seqs = [writer.submit(_record(i)) for i in range(20)]
    await asyncio.gather(*(writer.durable(s) for s in seqs))
    stored = {r["seq"] for r in await _log(state_dsn, writer.replica)}
    assert set(seqs) <= stored
    await writer.close()


async def test_outage_under_load_loses_nothing(state_dsn, keys, tmp_path):
    """State database unreachable, then back, while eight sessions write (strict)."""
    info = psycopg.conninfo.conninfo_to_dict(state_dsn)
    outage = Outage(info.get("host", "127.0.0.1"), int(info.get("port", 5432)))
    await outage.restore()
    via = state_dsn.replace(f":{info.get('port', 5432)}/", f":{outage.port}/")
    writer = _writer(keys, via, tmp_path, mode="strict")
    await writer.start()
    completed: list[int] = []
    running = True

    async def session(n: int) -> None:
        while running:
            seq = writer.submit(_record(n))
            await asyncio.wait_for(writer.durable(seq), 5)
            completed.append(seq)

    sessions = [asyncio.create_task(session(n)) for n in range(8)]
    await asyncio.sleep(0.3)
    await outage.cut()
    before_cut = len(completed)
    await asyncio.sleep(0.5)
    assert writer.spool.pending()  # statements kept completing, durable in the spool
    in_outage = len(completed)
    await outage.restore()
    await asyncio.sleep(0.5)
    running = False
    await asyncio.gather(*sessions)
    for _ in range(50):
        if not writer.spool.pending():
            break
        await asyncio.sleep(0.1)
    await writer.close()
    rows = await _log(state_dsn, writer.replica)
    assert len(completed) > in_outage > before_cut > 0
    assert set(completed) <= {r["seq"] for r in rows}
    assert verify_chain(rows, keys).ok and not writer.spool.pending()
    await outage.cut()


async def test_leftover_spool_is_replayed_once_at_start(state_dsn, keys, tmp_path):
    crashed = _writer(keys, "postgresql://nobody@127.0.0.1:1/none", tmp_path, mode="strict")
    await crashed.start()
    seq = crashed.submit(_record(1))
    await crashed.durable(seq)
    crashed._task.cancel()  # a crash: no end marker, spool left behind
    crashed.spool.unlock()  # the kernel does this when a process dies
    restarted = AuditWriter(keys, crashed.replica, lambda: asyncpg.connect(state_dsn),
                            Spool(tmp_path / "spool"), mode="strict")
    await restarted.start()
    await restarted.close()
    rows = await _log(state_dsn, crashed.replica)
    report = verify_chain(rows, keys)
    assert report.ok and seq in {r["seq"] for r in rows}
    assert [c[1] for c in report.open_chains] == [crashed._chain.chain]


async def test_log_refuses_change_and_verify_names_tampering(state_dsn, keys, tmp_path):
    writer = _writer(keys, state_dsn, tmp_path)
    await writer.start()
    seqs = [writer.submit(_record(i)) for i in range(5)]
    await writer.close()
    conn = await asyncpg.connect(state_dsn)
    try:
        for sql in ("UPDATE privacy_gateway.audit_log SET rows = 0 WHERE replica = $1",
                    "DELETE FROM privacy_gateway.audit_log WHERE replica = $1"):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(sql, writer.replica)
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("TRUNCATE privacy_gateway.audit_log")
        async with conn.transaction():
            await conn.execute("ALTER TABLE privacy_gateway.audit_log DISABLE TRIGGER USER")
            await conn.execute("UPDATE privacy_gateway.audit_log SET rows = 0"
                               " WHERE replica = $1 AND seq = $2", writer.replica, seqs[2])
            await conn.execute("ALTER TABLE privacy_gateway.audit_log ENABLE TRIGGER USER")
    finally:
        await conn.close()
    bad = verify_chain(await _log(state_dsn, writer.replica), keys).first_bad
    assert (bad.replica, bad.seq) == (writer.replica, seqs[2])


async def test_new_chain_starts_above_stored_seqs(state_dsn, keys, tmp_path, monkeypatch):
    writer = _writer(keys, state_dsn, tmp_path)
    await writer.start()
    await writer.close()
    last = writer._chain.last_seq
    monkeypatch.setattr("gateway.audit.writer.time.time", lambda: 0.0)  # clock stepped back
    again = AuditWriter(keys, writer.replica, lambda: asyncpg.connect(state_dsn),
                        Spool(tmp_path / "spool2"))
    await again.start()
    assert again._chain.chain == last + 1
    await again.close()
    assert verify_chain(await _log(state_dsn, writer.replica), keys).ok


async def test_strict_waiters_fail_when_the_writer_dies(state_dsn, keys, tmp_path):
    from gateway.audit.writer import AuditWriterStopped

    writer = _writer(keys, state_dsn, tmp_path, mode="strict")
    await writer.start()
    writer._chain.last_seq += 5  # a broken chain state: sealing raises inside the task
    with pytest.raises(AuditWriterStopped):
        await asyncio.wait_for(writer.durable(writer.submit(_record(1))), 5)
    with pytest.raises(AuditWriterStopped):
        await writer.durable(writer.submit(_record(2)))
    writer.spool.unlock()


async def test_a_ledger_row_of_many_subjects_waits_encoded_and_lands_whole(state_dsn, keys,
                                                                           tmp_path):
    writer = _writer(keys, state_dsn, tmp_path)
    await writer.start()
    subjects = [str(i) for i in range(5000)] + ['quote " and \\ back', "中文"]
    writer.add_exposure((datetime.now(UTC), writer.replica, None, "s1", "crm_app",
                         "customer_service", "public.customers", subjects, [], ["mobile"],
                         False, 0))
    assert type(writer._exposure[0][7]) is bytes  # the COPY field, no str per key
    await writer.close()
    with psycopg.connect(state_dsn) as conn:
        stored = conn.execute("SELECT subjects FROM privacy_gateway.exposure"
                              " WHERE replica = %s", (writer.replica,)).fetchone()[0]
    assert stored == subjects


async def test_a_ledger_row_of_many_subjects_goes_through_the_spool_whole(state_dsn, keys,
                                                                          tmp_path):
    subjects = [str(i) for i in range(3000)] + ['quote " and \\ back', "中文", ""]
    down = _writer(keys, "postgresql://nobody@127.0.0.1:1/none", tmp_path)
    await down.start()
    down.add_exposure((datetime.now(UTC), down.replica, None, "s1", "crm_app",
                       "customer_service", "public.customers", subjects, [], ["mobile"],
                       False, 0))
    await down.close()
    assert down.spool.pending()
    replayed = AuditWriter(keys, down.replica, lambda: asyncpg.connect(state_dsn),
                           Spool(tmp_path / "spool"))
    await replayed.start()
    await replayed.close()
    with psycopg.connect(state_dsn) as conn:
        stored = conn.execute("SELECT subjects FROM privacy_gateway.exposure"
                              " WHERE replica = %s", (down.replica,)).fetchone()[0]
    assert stored == subjects


async def test_text_that_is_not_utf8_is_sealed_legibly_and_nothing_is_lost(state_dsn, keys,
                                                                            tmp_path):
    """A client's bytes that are not UTF-8 (an application_name, a comment) reach records
    as lone surrogates, which UTF-8 cannot carry: they are stored as U+FFFD, the batch
    around them and the writer go on."""
    writer = _writer(keys, state_dsn, tmp_path)
    await writer.start()
    writer.submit(_record(1))
    writer.submit(AuditRecord(session_id="s1", application_name="app \udcff\udcfe",
                              statement="SELECT 1 /* \udcff */", reason="\ud800"))
    writer.submit(_record(3))
    await writer.flush()
    writer.submit(_record(4))
    await writer.close()
    rows = await _log(state_dsn, writer.replica)
    assert verify_chain(rows, keys).ok
    assert [r["rows"] for r in rows if r["kind"] == "statement"] == [1, None, 3, 4]
    odd = next(r for r in rows if r["application_name"])
    assert (odd["application_name"], odd["statement"], odd["reason"]) == (
        "app \ufffd\ufffd", "SELECT 1 /* \ufffd */", "?")
