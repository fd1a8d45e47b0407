"""load() fills a real database, fast, and can run again."""

from __future__ import annotations

import time

import psycopg

from gateway.sample import CANARY_IDS, load


def test_load_counts_canaries_and_reload(upstream_dsn: str) -> None:
    started = time.monotonic()
    counts = load(upstream_dsn)
    assert time.monotonic() - started < 5
    assert counts["customers"] == 3000 + len(CANARY_IDS)
    assert counts["canaries"] == 2
    with psycopg.connect(upstream_dsn) as conn:
        assert conn.execute("SELECT count(*) FROM customers").fetchone()[0] == counts["customers"]
        assert conn.execute("SELECT count(*) FROM orders").fetchone()[0] == counts["orders"]
        found = conn.execute("SELECT id FROM customers WHERE id = ANY(%s) ORDER BY id",
                             [list(CANARY_IDS)]).fetchall()
        assert [r[0] for r in found] == [900001, 900002]
        old = conn.execute(
            "SELECT count(*) FROM customers WHERE created_at < now() - interval '3 years'"
        ).fetchone()[0]
        assert 0 < old < counts["customers"] // 2
    before = _fingerprint(upstream_dsn)
    assert load(upstream_dsn) == counts  # idempotent: same seed, same day, same rows
    assert _fingerprint(upstream_dsn) == before


def test_load_smaller_with_other_seed(scratch_dsn: str) -> None:
    counts = load(scratch_dsn, customers=50, seed=99)
    assert counts["customers"] == 52
    with psycopg.connect(scratch_dsn) as conn:
        types = dict(conn.execute(
            "SELECT column_name, data_type FROM information_schema.columns"
            " WHERE table_name = 'customers'").fetchall())
    assert types["birthday"] == "date"
    assert types["marketing_opt_in"] == "boolean"
    assert types["created_at"] == "timestamp with time zone"


def _fingerprint(dsn: str) -> str:
    """A digest of every customer and order row, to compare two loads."""
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "SELECT (SELECT md5(string_agg(c::text, '|' ORDER BY id)) FROM customers c)"
            " || (SELECT md5(string_agg(o::text, '|' ORDER BY id)) FROM orders o)"
        ).fetchone()[0]
