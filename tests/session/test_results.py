"""The result tracker, sans-IO: when/then tables of server messages for one statement."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.detect.checksums import id_card_check_char, luhn_check_digit
from gateway.policy.decision import SUBJECT_ALIAS, CopyLayout, Decision
from gateway.policy.freetext import PATTERN_ENTITIES, masker
from gateway.policy.rules import load_rules
from gateway.protocol import messages as m
from gateway.protocol.buffer import i16, i32
from gateway.session import results
from gateway.session.results import SUBJECT_BATCH, Tracker, column_guards

SUBJECT = Decision(sql="SELECT ...", kind="select", tables=frozenset({"public.customers"}),
                   subject_columns=("public.customers",), redact_errors=True,
                   purpose="customer_service")
RULES_FILE = Path(__file__).resolve().parents[2] / "rules" / "customers.yaml"
FIELDS = (m.Field("name"), m.Field("phone"), m.Field(SUBJECT_ALIAS))


@pytest.fixture(autouse=True, params=["compiled", "python"])
def _datarow_path(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test here on both DataRow paths (see gateway/session/datarows.pyx)."""
    if request.param == "compiled" and results.datarows is None:
        pytest.skip("compiled DataRow path not built (no C compiler at install)")
    if request.param == "python":
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(results, "datarows", None)
            yield
    else:
        yield


def _row(*values: bytes | None) -> bytes:
    return m.DataRow(values).encode()


def _feed_row(tracker: Tracker, raw: bytes) -> bytes | None:
    return tracker.data_row(raw, 0, len(raw))


def test_subject_columns_are_stripped_and_collected() -> None:
    tracker = Tracker()
    tracker.query("SELECT ...", SUBJECT, None)
    described = tracker.row_description(m.RowDescription(FIELDS).encode()[5:])
    assert m.decode(b"T", described[5:], True).fields == FIELDS[:2]
    out = _feed_row(tracker, _row(b"\xe5\xbc\xa0*", b"138****5678", b"42"))
    assert m.decode(b"D", out[5:], True).values == (b"\xe5\xbc\xa0*", b"138****5678")
    assert tracker.command_complete(b"SELECT 1\0") is None
    tracker.ready()
    (run,) = tracker.finished
    assert run.rows == 1 and run.subjects == {"public.customers": {"42"}}


def test_a_result_of_many_subjects_hands_them_over_in_batches() -> None:
    tracker = Tracker()
    tracker.query("SELECT ...", SUBJECT, None)
    tracker.row_description(m.RowDescription(FIELDS).encode()[5:])
    total = 2 * SUBJECT_BATCH + 5
    _feed_row(tracker, _row(b"x", b"y", b"0"))  # seen twice in one batch: one subject
    for key in range(total):
        _feed_row(tracker, _row(b"x", b"y", str(key).encode()))
    batches = [b["public.customers"] for _, b in tracker.batches]
    assert [len(b) for b in batches] == [SUBJECT_BATCH, SUBJECT_BATCH]
    tracker.command_complete(f"SELECT {total + 1}\0".encode())
    tracker.ready()
    (run,) = tracker.finished
    assert len(run.subjects["public.customers"]) == 5  # only the rest is still held
    assert run.subject_count == total and run.rows == total + 1
    assert set().union(*batches, run.subjects["public.customers"]) == {
        str(k) for k in range(total)}


def test_row_limit_cuts_the_result_with_an_error() -> None:
    tracker = Tracker()
    classified = Decision(sql="SELECT ...", kind="select", tables=frozenset({"public.orders"}))
    tracker.query("SELECT ...", classified, 2)
    rows = [_feed_row(tracker, _row(b"x")) for _ in range(4)]
    assert rows[:2] == [None, None] and rows[2:] == [b"", b""]
    error = tracker.command_complete(b"SELECT 4\0")
    assert m.decode(b"E", error[5:], True).get("C") == "54000"
    tracker.ready()
    assert tracker.finished[0].sqlstate == "54000"


def test_row_limit_leaves_unclassified_statements_alone() -> None:
    tracker = Tracker()
    tracker.query("SELECT g FROM generate_series(1, 4) g", None, 2)
    assert [_feed_row(tracker, _row(b"x")) for _ in range(4)] == [None] * 4
    assert tracker.command_complete(b"SELECT 4\0") is None


