"""The rewriter without a database: when a purpose runs this SQL, then this decision."""

from __future__ import annotations

import pytest

from gateway.policy.catalog import Catalog, Column
from gateway.policy.decision import CopyLayout, Decision
from gateway.policy.rewrite import PolicyCache, rewrite
from gateway.policy.rules import Rules, load_rules
from tests.policy.conftest import RULES_FILE

RULES: Rules = load_rules(RULES_FILE)
CUSTOMERS = tuple(Column(n, t, c) for n, t, c in [
    ("id", "bigint", "N"), ("name", "text", "S"), ("phone", "character varying(20)", "S"),
    ("id_no", "character(18)", "S"), ("email", "text", "S"), ("address", "text", "S"),
    ("birthday", "date", "D"), ("member_no", "text", "S"), ("notes", "text", "S"),
    ("marketing_opt_in", "boolean", "B"), ("created_at", "timestamp with time zone", "D")])
ORDERS = tuple(Column(n, t, c) for n, t, c in [
    ("id", "bigint", "N"), ("customer_id", "bigint", "N"), ("card_no", "text", "S"),
    ("total", "numeric(10,2)", "N"), ("created_at", "timestamp with time zone", "D")])
CATALOG = Catalog(tables={"public.customers": CUSTOMERS, "public.orders": ORDERS,
                          "public.customers_vip": CUSTOMERS},
                  children={"public.customers_vip": "public.customers"},
                  guarded={"public.customer_contacts": "public.customers"},
                  risky_functions=frozenset({"customer_phone"}))
CS, MK, ADMIN = "customer_service", "marketing", "account_admin"


def decide(sql: str, purpose: str | None = CS):
    bound = RULES.purposes[purpose] if purpose else None
    return rewrite(sql, bound, RULES, CATALOG, mask_key=b"k")


# when (purpose, SQL) -> then refused with a message containing this
REFUSED = [
    (MK, "SELECT id_no FROM customers", "public.customers.id_no is denied for purpose marketing"),
    (MK, "SELECT * FROM customers", "denied for purpose marketing"),
    (MK, "SELECT c.b FROM customers c(a, b, c3, d)", None),  # c.b is name: allowed
    (None, "SELECT phone FROM customers", "no purpose is declared"),
    (CS, "UPDATE customers SET notes = 'x'", "purpose customer_service may not write"),
    (ADMIN, "UPDATE customers SET notes = 'x' WHERE phone LIKE '1%'", "cannot be used in"),
    (CS, "SELECT * FROM customer_contacts", "it reads classified table public.customers"),
    (CS, "SELECT customer_phone(1)", "cannot verify function customer_phone"),
    (CS, "EXPLAIN SELECT * FROM customers", "cannot verify EXPLAIN"),
    (CS, "PREPARE p AS SELECT 1 FROM orders", "cannot verify PREPARE"),
    (CS, "DO $$ BEGIN END $$", "cannot verify DO"),
    (CS, "SET privacy.purpose = 'risk_control'", "privacy.purpose is set by the gateway"),
    (CS, "RESET privacy.purpose", "privacy.purpose is set by the gateway"),
    (CS, "SELECT set_config('privacy.purpose', 'x', false)", "set by the gateway"),
    (CS, "SELECT set_config(current_user, 'x', false)", "computed name"),
    (CS, "SET standard_conforming_strings = off", "standard_conforming_strings"),
    (CS, "ALTER ROLE x SET privacy.purpose = 'risk_control'", "set by the gateway"),
    (CS, "ALTER DATABASE d SET standard_conforming_strings = off", "standard_conforming"),
    (CS, "SELECT id FROM customers FOR UPDATE OF customers", None),
    (CS, "SELECT pg_read_binary_file('x')", "function pg_read_binary_file is not allowed"),
    (CS, "SELECT * FROM pg_catalog.pg_stats", "relation pg_stats is not allowed"),
    (CS, "COPY orders TO '/tmp/x'", "server file or program"),
    (CS, "ALTER TABLE customers ADD COLUMN x int", "cannot verify this statement"),
    (CS, "SELECT public.customers.phone FROM public.customers", "qualified reference"),
    (CS, "SELECT * FROM customers TABLESAMPLE SYSTEM (10)", "TABLESAMPLE"),
    (CS, "SELECT 1 FROM", "does not parse"),
    ("registration", "INSERT INTO customers (id, id_no) VALUES (1, 'x')", "id_no is denied"),
    ("registration", "UPDATE customers SET id_no = NULL WHERE id = 1", "id_no is denied"),
    ("registration", "UPDATE customers SET phone = $1 WHERE id = 1", None),
]


