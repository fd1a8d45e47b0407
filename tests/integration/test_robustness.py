"""Bad input, cancels, limits and failures: errors or closed connections, never a stuck gateway."""

from __future__ import annotations

import socket
import struct
import threading
import time

import psycopg
import pytest

from gateway.protocol import messages as m
from gateway.protocol.startup import StartupMessage
from tests.integration.conftest import RULES, conninfo
from tests.integration.gateway_thread import GatewayThread


def _raw(gw: GatewayThread, payload: bytes, wait: float = 5.0) -> bytes:
    """Send raw bytes; return what the gateway answers until it closes or goes quiet."""
    with socket.create_connection((gw.host, gw.port), timeout=wait) as sock:
        sock.sendall(payload)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except TimeoutError:
            pass
        return b"".join(chunks)


def _still_serves(gw: GatewayThread) -> None:
    with psycopg.connect(conninfo(gw)) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


@pytest.mark.parametrize("payload", [
    b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",                      # garbage before startup
    struct.pack("!i", 2**30) + b"\x00\x03\x00\x00",           # oversized startup length
    struct.pack("!ii", 8, 1234),                               # unknown request code
    struct.pack("!ii", 16, 0x00040000) + b"user\0x\0",         # protocol 4.0
    StartupMessage({"database": "x"}).encode(),                # no user
], ids=["http", "oversized", "unknown-code", "protocol-4", "no-user"])
def test_bad_startup_gets_an_error_and_a_close(gateway, payload: bytes) -> None:
    answer = _raw(gateway, payload)
    assert answer == b"" or answer[:1] == b"E"
    _still_serves(gateway)


def test_malformed_messages_after_login(gateway) -> None:
    with psycopg.connect(conninfo(gateway)) as conn:
        sock = socket.socket(fileno=socket.dup(conn.pgconn.socket))
        sock.settimeout(5)
        sock.sendall(b"Q\xff\xff\xff\xf0")  # a negative length
        answer = sock.recv(65536)
        sock.close()
    assert answer[:1] == b"E" and b"08P01" in answer
    _still_serves(gateway)


def test_oversized_message_length_is_refused_at_once(gateway) -> None:
    with psycopg.connect(conninfo(gateway)) as conn:
        sock = socket.socket(fileno=socket.dup(conn.pgconn.socket))
        sock.settimeout(5)
        sock.sendall(b"Q" + struct.pack("!i", 2**30 + 10))
        answer = sock.recv(65536)
        sock.close()
    assert b"08P01" in answer
    _still_serves(gateway)


def test_unfinished_handshake_times_out(sample_dsn: str) -> None:
    gw = GatewayThread({"upstream": sample_dsn, "rules": str(RULES),
                        "startup_timeout": 0.5}).start()
    try:
        started = time.monotonic()
        answer = _raw(gw, StartupMessage({"user": "crm_app", "database": "x"}).encode()[:10])
        assert time.monotonic() - started < 4
        assert answer == b"" or b"startup timeout" in answer
        _still_serves(gw)
    finally:
        gw.stop()


def test_cancel_really_cancels(gateway) -> None:
    with psycopg.connect(conninfo(gateway)) as conn:
        timer = threading.Timer(0.5, conn.cancel_safe)  # cancel() would hold the GIL
        timer.start()
        started = time.monotonic()
        with pytest.raises(psycopg.errors.QueryCanceled):
            conn.execute("SELECT pg_sleep(20)")
        assert time.monotonic() - started < 10
        conn.rollback()
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_cancel_with_a_wrong_key_does_nothing(gateway) -> None:
    with psycopg.connect(conninfo(gateway)) as conn:
        key = conn.pgconn.backend_pid
        _raw(gateway, struct.pack("!iiii", 16, 80877102, key, 12345), wait=1)
        assert conn.execute("SELECT pg_sleep(0.2), 1").fetchone()[1] == 1


