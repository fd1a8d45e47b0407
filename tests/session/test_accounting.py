"""SessionAccounting: finished statements to audit entries and metering, without I/O."""

from __future__ import annotations

import time
from types import SimpleNamespace

from hypothesis import given
from hypothesis import strategies as st
from pglast import parser

from gateway.audit import statement
from gateway.audit.chain import Chain, end_record, row, start_record
from gateway.audit.keys import AuditKeys
from gateway.audit.record import COLUMNS, entry
from gateway.audit.verify import verify_chain
from gateway.metering.detection import load_detection
from gateway.metering.meter import Metering
from gateway.policy.decision import ColumnDecision, Decision, Refusal, StatementInfo
from gateway.session.accounting import SessionAccounting
from gateway.session.results import Prepared, Run

KEYS = AuditKeys.derive("accounting test secret, long enough")
T = "public.customers"
MASKED = Decision(
    sql="SELECT id, name, phone, id FROM public.customers WHERE id = $1", kind="select",
    tables=frozenset({T}), columns=(ColumnDecision(T, "name", "person_name", "show"),
                                    ColumnDecision(T, "phone", "mobile", "mask")),
    subject_columns=(T,), exposure="rows", purpose="customer_service",
    statements=(StatementInfo("select", frozenset({T}), "rows", True),))
SESSION = SimpleNamespace(id=7, principal=SimpleNamespace(name="crm_app"),
                          purpose="customer_service", client_address="10.0.0.1",
                          params={"application_name": "crm"}, audit_who=None,
                          config=SimpleNamespace(clock=time.monotonic))


class Writer:
    """Collects entries and ledger rows as the audit writer would queue them."""

    def __init__(self) -> None:
        self.entries, self.exposure = [], []

    def submit_entry(self, item) -> int:
        self.entries.append(item)
        return len(self.entries)

    def add_exposure(self, row) -> None:
        self.exposure.append(row)

    async def settled(self) -> None:
        """Everything queued is kept in memory: settled at once."""


class Alerts:
    def __init__(self) -> None:
        self.alerts = []

    def raise_alert(self, alert) -> None:
        self.alerts.append(alert)


def _account(*runs: Run, **metering) -> tuple[Writer, Alerts, list[dict]]:
    writer, alerts = Writer(), Alerts()
    accounting = SimpleNamespace(auditor=writer,
                                 metering=Metering("r1", writer, alerts, **metering))
    SessionAccounting(accounting).statements(SESSION, list(runs))
    chain = Chain(KEYS, "r1", 1)
    chain.last_seq = chain.chain = 0  # a slice: only the fields are checked here
    rows = [dict(zip(COLUMNS, row(chain.seal_entry(i + 1, e)), strict=True))
            for i, e in enumerate(writer.entries)]
    return writer, alerts, rows


def _run(sql: str, decision: Decision | None, rows: int = 1, **kw) -> Run:
    run = Run(Prepared(sql, decision), time.monotonic())
    run.rows = rows
    for key, value in kw.items():
        setattr(run, key, value)
    return run


def test_plain_statement_with_inline_literal():
    sql = "SELECT abalance FROM pgbench_accounts WHERE aid = 4242"
    writer, _, (row,) = _account(_run(sql, Decision(sql=sql, kind="select")))
    assert row["statement"] == "SELECT abalance FROM pgbench_accounts WHERE aid = $1"
    assert (row["kind"], row["session_id"], row["principal"], row["purpose"],
            row["client_addr"], row["application_name"], row["decision"], row["rows"],
            row["subjects"], row["objects"], row["sqlstate"]) == (
        "statement", "7", "crm_app", "customer_service", "10.0.0.1", "crm", "allow", 1, 0,
        None, None)
    assert row["fingerprint"] and row["duration_ms"] >= 0 and not writer.exposure


def test_statements_sharing_a_decision_by_shape_are_recorded_as_each_parses():
    shape = "SELECT abalance FROM pgbench_accounts WHERE aid = ? AND note <> '?'"
    decision = Decision(sql="…", kind="select", verbatim=True, shape=shape)
    texts = ["SELECT abalance FROM pgbench_accounts WHERE aid = 4242 AND note <> 'x'",
             "SELECT abalance FROM pgbench_accounts WHERE aid = 7 AND note <> '13812345678'"]
    looked_up = statement._by_policy_shape.cache_info()
    _, _, rows = _account(*(_run(sql, decision) for sql in texts))
    now = statement._by_policy_shape.cache_info()
    assert (now.hits + now.misses) - (looked_up.hits + looked_up.misses) == 2  # by shape
    assert [r["statement"] for r in rows] == [
        "SELECT abalance FROM pgbench_accounts WHERE aid = $1 AND note <> $2"] * 2
    assert rows[0]["fingerprint"] == rows[1]["fingerprint"] == parser.fingerprint(texts[1])