@pytest.mark.parametrize(("purpose", "sql", "fragment"), REFUSED)
def test_refusals(purpose: str | None, sql: str, fragment: str | None) -> None:
    decision = decide(sql, purpose)
    if fragment is None:
        assert decision.refusal is None
        return
    assert decision.refusal is not None, decision.sql
    assert fragment in decision.refusal.message
    assert decision.refusal.message.startswith("privacy gateway: ")
    assert decision.refusal.sqlstate == ("42601" if "parse" in fragment else "42501")


def test_bytes_that_are_not_utf8_are_refused_as_postgresql_refuses_them() -> None:
    """A client's bytes that are not UTF-8 arrive as lone surrogates: not analysable,
    refused with the server's own SQLSTATE (and no byte of them in the message)."""
    for sql in ("SELECT 1 /* \udcff */", "SELECT phone FROM customers WHERE name = '\udcff'"):
        decision = decide(sql, CS)
        assert decision.refusal is not None
        assert decision.refusal.sqlstate == "22021"
        assert "\udcff" not in decision.refusal.message


# when (purpose, SQL) -> then the text sent contains these fragments
REWRITES = [
    (CS, "SELECT id FROM tickets", ["SELECT id FROM tickets"]),
    (CS, "SELECT phone FROM customers c WHERE c.phone = $1",
     ['"phone" = $1)', "WHERE TRUE", ') c WHERE']),
    (CS, "SELECT id FROM customers WHERE phone IN ($1, $2) AND id > 3",
     ['"phone" IN ($1, $2))', "WHERE TRUE AND id > 3"]),
    (CS, "SELECT id FROM customers WHERE phone LIKE '138%'", ["WHERE phone LIKE '138%'"]),
    (CS, "SELECT o.id FROM orders o JOIN customers c ON c.id = o.customer_id AND c.phone = $1",
     ['"phone" = $1) c ON c.id = o.customer_id AND TRUE']),
    (CS, "SELECT o.id FROM orders o LEFT JOIN customers c ON c.phone = $1",
     ['"phone" = $1) c ON TRUE']),
    (CS, "SELECT c.id FROM customers c LEFT JOIN orders o ON c.phone = $1",
     ["ON c.phone = $1"]),  # the preserved side is not filtered by ON: stays masked
    (CS, "SELECT id FROM customers WHERE id_no = 'x'", ["WHERE id_no = 'x'"]),  # hide: no lookup
    (CS, "SELECT * FROM customers", ['CASE WHEN false THEN "id_no" END AS "id_no"',
                                     'AS "customers"']),
    (MK, "SELECT name, phone FROM customers", ['"marketing_opt_in" IS TRUE']),
    (CS, "SELECT name FROM customers", ['"created_at" OPERATOR(pg_catalog.>=) (SELECT '
                                        "pg_catalog.now() OPERATOR(pg_catalog.-) "
                                        "'3 years'::pg_catalog.interval)"]),
    (CS, "SELECT * FROM ONLY customers", ['FROM ONLY "public"."customers"']),
    (CS, "SELECT phone FROM customers_vip", ['FROM "public"."customers_vip"']),
    (CS, "SELECT phone /* 电话 */ FROM customers -- 备注", ["/* 电话 */", "-- 备注"]),
    (CS, "SELECT '张三' AS n, phone FROM customers WHERE phone = '13800000000'",
     ["SELECT '张三' AS n, phone ,", "\"phone\" = '13800000000'"]),
    (CS, "COPY customers (phone) TO STDOUT",
     ['COPY (SELECT "phone", encode(convert_to(("customers"."id")::text, \'UTF8\'), \'hex\') '
      'AS pgw_subject FROM (SELECT']),
    (CS, "CREATE TABLE t AS SELECT name FROM customers", ['left("name", 1)']),  # copy: masked
    (ADMIN, "UPDATE customers SET notes = 'n' WHERE phone = $1 RETURNING phone",
     ['WITH "pgw_changed" AS (UPDATE customers SET notes = \'n\' WHERE phone = $1 RETURNING *)',
      'SELECT phone FROM (SELECT']),
]


