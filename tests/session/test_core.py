"""The session core without sockets: bytes in, bytes and actions out."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.policy.decision import Decision
from gateway.policy.rules import load_rules
from gateway.protocol import messages as m
from gateway.protocol.startup import CancelRequest, GSSENCRequest, SSLRequest, StartupMessage
from gateway.session.actions import CancelUpstream, Close, StartTLS
from gateway.session.core import Session, SessionConfig

RULES = load_rules(Path(__file__).resolve().parents[2] / "rules" / "customers.yaml")


def _session(**config: object) -> Session:
    return Session(SessionConfig(rules=lambda: RULES, database="crm", **config))


def _sent(session: Session) -> bytes:
    out = b"".join(bytes(c) for c in session.to_client)
    session.to_client.clear()
    return out


def test_ssl_request_without_certificate_is_answered_n() -> None:
    s = _session()
    s.client_bytes(SSLRequest().encode())
    assert _sent(s) == b"N" and s.phase == "startup"


def test_ssl_request_with_certificate_starts_tls() -> None:
    s = _session(tls_available=True)
    s.client_bytes(SSLRequest().encode())
    assert _sent(s) == b"S" and s.actions == [StartTLS()]


def test_plaintext_after_ssl_request_is_refused() -> None:
    s = _session(tls_available=True)
    s.client_bytes(SSLRequest().encode() + StartupMessage({"user": "x"}).encode())
    assert b"08P01" in _sent(s) and isinstance(s.actions[-1], Close)


def test_gssenc_then_ssl_request() -> None:
    s = _session(tls_available=True)
    s.client_bytes(GSSENCRequest().encode() + SSLRequest().encode())
    assert _sent(s) == b"NS"


def test_direct_tls_hello_starts_tls_with_the_bytes_read() -> None:
    s = _session(tls_available=True)
    s.client_bytes(b"\x16\x03\x01\x00\x05hello")
    assert s.actions == [StartTLS(initial=b"\x16\x03\x01\x00\x05hello", direct=True)]


def test_tls_required_refuses_plaintext_startup() -> None:
    s = _session(tls_available=True, tls_required=True)
    s.client_bytes(StartupMessage({"user": "crm_app", "database": "crm"}).encode())
    assert b"28000" in _sent(s)


def test_cancel_request_becomes_an_action() -> None:
    s = _session()
    s.client_bytes(CancelRequest(7, bytes(32)).encode())
    assert s.actions[0] == CancelUpstream(7, bytes(32)) and s.phase == "closed"


@pytest.mark.parametrize(("version", "params", "expect"), [
    (196608, {}, None),
    (196610, {}, None),
    (196611, {}, (2, ())),
    (196608, {"_pq_.compression": "on"}, (0, ("_pq_.compression",))),
])
def test_protocol_negotiation(version: int, params: dict, expect: tuple | None) -> None:
    s = _session()
    s.client_bytes(StartupMessage({"user": "crm_app", "database": "crm", **params},
                                  version).encode())
    out = _sent(s)
    if expect is None:
        assert out[:1] == b"R"  # straight to authentication
    else:
        assert m.decode(b"v", out[5:out.index(b"R")], True) == m.NegotiateProtocolVersion(*expect)


def test_unknown_database_is_refused() -> None:
    s = _session()
    s.client_bytes(StartupMessage({"user": "crm_app", "database": "postgres"}).encode())
    assert b"3D000" in _sent(s) and s.phase == "closed"


def test_garbage_in_ready_phase_is_a_protocol_error() -> None:
    s = _session()
    s.phase = "ready"
    s.client_bytes(b"Q\x00\x00\x00\x01")
    assert b"08P01" in _sent(s) and s.phase == "closed"


def test_a_name_not_ended_inside_its_message_is_a_protocol_error() -> None:
    s = _session()
    s.phase = "ready"
    unterminated = b"E" + (4 + 3).to_bytes(4, "big") + b"abc"  # portal name without NUL
    s.client_bytes(unterminated + m.Sync().encode())  # the next message holds a NUL
    assert b"08P01" in _sent(s) and s.phase == "closed"


# -- batches a client repeats (results.Repeat)

PLAIN = Decision(sql="SELECT abalance FROM accounts WHERE aid = $1", kind="select",
                 verbatim=True)
CLASSIFIED = Decision(sql="SELECT phone, id FROM ...", kind="select",
                      tables=frozenset({"public.customers"}),
                      subject_columns=("public.customers",), purpose="customer_service")


def _extended(decisions: dict[str, Decision]) -> Session:
    s = _session(decide=lambda sql, purpose: decisions[sql])
    s.phase, s.purpose = "ready", "customer_service"
    return s


def _batch(value: bytes, describe: bool = True, portal: str = "") -> bytes:
    messages = [m.Bind(portal, "s1", (), (value,), ())]
    messages += [m.Describe("P", portal)] if describe else []
    return b"".join(x.encode() for x in (*messages, m.Execute(portal), m.Sync()))


def _answer(s: Session, fields: tuple, row: tuple, tag: bytes = b"SELECT 1") -> bytes:
    s.server_bytes(b"".join(x.encode() for x in (
        m.BindComplete(), m.RowDescription(fields), m.DataRow(row),
        m.CommandComplete(tag.decode()), m.ReadyForQuery(b"I"))))
    return _sent(s)


def _prepare(s: Session, sql: str) -> None:
    s.client_bytes(m.Parse("s1", sql, ()).encode() + m.Sync().encode())
    s.server_bytes(m.ParseComplete().encode() + m.ReadyForQuery(b"I").encode())
    s.to_server.clear()
    _sent(s)


@pytest.mark.parametrize("describe", [True, False])
def test_a_repeated_batch_is_tracked_as_the_first_one(describe: bool) -> None:
    s = _extended({PLAIN.sql: PLAIN})
    _prepare(s, PLAIN.sql)
    fields = (m.Field("abalance", table_oid=16400, column=3, type_oid=23),)
    for value in (b"1", b"22", b"333"):
        batch = _batch(value, describe)
        short = s.tracker.repeated(batch) is not None
        assert short == (value != b"1")  # the first goes the long way and is remembered
        s.client_bytes(batch)
        assert b"".join(bytes(c) for c in s.to_server) == batch  # forwarded as it came
        s.to_server.clear()
        _answer(s, fields, (value,))
    assert [r.rows for r in s.tracker.finished] == [1, 1, 1] and not s.busy
    assert s.statements == 3  # executions (the Parse alone runs nothing), short way or long


def _parsed_batch(sql: str, value: bytes) -> bytes:
    return m.Parse("", sql, ()).encode() + b"".join(x.encode() for x in (
        m.Bind("", "", (), (value,), ()), m.Describe("P", ""), m.Execute(""), m.Sync()))


def test_a_batch_that_parses_its_statement_again_repeats_while_its_decision_holds() -> None:
    decisions = {PLAIN.sql: PLAIN}
    s = _extended(decisions)
    fields = (m.Field("abalance"),)
    for value in (b"1", b"2"):
        s.client_bytes(_parsed_batch(PLAIN.sql, value))
        s.to_server.clear()
        s.server_bytes(m.ParseComplete().encode())
        _answer(s, fields, (value,))
    assert s.tracker.repeated(_parsed_batch(PLAIN.sql, b"3")) is not None
    assert s.statements == 2
    decisions[PLAIN.sql] = replace(PLAIN)  # rules reloaded: a new decision, the long way
    s.client_bytes(_parsed_batch(PLAIN.sql, b"3"))
    s.to_server.clear()
    s.server_bytes(m.ParseComplete().encode())
    _answer(s, fields, (b"3",))
    assert s.statements == 3 and s.tracker.prepared("").decision is decisions[PLAIN.sql]
    assert [r.rows for r in s.tracker.finished] == [1, 1, 1] and not s.busy


def test_a_portal_named_in_bytes_that_are_not_utf8_is_tracked_and_repeated() -> None:
    s = _extended({PLAIN.sql: PLAIN})
    _prepare(s, PLAIN.sql)
    fields = (m.Field("abalance", table_oid=16400, column=3, type_oid=23),)
    for value in (b"1", b"2"):
        batch = _batch(value, portal="p\udcd9")  # the byte 0xd9 alone: not UTF-8
        assert b"\xd9" in batch
        s.client_bytes(batch)
        assert b"".join(bytes(c) for c in s.to_server) == batch and s.phase == "ready"
        s.to_server.clear()
        _answer(s, fields, (value,))
    assert [r.rows for r in s.tracker.finished] == [1, 1] and not s.busy


def test_a_statement_prepared_again_is_not_repeated_with_the_old_decision() -> None:
    s = _extended({PLAIN.sql: PLAIN, CLASSIFIED.sql: CLASSIFIED})
    _prepare(s, PLAIN.sql)
    fields = (m.Field("abalance"),)
    for value in (b"1", b"2"):
        s.client_bytes(_batch(value))
        s.to_server.clear()
        _answer(s, fields, (value,))
    _prepare(s, CLASSIFIED.sql)  # same name, now over a classified table
    s.client_bytes(_batch(b"3"))
    s.to_server.clear()
    out = _answer(s, (m.Field("phone"), m.Field("pgw_subject")), (b"138****5678", b"42"))
    assert b"pgw_subject" not in out and b"42" not in out  # the subject key is cut off
    assert s.tracker.finished[-1].subjects == {"public.customers": {"42"}}


def test_a_closed_statement_or_another_form_takes_the_long_way() -> None:
    s = _extended({PLAIN.sql: PLAIN})
    _prepare(s, PLAIN.sql)
    s.client_bytes(_batch(b"1"))
    s.to_server.clear()
    _answer(s, (m.Field("abalance"),), (b"1",))
    s.client_bytes(_batch(b"2", portal="p1"))  # another portal: not the form remembered
    s.to_server.clear()
    _answer(s, (m.Field("abalance"),), (b"2",))
    s.client_bytes(m.Close("S", "s1").encode() + m.Sync().encode())
    s.server_bytes(m.CloseComplete().encode() + m.ReadyForQuery(b"I").encode())
    s.to_server.clear()
    _sent(s)
    assert s.tracker.repeated(_batch(b"3")) is None
    assert [r.rows for r in s.tracker.finished] == [1, 1]


def test_the_parse_of_a_repeated_batch_sent_alone_takes_the_long_way() -> None:
    s = _extended({PLAIN.sql: PLAIN})
    for value in (b"1", b"2"):
        s.client_bytes(_parsed_batch(PLAIN.sql, value))
        s.to_server.clear()
        s.server_bytes(m.ParseComplete().encode())
        _answer(s, (m.Field("abalance"),), (value,))
    parse = m.Parse("", PLAIN.sql, ()).encode()
    assert s.tracker.repeated(parse) is None and s.tracker.repeated(parse + b"B") is None
    s.client_bytes(parse)  # its Bind and the rest in the next read
    s.client_bytes(_parsed_batch(PLAIN.sql, b"3")[len(parse):])
    assert s.phase == "ready" and b"".join(bytes(c) for c in s.to_server) == \
        _parsed_batch(PLAIN.sql, b"3")


def test_a_parse_of_another_statement_before_the_bind_is_not_repeated() -> None:
    s = _extended({PLAIN.sql: PLAIN})
    _prepare(s, PLAIN.sql)  # s1
    batch = m.Parse("other", PLAIN.sql, ()).encode() + _batch(b"1")  # binds s1, not other
    for _ in range(2):
        s.client_bytes(batch)
        s.to_server.clear()
        s.server_bytes(m.ParseComplete().encode())
        _answer(s, (m.Field("abalance"),), (b"1",))
    assert s.tracker.repeated(batch) is None  # its Parse must be tracked each time
    assert [r.rows for r in s.tracker.finished] == [1, 1] and not s.busy


@settings(max_examples=300, deadline=None)
@given(tail=st.binary(max_size=40), cut=st.integers(min_value=0, max_value=120))
def test_any_bytes_are_a_remembered_batch_or_not_never_an_error(tail: bytes, cut: int) -> None:
    s = _extended({PLAIN.sql: PLAIN})
    _prepare(s, PLAIN.sql)
    for batch in (_parsed_batch(PLAIN.sql, b"1"), _batch(b"1")):
        s.client_bytes(batch)
        s.to_server.clear()
        _answer(s, (m.Field("abalance"),), (b"1",))
    for known in (_parsed_batch(PLAIN.sql, b"2"), _batch(b"2")):
        data = known[:cut] + tail
        found = s.tracker.repeated(data)
        assert found is None or data.endswith(found.tail)


# -- the reply to a statement awaited alone, tracked at once (Tracker.settle)

SIMPLE = Decision(sql="SELECT 1", kind="select", verbatim=True)
_FIELDS = {"same": (m.Field("abalance", 16400, 3, 23, 4),),
           "other": (m.Field("bid", 16400, 2, 23, 4), m.Field("x"))}


def _reply(kind: str, columns: str, rows: int, notice: bool, error: bool) -> bytes:
    head = {"bind": [m.BindComplete()], "parse": [m.ParseComplete(), m.BindComplete()],
            "query": []}[kind.split("-")[0]]
    messages = [*head]
    if kind != "bind-nodescribe":
        messages.append(m.RowDescription(_FIELDS[columns]))
    messages += [m.DataRow((b"7",) * len(_FIELDS[columns]))] * rows
    if notice:
        messages.append(m.NoticeResponse((("S", "NOTICE"), ("C", "00000"), ("M", "n"))))
    messages.append(m.ErrorResponse.build("57014", "canceled") if error
                    else m.CommandComplete(f"SELECT {rows}"))
    messages.append(m.ReadyForQuery(b"I"))
    return b"".join(x.encode() for x in messages)


def _request(kind: str) -> bytes:
    if kind == "query":
        return m.Query(SIMPLE.sql).encode()
    if kind == "parse":
        return _parsed_batch(PLAIN.sql, b"5")
    return _batch(b"5", describe=kind == "bind")


def _state(s: Session) -> tuple:
    runs = [(r.rows, bytes(r.tag), r.sqlstate, r.sql) for r in s.tracker.finished]
    return _sent(s), runs, s.transaction, s.busy, s.statements, s.tracker.misses


def steps_of(kinds: tuple[str, ...], max_size: int) -> st.SearchStrategy:
    """A client's requests, each (kind, columns, rows, notice, trouble, cut, pipelined):
    see exchanges."""
    return st.lists(st.tuples(
        st.sampled_from(kinds), st.sampled_from(("same", "same", "other")),
        st.integers(0, 3), st.booleans(), st.integers(0, 9),
        st.one_of(st.just(-1), st.integers(0, 200)), st.booleans()),
        min_size=1, max_size=max_size)


def exchanges(steps: list, request: Callable[[str], bytes],
              reply: Callable[..., bytes]) -> Iterator[tuple[bytes | None, bytes, bytes]]:
    """For each step: (its request, None, None); then, when the replies so far are due
    (not pipelined, or three waiting), (None, the replies cut in two reads). trouble 0:
    an error in place of the CommandComplete, 1 or 2: a notice when asked; cut -1: the
    first reply alone in a read, what follows in the next."""
    pending: list[bytes] = []
    for kind, columns, rows, notice, trouble, cut, pipelined in steps:
        pending.append(reply(kind, columns, rows, notice and trouble < 3, trouble == 0))
        yield request(kind), b"", b""
        if pipelined and len(pending) < 3:
            continue  # the next request goes before this reply comes
        data = b"".join(pending)
        if cut < 0:
            cut = len(pending[0])
        pending = []
        yield None, data[:cut], data[cut:]


@settings(max_examples=300, deadline=None)
@given(steps=steps_of(("bind", "bind-nodescribe", "parse", "query"), 8))
def test_a_reply_taken_at_once_is_tracked_as_message_by_message(steps: list) -> None:
    quick, slow = (_extended({PLAIN.sql: PLAIN, SIMPLE.sql: SIMPLE}) for _ in range(2))
    slow.tracker.settle = lambda data: False  # the reference: every message on its own
    for s in (quick, slow):
        _prepare(s, PLAIN.sql)
    for request, first, second in exchanges(steps, _request, _reply):
        for s in (quick, slow):
            if request is not None:
                s.client_bytes(request)
                s.to_server.clear()
            else:
                s.server_bytes(first)
                s.server_bytes(second)
        if request is None:
            assert _state(quick) == _state(slow)


def test_the_reply_to_a_repeated_batch_or_a_plain_query_is_taken_at_once() -> None:
    s = _extended({PLAIN.sql: PLAIN, SIMPLE.sql: SIMPLE})
    _prepare(s, PLAIN.sql)
    settled = []
    settle = s.tracker.settle
    s.tracker.settle = lambda data: settled.append(settle(data)) or settled[-1]
    for kind in ("bind", "bind", "parse", "parse", "query", "query", "bind-nodescribe",
                 "bind-nodescribe"):
        s.client_bytes(_request(kind))
        s.to_server.clear()
        s.server_bytes(_reply(kind, "same", 2, False, False))
        _sent(s)
    # a batch's first time goes the long way (its form is learnt), a query's first reply
    # too (its columns are learnt), then each reply at once
    assert settled == [True, True, False, True, True]
    assert [r.rows for r in s.tracker.finished] == [2] * 8 and not s.busy
