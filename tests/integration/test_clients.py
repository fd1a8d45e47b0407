"""Real clients through the gateway: psql, psycopg 3, asyncpg and pgbench."""

from __future__ import annotations

import io
import os
import subprocess

import asyncpg
import psycopg
import pytest

from tests.integration.conftest import PASSWORDS, conninfo
from tests.integration.tools import client_program


def _dbname(gateway) -> str:
    return psycopg.conninfo.conninfo_to_dict(gateway.config.upstream)["dbname"]


def test_psql_script(gateway) -> None:
    script = """
\\set ON_ERROR_STOP 0
SELECT count(*) AS n FROM customers;
SHOW privacy.purpose;
BEGIN;
CREATE TEMP TABLE t(x int);
INSERT INTO t SELECT generate_series(1, 3);
SELECT sum(x) FROM t;
COMMIT;
SELECT 1/0;
\\copy (SELECT generate_series(1,5)) TO STDOUT
SELECT 'after error' AS still;
"""
    done = subprocess.run([client_program("psql"), "-X", "-A", "-t", conninfo(gateway)],
                          input=script, capture_output=True, text=True, timeout=60)
    lines = done.stdout.split()
    visible = int(lines[0])  # retention hides customers older than three years
    assert 0 < visible < 3002 and "customer_service" in lines and "6" in lines
    assert done.stdout.endswith("1\n2\n3\n4\n5\nafter error\n")
    assert "division by zero" in done.stderr


def test_psycopg_text_binary_and_prepared(gateway) -> None:
    with psycopg.connect(conninfo(gateway)) as conn:
        row = conn.execute("SELECT %s::int + 1, %s::text", (41, "你好")).fetchone()
        assert row == (42, "你好")
        with conn.cursor(binary=True) as cur:
            cur.execute("SELECT %s::bigint, %s::numeric, now()::date IS NOT NULL", (7, "1.5"))
            assert cur.fetchone()[:2] == (7, psycopg.types.numeric.Decimal("1.5"))
        for i in range(6):  # psycopg prepares server-side after the fifth execution
            assert conn.execute("SELECT %s::int * 2", (i,), prepare=True).fetchone() == (2 * i,)
        conn.execute("SELECT pg_sleep(0)")


def test_psycopg_pipeline_and_errors(gateway) -> None:
    with psycopg.connect(conninfo(gateway)) as conn:
        with conn.pipeline():
            cursors = [conn.execute("SELECT %s::int", (i,)) for i in range(20)]
        assert [c.fetchone()[0] for c in cursors] == list(range(20))
        with pytest.raises(psycopg.errors.UndefinedTable):
            conn.execute("SELECT * FROM no_such_table")
        conn.rollback()
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_psycopg_copy_in_and_out(gateway) -> None:
    with psycopg.connect(conninfo(gateway), autocommit=True) as conn:
        conn.execute("CREATE TEMP TABLE items(id int, label text)")
        with conn.cursor().copy("COPY items FROM STDIN") as copy:
            for i in range(1000):
                copy.write_row((i, f"item {i}"))
        assert conn.execute("SELECT count(*), max(id) FROM items").fetchone() == (1000, 999)
        out = []
        with conn.cursor().copy("COPY items TO STDOUT") as copy:
            out.extend(copy.rows())
        assert len(out) == 1000


def test_psycopg_notify(gateway) -> None:
    with psycopg.connect(conninfo(gateway), autocommit=True) as conn:
        conn.execute("LISTEN pgw_test")
        with psycopg.connect(conninfo(gateway), autocommit=True) as other:
            other.execute("NOTIFY pgw_test, 'hello'")
        note = next(conn.notifies(timeout=5, stop_after=1))
        assert (note.channel, note.payload) == ("pgw_test", "hello")
        conn.add_notice_handler(lambda diag: notices.append(diag.message_primary))
        notices: list[str] = []
        conn.execute("DROP TABLE IF EXISTS pgw_no_such_table")
        assert notices == ['table "pgw_no_such_table" does not exist, skipping']


def _asyncpg_kwargs(gateway) -> dict:
    return {"host": gateway.host, "port": gateway.port, "user": "crm_app",
            "password": PASSWORDS["crm_app"], "database": _dbname(gateway), "ssl": False,
            "server_settings": {"privacy.purpose": "customer_service"}}


