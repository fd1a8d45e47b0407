"""The compiled short way (gateway/session/lane.pyx) against the Python path it shortens."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.policy.decision import Decision, Refusal
from gateway.protocol import messages as m
from gateway.session.connection import lanes
from gateway.session.core import Session
from tests.session.test_core import (
    PLAIN,
    SIMPLE,
    _batch,
    _extended,
    _parsed_batch,
    _prepare,
    _reply,
    _request,
    _sent,
    exchanges,
    steps_of,
)

pytestmark = pytest.mark.skipif(lanes is None, reason="gateway.session.lane is not built")


_NONCE = re.compile(rb"refused [0-9a-f]{16}")


class Shell:
    """Drives a session as the shell (connection.py) does: the lane first, if any; what
    the core queued is what goes when the lane leaves a Query to it."""

    def __init__(self, session: Session, lane: bool) -> None:
        self.session = session
        self.lane = lanes.Lane(session) if lane else None
        self.taken = 0  # batches and replies the lane took

    def client(self, data: bytes) -> bytes:
        """What goes upstream."""
        taken = self.lane.client(data) if self.lane is not None else False
        if taken:
            self.taken += 1
            return data
        if taken is False:
            self.session.client_bytes(data)
        out = b"".join(bytes(c) for c in self.session.to_server)
        self.session.to_server.clear()
        return _NONCE.sub(b"refused NONCE", out)  # a refusal's nonce is random

    def server(self, data: bytes) -> bytes:
        """What goes to the client."""
        if self.lane is not None and self.lane.server(data):
            self.taken += 1
            return data
        self.session.server_bytes(data)
        return _sent(self.session)


def _state(shell: Shell) -> tuple:
    s = shell.session
    runs = [(r.rows, bytes(r.tag), r.sqlstate, r.sql, r.prepared, r.misses, r.subject_count,
             dict(r.subjects)) for r in s.tracker.finished]
    return (runs, s.transaction, s.busy, s.statements, s._syncs_sent, s._syncs_done,
            s.tracker.misses, len(s.tracker._queue), s.tracker._portals)


# Queries the lane decides but leaves to the core: rewritten, refused, or one that
# reads a classified table (its rows_per_query applies)
REWRITTEN = Decision(sql="SELECT 2 AS rewritten", kind="select")
REFUSED = Decision(sql=None, refusal=Refusal("42501", "no"), kind="refused")
CLASSIFIED = Decision(sql="SELECT 3", kind="select", verbatim=True,
                      tables=frozenset({"public.customers"}))
DECISIONS = {PLAIN.sql: PLAIN, SIMPLE.sql: SIMPLE, "SELECT 2": REWRITTEN, "SELECT 4": REFUSED,
             CLASSIFIED.sql: CLASSIFIED}
QUERIES = ("SELECT 2", "SELECT 4", CLASSIFIED.sql, "SHOW privacy.purpose")


def _pair() -> tuple[Shell, Shell]:
    quick, slow = (_extended(DECISIONS) for _ in range(2))
    for s in (quick, slow):
        _prepare(s, PLAIN.sql)
        s._row_limit = 1
    return Shell(quick, True), Shell(slow, False)


def _some_request(kind: str) -> bytes:
    return m.Query(QUERIES[int(kind[-1])]).encode() if kind.startswith("other") \
        else _request(kind)


def _some_reply(kind: str, columns: str, rows: int, notice: bool, error: bool) -> bytes:
    return _reply("query" if kind.startswith("other") else kind, columns, rows, notice, error)


@settings(max_examples=400, deadline=None)
@given(steps=steps_of(("bind", "bind", "bind-nodescribe", "parse", "query", "query", "other0",
                       "other1", "other2", "other3"), 10))
def test_the_lane_leaves_everything_as_the_python_path_does(steps: list) -> None:
    quick, slow = _pair()
    for request, first, second in exchanges(steps, _some_request, _some_reply):
        if request is not None:
            assert quick.client(request) == slow.client(request)
            continue
        for part in (first, second):
            assert quick.server(part) == slow.server(part)
        assert _state(quick) == _state(slow)


def test_repeated_batches_and_their_plain_replies_take_the_lane() -> None:
    quick, slow = _pair()
    for kind in ("bind", "bind", "bind", "parse", "parse", "parse", "bind-nodescribe",
                 "bind-nodescribe", "query", "query", "query"):
        for shell in (quick, slow):
            shell.client(_request(kind))
            shell.server(_reply(kind, "same", 2, False, False))
    # each form's first batch goes the long way (its form is learnt), then the lane; a
    # Query's first reply too (its columns are learnt)
    assert quick.taken == 2 * (2 + 2 + 1 + 2) and slow.taken == 0
    assert _state(quick) == _state(slow)
    started = [r.started for r in quick.session.tracker.finished]
    assert started == sorted(started) and all(t > 0 for t in started)


def test_a_statement_in_flight_is_queued_when_its_reply_is_not_plain() -> None:
    quick, slow = _pair()
    for shell in (quick, slow):
        for _ in range(2):
            shell.client(_request("bind"))
            shell.server(_reply("bind", "same", 1, False, False))
    error = _reply("bind", "same", 0, False, True)
    for shell in (quick, slow):
        shell.client(_request("bind"))
    assert not quick.session.tracker._queue and slow.session.tracker._queue  # held, queued
    assert quick.server(error) == slow.server(error)
    assert quick.session.tracker.finished[-1].sqlstate == "57014"
    assert _state(quick) == _state(slow)


def test_a_session_closed_meanwhile_or_a_new_decision_takes_the_python_path() -> None:
    decisions = {PLAIN.sql: PLAIN}
    s = _extended(decisions)
    shell = Shell(s, True)
    for value in (b"1", b"2"):
        shell.client(_parsed_batch(PLAIN.sql, value))
        shell.server(_reply("parse", "same", 1, False, False))
    assert shell.taken == 2
    decisions[PLAIN.sql] = replace(PLAIN)  # rules reloaded: a new decision
    shell.client(_parsed_batch(PLAIN.sql, b"3"))
    assert shell.taken == 2 and s.tracker.prepared("").decision is decisions[PLAIN.sql]
    shell.server(_reply("parse", "same", 1, False, False))
    shell.client(_batch(b"4"))  # s1 was never prepared here: the long way
    s.terminate("57P01", "shutting down")
    assert b"57P01" in _sent(s)
    assert shell.server(_reply("bind", "same", 1, False, False)) == b""
    assert shell.client(_batch(b"5")) == b"" and s.phase == "closed"


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=80), cut=st.integers(min_value=0, max_value=120))
def test_any_bytes_go_the_python_path_or_are_a_repeated_batch(data: bytes, cut: int) -> None:
    quick, slow = _pair()
    for shell in (quick, slow):
        for kind in ("bind", "bind", "parse", "parse"):
            shell.client(_request(kind))
            shell.server(_reply(kind, "same", 1, False, False))
    batch = _request("bind")[:cut] + data
    assert quick.client(batch) == slow.client(batch)
    assert (quick.session.phase, quick.session.statements, quick.session._syncs_sent) == \
        (slow.session.phase, slow.session.statements, slow.session._syncs_sent)
    reply = m.ReadyForQuery(b"I").encode()
    assert quick.server(reply) == slow.server(reply)
    assert _state(quick) == _state(slow)


def test_a_query_the_lane_decided_goes_on_as_the_core_makes_it() -> None:
    quick, slow = _pair()
    for sql, sent in (("SELECT 2", b"rewritten"), ("SELECT 4", b"privacy gateway refused"),
                      (CLASSIFIED.sql, CLASSIFIED.sql.encode())):
        query = m.Query(sql).encode()
        out = quick.client(query)
        assert out == slow.client(query) and sent in out and quick.taken == 0
    # a purpose statement never reaches the policy: the core answers it
    show = m.Query("SHOW privacy.purpose").encode()
    assert quick.client(show) == slow.client(show)
    assert _state(quick)[2:] == _state(slow)[2:]