@pytest.mark.parametrize(("purpose", "sql", "fragments"), REWRITES)
def test_rewrites(purpose: str, sql: str, fragments: list[str]) -> None:
    decision = decide(sql, purpose)
    assert decision.refusal is None, decision.refusal
    for fragment in fragments:
        assert fragment in decision.sql


def test_unclassified_statement_is_sent_unchanged() -> None:
    sql = "SELECT t.id FROM tickets t WHERE t.x = $1"
    decision = decide(sql)
    assert decision.sql is sql and not decision.rewritten and decision.exposure == "none"


def test_decision_lists_columns_and_subjects() -> None:
    decision = decide("SELECT c.name, c.phone, o.card_no FROM customers c JOIN orders o "
                      "ON o.customer_id = c.id WHERE c.phone = $1")
    got = {(c.table, c.column): (c.treatment, c.lookup) for c in decision.columns}
    assert got == {("public.customers", "name"): ("show", False),
                   ("public.customers", "phone"): ("mask", True),
                   ("public.orders", "card_no"): ("hide", False)}
    assert decision.subject_columns == ("public.customers", "public.orders")
    assert decision.sql.count("AS pgw_subject") == 2
    assert decision.kind == "select" and decision.tables == {"public.customers", "public.orders"}


@pytest.mark.parametrize(("sql", "exposure"), [
    ("SELECT count(*) FROM customers", "aggregate"),
    ("SELECT phone, count(*) FROM customers GROUP BY phone", "aggregate"),
    ("SELECT DISTINCT phone FROM customers", "unknown"),
    ("SELECT phone FROM customers UNION SELECT 'x'", "unknown"),
    ("SELECT (SELECT count(*) FROM orders o WHERE o.customer_id = c.id) FROM customers c",
     "rows"),
])
def test_exposure_kinds(sql: str, exposure: str) -> None:
    decision = decide(sql)
    assert decision.exposure == exposure
    assert bool(decision.subject_columns) == (exposure == "rows")


def test_multi_statement_rewrites_each_and_carries_no_subject_columns() -> None:
    decision = decide("SELECT phone FROM customers; SELECT 1; SELECT card_no FROM orders")
    assert decision.kind == "multi" and decision.subject_columns == ()
    assert decision.sql.count("FROM (SELECT") == 2  # a derived table in each


@pytest.mark.parametrize(("sql", "declares", "subjects"), [
    ("DECLARE c CURSOR FOR SELECT name, phone FROM customers", ("c",), ("public.customers",)),
    ('DECLARE "Export" NO SCROLL CURSOR WITH HOLD FOR SELECT * FROM customers', ("Export",),
     ("public.customers",)),
    ("DECLARE b BINARY CURSOR FOR SELECT phone FROM customers", ("b",), ()),  # keys unreadable
    ("DECLARE u CURSOR FOR SELECT phone FROM customers UNION SELECT 'x'", ("u",), ()),
    ("BEGIN; DECLARE m CURSOR FOR SELECT phone FROM customers", ("m",), ()),
])
def test_a_cursor_query_carries_its_subject_keys(sql: str, declares: tuple,
                                                 subjects: tuple) -> None:
    decision = decide(sql)
    assert decision.declares == declares and decision.subject_columns == subjects
    assert decision.sql.count("AS pgw_subject") == len(subjects)
    assert "FROM (SELECT" in decision.sql  # customers read through its masking subquery
    assert decision.scan_columns == ()  # its free text too: FETCH rows are not scanned


