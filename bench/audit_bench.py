"""Audit and metering cost: hot-path microseconds, buffered and strict records per second.

Run by hand against a PostgreSQL server (a scratch database is created and dropped):

    python bench/audit_bench.py --server postgresql://postgres@127.0.0.1:5432/postgres

Prints a Markdown table of medians over --repeat runs.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import asyncpg

from gateway.audit import binary
from gateway.audit import chain as chain_mod
from gateway.audit.binary import AuditCopy
from gateway.audit.chain import Chain
from gateway.audit.keys import AuditKeys
from gateway.audit.record import STATEMENT, AuditRecord, micros, objects_text, utcnow
from gateway.audit.spool import Spool
from gateway.audit.statement import describe
from gateway.audit.writer import AuditWriter
from gateway.metering.meter import Metering
from gateway.metering.runtime import Accounting
from gateway.metering.usage import StatementUse, TableUse
from gateway.policy.decision import ColumnDecision, Decision, StatementInfo
from gateway.session.accounting import SessionAccounting
from gateway.session.results import Prepared, Run
from gateway.state.connect import prepare

KEYS = AuditKeys.derive("benchmark secret, not for production")
SQL = "SELECT id, name, phone FROM public.customers WHERE id = 4242"


# What the session passes: bridge.objects_json(decision.columns), cached per decision.
OBJECTS = objects_text([{"table": "public.customers",
                         "columns": {"name": "show", "phone": "mask"}}])


def record() -> AuditRecord:
    fingerprint, text = describe(SQL)
    return AuditRecord(session_id="bench", principal="crm_app", purpose="customer_service",
                       client_addr="127.0.0.1", application_name="pgbench",
                       fingerprint=fingerprint, statement=text, rows=1, subjects=1,
                       decision="rewrite", duration_ms=0.4, objects=OBJECTS)


def use(seq: int) -> StatementUse:
    return StatementUse("crm_app", "customer_service", "rewrite", [TableUse(
        "public.customers", rows=1, subjects=[str(random.randrange(100000))],
        clear_classes=["person_name"],
        masked_classes=["mobile"], masked_cells=1)], audit_seq=seq, duration_s=0.0004)


def writer(dsn: str, mode: str, spool: Path) -> AuditWriter:
    return AuditWriter(KEYS, f"bench-{uuid.uuid4().hex[:6]}", lambda: asyncpg.connect(dsn),
                       Spool(spool / uuid.uuid4().hex), mode=mode)


CUSTOMERS = "public.customers"
# A classified read as the policy decides it once per prepared statement (cached).
MASKED_READ = Decision(
    sql="SELECT id, name, phone, id FROM public.customers WHERE id = $1", kind="select",
    tables=frozenset({CUSTOMERS}),
    columns=(ColumnDecision(CUSTOMERS, "name", "person_name", "show"),
             ColumnDecision(CUSTOMERS, "phone", "mobile", "mask")),
    subject_columns=(CUSTOMERS,), exposure="rows", purpose="customer_service",
    statements=(StatementInfo("select", frozenset({CUSTOMERS}), "rows", True),))
# What a session looks like to the accounting (only the attributes it reads).
SESSION = SimpleNamespace(id=1234, principal=SimpleNamespace(name="crm_app"),
                          purpose="customer_service", client_address="127.0.0.1",
                          params={"application_name": "pgbench"}, audit_who=None,
                          config=SimpleNamespace(clock=time.monotonic))


def plain_run() -> Run:
    """pgbench -S, simple protocol: new text each time, the policy's fast-path decision."""
    sql = f"SELECT abalance FROM pgbench_accounts WHERE aid = {random.randrange(10**6)};"
    decision = Decision(sql=sql, kind="select", purpose="customer_service", verbatim=True)
    run = Run(Prepared(sql, decision), time.monotonic())
    run.rows = 1
    return run


def masked_run() -> Run:
    """A prepared classified read of one customer: one ledger row with one subject."""
    run = Run(Prepared(MASKED_READ.sql, MASKED_READ), time.monotonic())
    run.rows = 1
    run.subjects = {CUSTOMERS: {str(random.randrange(10**6))}}
    return run


