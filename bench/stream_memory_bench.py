"""Gateway memory while 1,000,000-row results stream through it to a slow, streaming client.

Queries, each read once through a `privacy-gateway serve` subprocess:
- `SELECT g, repeat('x', 100) FROM generate_series(1, N) g` (no classified table);
- `SELECT * FROM customers` over an N-row customers table under purpose customer_service
  (masks in the rewritten SQL, free-text scan of notes and subject tracking in the gateway);
- as many masked rows from only 1,000 distinct customers (a cross join with
  generate_series), which tells memory per row from memory per distinct customer.
Clients: psycopg `Cursor.stream()` (one Execute, rows taken one at a time: the client is
slower than the server, so the gateway must hold back rather than buffer) and a psycopg
server-side cursor (DECLARE ... CURSOR, FETCH 10,000 at a time). The gateway's VmRSS is
sampled every 50 ms; per read: baseline (just before), peak, growth; target growth ≤ 50 MB.
Rules: tests/policy/spec_rules.yaml with one password_env principal, without purpose limits
and without canaries (the generated ids reach them).

Run: python bench/stream_memory_bench.py [--server DSN] [--rows 1000000] [--no-customers]
     [--output bench/results/stream_memory.md]
A scratch database is created on the server and dropped at the end.
"""

from __future__ import annotations

import argparse
import secrets
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psycopg
from common import (
    PASSWORD_ENV,
    PRINCIPAL,
    PURPOSE,
    ROOT,
    SPEC_RULES,
    GatewayProcess,
    RssSampler,
    bench_rules,
    conninfo,
    cpu_seconds,
    fill_customers,
    machine,
    machine_markdown,
    markdown_table,
    reader_connection,
    reader_gateway,
    rss_kb,
    scratch_database,
    server_version,
)

OUTPUT = ROOT / "bench" / "results" / "stream_memory.md"
SERIES = "SELECT g, repeat('x', 100) FROM generate_series(1, {rows}) g"
CUSTOMERS = "SELECT * FROM customers"
# As many masked rows, from only SUBJECTS distinct customers: tells per-row from per-customer
REPEATED = ("SELECT c.* FROM customers c CROSS JOIN generate_series(1, {times}) "
            "WHERE c.id <= {subjects}")
SUBJECTS = 1000
TARGET_MB = 50
FETCH_SIZE = 10_000

Reader = Callable[[psycopg.Connection, str], int]


@dataclass
class Reading:
    query: str
    client: str
    rows: int
    seconds: float
    cpu: float
    baseline_kb: int
    peak_kb: int
    after_kb: int

    @property
    def growth_mb(self) -> float:
        return (self.peak_kb - self.baseline_kb) / 1024


# --- clients --------------------------------------------------------------------------------

def stream_rows(conn: psycopg.Connection, sql: str) -> int:
    """One statement, rows handed over one at a time as they arrive (libpq single-row mode)."""
    count = 0
    for _ in conn.cursor().stream(sql):
        count += 1
    return count


def cursor_rows(conn: psycopg.Connection, sql: str) -> int:
    """A server-side cursor: DECLARE, then FETCH FORWARD in batches, in one transaction."""
    count = 0
    with conn.transaction(), conn.cursor(name="bench_stream") as cur:
        cur.itersize = FETCH_SIZE
        cur.execute(sql)
        for _ in cur:
            count += 1
    return count


CLIENTS: dict[str, Reader] = {
    "psycopg stream() (single-row mode)": stream_rows,
    f"psycopg server-side cursor (FETCH {FETCH_SIZE:,})": cursor_rows,
}


# --- measurement ------------------------------------------------------------------------