@pytest.mark.parametrize(("sql", "layout"), [
    ("COPY customers TO STDOUT", CopyLayout(b"\t")),
    ("COPY (SELECT name, phone FROM customers) TO STDOUT WITH (FORMAT csv, HEADER)",
     CopyLayout(b",", b'"', True)),
    ("COPY customers (id, phone) TO STDOUT CSV DELIMITER ';' QUOTE '|' FORCE QUOTE *",
     CopyLayout(b";", b"|")),
    ("COPY customers TO STDOUT WITH (FORMAT binary)", CopyLayout(b"", binary=True)),
    ("COPY customers TO STDOUT BINARY", CopyLayout(b"", binary=True)),
    ("COPY customers TO STDOUT WITH (FORMAT binary, HEADER)", None),  # an error anyway
    ("COPY customers TO STDOUT WITH (DELIMITER 'a')", None),  # a hex digit
    ("COPY (SELECT phone FROM customers UNION SELECT 'x') TO STDOUT", None),
    ("COPY (SELECT count(*) FROM customers) TO STDOUT", None),
])
def test_copy_lines_carry_their_subject_keys(sql: str, layout: CopyLayout | None) -> None:
    decision = decide(sql)
    assert decision.copy_layout == layout
    assert decision.subject_columns == (("public.customers",) if layout else ())
    assert decision.sql.count("'hex') AS pgw_subject") == (1 if layout else 0)
    assert decision.scan_columns == ()  # free text masked in SQL: lines are not scanned


def test_copy_layout_splits_keys_off_a_line() -> None:
    csv = CopyLayout(b",", b'"')
    assert csv.split(b'1,"a,b","3432"\n', 1) == (b'1,"a,b"\n', [b"3432"])
    assert csv.split(b"x,31,32\r\n", 2) == (b"x\r\n", [b"31", b"32"])
    assert CopyLayout(b"\t").split(b"a\\tb\t3432\n", 1) == (b"a\\tb\n", [b"3432"])


@pytest.mark.parametrize(("sql", "fetches"), [
    ("FETCH 10 FROM c", "c"), ('FETCH FORWARD 25 FROM "Export"', "Export"), ("FETCH ALL c", "c"),
    ("MOVE 10 IN c", None), ("FETCH 1 FROM c; FETCH 1 FROM c", None), ("CLOSE c", None)])
def test_a_fetch_names_its_cursor(sql: str, fetches: str | None) -> None:
    assert decide(sql).fetches == fetches


def test_cache_hits_and_keys() -> None:
    cache = PolicyCache(RULES, CATALOG, mask_key=b"k")
    first = cache.decide("SELECT phone FROM customers", CS)
    assert cache.decide("SELECT phone FROM customers", CS) is first
    assert cache.decide("SELECT phone FROM customers", MK) is not first
    assert cache.decide("SELECT phone FROM customers", "nope").refusal.message.startswith(
        "purpose nope")
    assert (cache.hits, cache.misses) == (1, 3)
    cache.replace(catalog=Catalog(tables=dict(CATALOG.tables)))
    assert cache.decide("SELECT phone FROM customers", CS) is not first


def test_texts_of_one_literal_shape_share_a_decision_that_names_the_shape() -> None:
    cache = PolicyCache(RULES, CATALOG, mask_key=b"k")
    first = cache.decide("SELECT abalance FROM pgbench_accounts WHERE aid = 4242", CS)
    again = cache.decide("SELECT abalance FROM pgbench_accounts WHERE aid = 77", CS)
    assert again is first and first.verbatim
    assert first.shape == "SELECT abalance FROM pgbench_accounts WHERE aid = ?"
    assert cache.decide("SELECT phone FROM customers WHERE id = 1", CS).shape is None
    assert cache.decide('SELECT "abalance" FROM pgbench_accounts', CS).shape is None


def test_hash_mask_needs_a_key() -> None:
    decision = rewrite("SELECT member_no FROM customers", RULES.purposes[CS], RULES, CATALOG)
    assert "hash mask needs a deployment key" in decision.refusal.message
    decision = rewrite("SELECT phone FROM customers", RULES.purposes[CS], RULES, CATALOG)
    assert 'CASE WHEN false THEN "member_no" END AS "member_no"' in decision.sql


def test_classified_table_missing_from_the_catalog_is_refused() -> None:
    decision = rewrite("SELECT card_no FROM orders", RULES.purposes[CS], RULES,
                       Catalog(tables={"public.customers": CUSTOMERS}), mask_key=b"k")
    assert decision.refusal.message == ("privacy gateway: cannot verify public.orders: "
                                        "not found in the database")


