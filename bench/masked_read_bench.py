"""Masked bulk read: `SELECT * FROM customers` over 100,000 rows, clear vs rewritten.

Both queries run directly on PostgreSQL in the same run (the gateway comparison is added
by the gateway benchmark); with the rules of the specification, customer_service masks phone,
email, address, birthday and notes (free-text scan) and hides id_no; `--rules
tests/policy/crm_rules.yaml` adds a keyed-hash column (member_no).

Run: python bench/masked_read_bench.py [--server DSN] [--rows N] [--repeat 5]
A scratch database is created on the server and dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from pathlib import Path

import asyncpg

from gateway.policy.catalog import load_catalog
from gateway.policy.freetext import masker
from gateway.policy.rewrite import rewrite
from gateway.policy.rules import load_rules

RULES = Path(__file__).resolve().parent.parent / "tests" / "policy" / "spec_rules.yaml"
QUERY = "SELECT * FROM customers"

SCHEMA = """
CREATE TABLE customers (
    id bigint PRIMARY KEY, name text, phone varchar(20), id_no char(18), email text,
    address text, birthday date, member_no text, notes text,
    marketing_opt_in boolean NOT NULL DEFAULT false, created_at timestamptz NOT NULL);
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint, card_no text,
    total numeric(10, 2), created_at timestamptz NOT NULL);
"""
FILL = """
INSERT INTO customers
SELECT g, '王' || g, '138' || lpad(g::text, 8, '0'), '110105199001' || lpad(g::text, 6, '0'),
       'user' || g || '@example.cn', '北京市朝阳区建国路' || g || '号',
       date '1960-01-01' + g % 15000, 'M' || lpad(g::text, 8, '0'),
       CASE WHEN g % 100 < $2::int
            THEN '客户来电，备用电话139' || lpad(g::text, 8, '0')
                 || '，邮箱 u' || g || '@example.cn'
            ELSE '客户来电咨询订单物流，已解答' END,
       g % 3 <> 0, now() - (g % 900) * interval '1 day'
FROM generate_series(1, $1::int) g
"""


async def timed(conn: asyncpg.Connection, sql: str, scans=()) -> tuple[float, int]:
    """Seconds to fetch every row (and mask the free-text columns, as the gateway would)."""
    start = time.perf_counter()
    rows = await conn.fetch(sql)
    for row in rows:
        for position, mask in scans:
            if row[position] is not None:
                mask(row[position])
    return time.perf_counter() - start, len(rows)


async def main(args: argparse.Namespace) -> None:
    name = f"pgw_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(args.server)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        conn = await asyncpg.connect(args.server, database=name)
        await conn.execute(SCHEMA)
        await conn.execute(FILL, args.rows, args.entities)
        await conn.execute("ANALYZE")
        rules = load_rules(args.rules)
        catalog = await load_catalog(conn, rules)
        purpose = rules.purposes["customer_service"]
        in_sql = rewrite(QUERY, purpose, rules, catalog, mask_key=b"bench deployment key")
        passed = rewrite(QUERY, purpose, rules, catalog, mask_key=b"bench deployment key",
                         gateway_scan=True)
        scans = [(i, masker(entities, rules)) for i, entities in passed.scan_columns]
        masked = [c.column for c in in_sql.columns if c.treatment != "show"]
        runs = {"direct, clear": (QUERY, ()), "rewritten, free text masked in SQL":
                (in_sql.sql, ()), "rewritten, free text masked in Python": (passed.sql, scans)}
        times: dict[str, list[float]] = {label: [] for label in runs}
        counts = {}
        for _ in range(args.repeat + 1):  # interleaved, so drift hits all alike
            for label, (sql, scan) in runs.items():
                seconds, counts[label] = await timed(conn, sql, scan)
                times[label].append(seconds)
        await conn.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    print(f"rows: {counts}; notes with entities: {args.entities}%")
    print(f"treated columns: {', '.join(masked)}")
    print(f"| query | median s (of {args.repeat}) | ratio |")
    print("|---|---|---|")
    base = statistics.median(times["direct, clear"][1:])
    for label, values in times.items():
        median = statistics.median(values[1:])  # the first round warms the cache
        print(f"| {label} | {median:.3f} | {median / base:.2f} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--rules", default=str(RULES), help="rules with public.customers")
    parser.add_argument("--entities", type=int, default=100,
                        help="percent of notes holding a mobile and an e-mail address")
    asyncio.run(main(parser.parse_args()))