def test_client_disconnecting_mid_result_harms_nobody(gateway) -> None:
    other = psycopg.connect(conninfo(gateway))
    sock = socket.create_connection((gateway.host, gateway.port))
    try:
        conn = psycopg.connect(conninfo(gateway))
        conn.pgconn.send_query(b"SELECT repeat('x', 1000), g FROM generate_series(1, 200000) g")
        time.sleep(0.3)
        socket.socket(fileno=socket.dup(conn.pgconn.socket)).close()
        conn.pgconn.finish()
        assert other.execute("SELECT count(*) FROM generate_series(1, 3002)").fetchone() == (
            3002,)
    finally:
        other.close()
        sock.close()
    _still_serves(gateway)


def test_max_clients(sample_dsn: str) -> None:
    gw = GatewayThread({"upstream": sample_dsn, "rules": str(RULES), "max_clients": 2}).start()
    try:
        first, second = psycopg.connect(conninfo(gw)), psycopg.connect(conninfo(gw))
        with pytest.raises(psycopg.OperationalError, match="too many clients"):
            psycopg.connect(conninfo(gw))
        first.close()
        time.sleep(0.2)
        third = psycopg.connect(conninfo(gw))
        assert third.execute("SELECT 1").fetchone() == (1,)
        second.close()
        third.close()
    finally:
        gw.stop()


def test_idle_session_timeout(sample_dsn: str) -> None:
    gw = GatewayThread({"upstream": sample_dsn, "rules": str(RULES), "idle_timeout": 1}).start()
    try:
        conn = psycopg.connect(conninfo(gw), autocommit=True)
        conn.execute("SELECT pg_sleep(1.5)")  # a running statement is not idle
        time.sleep(3)
        with pytest.raises(psycopg.OperationalError):
            conn.execute("SELECT 1")
    finally:
        gw.stop()


def test_a_session_running_a_prepared_statement_again_and_again_is_not_idle(
        sample_dsn: str) -> None:
    gw = GatewayThread({"upstream": sample_dsn, "rules": str(RULES), "idle_timeout": 1}).start()
    try:
        conn = psycopg.connect(conninfo(gw), autocommit=True)
        deadline = time.monotonic() + 3.5  # more than three sweeps of the idle timer
        while time.monotonic() < deadline:  # parsed once, then only Bind/Execute/Sync
            assert conn.execute("SELECT %s::int", (1,), prepare=True).fetchone() == (1,)
            time.sleep(0.2)
        conn.close()
    finally:
        gw.stop()


def test_dead_upstream_is_a_clear_error(tmp_path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    gw = GatewayThread({"upstream": f"postgresql://postgres@127.0.0.1:{port}/crm",
                        "rules": str(RULES), "connect_timeout": 2}).start()
    try:
        with pytest.raises(psycopg.OperationalError, match="upstream"):
            psycopg.connect(conninfo(gw, dbname="crm"))
    finally:
        gw.stop()


def test_function_call_message_refused(gateway) -> None:
    with psycopg.connect(conninfo(gateway)) as conn:
        sock = socket.socket(fileno=socket.dup(conn.pgconn.socket))
        sock.settimeout(5)
        sock.sendall(m.FunctionCall(1, (), (), 0).encode())
        answer = b""
        while not answer.endswith(b"Z\x00\x00\x00\x05I"):
            answer += sock.recv(65536)
        sock.close()
        assert b"42501" in answer and b"cannot verify" in answer
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_stop_lets_running_statements_finish(sample_dsn: str) -> None:
    gw = GatewayThread({"upstream": sample_dsn, "rules": str(RULES)}).start()
    busy = psycopg.connect(conninfo(gw), autocommit=True)
    idle = psycopg.connect(conninfo(gw), autocommit=True)
    result: list[object] = []
    worker = threading.Thread(
        target=lambda: result.append(busy.execute("SELECT pg_sleep(1), 42").fetchone()[1]))
    worker.start()
    time.sleep(0.3)
    started = time.monotonic()
    gw.call(gw.gateway.stop, 5.0)
    worker.join(10)
    assert result == [42]  # the running statement completed
    assert time.monotonic() - started < 4
    with pytest.raises(psycopg.OperationalError):
        idle.execute("SELECT 1")
    gw.loop.call_soon_threadsafe(gw.loop.stop)