def test_errors_that_may_quote_values_are_redacted() -> None:
    tracker = Tracker()
    tracker.query("INSERT ...", SUBJECT, None)
    error = m.ErrorResponse.build("23505", "duplicate key", detail="Key (phone)=(13812345678)")
    redacted = tracker.error(error.encode()[5:])
    assert b"13812345678" not in redacted
    assert m.decode(b"E", redacted[5:], True).get("C") == "23505"


def test_extended_protocol_statement_describe_execute() -> None:
    tracker = Tracker()
    tracker.parse("s1", "SELECT ...", SUBJECT)
    tracker.bind("", tracker.prepared("s1"), binary_subjects=True)
    tracker.describe("P", "")
    tracker.execute("", None)
    tracker.sync()
    assert tracker.row_description(m.RowDescription(FIELDS).encode()[5:]) is not None
    out = _feed_row(tracker, _row(b"a", b"b", (7).to_bytes(8, "big")))
    assert m.decode(b"D", out[5:], True).values == (b"a", b"b")
    tracker.command_complete(b"SELECT 1\0")
    tracker.ready()
    assert tracker.finished[0].subjects == {"public.customers": {"7"}}


def test_error_in_a_pipeline_ends_everything_up_to_sync() -> None:
    tracker = Tracker()
    tracker.parse("", "SELECT 1", None)
    tracker.bind("", tracker.prepared(""), False)
    tracker.execute("", None)
    tracker.execute("", None)
    tracker.sync()
    tracker.query("SELECT 2", None, None)
    tracker.error(m.ErrorResponse.build("42P01", "no such table").encode()[5:])
    tracker.ready()
    assert [r.sqlstate for r in tracker.finished] == ["42P01", None]
    assert _feed_row(tracker, _row(b"2")) is None  # belongs to the simple query now
    tracker.command_complete(b"SELECT 1\0")
    tracker.ready()
    assert tracker.finished[-1].rows == 1


def test_guarded_columns_are_nulled_and_counted() -> None:
    guard = lambda oid, attnum: (oid, attnum) == (16384, 3)  # noqa: E731
    tracker = Tracker(row_guards=lambda body: column_guards(body, guard))
    tracker.query("SELECT phone FROM v", None, None)
    fields = (m.Field("phone", table_oid=16384, column=3),)
    tracker.row_description(m.RowDescription(fields).encode()[5:])
    out = _feed_row(tracker, _row(b"13812345678"))
    assert m.decode(b"D", out[5:], True).values == (None,)
    tracker.command_complete(b"SELECT 1\0")
    tracker.ready()
    assert tracker.misses == 1


def test_queries_of_one_decision_learn_their_columns_once() -> None:
    described: list[bytes] = []

    def guards(body: bytes) -> tuple[int, ...]:
        described.append(body)
        return (1,)

    tracker = Tracker(row_guards=guards)
    body = m.RowDescription(FIELDS[:2]).encode()[5:]
    shared = Decision(sql="SELECT name, phone FROM t WHERE id = 1", kind="select",
                      verbatim=True)
    texts = ("SELECT name, phone FROM t WHERE id = 1", "SELECT name, phone FROM t WHERE id = 2")
    for text in texts:  # inline literals: new texts, one decision (see PolicyCache)
        tracker.query(text, shared, None)
        tracker.row_description(body)
        assert _feed_row(tracker, _row(b"x", b"13812345678")) == _row(b"x", None)
        tracker.command_complete(b"SELECT 1\0")
        tracker.ready()
    assert described == [body]
    assert [run.sql for run in tracker.finished] == list(texts)
    assert [run.misses for run in tracker.finished] == [1, 1]
    tracker.query("SELECT 1", Decision(sql="SELECT 1", kind="select"), None)
    tracker.row_description(body)
    assert described == [body, body]  # another decision learns for itself


DECLARED = Decision(sql="DECLARE c CURSOR FOR SELECT ...", kind="declare",
                    tables=frozenset({"public.customers"}), subject_columns=("public.customers",),
                    declares=("c",), purpose="customer_service", exposure="rows")
