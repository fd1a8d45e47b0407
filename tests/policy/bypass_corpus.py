"""Bypass attempts and legitimate CRM queries, as data, with the checks that judge them.

Each Case is a short script run in one session under one purpose. Runners (the direct
rewrite runner in test_bypass.py, or a real client through the gateway) execute the steps
in order, stop at the first refusal, and hand an Outcome to `problems()`:

    expect "refused"  some step is refused with SQLSTATE 42501 by the gateway
    expect "no_leak"  it may run or fail, but nothing the purpose must not see comes back
    expect "empty"    it runs, returns no row, and leaks nothing (probes on masked values)
    expect "rows"     it runs, returns rows, and leaks nothing

Leaks are looked for in every cell, COPY line and error message, in any of the forms
`crm_data.forms()` lists (clear, reversed, md5, hex, base64, hidden middle digits).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache

from tests.policy import crm_data

CS, MK, RISK, ADMIN = "customer_service", "marketing", "risk_control", "account_admin"

_PEOPLE = [p for p in crm_data.customers() if not p.expired and not p.vip]
P0, P1 = _PEOPLE[0], _PEOPLE[1]
NO_CONSENT = next(p for p in _PEOPLE if not p.opt_in)


@dataclass(frozen=True)
class Case:
    name: str
    steps: tuple[str, ...]
    purpose: str | None = CS
    expect: str = "no_leak"
    params: tuple = ()  # for the last step (extended protocol)
    binary: bool = False  # binary result format for the last step
    secrets_of: str = ""  # judge by another purpose's secrets (copies must be masked)


@dataclass
class Outcome:
    """What a client received for a case."""

    refused: bool = False
    sqlstate: str | None = None
    rows: int = 0
    texts: list[str] = field(default_factory=list)  # cells, COPY data, error messages
    errors: list[str] = field(default_factory=list)


def case(name: str, *steps: str, purpose: str | None = CS, expect: str = "no_leak",
         params: tuple = (), binary: bool = False, secrets_of: str = "") -> Case:
    return Case(name, steps, purpose, expect, params, binary, secrets_of)


CASES: list[Case] = [
    # -- expressions over masked columns ----------------------------------------------
    case("alias", "SELECT phone AS p, id_no AS i FROM customers"),
    case("qualified alias", "SELECT c.phone, c.email FROM customers c", expect="rows"),
    case("cast to bigint", "SELECT phone::bigint FROM customers"),
    case("cast varchar", "SELECT CAST(id_no AS varchar(30)), birthday::text FROM customers"),
    case("concatenation", "SELECT phone || '' || id_no FROM customers"),
    case("concat_ws", "SELECT concat_ws(',', phone, id_no, email, address) FROM customers"),
    case("format", "SELECT format('%s-%s-%s', phone, member_no, birthday) FROM customers"),
    case("substring", "SELECT substring(phone from 4 for 4), substr(id_no, 7, 8) FROM customers"),
    case("left right", "SELECT left(phone, 7), right(address, 5) FROM customers"),
    case("regexp_replace", r"SELECT regexp_replace(phone, '(\d)', '\1 ', 'g') FROM customers"),
    case("regexp in notes", "SELECT regexp_matches(notes, '1[3-9][0-9]{9}') FROM customers"),
    case("reverse upper", "SELECT reverse(phone), upper(email) FROM customers"),
    case("md5 encode", "SELECT md5(phone), encode(convert_to(id_no, 'UTF8'), 'base64'), "
                       "encode(phone::bytea, 'hex') FROM customers"),
    case("translate", "SELECT translate(phone, '0123456789', 'abcdefghij') FROM customers"),
    case("json_build_object", "SELECT json_build_object('p', phone, 'i', id_no) FROM customers"),
    case("jsonb_agg whole row", "SELECT jsonb_agg(c) FROM customers c"),
    case("row_to_json", "SELECT row_to_json(c) FROM customers c", expect="rows"),
    case("to_jsonb star", "SELECT to_jsonb(c.*) FROM customers c"),
    case("whole row as text", "SELECT c::text FROM customers c"),
    case("ROW constructor", "SELECT ROW(c.*) FROM customers c"),
    case("composite field", "SELECT (c).phone, (c).id_no FROM customers c"),
    case("functional notation", "SELECT phone(c), id_no(c) FROM customers c"),
    case("array_agg", "SELECT array_agg(phone), array_agg(member_no) FROM customers"),
    case("string_agg", "SELECT string_agg(id_no, ','), string_agg(notes, '|') FROM customers"),
    case("xmlagg", "SELECT xmlagg(xmlelement(name p, phone)) FROM customers"),
    case("unnest array subquery", "SELECT * FROM unnest(ARRAY(SELECT phone FROM customers))"),
    case("case expression", "SELECT CASE WHEN id_no IS NOT NULL THEN id_no ELSE phone END "
                            "FROM customers"),
    case("error message", "SELECT phone::int FROM customers"),
    case("star", "SELECT * FROM customers", expect="rows"),
    case("TABLE", "TABLE customers"),
    case("ONLY", "SELECT * FROM ONLY customers"),
    case("VALUES subquery", "VALUES ((SELECT phone FROM customers ORDER BY id LIMIT 1))"),
    case("join alias", "SELECT j.phone, j.card_no FROM (customers c JOIN orders o "
                       "ON o.customer_id = c.id) AS j"),
    case("column alias list", "SELECT c.b, c.c3 FROM customers AS c(a, b, c3)"),
    case("orders card", "SELECT card_no, customer_id FROM orders LIMIT 150", expect="rows"),
    case("inheritance child", "SELECT phone, id_no FROM customers_vip"),
    # -- set operations, CTEs, subqueries ---------------------------------------------
    case("union with clear text", "SELECT phone FROM customers UNION ALL SELECT 'x'"),
    case("union of tables", "SELECT id_no FROM customers UNION SELECT card_no FROM orders"),
    case("cte", "WITH x AS (SELECT * FROM customers) SELECT phone, id_no FROM x"),
    case("recursive cte", "WITH RECURSIVE r(n, p) AS (SELECT 1, phone FROM customers "
                          "UNION ALL SELECT n + 1, p FROM r WHERE n < 2) SELECT * FROM r"),
    case("cte named like the table", "WITH customers AS (SELECT * FROM public.customers) "
                                     "SELECT phone FROM customers"),
    case("lateral", "SELECT o.id, x.phone FROM orders o, LATERAL (SELECT phone FROM customers c "
                    "WHERE c.id = o.customer_id) x"),
    case("scalar subquery", "SELECT (SELECT id_no FROM customers c WHERE c.id = o.customer_id) "
                            "FROM orders o"),
    case("exists probe", "SELECT id FROM customers c WHERE EXISTS (SELECT 1 FROM customers d "
                         f"WHERE d.id = c.id AND d.id_no = '{P0.id_no}')", expect="empty"),
    case("in subquery probe", "SELECT id FROM orders WHERE customer_id IN (SELECT id FROM "
                              f"customers WHERE phone LIKE '{P0.phone[:7]}%')", expect="empty"),
    case("window", "SELECT phone, lag(phone) OVER (ORDER BY id), first_value(id_no) OVER () "
                   "FROM customers"),
    case("group by masked", "SELECT phone, count(*) FROM customers GROUP BY phone"),
    case("order by masked", "SELECT id, phone FROM customers ORDER BY phone, id_no LIMIT 5"),
    # -- predicates that would probe clear values ---------------------------------------
    case("like probe", f"SELECT id FROM customers WHERE phone LIKE '{P0.phone[:7]}%'",
         expect="empty"),
    case("range probe", f"SELECT id FROM customers WHERE phone > '{int(P0.phone) - 1}' "
                        f"AND phone < '{int(P0.phone) + 1}'", expect="empty"),
    case("is not distinct from", "SELECT id FROM customers WHERE phone IS NOT DISTINCT FROM "
                                 f"'{P0.phone}'", expect="empty"),
    case("case probe", "SELECT id FROM customers WHERE CASE WHEN substr(phone, 4, 1) "
                       "BETWEEN '0' AND '9' THEN true END", expect="empty"),
    case("hidden equality", f"SELECT id FROM customers WHERE id_no = '{P0.id_no}'",
         expect="empty"),
    case("lookup inside OR", f"SELECT id, phone FROM customers WHERE phone = '{P0.phone}' OR "
                             "id < 3", expect="rows"),
    case("email probe", f"SELECT id FROM customers WHERE email = '{P0.email}'", expect="empty"),
    # -- statements that export, store or run elsewhere ------------------------------
    case("copy table", "COPY customers TO STDOUT"),
    case("copy columns csv", "COPY customers (phone, id_no) TO STDOUT WITH (FORMAT csv)"),
    case("copy query", "COPY (SELECT phone, id_no, notes FROM customers) TO STDOUT"),
    case("copy to file", "COPY customers TO '/tmp/pgw_stolen.csv'", expect="refused"),
    case("copy program", "COPY customers TO PROGRAM 'cat'", expect="refused"),
    case("cursor", "BEGIN", "DECLARE cur CURSOR FOR SELECT * FROM customers",
         "FETCH ALL FROM cur", "COMMIT"),
    case("cursor with hold", "DECLARE hc CURSOR WITH HOLD FOR SELECT phone FROM customers",
         "FETCH 5 FROM hc", "CLOSE hc"),
    case("binary prepared", "SELECT * FROM customers WHERE id > %s", params=(0,), binary=True),
    case("binary prepared lookup", "SELECT id, phone, id_no FROM customers WHERE phone = %s",
         params=(P0.phone,), binary=True, expect="rows"),
    case("sql prepare", "PREPARE p1 AS SELECT phone FROM customers", expect="refused"),
    case("ctas", "CREATE TEMP TABLE stolen AS SELECT * FROM customers", "SELECT * FROM stolen"),
    case("select into", "SELECT * INTO TEMP stolen2 FROM customers", "TABLE stolen2"),
    case("insert select", "CREATE TEMP TABLE sink (p text, i text)",
         "INSERT INTO sink SELECT phone, id_no FROM customers", "SELECT * FROM sink"),
    case("create view", "CREATE TEMP VIEW v1 AS SELECT * FROM customers", expect="refused"),
    case("create matview", "CREATE MATERIALIZED VIEW mv1 AS SELECT * FROM customers",
         expect="refused"),
    case("existing view", "SELECT * FROM customer_contacts", expect="refused"),
    case("function over table", f"SELECT customer_phone({P0.id})", expect="refused"),
    case("create function", "CREATE FUNCTION pgw_f() RETURNS text LANGUAGE sql AS "
                            "'SELECT phone FROM customers LIMIT 1'", expect="refused"),
    case("do block", "DO $$ BEGIN RAISE NOTICE '%', (SELECT phone FROM customers LIMIT 1); "
                     "END $$", expect="refused"),
    case("explain analyze", "EXPLAIN ANALYZE SELECT * FROM customers WHERE phone LIKE '138%'",
         expect="refused"),
    case("explain verbose", "EXPLAIN (VERBOSE) SELECT phone FROM customers", expect="refused"),
    case("multi statement", "SELECT 1; SELECT phone, id_no FROM customers; SELECT 2"),
    case("multi statement with denied", "SELECT 1; SELECT id_no FROM customers",
         purpose=MK, expect="refused"),
    case("merge", "MERGE INTO customers c USING orders o ON o.customer_id = c.id "
                  "WHEN MATCHED THEN DO NOTHING", purpose=ADMIN, expect="refused"),
    case("tablesample", "SELECT * FROM customers TABLESAMPLE SYSTEM (100)", expect="refused"),
    # -- quoting, names and search_path -------------------------------------------------
    case("comments and quoting", 'SELECT "phone" /* x */ , "id_no" FROM "public" . "customers" '
                                 "-- trailing"),
    case("unicode escapes", 'SELECT U&"\\0070hone" FROM U&"\\0063ustomers"'),
    case("schema qualified", "SELECT phone FROM public.customers"),
    case("search_path", "SET search_path = pg_catalog, public", "SELECT phone FROM customers"),
    case("function shadowing pg_catalog", "SET search_path = public, pg_catalog",
         "SELECT phone, email FROM customers", expect="rows"),
    case("temp table shadowing", "CREATE TEMP TABLE customers (phone text)", expect="refused"),
    case("pg_temp shadow", "CREATE TABLE pg_temp.customers AS SELECT 'x'::text AS phone",
         "SELECT * FROM customers"),
    case("dollar quoting", "SELECT $q$x$q$ || phone FROM customers"),
    # -- gateway settings, files, other databases, statistics ------------------------
    case("set purpose", "SET privacy.purpose = 'risk_control'", expect="refused"),
    case("set_config purpose", "SELECT set_config('privacy.purpose', 'risk_control', false)",
         expect="refused"),
    case("standard_conforming_strings", "SET standard_conforming_strings = off",
         expect="refused"),
    case("client_encoding", "SET client_encoding = 'SJIS'", expect="refused"),
    case("pg_read_file", "SELECT pg_read_file('postgresql.conf')", expect="refused"),
    case("lo_import", "SELECT lo_import('/etc/hostname')", expect="refused"),
    case("dblink", "SELECT * FROM dblink('dbname=postgres', 'SELECT 1') AS t(x int)",
         expect="refused"),
    case("query_to_xml", "SELECT query_to_xml('SELECT phone FROM customers', true, true, '')",
         expect="refused"),
    case("table_to_xml", "SELECT table_to_xml('customers', true, true, '')", expect="refused"),
    case("pg_stats", "SELECT most_common_vals FROM pg_stats WHERE tablename = 'customers'",
         expect="refused"),
    case("pg_stat_activity", "SELECT query FROM pg_stat_activity", expect="refused"),
    case("current_query", "SELECT current_query(), member_no FROM customers", expect="refused"),
    case("prepared statement text", "SELECT statement FROM pg_prepared_statements",
         expect="refused"),
    # -- DDL and writes ---------------------------------------------------------------
    case("rename column", "ALTER TABLE customers RENAME COLUMN phone TO p2", purpose=ADMIN,
         expect="refused"),
    case("truncate", "TRUNCATE orders", expect="refused"),
    case("update without write", "UPDATE customers SET notes = 'x' WHERE id = 1",
         expect="refused"),
    case("update probe", "UPDATE customers SET notes = notes WHERE phone LIKE '138%'",
         purpose=ADMIN, expect="refused"),
    case("update copies a masked column", "UPDATE customers SET address = phone WHERE id = 1",
         purpose=ADMIN, expect="refused"),
    case("update returning", "BEGIN", "UPDATE customers SET notes = 'new' WHERE id = "
         f"{P0.id} RETURNING phone, id_no, email", "ROLLBACK", purpose=ADMIN),
    case("delete returning star", "BEGIN", f"DELETE FROM orders WHERE customer_id = {P1.id} "
         "RETURNING *", "ROLLBACK", purpose=ADMIN),
    case("failing row detail", "BEGIN", f"UPDATE customers SET created_at = NULL WHERE id = "
         f"{P0.id}", "ROLLBACK", purpose=ADMIN),
    case("insert from cte copies clear", "CREATE TEMP TABLE names_sink (n text, p text)",
         "WITH x AS (SELECT name, phone FROM customers) INSERT INTO names_sink SELECT * FROM x",
         "SELECT * FROM names_sink", purpose=MK, secrets_of=CS),
    case("update from copies clear", "CREATE TEMP TABLE upd_sink AS SELECT id FROM orders",
         "ALTER TABLE upd_sink ADD COLUMN p text",
         "UPDATE upd_sink s SET p = c.phone FROM customers c, orders o "
         "WHERE o.id = s.id AND c.id = o.customer_id", "SELECT * FROM upd_sink", purpose=MK,
         secrets_of=CS),
    case("foreign table", "CREATE FOREIGN TABLE ft (phone text) SERVER s OPTIONS "
         "(table_name 'customers')", expect="refused"),
    case("page inspection", "SELECT * FROM heap_page_items(get_raw_page('customers', 0))",
         expect="refused"),
    case("other sessions' text", "SELECT pg_stat_get_backend_activity(1)", expect="refused"),
    case("inheritance parent", "SELECT * FROM people", expect="refused"),
    case("cte with dml returning", "WITH d AS (UPDATE customers SET notes = notes "
         "RETURNING phone) SELECT * FROM d", purpose=ADMIN, expect="refused"),
    # -- purposes with denied classes, consent, no purpose ------------------------------
    case("denied column", "SELECT id_no FROM customers", purpose=MK, expect="refused"),
    case("denied by star", "SELECT * FROM customers", purpose=MK, expect="refused"),
    case("denied in predicate", "SELECT count(*) FROM customers WHERE birthday > '1990-01-01'",
         purpose=MK, expect="refused"),
    case("denied whole row", "SELECT row_to_json(c) FROM customers c", purpose=MK,
         expect="refused"),
    case("denied in subquery", "SELECT id FROM customers WHERE id IN (SELECT id FROM customers "
         "WHERE id_no IS NOT NULL)", purpose=MK, expect="refused"),
    case("denied card", "SELECT o.card_no FROM orders o", purpose=MK, expect="refused"),
    case("consent filter", "SELECT id, phone, email FROM customers", purpose=MK, expect="rows"),
    case("consent lookup", f"SELECT id FROM customers WHERE phone = '{NO_CONSENT.phone}'",
         purpose=MK, expect="empty"),
    case("no purpose column", "SELECT phone FROM customers", purpose=None, expect="refused"),
    case("no purpose star", "SELECT * FROM customers", purpose=None, expect="refused"),
    case("risk clear id, masked email", "SELECT id_no, email, member_no FROM customers",
         purpose=RISK, expect="rows"),
]


@dataclass(frozen=True)
class Legit:
    """A query a CRM runs, with the exact rows it must return."""

    name: str
    sql: str
    expected: tuple
    purpose: str = CS
    params: tuple = ()


def _mask_phone(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:]


def legit_cases() -> list[Legit]:
    visible = sorted((p for p in crm_data.customers() if not p.expired), key=lambda p: p.id)
    people = {p.id: p for p in visible}
    order_rows = [o for o in crm_data.orders(crm_data.customers()) if o.customer_id in people]
    first = visible[0]
    return [
        Legit("lookup by phone", "SELECT id, name, phone, id_no FROM customers WHERE phone = %s",
              ((first.id, first.name, _mask_phone(first.phone), None),), params=(first.phone,)),
        Legit("lookup IN list", "SELECT id FROM customers WHERE phone IN (%s, %s) ORDER BY id",
              tuple((p.id,) for p in visible[:2]), params=(visible[0].phone, visible[1].phone)),
        Legit("join customers and orders",
              "SELECT c.name, c.phone, o.total::text FROM customers c JOIN orders o "
              "ON o.customer_id = c.id WHERE c.id = %s ORDER BY o.id",
              tuple((first.name, _mask_phone(first.phone), o.total)
                    for o in order_rows if o.customer_id == first.id), params=(first.id,)),
        Legit("lookup in a join condition",
              "SELECT o.id FROM orders o JOIN customers c ON c.id = o.customer_id "
              "AND c.phone = %s ORDER BY o.id",
              tuple((o.id,) for o in order_rows if o.customer_id == first.id),
              params=(first.phone,)),
        Legit("pagination", "SELECT id, phone FROM customers ORDER BY id LIMIT 3 OFFSET 2",
              tuple((p.id, _mask_phone(p.phone)) for p in visible[2:5])),
        Legit("count", "SELECT count(*) FROM customers", ((len(visible),),)),
        Legit("count orders per customer",
              "SELECT c.id, count(o.id) FROM customers c LEFT JOIN orders o "
              "ON o.customer_id = c.id GROUP BY c.id ORDER BY c.id LIMIT 2",
              tuple((p.id, sum(o.customer_id == p.id for o in order_rows)) for p in visible[:2])),
        Legit("masked email and birthday", "SELECT email, birthday::text FROM customers "
              "WHERE id = %s", ((first.email[0] + "***" + first.email[first.email.index("@"):],
                                 f"{first.birthday.year}-01-01"),), params=(first.id,)),
        Legit("clear for risk control", "SELECT phone, id_no FROM customers WHERE id = %s",
              ((first.phone, first.id_no),), purpose=RISK, params=(first.id,)),
        Legit("marketing sees consented rows only", "SELECT count(*) FROM customers",
              ((sum(p.opt_in for p in visible),),), purpose=MK),
    ]


@cache
def _secrets(purpose: str | None) -> tuple[frozenset[str], frozenset[str]]:
    found = crm_data.secrets(purpose)
    digits = frozenset(s for s in found if s.isdigit() and len(s) >= 11)
    return frozenset(found), digits


def leaks(texts: Iterable[str], purpose: str | None) -> list[str]:
    """Which secret forms appear in what a client received (kinds only, not values)."""
    secrets, digit_secrets = _secrets(purpose)
    out = []
    for text in texts:
        digits = re.sub(r"\D", "", text)
        for secret in secrets:
            if secret in text or (secret in digit_secrets and secret in digits):
                out.append(f"secret of length {len(secret)} in a returned value")
    return out


def problems(c: Case, outcome: Outcome) -> list[str]:
    """Everything wrong with an outcome for a case (empty when it passed)."""
    found = leaks(outcome.texts, c.secrets_of or c.purpose)
    if c.expect == "refused":
        if not (outcome.refused and outcome.sqlstate == "42501"):
            found.append(f"not refused (rows={outcome.rows}, errors={outcome.errors[:1]})")
    elif outcome.refused:
        found.append(f"refused unexpectedly: {outcome.errors[:1]}")
    elif c.expect in ("empty", "rows") and outcome.errors:
        found.append(f"failed: {outcome.errors[:1]}")
    elif c.expect == "empty" and outcome.rows:
        found.append(f"{outcome.rows} rows returned by a probe on masked values")
    elif c.expect == "rows" and not outcome.rows:
        found.append("no rows returned")
    return found
