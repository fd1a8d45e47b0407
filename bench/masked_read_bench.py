"""Masked bulk read: `SELECT * FROM customers` over 100,000 rows, direct clear vs gateway.

One run, rounds interleaved (one unmeasured warm-up round, then `--repeat` measured ones):
- direct, clear: the query straight on PostgreSQL (asyncpg and psycopg clients, and
  psycopg's `COPY (query) TO STDOUT`);
- gateway: the same query through a `privacy-gateway serve` subprocess under purpose
  customer_service (phone, email and address left clear in the SQL and masked by the
  gateway in the result stream, since they are only passed through; birthday masked in
  SQL, id_no hidden, notes masked by the gateway's free-text scan; for COPY, all in SQL),
  same clients; the subject keys of every row go to the exposure ledger;
- gateway, Python path: the same reads through a second gateway with PGW_PURE_PYTHON=1,
  which runs the Python twins of its compiled hot paths (gateway/compiled.py);
- with --compare REV: the same reads through the gateway of that commit (a temporary
  git worktree, its compiled modules built);
- gateway, pass-through: an unclassified copy of the table read through the gateway (the
  cost of the proxy hop alone);
- context: the rewritten SQL run directly, masked in SQL, or left clear where the gateway
  leaves it and masked in the client loop with the gateway's maskers (what the gateway
  does, without the proxy hop).
Every row is fetched by the client. The gateway's rows are checked for clear values.
Rules: tests/policy/spec_rules.yaml (or --rules) copied with one password_env principal
and without purpose limits (rows_per_query would cut the read); no consent filter applies
to customer_service and all rows are inside the retention period, so no row is hidden.

Run: python bench/masked_read_bench.py [--server DSN] [--rows 100000] [--repeat 5]
     [--entities 20] [--compare REV] [--output bench/results/masked_read.md]
A scratch database is created on the server and dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import secrets
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
import psycopg
from common import (
    PASSWORD_ENV,
    PRINCIPAL,
    PURPOSE,
    ROOT,
    SPEC_RULES,
    GatewayProcess,
    bench_rules,
    checkout,
    conninfo,
    cpu_seconds,
    fill_customers,
    machine,
    machine_markdown,
    markdown_table,
    median,
    ratio,
    reader_connection,
    reader_gateway,
    scratch_database,
    server_version,
)

from gateway.policy.catalog import load_catalog
from gateway.policy.freetext import column_masker, masker
from gateway.policy.rewrite import rewrite
from gateway.policy.rules import load_rules

OUTPUT = ROOT / "bench" / "results" / "masked_read.md"
QUERY = "SELECT * FROM customers"
COPY_QUERY = "SELECT * FROM customers_copy"  # same rows, a table the rules do not classify
MASK_KEY = "bench deployment key"
# A clear mobile (11 digits) or a clear local part of an e-mail address in the output
CLEAR = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)|[A-Za-z0-9]{2,}@")

Fetch = Callable[[], Awaitable[list]]
# The same gateway with its compiled hot paths turned off (gateway/compiled.py)
PYTHON_PATH = "gateway, customer_service, Python path (PGW_PURE_PYTHON=1)"


# --- clients --------------------------------------------------------------------------------

def mask_loop(scans: list) -> Callable[[list], None]:
    """Apply the free-text maskers to the scan columns, as the gateway does per DataRow."""
    def apply(rows: list) -> None:
        for row in rows:
            for position, mask in scans:
                if row[position] is not None:
                    mask(row[position])
    return apply


def asyncpg_fetch(conn: asyncpg.Connection, sql: str,
                  after: Callable[[list], None] | None = None) -> Fetch:
    async def fetch() -> list:
        rows = await conn.fetch(sql)
        if after:
            after(rows)
        return rows
    return fetch


def psycopg_fetch(conn: psycopg.Connection, sql: str) -> Fetch:
    async def fetch() -> list:
        # blocking on purpose: nothing else runs in this process while a read is timed
        return conn.execute(sql).fetchall()
    return fetch


def psycopg_copy(conn: psycopg.Connection, sql: str) -> Fetch:
    """COPY (sql) TO STDOUT in text format; its lines as rows of text fields."""
    async def fetch() -> list:
        with conn.cursor().copy(f"COPY ({sql}) TO STDOUT") as copy:
            data = b"".join(bytes(block) for block in copy)
        return [tuple(None if f == b"\\N" else f.decode() for f in line.split(b"\t"))
                for line in data.splitlines()]
    return fetch


async def timed(fetch: Fetch, pid: int) -> tuple[float, float, list]:
    """Wall seconds of the read, the gateway's CPU seconds for it, and the rows.

    The CPU counts until the gateway is idle again: a read of many customers leaves its
    audit record and exposure ledger rows to be written after its last row. Waiting for
    that, and for a PostgreSQL server on this machine to be idle too (its share of those
    writes), also keeps it out of the next target's time.
    """
    cpu, start = cpu_seconds(pid), time.perf_counter()
    rows = await fetch()
    seconds = time.perf_counter() - start
    used = await settled(lambda: cpu_seconds(pid)) - cpu
    await settled(server_cpu)
    return seconds, used, rows


def server_cpu() -> float:
    """CPU seconds of the PostgreSQL processes on this machine (0 when there are none)."""
    total = 0.0
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() == "postgres":
                total += cpu_seconds(int(comm.parent.name))
        except (OSError, ValueError):
            continue  # gone meanwhile
    return total


async def settled(cpu: Callable[[], float], step: float = 0.1, longest: float = 10.0) -> float:
    """cpu() once a step passes without it growing."""
    used = cpu()
    deadline = time.monotonic() + longest
    while time.monotonic() < deadline:
        await asyncio.sleep(step)
        now = cpu()
        if now == used:
            break
        used = now
    return used


# --- setup ------------------------------------------------------------------------------

async def connect(dsn: str) -> asyncpg.Connection:
    """asyncpg from a libpq DSN (asyncpg reads URLs only)."""
    p = conninfo(dsn)
    return await asyncpg.connect(host=p["host"], port=int(p["port"]), user=p["user"],
                                 password=p.get("password"), database=p["dbname"], ssl=False)


async def direct_runs(dsn: str, rules_path: Path,
                      closers: list) -> tuple[dict[str, Fetch], dict[str, Fetch], str]:
    """Direct clear targets (both clients), rewritten ones (asyncpg), treated columns."""
    conn = await connect(dsn)
    sync = psycopg.connect(dsn, autocommit=True)
    closers += [conn.close, sync.close]
    rules = load_rules(rules_path)
    catalog = await load_catalog(conn, rules)
    purpose, key = rules.purposes[PURPOSE], MASK_KEY.encode()
    in_sql = rewrite(QUERY, purpose, rules, catalog, mask_key=key)
    passed = rewrite(QUERY, purpose, rules, catalog, mask_key=key, gateway_scan=True)
    scans = [(i, masker(entities, rules)) for i, entities in passed.scan_columns]
    scans += [(i, column_masker(mask)) for i, mask in passed.mask_columns]
    treated = ", ".join(f"{c.column} {c.treatment}" for c in passed.columns
                        if c.treatment != "show")
    clear = {"direct, clear — asyncpg": asyncpg_fetch(conn, QUERY),
             "direct, clear — psycopg": psycopg_fetch(sync, QUERY),
             "direct, clear — psycopg COPY": psycopg_copy(sync, QUERY)}
    context = {"direct, rewritten SQL, masked in SQL — asyncpg":
               asyncpg_fetch(conn, in_sql.sql),
               "direct, rewritten SQL, masked as the gateway does in client loop — asyncpg":
               asyncpg_fetch(conn, passed.sql, mask_loop(scans))}
    return clear, context, treated


async def gateway_runs(gw: GatewayProcess, dbname: str, password: str, closers: list,
                       name: str = "gateway, customer_service",
                       pass_through: bool = True) -> dict[str, Fetch]:
    conn = await asyncpg.connect(host=gw.host, port=gw.port, user=PRINCIPAL, password=password,
                                 database=dbname, ssl=False,
                                 server_settings={"privacy.purpose": PURPOSE})
    sync = reader_connection(gw, dbname, password)
    closers += [conn.close, sync.close]
    runs = {f"{name} — asyncpg": asyncpg_fetch(conn, QUERY),
            f"{name} — psycopg": psycopg_fetch(sync, QUERY)}
    if pass_through:
        runs |= {f"{name} — psycopg COPY": psycopg_copy(sync, QUERY),
                 "gateway, unclassified copy (pass-through) — asyncpg":
                 asyncpg_fetch(conn, COPY_QUERY)}
    return runs


# --- measurement ------------------------------------------------------------------------

def leaks(rows: list) -> int:
    """Values in the gateway's output that look clear: phone, id_no, email, notes."""
    count = 0
    for row in rows:
        phone, id_no, email, notes = row[2], row[3], row[4], row[8]
        count += bool(phone and CLEAR.search(phone)) + (id_no is not None)
        count += bool(email and CLEAR.search(email)) + bool(notes and CLEAR.search(notes))
    return count


