"""Typed PostgreSQL v3 messages with encode/decode, named as in PostgreSQL's documentation.

The hot path never builds these for messages it only forwards: they are for the
messages the session inspects or writes itself, for tests and for tools.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import ClassVar, Self

from gateway.protocol import codes
from gateway.protocol.buffer import ENCODING, ERRORS, I16, Reader, cstr, frame, i16, i32, value
from gateway.protocol.errors import ProtocolError


class Message:
    """Base: TYPE is the type byte; payload() builds the body; read() parses one."""

    TYPE: ClassVar[bytes] = b""

    def payload(self) -> bytes:
        return b""

    @classmethod
    def read(cls, r: Reader) -> Self:
        return cls()

    @classmethod
    def from_body(cls, body: bytes | bytearray | memoryview) -> Self:
        """The message of this type in body; ProtocolError for anything malformed."""
        r = Reader(body)
        msg = cls.read(r)
        r.end()
        return msg

    def encode(self) -> bytes:
        return frame(self.TYPE, self.payload())


def _formats(r: Reader) -> tuple[int, ...]:
    return tuple(r.int16() for _ in range(r.count()))


def _write_formats(formats: tuple[int, ...]) -> bytes:
    return i16(len(formats)) + b"".join(i16(f) for f in formats)


def _values(r: Reader) -> tuple[bytes | None, ...]:
    return tuple(r.value() for _ in range(r.count()))


def _write_values(values: tuple[bytes | None, ...]) -> bytes:
    return i16(len(values)) + b"".join(value(v) for v in values)


def _kind(r: Reader) -> str:
    kind = r.byte()
    if kind not in (b"S", b"P"):
        raise ProtocolError("Describe/Close kind must be S or P")
    return kind.decode()


# ---------------------------------------------------------------- frontend


@dataclass(frozen=True)
class Query(Message):
    TYPE = codes.QUERY
    sql: str

    def payload(self) -> bytes:
        return cstr(self.sql)

    @classmethod
    def read(cls, r: Reader) -> Query:
        return cls(r.cstring())


@dataclass(frozen=True)
class Parse(Message):
    TYPE = codes.PARSE
    name: str
    sql: str
    param_types: tuple[int, ...] = ()

    def payload(self) -> bytes:
        types = b"".join(i32(t) for t in self.param_types)
        return cstr(self.name) + cstr(self.sql) + i16(len(self.param_types)) + types

    @classmethod
    def read(cls, r: Reader) -> Parse:
        name, sql = r.cstring(), r.cstring()
        return cls(name, sql, tuple(r.int32() for _ in range(r.count())))


@dataclass(frozen=True)
class Bind(Message):
    TYPE = codes.BIND
    portal: str
    statement: str
    param_formats: tuple[int, ...] = ()
    params: tuple[bytes | None, ...] = ()
    result_formats: tuple[int, ...] = ()

    def payload(self) -> bytes:
        return (cstr(self.portal) + cstr(self.statement) + _write_formats(self.param_formats)
                + _write_values(self.params) + _write_formats(self.result_formats))

    @classmethod
    def read(cls, r: Reader) -> Bind:
        portal, statement = r.cstring(), r.cstring()
        return cls(portal, statement, _formats(r), _values(r), _formats(r))


@dataclass(frozen=True)
class Describe(Message):
    TYPE = codes.DESCRIBE
    kind: str  # 'S' statement or 'P' portal
    name: str

    def payload(self) -> bytes:
        return self.kind.encode() + cstr(self.name)

    @classmethod
    def read(cls, r: Reader) -> Describe:
        return cls(_kind(r), r.cstring())


@dataclass(frozen=True)
class Close(Describe):
    TYPE = codes.CLOSE


@dataclass(frozen=True)
class Execute(Message):
    TYPE = codes.EXECUTE
    portal: str
    max_rows: int = 0

    def payload(self) -> bytes:
        return cstr(self.portal) + i32(self.max_rows)

    @classmethod
    def read(cls, r: Reader) -> Execute:
        return cls(r.cstring(), r.int32())


@dataclass(frozen=True)
class FunctionCall(Message):
    TYPE = codes.FUNCTION_CALL
    function_oid: int
    arg_formats: tuple[int, ...] = ()
    args: tuple[bytes | None, ...] = ()
    result_format: int = 0

    def payload(self) -> bytes:
        return (i32(self.function_oid) + _write_formats(self.arg_formats)
                + _write_values(self.args) + i16(self.result_format))

    @classmethod
    def read(cls, r: Reader) -> FunctionCall:
        return cls(r.int32(), _formats(r), _values(r), r.int16())


@dataclass(frozen=True)
class CopyData(Message):
    TYPE = codes.COPY_DATA
    data: bytes

    def payload(self) -> bytes:
        return self.data

    @classmethod
    def read(cls, r: Reader) -> CopyData:
        return cls(r.rest())


@dataclass(frozen=True)
class CopyFail(Message):
    TYPE = codes.COPY_FAIL
    reason: str

    def payload(self) -> bytes:
        return cstr(self.reason)

    @classmethod
    def read(cls, r: Reader) -> CopyFail:
        return cls(r.cstring())


@dataclass(frozen=True)
class PasswordMessage(Message):
    """'p': password, SASLInitialResponse or SASLResponse; which one depends on the state."""

    TYPE = codes.PASSWORD
    data: bytes

    def payload(self) -> bytes:
        return self.data

    @classmethod
    def read(cls, r: Reader) -> PasswordMessage:
        return cls(r.rest())


def sasl_initial_response(msg: PasswordMessage) -> tuple[str, bytes | None]:
    """Split a SASLInitialResponse into (mechanism, client-first data)."""
    r = Reader(msg.data)
    mechanism, data = r.cstring(), r.value()
    r.end()
    return mechanism, data


@dataclass(frozen=True)
class Sync(Message):
    TYPE = codes.SYNC


@dataclass(frozen=True)
class Flush(Message):
    TYPE = codes.FLUSH


@dataclass(frozen=True)
class Terminate(Message):
    TYPE = codes.TERMINATE


@dataclass(frozen=True)
class CopyDone(Message):
    TYPE = codes.COPY_DONE


# ---------------------------------------------------------------- backend


@dataclass(frozen=True)
class Authentication(Message):
    """'R': code 0 ok, 3 cleartext, 5 md5 (data = salt), 10 SASL, 11/12 SASL continue/final."""

    TYPE = codes.AUTHENTICATION
    code: int
    data: bytes = b""

    def payload(self) -> bytes:
        return i32(self.code) + self.data

    @classmethod
    def read(cls, r: Reader) -> Authentication:
        return cls(r.int32(), r.rest())

    @classmethod
    def sasl(cls, mechanisms: list[str]) -> Authentication:
        return cls(codes.AUTH_SASL, b"".join(cstr(m) for m in mechanisms) + b"\0")

    def mechanisms(self) -> list[str]:
        return [m.decode() for m in self.data.split(b"\0") if m]


@dataclass(frozen=True)
class BackendKeyData(Message):
    TYPE = codes.BACKEND_KEY_DATA
    pid: int
    key: bytes  # 4 bytes in protocol 3.0, up to 256 in 3.2

    def payload(self) -> bytes:
        return i32(self.pid) + self.key

    @classmethod
    def read(cls, r: Reader) -> BackendKeyData:
        pid, key = r.int32(), r.rest()
        if not 4 <= len(key) <= codes.MAX_CANCEL_KEY:
            raise ProtocolError("cancel key length out of range")
        return cls(pid, key)


@dataclass(frozen=True)
class ParameterStatus(Message):
    TYPE = codes.PARAMETER_STATUS
    name: str
    value: str

    def payload(self) -> bytes:
        return cstr(self.name) + cstr(self.value)

    @classmethod
    def read(cls, r: Reader) -> ParameterStatus:
        return cls(r.cstring(), r.cstring())


@dataclass(frozen=True)
class ReadyForQuery(Message):
    TYPE = codes.READY_FOR_QUERY
    status: bytes = codes.IDLE

    def payload(self) -> bytes:
        return self.status

    @classmethod
    def read(cls, r: Reader) -> ReadyForQuery:
        status = r.byte()
        if status not in (codes.IDLE, codes.IN_TRANSACTION, codes.IN_FAILED_TRANSACTION):
            raise ProtocolError("unknown transaction status")
        return cls(status)


@dataclass(frozen=True)
class Field:
    """One column of a RowDescription."""

    name: str
    table_oid: int = 0
    column: int = 0
    type_oid: int = 25
    type_size: int = -1
    type_modifier: int = -1
    format: int = 0


@dataclass(frozen=True)
class RowDescription(Message):
    TYPE = codes.ROW_DESCRIPTION
    fields: tuple[Field, ...] = ()

    def payload(self) -> bytes:
        out = [i16(len(self.fields))]
        for f in self.fields:
            out.append(cstr(f.name) + i32(f.table_oid) + i16(f.column) + i32(f.type_oid)
                       + i16(f.type_size) + i32(f.type_modifier) + i16(f.format))
        return b"".join(out)

    @classmethod
    def read(cls, r: Reader) -> RowDescription:
        return cls(tuple(Field(r.cstring(), r.int32(), r.int16(), r.int32(), r.int16(),
                               r.int32(), r.int16()) for _ in range(r.count())))


@dataclass(frozen=True)
class DataRow(Message):
    TYPE = codes.DATA_ROW
    values: tuple[bytes | None, ...] = ()

    def payload(self) -> bytes:
        return _write_values(self.values)

    @classmethod
    def read(cls, r: Reader) -> DataRow:
        return cls(_values(r))


@dataclass(frozen=True)
class CommandComplete(Message):
    TYPE = codes.COMMAND_COMPLETE
    tag: str

    def payload(self) -> bytes:
        return cstr(self.tag)

    @classmethod
    def read(cls, r: Reader) -> CommandComplete:
        return cls(r.cstring())


@dataclass(frozen=True)
class ErrorResponse(Message):
    """Fields by code: S severity, V severity (not localised), C SQLSTATE, M message, D detail."""

    TYPE = codes.ERROR_RESPONSE
    fields: tuple[tuple[str, str], ...] = ()

    def payload(self) -> bytes:
        return b"".join(code.encode() + cstr(text) for code, text in self.fields) + b"\0"

    @classmethod
    def read(cls, r: Reader) -> ErrorResponse:
        fields = []
        while (code := r.byte()) != b"\0":
            fields.append((code.decode("latin-1"), r.cstring()))
        return cls(tuple(fields))

    def get(self, code: str) -> str | None:
        return next((text for c, text in self.fields if c == code), None)

    @classmethod
    def build(cls, sqlstate: str, message: str, severity: str = "ERROR",
              detail: str | None = None) -> ErrorResponse:
        fields = [("S", severity), ("V", severity), ("C", sqlstate), ("M", message)]
        if detail:
            fields.append(("D", detail))
        return cls(tuple(fields))


@dataclass(frozen=True)
class NoticeResponse(ErrorResponse):
    TYPE = codes.NOTICE_RESPONSE


@dataclass(frozen=True)
class NotificationResponse(Message):
    TYPE = codes.NOTIFICATION_RESPONSE
    pid: int
    channel: str
    payload_text: str = ""

    def payload(self) -> bytes:
        return i32(self.pid) + cstr(self.channel) + cstr(self.payload_text)

    @classmethod
    def read(cls, r: Reader) -> NotificationResponse:
        return cls(r.int32(), r.cstring(), r.cstring())


@dataclass(frozen=True)
class NegotiateProtocolVersion(Message):
    TYPE = codes.NEGOTIATE_PROTOCOL_VERSION
    newest_minor: int
    unrecognized: tuple[str, ...] = ()

    def payload(self) -> bytes:
        return (i32(self.newest_minor) + i32(len(self.unrecognized))
                + b"".join(cstr(o) for o in self.unrecognized))

    @classmethod
    def read(cls, r: Reader) -> NegotiateProtocolVersion:
        minor, n = r.int32(), r.int32()
        if n < 0:
            raise ProtocolError("negative option count")
        return cls(minor, tuple(r.cstring() for _ in range(n)))


@dataclass(frozen=True)
class ParameterDescription(Message):
    TYPE = codes.PARAMETER_DESCRIPTION
    type_oids: tuple[int, ...] = ()

    def payload(self) -> bytes:
        return i16(len(self.type_oids)) + b"".join(i32(t) for t in self.type_oids)

    @classmethod
    def read(cls, r: Reader) -> ParameterDescription:
        return cls(tuple(r.int32() for _ in range(r.count())))


@dataclass(frozen=True)
class CopyInResponse(Message):
    TYPE = codes.COPY_IN_RESPONSE
    format: int = 0
    column_formats: tuple[int, ...] = field(default=())

    def payload(self) -> bytes:
        return bytes([self.format]) + _write_formats(self.column_formats)

    @classmethod
    def read(cls, r: Reader) -> CopyInResponse:
        return cls(r.byte()[0], _formats(r))


@dataclass(frozen=True)
class CopyOutResponse(CopyInResponse):
    TYPE = codes.COPY_OUT_RESPONSE


@dataclass(frozen=True)
class CopyBothResponse(CopyInResponse):
    TYPE = codes.COPY_BOTH_RESPONSE


def _empty(type_byte: bytes, name: str) -> type[Message]:
    return dataclass(frozen=True)(type(name, (Message,), {"TYPE": type_byte}))


ParseComplete = _empty(codes.PARSE_COMPLETE, "ParseComplete")
BindComplete = _empty(codes.BIND_COMPLETE, "BindComplete")
CloseComplete = _empty(codes.CLOSE_COMPLETE, "CloseComplete")
NoData = _empty(codes.NO_DATA, "NoData")
EmptyQueryResponse = _empty(codes.EMPTY_QUERY_RESPONSE, "EmptyQueryResponse")
PortalSuspended = _empty(codes.PORTAL_SUSPENDED, "PortalSuspended")

FRONTEND: dict[bytes, type[Message]] = {m.TYPE: m for m in (
    Query, Parse, Bind, Describe, Close, Execute, FunctionCall, CopyData, CopyDone, CopyFail,
    PasswordMessage, Sync, Flush, Terminate)}
BACKEND: dict[bytes, type[Message]] = {m.TYPE: m for m in (
    Authentication, BackendKeyData, ParameterStatus, ReadyForQuery, RowDescription, DataRow,
    CommandComplete, ErrorResponse, NoticeResponse, NotificationResponse,
    NegotiateProtocolVersion, ParameterDescription, CopyInResponse, CopyOutResponse,
    CopyBothResponse, CopyData, CopyDone, ParseComplete, BindComplete, CloseComplete, NoData,
    EmptyQueryResponse, PortalSuspended)}


def decode(type_byte: bytes, body: bytes | memoryview, backend: bool) -> Message:
    """Parse one message body of the given type; ProtocolError for anything malformed."""
    cls = (BACKEND if backend else FRONTEND).get(bytes(type_byte))
    if cls is None:
        raise ProtocolError(f"unknown message type {bytes(type_byte)!r}")
    return cls.from_body(body)


# ---------------------------------------------------------------- hot-path readers
# The session reads every Query and Parse; these read them in place, without building a
# message object, and fail exactly where decode() would.


def cstring_at(data: bytes, start: int, end: int) -> tuple[str, int]:
    """The NUL-terminated string at data[start:] that must end before `end`, and where
    the next field begins."""
    stop = data.find(b"\0", start, end)
    if stop < 0:
        raise ProtocolError("string is not terminated")
    return data[start:stop].decode(ENCODING, ERRORS), stop + 1


def name_at(data: bytes, start: int, end: int, stop: int | None = None) -> str:
    """cstring_at for a statement or portal name (ending at stop when already found),
    the unnamed one, by far the commonest, read at once."""
    if stop is None:
        if start < end and data[start] == 0:
            return ""
        stop = data.find(b"\0", start, end)
    if stop < 0:
        raise ProtocolError("string is not terminated")
    return data[start:stop].decode(ENCODING, ERRORS) if stop > start else ""


def query_text(data: bytes, start: int, end: int) -> str:
    """The SQL of the Query whose body is data[start:end]."""
    sql, stop = cstring_at(data, start, end)
    if stop != end:
        raise ProtocolError("message is longer than its fields")
    return sql


def parse_fields(data: bytes, start: int, end: int) -> tuple[str, str, tuple[int, ...]]:
    """(statement name, SQL, parameter type OIDs) of the Parse whose body is data[start:end]."""
    name, pos = cstring_at(data, start, end)
    sql, pos = cstring_at(data, pos, end)
    if pos + 2 > end:
        raise ProtocolError("message is shorter than its fields")
    count = I16.unpack_from(data, pos)[0]
    if count < 0:
        raise ProtocolError("negative count")
    types_at = pos + 2
    if types_at + 4 * count != end:
        raise ProtocolError("message is " + ("shorter" if types_at + 4 * count > end
                                               else "longer") + " than its fields")
    types = struct.unpack_from(f"!{count}i", data, types_at) if count else ()
    return name, sql, types