FETCH = Decision(sql="FETCH 10 FROM c", kind="fetch", fetches="c")


def _fetch_one(tracker: Tracker, fields: tuple, row: bytes, row_limit: int | None = None):
    tracker.query("FETCH 10 FROM c", FETCH, row_limit)
    described = tracker.row_description(m.RowDescription(fields).encode()[5:])
    out = _feed_row(tracker, row)
    tracker.command_complete(b"FETCH 1\0")
    tracker.ready()
    return described, out, tracker.finished[-1]


def test_a_fetch_runs_as_its_cursor_query_decided() -> None:
    tracker = Tracker()
    tracker.query(DECLARED.sql, DECLARED, 5)
    tracker.ready()
    described, out, run = _fetch_one(tracker, FIELDS, _row(b"x", b"y", b"42"), 5)
    assert m.decode(b"T", described[5:], True).fields == FIELDS[:2]
    assert m.decode(b"D", out[5:], True).values == (b"x", b"y")
    assert run.subjects == {"public.customers": {"42"}} and run.sql == "FETCH 10 FROM c"
    assert run.prepared.decision is DECLARED and run.row_limit == 5  # its tables, its limit


def test_a_fetch_from_a_cursor_not_followed_passes_as_it_is() -> None:
    tracker = Tracker()
    both = Decision(sql="BEGIN; DECLARE c ...", kind="multi", declares=("c",),
                    tables=frozenset({"public.customers"}))
    for decision in (DECLARED, both):  # redeclared in a string of several statements
        tracker.query(decision.sql, decision, None)
        tracker.ready()
    _, out, run = _fetch_one(tracker, FIELDS, _row(b"x", b"y", b"42"))
    assert out is None and run.prepared.decision is FETCH


def test_rows_without_the_subject_columns_are_not_cut() -> None:
    # a cursor of that name opened some other way (by a function, say): nothing appended
    tracker = Tracker()
    tracker.query(DECLARED.sql, DECLARED, None)
    tracker.ready()
    fields = (m.Field("id"), m.Field("total"))
    described, out, run = _fetch_one(tracker, fields, _row(b"1", b"9.50"))
    assert described is None and out is None
    assert run.subject_count == 0 and run.prepared.decision.exposure == "unknown"


def test_guards_learnt_from_a_describe_apply_to_the_execute_sent_with_it() -> None:
    tracker = Tracker(row_guards=lambda body: (1,))
    plain = Decision(sql="SELECT name, phone FROM v", kind="select")
    tracker.parse("", plain.sql, plain)
    tracker.bind("", tracker.prepared(""), False)
    tracker.describe("P", "")
    tracker.execute("", None)  # queued before the server's RowDescription arrives
    tracker.sync()
    tracker.row_description(m.RowDescription(FIELDS[:2]).encode()[5:])
    assert _feed_row(tracker, _row(b"x", b"13812345678")) == _row(b"x", None)


def test_a_session_remembers_its_newest_cursors(monkeypatch) -> None:
    monkeypatch.setattr(results, "_CURSORS", 3)
    tracker = Tracker()
    for name in ("a", "b", "c", "a", "d"):  # "a" declared again: newest, kept
        tracker.query(f"DECLARE {name} ...", replace(DECLARED, declares=(name,)), None)
        tracker.ready()
    assert list(tracker._cursors) == ["c", "a", "d"]


# --- the check of computed columns (results.Checks) -----------------------------------

CHECK = masker(PATTERN_ENTITIES, load_rules(RULES_FILE), validated=True)
COMPUTED = (m.Field("name", table_oid=16384, column=2), m.Field("note"),
            m.Field(SUBJECT_ALIAS, table_oid=16384, column=1))


def _checked(decision: Decision = SUBJECT, fields: tuple = COMPUTED) -> Tracker:
    tracker = Tracker(checker=lambda purpose: CHECK if purpose == "customer_service" else None)
    tracker.query("SELECT ...", decision, None)
    tracker.row_description(m.RowDescription(fields).encode()[5:])
    return tracker


def _finished(tracker: Tracker) -> results.Run:
    tracker.command_complete(b"SELECT 1\0")
    tracker.ready()
    return tracker.finished[-1]


