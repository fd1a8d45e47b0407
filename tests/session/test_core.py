"""The session core without sockets: bytes in, bytes and actions out."""

from __future__ import annotations

from pathlib import Path

import pytest

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