async def measure(runs: dict[str, Fetch], repeat: int,
                  pids: dict[str, int]) -> tuple[dict, dict, dict, dict]:
    """Seconds and gateway CPU seconds per label (warm-up round dropped), rows per label,
    clear values per gateway label."""
    times: dict[str, list[float]] = {label: [] for label in runs}
    cpus: dict[str, list[float]] = {label: [] for label in runs}
    counts: dict[str, int] = {}
    checked: dict[str, int] = {}
    for round_no in range(repeat + 1):
        for label, fetch in runs.items():
            seconds, cpu, rows = await timed(fetch, pids[label])
            counts[label] = len(rows)
            if round_no == 0 and label.startswith(("gateway, customer_service", PYTHON_PATH)):
                checked[label] = leaks(rows)
            if round_no:
                times[label].append(seconds)
                cpus[label].append(cpu)
            del rows
        print(f"round {round_no}/{repeat}: "
              + ", ".join(f"{v[-1]:.3f}" for v in times.values() if v), flush=True)
    return times, cpus, counts, checked


# --- report -----------------------------------------------------------------------------

def report(args: argparse.Namespace, description: dict[str, str], times: dict, cpus: dict,
           counts: dict, checked: dict, treated: str) -> str:
    base = {client: median(times[f"direct, clear — {client}"])
            for client in ("asyncpg", "psycopg", "psycopg COPY")}
    rows = []
    for label, values in times.items():
        client = label.rsplit("— ", 1)[1]
        cpu = f"{median(cpus[label]):.2f}" if label.startswith("gateway") else "–"
        rows.append([label, counts[label], f"{median(values):.3f}",
                     f"{min(values):.3f}–{max(values):.3f}", ratio(median(values), base[client]),
                     cpu])
    gateway = {k: median(v) / base[k.rsplit("— ", 1)[1]] for k, v in times.items()
               if k.startswith("gateway, customer_service") and not k.startswith(PYTHON_PATH)}
    # the target is the SELECT as clients run it; the COPY form is reported beside it
    target = {k: v for k, v in gateway.items() if not k.endswith("COPY")}
    verdict = "met" if all(r <= 1.5 for r in target.values()) else "not met"
    return "\n".join([
        "# Masked bulk read: direct vs through the gateway", "",
        f"`python bench/masked_read_bench.py{' --compare ' + args.compare if args.compare else ''}`"
        " — one run, the targets interleaved per round, "
        f"one unmeasured warm-up round, then median of {args.repeat}. Noisy shared machine: "
        "read medians and ratios.", "",
        machine_markdown(description), "",
        f"`{QUERY}`, {args.rows:,} rows, every row fetched by the client. Notes: "
        f"{args.entities} % hold a mobile, an e-mail address or both. Purpose {PURPOSE} "
        f"({Path(args.rules).name}, limits removed): {treated}. Gateway: `privacy-gateway "
        "serve` subprocess, SCRAM principal, TLS off, audit and metering on (state in the "
        "same database).", "",
        markdown_table(["target", "rows", "median s", "range s", "× direct clear (same client)",
                        "gateway CPU s (median; with the audit and ledger writes after the "
                        "read)"], rows), "",
        f"Target gateway ≤ 1.5 × direct clear, `{QUERY}`: **{verdict}** "
        + "(" + ", ".join(f"{k.rsplit('— ', 1)[1]} {v:.2f}×" for k, v in target.items())
        + "). The same rows as `COPY (...) TO STDOUT`, whose free text the database masks: "
        + ", ".join(f"{v:.2f}×" for k, v in gateway.items() if k not in target) + ".",
        "Clear values found in the gateway's output (phone, email, notes: 11-digit mobile or "
        "e-mail local part; id_no not NULL), checked on the warm-up round: "
        + ", ".join(f"{_short(k)} {v}" for k, v in checked.items()) + ".", ""])


