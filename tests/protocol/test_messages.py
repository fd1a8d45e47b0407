"""Codec: golden byte vectors, decode(encode(x)) == x, and arbitrary bytes fail cleanly."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.protocol import messages as m
from gateway.protocol import startup
from gateway.protocol.errors import ProtocolError
from gateway.protocol.framing import split

# One table drives both the reader and the writer (bytes as PostgreSQL sends them).
GOLDEN = [
    (m.Query("SELECT 1"), b"Q\x00\x00\x00\x0dSELECT 1\x00", False),
    (m.Sync(), b"S\x00\x00\x00\x04", False),
    (m.Terminate(), b"X\x00\x00\x00\x04", False),
    (m.Execute("", 0), b"E\x00\x00\x00\x09\x00\x00\x00\x00\x00", False),
    (m.Describe("S", "s1"), b"D\x00\x00\x00\x08Ss1\x00", False),
    (m.Parse("", "SELECT $1", (23,)),
     b"P\x00\x00\x00\x15\x00SELECT $1\x00\x00\x01\x00\x00\x00\x17", False),
    (m.Bind("", "", (0,), (b"42",), (1,)),
     b"B\x00\x00\x00\x16\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00\x00\x0242\x00\x01\x00\x01",
     False),
    (m.ReadyForQuery(b"I"), b"Z\x00\x00\x00\x05I", True),
    (m.CommandComplete("SELECT 1"), b"C\x00\x00\x00\x0dSELECT 1\x00", True),
    (m.DataRow((b"1", None)), b"D\x00\x00\x00\x0f\x00\x02\x00\x00\x00\x011\xff\xff\xff\xff",
     True),
    (m.Authentication(0), b"R\x00\x00\x00\x08\x00\x00\x00\x00", True),
    (m.BackendKeyData(7, b"\x00\x00\x00\x09"),
     b"K\x00\x00\x00\x0c\x00\x00\x00\x07\x00\x00\x00\x09", True),
    (m.ParameterStatus("a", "b"), b"S\x00\x00\x00\x08a\x00b\x00", True),
    (m.ParseComplete(), b"1\x00\x00\x00\x04", True),
]


@pytest.mark.parametrize(("msg", "raw", "backend"), GOLDEN)
def test_golden_vectors(msg: m.Message, raw: bytes, backend: bool) -> None:
    assert msg.encode() == raw
    assert m.decode(raw[:1], raw[5:], backend) == msg


def test_startup_vectors() -> None:
    raw = startup.StartupMessage({"user": "u"}).encode()
    assert raw == b"\x00\x00\x00\x10\x00\x03\x00\x00user\x00u\x00\x00"
    assert startup.read_startup(raw) == (startup.StartupMessage({"user": "u"}), len(raw))
    assert startup.read_startup(b"\x00\x00\x00\x08\x04\xd2\x16\x2f")[0] == startup.SSLRequest()
    assert startup.read_startup(b"\x00\x00\x00\x08\x04\xd2\x16\x30")[0] == startup.GSSENCRequest()
    cancel = startup.CancelRequest(5, bytes(32))
    assert startup.read_startup(cancel.encode()) == (cancel, 44)
    assert startup.read_startup(raw[:5]) is None


def test_oversized_lengths_fail_at_once() -> None:
    with pytest.raises(ProtocolError):
        split(b"Q\x7f\xff\xff\xff")
    with pytest.raises(ProtocolError):
        split(b"Q\x00\x00\x00\x02")
    with pytest.raises(ProtocolError):
        startup.read_startup(b"\x7f\x00\x00\x00")


text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
               max_size=20)
i16s = st.integers(-(2**15), 2**15 - 1)
i32s = st.integers(-(2**31), 2**31 - 1)
values = st.tuples(*[]) | st.lists(st.none() | st.binary(max_size=8), max_size=4).map(tuple)
formats = st.lists(i16s, max_size=4).map(tuple)

MESSAGES = st.one_of(
    st.builds(m.Query, text),
    st.builds(m.Parse, text, text, st.lists(i32s, max_size=4).map(tuple)),
    st.builds(m.Bind, text, text, formats, values, formats),
    st.builds(m.Describe, st.sampled_from("SP"), text),
    st.builds(m.Close, st.sampled_from("SP"), text),
    st.builds(m.Execute, text, i32s),
    st.builds(m.FunctionCall, i32s, formats, values, i16s),
    st.builds(m.CopyData, st.binary(max_size=16)),
    st.builds(m.CopyFail, text),
    st.builds(m.PasswordMessage, st.binary(max_size=16)),
    st.just(m.Sync()), st.just(m.Flush()), st.just(m.Terminate()), st.just(m.CopyDone()),
)
BACKEND_MESSAGES = st.one_of(
    st.builds(m.Authentication, i32s, st.binary(max_size=8)),
    st.builds(m.BackendKeyData, i32s, st.binary(min_size=4, max_size=256)),
    st.builds(m.ParameterStatus, text, text),
    st.builds(m.ReadyForQuery, st.sampled_from([b"I", b"T", b"E"])),
    st.builds(m.RowDescription, st.lists(st.builds(m.Field, text, i32s, i16s, i32s, i16s, i32s,
                                                   i16s), max_size=3).map(tuple)),
    st.builds(m.DataRow, values),
    st.builds(m.CommandComplete, text),
    st.builds(m.ErrorResponse, st.lists(st.tuples(st.sampled_from("SVCMDHP"), text),
                                        max_size=4).map(tuple)),
    st.builds(m.NotificationResponse, i32s, text, text),
    st.builds(m.NegotiateProtocolVersion, i32s, st.lists(text, max_size=3).map(tuple)),
    st.builds(m.ParameterDescription, st.lists(i32s, max_size=4).map(tuple)),
    st.builds(m.CopyOutResponse, st.integers(0, 1), formats),
    st.just(m.ParseComplete()), st.just(m.NoData()), st.just(m.PortalSuspended()),
)


@given(MESSAGES)
def test_frontend_roundtrip(msg: m.Message) -> None:
    raw = msg.encode()
    found, rest = split(raw)
    assert found == [(raw[0], 0, len(raw))] and rest == len(raw)
    assert m.decode(raw[:1], raw[5:], backend=False) == msg


@given(BACKEND_MESSAGES)
def test_backend_roundtrip(msg: m.Message) -> None:
    raw = msg.encode()
    assert m.decode(raw[:1], raw[5:], backend=True) == msg


@given(st.builds(startup.StartupMessage,
                 st.dictionaries(text.filter(bool), text, max_size=4),
                 st.sampled_from([196608, 196610])))
def test_startup_roundtrip(msg: startup.StartupMessage) -> None:
    raw = msg.encode()
    assert startup.read_startup(raw) == (msg, len(raw))


@settings(max_examples=500)
@given(st.binary(max_size=64), st.booleans())
def test_arbitrary_bytes_raise_only_protocol_error(raw: bytes, backend: bool) -> None:
    try:
        for type_byte, start, end in split(raw)[0]:
            m.decode(bytes([type_byte]), raw[start + 5:end], backend)
    except ProtocolError:
        pass
    with contextlib.suppress(ProtocolError):
        startup.read_startup(raw)


def _read_name(read: object, raw: bytes, start: int) -> object:
    try:
        found = read(raw, start, len(raw))
    except ProtocolError:
        return ProtocolError
    return found[0] if isinstance(found, tuple) else found


@given(st.binary(max_size=24))
def test_name_reader_agrees_with_the_string_reader(raw: bytes) -> None:
    # name_at is cstring_at's shortcut for the session's hot path: same answers, same errors
    for start in range(len(raw) + 1):
        assert _read_name(m.name_at, raw, start) == _read_name(m.cstring_at, raw, start)