async def test_asyncpg_prepared_binary_executemany_cursor(gateway) -> None:
    conn = await asyncpg.connect(**_asyncpg_kwargs(gateway))
    try:
        assert await conn.fetchval("SHOW privacy.purpose") == "customer_service"
        stmt = await conn.prepare("SELECT $1::int8 * 2, $2::numeric, $3::timestamptz")
        value = await stmt.fetchrow(21, 1.25, None)
        assert value[0] == 42 and float(value[1]) == 1.25
        await conn.execute("CREATE TEMP TABLE kv(k int primary key, v text)")
        await conn.executemany("INSERT INTO kv VALUES ($1, $2)", [(i, str(i)) for i in range(300)])
        async with conn.transaction():
            seen = [r["k"] async for r in conn.cursor("SELECT k FROM kv ORDER BY k", prefetch=50)]
        assert seen == list(range(300))
        records = await conn.fetch("SELECT k, v FROM kv WHERE k < $1", 3)
        assert [tuple(r) for r in records] == [(0, "0"), (1, "1"), (2, "2")]
    finally:
        await conn.close()


@pytest.mark.parametrize("mode", ["simple", "extended", "prepared"])
def test_pgbench_select_only(gateway, sample_dsn: str, mode: str) -> None:
    init = subprocess.run([client_program("pgbench"), "-i", "-s", "1", "-q", sample_dsn],
                          capture_output=True, text=True, timeout=120)
    assert init.returncode == 0, init.stderr
    info = psycopg.conninfo.conninfo_to_dict(conninfo(gateway))
    env = {**os.environ, "PGPASSWORD": info.pop("password"), "PGSSLMODE": "disable"}
    done = subprocess.run(
        [client_program("pgbench"), "-S", "-M", mode, "-c", "4", "-j", "2", "-t", "200",
         "-h", gateway.host, "-p", str(gateway.port), "-U", "crm_app", _dbname(gateway)],
        capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    assert "number of transactions actually processed: 800/800" in done.stdout


def test_psql_shows_free_text_with_numbers_masked(gateway, sample_dsn: str) -> None:
    """Customer-service notes pass through the gateway's free-text scan."""
    with psycopg.connect(sample_dsn) as direct:
        clear = [n for (n,) in direct.execute(
            "SELECT notes FROM customers WHERE created_at > now() - interval '3 years' "
            "AND notes ~ '1[3-9][0-9]{9}' ORDER BY id LIMIT 50")]
    assert clear, "the sample data has notes with mobile numbers"
    done = subprocess.run(
        [client_program("psql"), "-X", "-A", "-t", "-c",
         "SELECT notes FROM customers WHERE created_at > now() - interval '3 years' "
         "ORDER BY id LIMIT 200", conninfo(gateway)],
        capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    import re

    assert not re.search(r"(?<!\d)1[3-9]\d{9}(?!\d)", done.stdout)
    assert re.search(r"1[3-9]\d\*{4}\d{4}", done.stdout)  # 138****5678 inside the note


def test_row_limit_cuts_classified_reads_only(gateway) -> None:
    with psycopg.connect(conninfo(gateway), autocommit=True) as conn:
        with pytest.raises(psycopg.errors.ProgramLimitExceeded, match="row limit of 200"):
            conn.execute("SELECT id FROM customers").fetchall()
        assert len(conn.execute("SELECT id FROM customers LIMIT 200").fetchall()) == 200
        rows = conn.execute("SELECT g FROM generate_series(1, 5000) g").fetchall()
        assert len(rows) == 5000  # unclassified: no purpose limit


def test_row_limit_applies_to_every_fetch_from_a_cursor(gateway) -> None:
    # A cursor is the usual way to page through a classified table: each FETCH is one
    # statement under the purpose's rows_per_query, as a SELECT of those rows would be.
    with psycopg.connect(conninfo(gateway)) as conn:
        conn.execute("DECLARE everyone CURSOR FOR SELECT id, phone FROM customers ORDER BY id")
        page = conn.execute("FETCH 150 FROM everyone").fetchall()
        assert len(page) == 150 and all(len(row) == 2 and "*" in row[1] for row in page)
        with pytest.raises(psycopg.errors.ProgramLimitExceeded, match="row limit of 200"):
            conn.execute("FETCH ALL FROM everyone").fetchall()


def test_cursor_pages_through_the_simple_protocol(gateway) -> None:
    statements = ["BEGIN", "DECLARE pages CURSOR FOR SELECT id, name, phone FROM customers "
                  "WHERE id < 900000 ORDER BY id", "FETCH 20 FROM pages", "FETCH 20 FROM pages",
                  "FETCH ALL FROM pages", "COMMIT"]
    done = subprocess.run(  # psql sends each -c as one simple Query
        [client_program("psql"), "-X", "-A", "-t", *(a for s in statements for a in ("-c", s)),
         conninfo(gateway)], capture_output=True, text=True, timeout=60)
    rows = [line.split("|") for line in done.stdout.splitlines() if "|" in line]
    assert [len(r) for r in rows] == [3] * 40  # the two pages, nothing appended
    assert int(rows[19][0]) < int(rows[20][0]) and all("*" in r[2] for r in rows)
    assert "row limit of 200" in done.stderr  # FETCH ALL: over the purpose's limit


def test_binary_named_cursor(gateway) -> None:
    # psycopg's binary server-side cursor: FETCH results in binary format, keys included
    with psycopg.connect(conninfo(gateway)) as conn, \
            conn.cursor(name="binary_export", binary=True) as cursor:
        cursor.execute("SELECT id, phone, birthday FROM customers WHERE id < 900000 ORDER BY id")
        rows = cursor.fetchmany(30) + cursor.fetchmany(30)
    assert [len(row) for row in rows] == [3] * 60
    assert sorted({row[0] for row in rows}) == [row[0] for row in rows]
    assert all("*" in row[1] for row in rows)


@pytest.mark.parametrize(("options", "separator", "header"), [
    ("", "\t", False), ("WITH (FORMAT csv, HEADER)", ",", True),
    ("CSV DELIMITER ';' FORCE QUOTE *", ";", False)])
def test_copy_out_of_customers_has_the_columns_asked_for(gateway, options: str, separator: str,
                                                          header: bool) -> None:
    # the subject key the gateway adds for the ledger never reaches the client
    with psycopg.connect(conninfo(gateway)) as conn, conn.cursor().copy(
            f"COPY (SELECT id, name, phone FROM customers WHERE id < 900000 ORDER BY id "
            f"LIMIT 30) TO STDOUT {options}") as copy:
        lines = b"".join(bytes(block) for block in copy).decode().splitlines()
    assert len(lines) == 30 + header
    if header:
        assert lines.pop(0) == "id,name,phone"
    fields = [line.split(separator) for line in lines]
    assert [len(f) for f in fields] == [3] * 30 and all("*" in f[2] for f in fields)
    ids = [int(f[0].strip('"')) for f in fields]
    assert ids == sorted(ids)


def test_row_limit_applies_to_copy_out(gateway) -> None:
    with psycopg.connect(conninfo(gateway)) as conn:
        with pytest.raises(psycopg.errors.ProgramLimitExceeded, match="row limit of 200"), \
                conn.cursor().copy("COPY customers (id, phone) TO STDOUT") as copy:
            lines = []
            for block in copy:
                lines.extend(bytes(block).splitlines())
        assert len(lines) == 200
        conn.rollback()
        assert conn.execute("SELECT 1").fetchone() == (1,)  # the session goes on


@pytest.mark.parametrize("fmt", ["text", "csv", "binary"])
async def test_asyncpg_copy_from_query(gateway, fmt: str) -> None:
    conn = await asyncpg.connect(**_asyncpg_kwargs(gateway))
    try:
        out = io.BytesIO()
        await conn.copy_from_query("SELECT id, phone FROM customers WHERE id < 900000 "
                                   "ORDER BY id LIMIT 25", output=out, format=fmt)
        direct = await conn.fetch("SELECT id, phone FROM customers WHERE id < 900000 "
                                  "ORDER BY id LIMIT 25")
    finally:
        await conn.close()
    data = out.getvalue()
    if fmt == "binary":  # PGCOPY header, then 25 tuples of 2 fields, then -1
        assert data.startswith(b"PGCOPY\n\xff\r\n\0") and data.endswith(b"\xff\xff")
        assert data.count(b"\x00\x02\x00\x00\x00\x08") == 25
    else:
        lines = [line.split("\t" if fmt == "text" else ",") for line in
                 data.decode().splitlines()]
        assert [(int(i), p) for i, p in lines] == [(r["id"], r["phone"]) for r in direct]