def test_refusal_keeps_what_the_audit_needs() -> None:
    decision = decide("SELECT name, id_no FROM customers", MK)
    assert decision.refusal is not None and decision.kind == "select"
    assert decision.tables == {"public.customers"}
    assert ("id_no", "deny") in {(c.column, c.treatment) for c in decision.columns}


def _with_gateway_masks(sql: str) -> Decision:
    """The customer_service decision when the gateway masks what is passed through."""
    decision = rewrite(sql, RULES.purposes[CS], RULES, CATALOG, mask_key=b"k",
                       gateway_scan=True)
    assert decision.refusal is None
    return decision


# when SQL (gateway_scan) -> then these outputs are free text left clear for the gateway
@pytest.mark.parametrize(("sql", "scanned"), [
    ("SELECT id, notes FROM customers ORDER BY id", (1,)),
    ("SELECT * FROM customers ORDER BY 1", (8,)),
    ("SELECT notes, id FROM customers ORDER BY 2", (0,)),
    # ordered or grouped by number or by output name: by its value as returned, so the
    # database must see it masked, or the order and the groups follow the clear text
    ("SELECT id, notes FROM customers ORDER BY 2", ()),
    ("SELECT id, notes AS n FROM customers ORDER BY n DESC", ()),
    ("SELECT notes AS n, count(*) FROM customers GROUP BY n", ()),
    ("SELECT notes, count(*) FROM customers GROUP BY 1", ()),
    ("SELECT notes, count(*) FROM customers GROUP BY ROLLUP (1)", ()),
    ("SELECT * FROM customers ORDER BY 9", ()),
    ("SELECT notes, notes AS n FROM customers ORDER BY n", ()),  # the same column twice
    ("SELECT id, notes FROM customers ORDER BY notes", ()),
])
def test_free_text_is_left_to_the_gateway_only_when_nothing_orders_by_it(
        sql: str, scanned: tuple[int, ...]) -> None:
    decision = _with_gateway_masks(sql)
    assert tuple(position for position, _ in decision.scan_columns) == scanned
    # left clear in the masking derived table, or masked there
    assert ('"member_no", "notes", ' in decision.sql) == bool(scanned)


# when SQL (gateway_scan) -> then these outputs are left clear for the gateway to mask
@pytest.mark.parametrize(("sql", "masked"), [
    ("SELECT * FROM customers", (2, 4, 5)),  # phone, email, address; birthday in SQL
    ("SELECT email, id, phone FROM customers ORDER BY id", (0, 2)),
    ("SELECT c.phone, o.card_no FROM customers c JOIN orders o ON o.customer_id = c.id",
     (0,)),
    # wherever the database must see the masked value: it orders, groups, compares,
    # removes duplicates, or computes with it
    ("SELECT phone FROM customers ORDER BY phone", ()),
    ("SELECT phone FROM customers ORDER BY 1", ()),
    ("SELECT phone, count(*) FROM customers GROUP BY phone", ()),
    ("SELECT DISTINCT phone FROM customers", ()),
    ("SELECT phone FROM customers UNION SELECT phone FROM customers", ()),
    ("SELECT phone, lower(phone) FROM customers", ()),
    ("SELECT phone FROM customers WHERE phone = '13812345678'", ()),
    ("SELECT phone FROM customers WHERE phone LIKE '138%'", ()),
    ("SELECT (SELECT phone FROM customers LIMIT 1)", ()),
    ("WITH x AS (SELECT phone FROM customers) SELECT phone FROM x", ()),
    ("SELECT c.phone, x.p FROM customers c, LATERAL (SELECT c.phone AS p) x", ()),
])
def test_masked_columns_are_left_to_the_gateway_only_when_passed_through(
        sql: str, masked: tuple[int, ...]) -> None:
    decision = _with_gateway_masks(sql)
    assert tuple(position for position, _ in decision.mask_columns) == masked
    assert ("AS \"phone\"" in decision.sql) != any(
        mask.keep_last == 4 for _, mask in decision.mask_columns)