def read_once(gw: GatewayProcess, conn: psycopg.Connection, label: str, sql: str,
              client: str) -> Reading:
    """One read with the gateway's VmRSS sampled from just before it to just after it."""
    with RssSampler(gw.pid) as sampler:
        time.sleep(0.5)  # the baseline: idle gateway, connection open
        baseline, cpu, start = max(sampler.samples), cpu_seconds(gw.pid), time.perf_counter()
        rows = CLIENTS[client](conn, sql)
        seconds, cpu = time.perf_counter() - start, cpu_seconds(gw.pid) - cpu
        time.sleep(0.5)
    reading = Reading(label, client, rows, seconds, cpu, baseline, sampler.peak, rss_kb(gw.pid))
    print(f"{label} / {client}: {rows:,} rows, {seconds:.1f} s, baseline "
          f"{baseline / 1024:.1f} MB, peak {sampler.peak / 1024:.1f} MB, "
          f"growth {reading.growth_mb:.1f} MB", flush=True)
    return reading


def measure(dsn: str, args: argparse.Namespace, folder: Path) -> list[Reading]:
    """Every query with every client, each read in a fresh gateway process.

    A fresh process per read, because CPython keeps freed memory for reuse: after one large
    read the next one's growth would hide under the first one's high-water mark.
    """
    password = secrets.token_urlsafe(16)
    rules = bench_rules(Path(args.rules), folder, PRINCIPAL, PASSWORD_ENV, [PURPOSE],
                        canaries=False)
    queries = {"generate_series, unclassified": SERIES.format(rows=args.rows)}
    if not args.no_customers:
        queries[f"customers, masked for {PURPOSE}"] = CUSTOMERS
        queries[f"customers, masked, {SUBJECTS:,} customers × {args.rows // SUBJECTS:,}"] = \
            REPEATED.format(times=args.rows // SUBJECTS, subjects=SUBJECTS)
    readings = []
    for label, sql in queries.items():
        for client in CLIENTS:
            gw = reader_gateway(dsn, rules, password, "bench key")
            try:
                with reader_connection(gw, conninfo(dsn)["dbname"], password) as conn:
                    conn.execute("SELECT 1")  # authenticated, purpose bound, warm
                    readings.append(read_once(gw, conn, label, sql, client))
            finally:
                gw.stop()
    return readings


# --- report -----------------------------------------------------------------------------

def _mb(kb: int) -> str:
    return f"{kb / 1024:.1f}"


def report(args: argparse.Namespace, description: dict[str, str],
           readings: list[Reading]) -> str:
    rows = [[r.query, r.client, f"{r.rows:,}", f"{r.seconds:.1f}", f"{r.cpu:.1f}",
             _mb(r.baseline_kb), _mb(r.peak_kb), f"{r.growth_mb:.1f}", _mb(r.after_kb)]
            for r in readings]
    worst = max(r.growth_mb for r in readings)
    verdict = "met" if worst <= TARGET_MB else "not met"
    return "\n".join([
        "# Streamed results: gateway memory", "",
        "`python bench/stream_memory_bench.py` — each read once, in a fresh gateway process "
        "(one client connection, one `SELECT 1` first). VmRSS of the gateway sampled every "
        "50 ms from /proc/<pid>/status; baseline = idle just before the read, "
        "growth = peak − baseline.",
        "", machine_markdown(description), "",
        f"{args.rows:,} rows per read. Customers: notes with entities in 20 % of rows; purpose "
        f"{PURPOSE} masks phone, email, address, birthday and notes (free-text scan in the "
        "gateway), hides id_no. Audit and metering on (state in the same database).", "",
        markdown_table(["query", "client", "rows", "s", "gateway CPU s", "baseline MB",
                        "peak MB", "growth MB", "after MB"], rows), "",
        f"Target growth ≤ {TARGET_MB} MB per read: **{verdict}** (largest {worst:.1f} MB).",
        ""])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rules", default=str(SPEC_RULES), help="rules with public.customers")
    parser.add_argument("--no-customers", action="store_true",
                        help="skip the masked customers read (and building its table)")
    parser.add_argument("--output", default=str(OUTPUT))
    args = parser.parse_args()
    description = machine()  # now, so the load average is the one at start
    with scratch_database(args.server) as dsn, tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        fill_customers(dsn, 0 if args.no_customers else args.rows, 20)
        print(f"customers table: {time.perf_counter() - started:.1f} s", flush=True)
        description["PostgreSQL"] = server_version(dsn)
        readings = measure(dsn, args, Path(folder))
    text = report(args, description, readings)
    Path(args.output).write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