async def session_path(dsn: str, spool: Path, n: int, make: Callable[[], Run]) -> float:
    """Gateway CPU µs per statement through SessionAccounting (what the session server
    calls), writer included, until everything is committed; run objects built outside."""
    w = writer(dsn, "buffered", spool)
    await w.start()
    accountant = SessionAccounting(Accounting(w, None, Metering(w.replica, w), None))
    batches = [[make() for _ in range(100)] for _ in range(n // 100)]
    cpu = time.process_time()
    for batch in batches:
        for run in batch:
            accountant.statements(SESSION, [run])
        await asyncio.sleep(0)  # let the writer run, as sessions would
    await w.flush()
    cpu = time.process_time() - cpu
    await w.close()
    return cpu / n * 1e6


async def hot_path(dsn: str, spool: Path, n: int) -> float:
    """Microseconds per statement for submit + observe (the session's cost)."""
    w = writer(dsn, "buffered", spool)
    await w.start()
    meter = Metering(w.replica, w)
    started = time.perf_counter()
    for _ in range(n):
        meter.observe(use(w.submit(record())))
    elapsed = time.perf_counter() - started
    await w.close()
    return elapsed / n * 1e6


async def buffered(dsn: str, spool: Path, n: int) -> tuple[float, float]:
    """(records per second until all are committed, gateway-process CPU µs per record:
    session side and writer together); each record comes with one ledger row."""
    w = writer(dsn, "buffered", spool)
    await w.start()
    meter = Metering(w.replica, w)
    cpu = time.process_time()
    started = time.perf_counter()
    for i in range(n):
        meter.observe(use(w.submit(record())))
        if i % 1000 == 0:
            await asyncio.sleep(0)  # let the writer run, as sessions would
    await w.flush()
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu
    await w.close()
    return n / elapsed, cpu / n * 1e6


async def strict(dsn: str, spool: Path, sessions: int, seconds: float) -> tuple[float, float]:
    """(records per second, median ms a statement waits) with concurrent sessions."""
    w = writer(dsn, "strict", spool)
    await w.start()
    meter = Metering(w.replica, w)
    waits: list[float] = []
    stop = time.perf_counter() + seconds

    async def session() -> None:
        while time.perf_counter() < stop:
            t = time.perf_counter()
            seq = w.submit(record())
            meter.observe(use(seq))
            await w.durable(seq)
            waits.append(time.perf_counter() - t)

    started = time.perf_counter()
    await asyncio.gather(*(session() for _ in range(sessions)))
    elapsed = time.perf_counter() - started
    await w.close()
    return len(waits) / elapsed, statistics.median(waits) * 1000


async def main(args: argparse.Namespace) -> None:
    name = f"pgw_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(args.server)
    await admin.execute(f"CREATE DATABASE {name}")
    dsn = args.server.rsplit("/", 1)[0] + f"/{name}"
    try:
        await prepare(dsn)
        with tempfile.TemporaryDirectory() as tmp:
            await report(dsn, Path(tmp), args)
    finally:
        await admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
        await admin.close()


def sealing(n: int, compiled: bool) -> tuple[float, float]:
    """(µs per record to seal, µs per record to encode as COPY rows) for a batch of n
    pgbench-like entries (one session, one statement shape): the compiled pass
    (gateway/audit/batch.pyx) or its Python twins."""
    who = ("1", "crm_app", "customer_service", "127.0.0.1", "pgbench")
    shape = describe("SELECT abalance FROM pgbench_accounts WHERE aid = $1")
    now = micros(utcnow())
    items = [(STATEMENT, now + i, who, shape, None, 1, 0, "allow", None,
              0.2 + (i % 997) / 1000, None) for i in range(n)]
    chain = Chain(KEYS, "bench:5432", 1)
    numbered = [(1 + i, item) for i, item in enumerate(items)]
    seal = chain.seal_entries if compiled else chain.python_seal_entries
    started = time.perf_counter()
    sealed = seal(numbered)
    sealed_in = time.perf_counter() - started
    copy = AuditCopy()
    encode = copy.encode if compiled else copy.python_encode
    started = time.perf_counter()
    encode(sealed)
    return sealed_in / n * 1e6, (time.perf_counter() - started) / n * 1e6


def sealing_rows(args: argparse.Namespace) -> list[tuple]:
    """Sealing and encoding a batch, compiled and Python, side by side."""
    rows = []
    for compiled, label in ((True, "compiled"), (False, "Python")):
        if compiled and (chain_mod._batch is None or binary._batch is None):
            continue  # not built here
        runs = [sealing(args.records, compiled) for _ in range(args.repeat)]
        rows.append((f"writer, {label}: seal µs/record", [r[0] for r in runs], "{:.2f}"))
        rows.append((f"writer, {label}: encode COPY µs/record", [r[1] for r in runs],
                     "{:.2f}"))
    return rows


async def report(dsn: str, spool: Path, args: argparse.Namespace) -> None:
    rows = [(f"session path, {label}: gateway CPU µs/statement (session + writer)",
             [await session_path(dsn, spool, args.records, make) for _ in range(args.repeat)],
             "{:.1f}") for label, make in (("pgbench -S simple", plain_run),
                                           ("masked read + ledger row", masked_run))]
    rows += sealing_rows(args)
    if not args.session_only:
        rows += await writer_rows(dsn, spool, args)
    print("| measure | median | runs |\n|---|---|---|")
    for label, values, fmt in rows:
        print(f"| {label} | {fmt.format(statistics.median(values))} |"
              f" {', '.join(fmt.format(v) for v in values)} |")


async def writer_rows(dsn: str, spool: Path, args: argparse.Namespace) -> list[tuple]:
    """The writer on its own: records built by hand, buffered and strict."""
    rows = [("hot path: submit + observe, µs/statement",
             [await hot_path(dsn, spool, args.records) for _ in range(args.repeat)], "{:.1f}")]
    runs = [await buffered(dsn, spool, args.records) for _ in range(args.repeat)]
    rows.append(("buffered: records/s (with ledger row)", [r[0] for r in runs], "{:,.0f}"))
    rows.append(("buffered: gateway CPU µs/statement (session + writer)", [r[1] for r in runs],
                 "{:.1f}"))
    for sessions in (1, 8, 64):
        runs = [await strict(dsn, spool, sessions, args.seconds) for _ in range(args.repeat)]
        rows.append((f"strict, {sessions} sessions: records/s", [r[0] for r in runs], "{:,.0f}"))
        rows.append((f"strict, {sessions} sessions: median wait ms", [r[1] for r in runs],
                     "{:.2f}"))
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--records", type=int, default=20000)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--session-only", action="store_true",
                        help="only the session-path rows (quick)")
    asyncio.run(main(parser.parse_args()))
