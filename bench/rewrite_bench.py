"""Analysis + rewrite cost per statement: cache miss (full analysis) and cache hit.

Run: python bench/rewrite_bench.py [--rules FILE] [--repeat N]
Uses a catalog built in memory for the rules' tables (no database needed).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from gateway.policy.catalog import Catalog, Column
from gateway.policy.rewrite import PolicyCache, rewrite
from gateway.policy.rules import load_rules

HERE = Path(__file__).resolve().parent
DEFAULT_RULES = HERE.parent / "tests" / "policy" / "crm_rules.yaml"

STATEMENTS = {
    "lookup by phone": "SELECT id, name, phone, email FROM customers WHERE phone = $1",
    "two-table join": (
        "SELECT c.id, c.name, c.phone, o.total FROM customers c JOIN orders o "
        "ON o.customer_id = c.id WHERE c.id = $1 ORDER BY o.created_at DESC LIMIT 20"),
    "page of customers": "SELECT * FROM customers ORDER BY id LIMIT 50 OFFSET $1",
    "count with subquery": (
        "SELECT count(*) FROM orders o WHERE o.customer_id IN "
        "(SELECT id FROM customers WHERE created_at > now() - interval '30 days')"),
    "unclassified": "SELECT id, status FROM tickets WHERE assignee = $1 ORDER BY id LIMIT 20",
}

TYPES = {"id": ("bigint", "N"), "customer_id": ("bigint", "N"), "total": ("numeric", "N"),
         "birthday": ("date", "D"), "created_at": ("timestamp with time zone", "D"),
         "marketing_opt_in": ("boolean", "B")}


def catalog_for(rules) -> Catalog:
    tables = {}
    for name, tdef in rules.tables.items():
        names = ["id", *tdef.columns, "created_at"]
        if tdef.subject and tdef.subject not in names:
            names.insert(1, tdef.subject)
        if name.endswith("customers"):
            names.append("marketing_opt_in")
        tables[name] = tuple(Column(n, *TYPES.get(n, ("text", "S"))) for n in dict.fromkeys(names))
    return Catalog(tables=tables)


def timed(func, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        out.append((time.perf_counter() - start) * 1e3)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", default=str(DEFAULT_RULES))
    parser.add_argument("--repeat", type=int, default=2000)
    parser.add_argument("--purpose", default="customer_service")
    args = parser.parse_args()
    rules = load_rules(args.rules)
    catalog = catalog_for(rules)
    purpose = rules.purposes[args.purpose]
    cache = PolicyCache(rules, catalog, mask_key=b"bench")
    memo: dict = {}  # what PolicyCache keeps between misses (rendered projections)
    print("| statement | miss median ms | miss p95 ms | cold miss median ms | hit median ms |")
    print("|---|---|---|---|---|")
    for label, sql in STATEMENTS.items():
        rewrite(sql, purpose, rules, catalog, b"bench", memo)  # warm imports and caches
        miss = timed(lambda sql=sql: rewrite(sql, purpose, rules, catalog, b"bench", memo),
                     args.repeat)
        cold = timed(lambda sql=sql: rewrite(sql, purpose, rules, catalog, b"bench"),
                     args.repeat)
        cache.decide(sql, args.purpose)
        hit = timed(lambda sql=sql: cache.decide(sql, args.purpose), args.repeat)
        p95 = statistics.quantiles(miss, n=20)[-1]
        print(f"| {label} | {statistics.median(miss):.3f} | {p95:.3f} | "
              f"{statistics.median(cold):.3f} | {statistics.median(hit):.4f} |")


if __name__ == "__main__":
    main()
