"""The bypass corpus and the CRM queries, rewritten and run on a real PostgreSQL.

The runner stands in for the gateway session: it asks the policy for a decision, sends the
rewritten text with a real client (psycopg), strips the subject-key columns the rewrite
adds, and hands everything the client would see to the corpus checks.
"""

from __future__ import annotations

import re

import psycopg
import pytest

from gateway.policy.catalog import Catalog
from gateway.policy.freetext import column_masker, masker
from gateway.policy.rewrite import PolicyCache
from gateway.policy.rules import Rules
from gateway.session.freetext import text_masker
from tests.policy.bypass_corpus import CASES, Case, Outcome, legit_cases, problems

MASK_KEY = b"test deployment key"


@pytest.fixture(scope="module", params=[False, True], ids=["sql-scan", "gateway-scan"])
def policy(request: pytest.FixtureRequest, crm_rules: Rules, crm_catalog: Catalog
           ) -> PolicyCache:
    """Free text masked in SQL, or (gateway_scan) passed through and masked by the runner."""
    return PolicyCache(crm_rules, crm_catalog, mask_key=MASK_KEY, gateway_scan=request.param)


def _numbered(sql: str) -> str:
    """psycopg's %s placeholders as the $n a client sends on the wire."""
    count = iter(range(1, 100))
    return re.sub(r"%s", lambda _: f"${next(count)}", sql)


def run_case(policy: PolicyCache, dsn: str, c: Case) -> Outcome:
    outcome = Outcome()
    with psycopg.connect(dsn, autocommit=True, cursor_factory=psycopg.RawCursor) as conn:
        for i, step in enumerate(c.steps):
            last = i == len(c.steps) - 1
            decision = policy.decide(_numbered(step), c.purpose)
            if decision.refusal:
                outcome.refused = True
                outcome.sqlstate = decision.refusal.sqlstate
                outcome.errors.append(decision.refusal.message)
                outcome.texts.append(decision.refusal.message)
                break
            params = c.params if last else ()
            try:
                _execute(conn, decision, params, c.binary and last, outcome, policy.rules)
            except psycopg.Error as exc:
                # what the session forwards: everything, or only the message when the
                # decision says the error may quote stored values
                forwarded = [exc.diag.message_primary or str(exc)]
                if not decision.redact_errors:
                    forwarded += [str(exc), exc.diag.message_detail or "",
                                  exc.diag.message_hint or "", exc.diag.context or ""]
                outcome.errors.append(forwarded[0])
                outcome.texts.extend(forwarded)
    return outcome


def _execute(conn: psycopg.Connection, decision, params: tuple, binary: bool,
             outcome: Outcome, rules: Rules) -> None:
    cur = conn.cursor(binary=binary)
    if decision.kind == "copy" and "STDOUT" in decision.sql.upper():
        with cur.copy(decision.sql) as copy:
            for block in copy:
                outcome.texts.append(bytes(block).decode("utf-8", "replace"))
                outcome.rows += 1
        return
    cur.execute(decision.sql, params or None, prepare=False)
    strip = len(decision.subject_columns)
    # the gateway's own free-text masker: patterns, then the detector for what they miss;
    # and its column masks
    scans = [(i, text_masker(entities, rules)) for i, entities in decision.scan_columns]
    scans += [(i, column_masker(mask)) for i, mask in decision.mask_columns]
    while True:
        if cur.description is not None:
            for row in cur.fetchall():
                cells = list(row[: len(row) - strip] if strip else row)
                for i, mask in scans:
                    cells[i] = mask(cells[i]) if cells[i] is not None else None
                outcome.rows += 1
                outcome.texts.extend(_text(v) for v in cells)
        if not cur.nextset():
            break


def _text(value: object) -> str:
    if isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
        return raw.hex() + " " + raw.decode("utf-8", "replace")
    return str(value)


@pytest.mark.parametrize("c", CASES, ids=[c.name for c in CASES])
def test_bypass_attempt(policy: PolicyCache, crm_dsn: str, c: Case) -> None:
    assert problems(c, run_case(policy, crm_dsn, c)) == []


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 60


LEGIT = legit_cases()


@pytest.mark.parametrize("q", LEGIT, ids=[q.name for q in LEGIT])
def test_crm_query_returns_masked_rows(policy: PolicyCache, crm_dsn: str, q) -> None:
    if policy.gateway_scan:
        pytest.skip("same rows either way; checked once")
    decision = policy.decide(_numbered(q.sql), q.purpose)
    assert decision.refusal is None
    with psycopg.connect(crm_dsn, cursor_factory=psycopg.RawCursor) as conn:
        rows = conn.execute(decision.sql, q.params or None).fetchall()
    strip = len(decision.subject_columns)
    got = tuple(tuple(r[: len(r) - strip]) if strip else tuple(r) for r in rows)
    assert got == q.expected


def test_free_text_masked_alike_in_sql_and_gateway(crm_rules: Rules, crm_catalog: Catalog,
                                                   crm_dsn: str) -> None:
    sql = "SELECT id, notes FROM customers ORDER BY id"
    in_sql = PolicyCache(crm_rules, crm_catalog).decide(sql, "customer_service")
    passed = PolicyCache(crm_rules, crm_catalog, gateway_scan=True).decide(sql,
                                                                          "customer_service")
    assert in_sql.scan_columns == () and passed.scan_columns == ((1, (
        "CN_MOBILE", "CN_ID_CARD", "CN_BANK_CARD", "EMAIL_ADDRESS")),)
    floor = masker(passed.scan_columns[0][1], crm_rules)  # the patterns both apply
    stars = str.maketrans("0123456789０１２３４５６７８９", "*" * 20)
    with psycopg.connect(crm_dsn) as conn:
        masked = [r[1] for r in conn.execute(in_sql.sql).fetchall()]
        clear = [r[1] for r in conn.execute(passed.sql).fetchall()]
    # alike, but where only the detector could find a number (split, full-width, behind
    # a country code): the SQL scan alone masks every digit of those texts
    pairs = [(m, floor(c)) for m, c in zip(masked, clear, strict=True)]
    closed = [(m, f) for m, f in pairs if m != f]
    assert all(m == f.translate(stars) for m, f in closed)
    assert 0 < len(closed) < len(masked) and "****" in masked[0]


def test_subject_columns_carry_the_customer(policy: PolicyCache, crm_dsn: str) -> None:
    decision = policy.decide("SELECT c.name, o.total FROM customers c JOIN orders o "
                             "ON o.customer_id = c.id WHERE c.id = 5", "customer_service")
    assert decision.subject_columns == ("public.customers", "public.orders")
    assert decision.exposure == "rows"
    with psycopg.connect(crm_dsn) as conn:
        rows = conn.execute(decision.sql).fetchall()
    assert rows and all(r[-2:] == (5, 5) for r in rows)


@pytest.mark.parametrize("sql", ["SELECT phone FROM customers", "SELECT row_to_json(c) FROM "
                                 "customers c", "SELECT md5(id_no) FROM customers"])
def test_checker_sees_clear_values_without_the_rewrite(crm_dsn: str, sql: str) -> None:
    with psycopg.connect(crm_dsn) as conn:
        texts = [_text(v) for row in conn.execute(sql).fetchall() for v in row]
    c = Case("control", (sql,))
    assert problems(c, Outcome(rows=len(texts), texts=texts))