def _short(label: str) -> str:
    """A gateway target's label without what they all share."""
    return label.removeprefix("gateway, customer_service").replace(
        " (PGW_PURE_PYTHON=1)", "").strip(", —")


async def run(args: argparse.Namespace) -> str:
    description = machine()  # now, so the load average is the one at start
    password = secrets.token_urlsafe(16)
    closers: list = []
    with scratch_database(args.server) as dsn, tempfile.TemporaryDirectory() as folder, \
            (checkout(args.compare) if args.compare else contextlib.nullcontext()) as root:
        fill_customers(dsn, args.rows, args.entities)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("CREATE TABLE customers_copy AS SELECT * FROM customers")
        description["PostgreSQL"] = server_version(dsn)
        rules_path = bench_rules(Path(args.rules), Path(folder), PRINCIPAL, PASSWORD_ENV,
                                 [PURPOSE])
        gw = reader_gateway(dsn, rules_path, password, MASK_KEY)
        python = reader_gateway(dsn, rules_path, password, MASK_KEY, {"PGW_PURE_PYTHON": "1"})
        earlier = reader_gateway(dsn, rules_path, password, MASK_KEY, root=root) if root \
            else None
        try:
            clear, context, treated = await direct_runs(dsn, rules_path, closers)
            dbname = conninfo(dsn)["dbname"]
            through = await gateway_runs(gw, dbname, password, closers)
            pure = await gateway_runs(python, dbname, password, closers, PYTHON_PATH, False)
            before = await gateway_runs(earlier, dbname, password, closers,
                                        f"gateway@{args.compare}, customer_service",
                                        False) if earlier else {}
            runs = {**clear, **through, **before, **pure, **context}
            # (CPU is reported for the gateway targets only)
            pids = {**dict.fromkeys(runs, gw.pid), **dict.fromkeys(pure, python.pid),
                    **dict.fromkeys(before, earlier.pid if earlier else 0)}
            times, cpus, counts, checked = await measure(runs, args.repeat, pids)
        finally:
            for close in closers:
                result = close()
                if asyncio.iscoroutine(result):
                    await result
            gw.stop()
            python.stop()
            if earlier:
                earlier.stop()
    return report(args, description, times, cpus, counts, checked, treated)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5, help="measured rounds (median)")
    parser.add_argument("--rules", default=str(SPEC_RULES), help="rules with public.customers")
    parser.add_argument("--entities", type=int, default=20,
                        help="percent of notes holding a mobile and/or an e-mail address")
    parser.add_argument("--compare", metavar="REV",
                        help="also read through the gateway of this commit")
    parser.add_argument("--output", default=str(OUTPUT))
    args = parser.parse_args()
    text = asyncio.run(run(args))
    Path(args.output).write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