def test_a_computed_column_with_a_clear_number_is_masked_and_counted() -> None:
    tracker = _checked()
    out = _feed_row(tracker, _row(b"x", "回电 13812345678".encode(), b"42"))
    assert m.decode(b"D", out[5:], True).values == (b"x", "回电 138****5678".encode())
    assert _finished(tracker).misses == 1


def test_masked_values_and_numbers_failing_their_check_pass_untouched() -> None:
    tracker = _checked()
    for note in (b"138****5678", b"j***@example.com", b"order 6222021234567890",
                 b"110101199003077777", b"12812345678"):
        out = _feed_row(tracker, _row(b"x", note, b"42"))
        assert m.decode(b"D", out[5:], True).values == (b"x", note)  # key cut off only
    assert _finished(tracker).misses == 0


def test_a_computed_binary_cell_that_is_not_text_is_nulled_on_a_finding() -> None:
    fields = (COMPUTED[0], m.Field("notes", type_oid=1009, format=1), COMPUTED[2])
    tracker = _checked(fields=fields)
    out = _feed_row(tracker, _row(b"x", b"\0\0\0\x0113812345678", b"42"))
    assert m.decode(b"D", out[5:], True).values == (b"x", None)
    assert _finished(tracker).misses == 1


def test_computed_columns_are_not_checked_where_nothing_classified_is_read() -> None:
    plain = Decision(sql="SELECT ...", kind="select", purpose="customer_service")
    tracker = _checked(plain, COMPUTED[:2])
    assert _feed_row(tracker, _row(b"x", b"13812345678")) is None


def test_a_purpose_that_sees_the_classes_in_clear_has_nothing_checked() -> None:
    tracker = _checked(replace(SUBJECT, purpose="risk_control"))
    out = _feed_row(tracker, _row(b"x", b"13812345678", b"42"))
    assert m.decode(b"D", out[5:], True).values == (b"x", b"13812345678")


def test_numbers_with_right_check_digits_are_found() -> None:
    card = "622202123456789" + luhn_check_digit("622202123456789")
    id_no = "11010119900307777" + id_card_check_char("11010119900307777")
    tracker = _checked()
    for value in (card, id_no, "zhang.san@example.com"):
        out = _feed_row(tracker, _row(b"x", f"见 {value}".encode(), b"42"))
        (cell,) = m.decode(b"D", out[5:], True).values[1:]
        assert value.encode() not in cell and cell.startswith("见 ".encode())
    assert _finished(tracker).misses == 3


def test_digit_runs_inside_a_pseudonym_or_token_are_nobodys_number() -> None:
    tracker = _checked()
    for token in (b"h_b14748348559e84c", b"ref13812345678x1", b"A13812345678"):
        out = _feed_row(tracker, _row(b"x", token, b"42"))
        assert m.decode(b"D", out[5:], True).values == (b"x", token)
    assert _finished(tracker).misses == 0


def test_computed_columns_of_types_without_room_for_a_number_are_not_checked() -> None:
    fields = (m.Field("born", type_oid=1082), m.Field("total", type_oid=1700))
    assert results.unknown_columns(m.RowDescription(fields).encode()[5:]) == ((1,), frozenset())


def _copy(decision: Decision, columns: int, *lines: bytes,
          binary: bool = False) -> tuple[Tracker, list]:
    tracker = Tracker(checker=lambda purpose: CHECK if purpose == "customer_service" else None)
    tracker.query("COPY ... TO STDOUT", decision, None)
    code = i16(1 if binary else 0)
    tracker.copy_out(code[1:] + i16(columns) + code * columns)
    out = [tracker.copy_data(m.CopyData(line).encode(), 0, 5 + len(line)) for line in lines]
    return tracker, out


def test_copy_lines_over_classified_tables_pass_the_check() -> None:
    aggregate = Decision(sql="COPY ...", kind="copy", tables=frozenset({"public.customers"}),
                         purpose="customer_service")
    tracker, out = _copy(aggregate, 1, "回电 13812345678\n".encode(), b"138****5678\n")
    assert out[0] == m.CopyData("回电 138****5678\n".encode()).encode() and out[1] is None
    assert _finished(tracker).misses == 1