def test_a_record_names_the_purpose_bound_when_its_statement_ran():
    session = SimpleNamespace(**vars(SESSION))
    sql = "SELECT 1"
    accounting = SessionAccounting(SimpleNamespace(
        auditor=(writer := Writer()), metering=Metering("r1", writer, Alerts())))
    for purpose in ("customer_service", "marketing", "marketing", None):
        session.purpose = purpose
        accounting.statements(session, [_run(sql, Decision(sql=sql, kind="select"))])
    assert [e[2] for e in writer.entries] == [
        ("7", "crm_app", p, "10.0.0.1", "crm")
        for p in ("customer_service", "marketing", "marketing", None)]


def test_masked_read_has_objects_and_one_ledger_row():
    writer, _, (row,) = _account(_run(MASKED.sql, MASKED, subjects={T: {"900123"}}))
    assert row["decision"] == "rewrite" and row["subjects"] == 1
    assert row["objects"] == ('[{"columns":{"name":"show","phone":"mask"},'
                              '"table":"public.customers"}]')
    (ledger,) = writer.exposure
    assert ledger[2] == 1 and ledger[6:11] == (T, ["900123"], ["person_name"], ["mobile"],
                                              False)


def test_a_rewrite_miss_is_the_reason_in_the_record():
    _, _, (row,) = _account(_run(MASKED.sql, MASKED, misses=2))
    assert row["decision"] == "rewrite"
    assert row["reason"] == "rewrite miss: the result stream masked 2 value(s)"


def test_refused_and_failed_statements_and_the_canary():
    refused = Decision(sql=None, refusal=Refusal("42501", "column id_no is not allowed"))
    writer, alerts, rows = _account(
        _run("SELECT id_no FROM customers", refused, rows=0),
        _run("SELECT 1/0", Decision(sql="SELECT 1/0"), rows=0, sqlstate="22012"),
        _run(MASKED.sql, MASKED, subjects={T: {"900001"}}),
        canaries={T: frozenset({"900001"})})
    assert [(r["decision"], r["reason"], r["sqlstate"]) for r in rows] == [
        ("deny", "column id_no is not allowed", None), ("error", None, "22012"),
        ("rewrite", None, None)]
    assert [a.rule for a in alerts.alerts] == ["canary"]


def test_records_seal_into_a_chain_that_verifies():
    sql = "SELECT abalance FROM pgbench_accounts WHERE aid = 1"
    writer, _, _ = _account(_run(sql, Decision(sql=sql)), _run(MASKED.sql, MASKED))
    chain = Chain(KEYS, "r1", 100)
    items = [entry(start_record("test")), *writer.entries, entry(end_record("test"))]
    rows = [dict(zip(COLUMNS, row(chain.seal_entry(100 + i, e)), strict=True))
            for i, e in enumerate(items)]
    assert verify_chain(rows, KEYS).ok
    rows[1]["statement"] = "SELECT 1"
    assert str(verify_chain(rows, KEYS).first_bad) == (
        "record r1/101: MAC mismatch (record altered)")


def test_plain_statements_still_reach_detectors_that_can_fire_for_them():
    """off_hours with a bound of 0 rows fires even for a statement reading no classified
    table, so such statements are observed in full, not only counted."""
    sql = "SELECT 1"
    always_off = load_detection({"off_hours": {"rows": 0, "start": 0, "end": 0}})
    _, alerts, _ = _account(_run(sql, Decision(sql=sql)), detection=always_off)
    assert [a.rule for a in alerts.alerts] == ["off_hours"]
    _, alerts, _ = _account(_run(sql, Decision(sql=sql)))
    assert alerts.alerts == []


@given(st.floats(min_value=0, max_value=1e5))
def test_durations_are_milliseconds_to_the_microsecond(seconds):
    from gateway.session.accounting import _millis

    assert abs(_millis(seconds) - round(seconds * 1000, 3)) <= 0.0010001
    assert _millis(seconds) == round(_millis(seconds), 3)