def test_copy_lines_with_subject_keys_are_checked_without_the_keys() -> None:
    keyed = replace(SUBJECT, kind="copy", copy_layout=CopyLayout(b"\t"))
    tracker, out = _copy(keyed, 3, b"x\t13812345678\t" + b"42".hex().encode() + b"\n",
                         b"x\t138****5678\t" + b"43".hex().encode() + b"\n")
    assert out == [m.CopyData(b"x\t138****5678\n").encode(),
                   m.CopyData(b"x\t138****5678\n").encode()]
    run = _finished(tracker)
    assert run.misses == 1 and run.subjects == {"public.customers": {"42", "43"}}


AGGREGATE = Decision(sql="COPY ...", kind="copy", tables=frozenset({"public.customers"}),
                     purpose="customer_service")
HEADER = b"PGCOPY\n\xff\r\n\0" + i32(0) + i32(0)
TRAILER = i16(-1)


def _tuple(*fields: bytes | None) -> bytes:
    return i16(len(fields)) + b"".join(i32(-1) if f is None else i32(len(f)) + f
                                       for f in fields)


def test_binary_copy_fields_pass_the_check_and_a_finding_becomes_null() -> None:
    clear = "回电 13812345678".encode()
    tracker, out = _copy(AGGREGATE, 3, HEADER + _tuple(b"x", clear, None),
                         _tuple(b"\0\0\0\x2a", b"138****5678", b"y"), TRAILER, binary=True)
    assert out == [m.CopyData(HEADER + _tuple(b"x", None, None)).encode(), None, None]
    run = _finished(tracker)
    assert run.misses == 1 and run.rows == 2  # tuples, not messages


def test_binary_copy_data_that_does_not_parse_is_dropped_when_it_could_hold_a_finding() -> None:
    tracker, out = _copy(AGGREGATE, 1, i16(1) + i32(99) + b"13812345678", i16(1) + i32(99),
                         binary=True)
    assert out == [b"", None]
    assert _finished(tracker).misses == 1


def test_binary_copy_of_unclassified_tables_passes_untouched() -> None:
    plain = Decision(sql="COPY ...", kind="copy", purpose="customer_service")
    tracker, out = _copy(plain, 1, HEADER + _tuple("回电 13812345678".encode()), TRAILER,
                         binary=True)
    run = _finished(tracker)
    assert out == [None, None] and run.misses == 0 and run.rows == 1


def test_binary_copy_tuples_with_subject_keys_go_without_them() -> None:
    keyed = replace(SUBJECT, kind="copy", copy_layout=CopyLayout(b"", binary=True))
    tracker = Tracker(checker=lambda purpose: CHECK)
    tracker.query("COPY ... TO STDOUT", keyed, None)
    response = tracker.copy_out(b"\1" + i16(3) + i16(1) * 3)
    assert response == m.CopyOutResponse(1, (1, 1)).encode()
    out = [tracker.copy_data(raw, 0, len(raw)) for raw in (
        m.CopyData(HEADER + _tuple(b"x", b"13812345678", b"42".hex().encode())).encode(),
        m.CopyData(_tuple(None, b"138****5678", None)).encode(),
        m.CopyData(TRAILER).encode())]
    assert out == [m.CopyData(HEADER + _tuple(b"x", None)).encode(),
                   m.CopyData(_tuple(None, b"138****5678")).encode(), None]
    run = _finished(tracker)
    assert run.rows == 2 and run.misses == 1 and run.subjects == {"public.customers": {"42"}}


def test_binary_copy_data_that_does_not_parse_is_dropped_when_it_has_keys() -> None:
    keyed = replace(SUBJECT, kind="copy", copy_layout=CopyLayout(b"", binary=True))
    tracker, out = _copy(keyed, 2, i16(2) + i32(1) + b"x", binary=True)
    assert out == [b""] and _finished(tracker).misses == 1


@settings(max_examples=300, deadline=None)
@given(payload=st.binary(max_size=64))
def test_any_binary_copy_data_is_checked_or_dropped_never_an_error(payload: bytes) -> None:
    tracker, (out,) = _copy(AGGREGATE, 2, payload, binary=True)
    assert out is None or out == b"" or out.startswith(b"d")
