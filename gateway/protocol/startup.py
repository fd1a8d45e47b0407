"""Startup-phase packets (no type byte): StartupMessage, SSL/GSSENC and Cancel requests."""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway.protocol import codes
from gateway.protocol.buffer import I32, Reader, cstr, i32
from gateway.protocol.errors import ProtocolError


@dataclass(frozen=True)
class StartupMessage:
    params: dict[str, str] = field(default_factory=dict)
    version: int = codes.PROTOCOL_3_0

    @property
    def minor(self) -> int:
        return self.version & 0xFFFF

    def encode(self) -> bytes:
        body = i32(self.version) + b"".join(cstr(k) + cstr(v) for k, v in self.params.items())
        return _packet(body + b"\0")


@dataclass(frozen=True)
class SSLRequest:
    def encode(self) -> bytes:
        return _packet(i32(codes.SSL_REQUEST))


@dataclass(frozen=True)
class GSSENCRequest:
    def encode(self) -> bytes:
        return _packet(i32(codes.GSSENC_REQUEST))


@dataclass(frozen=True)
class CancelRequest:
    pid: int
    key: bytes

    def encode(self) -> bytes:
        return _packet(i32(codes.CANCEL_REQUEST) + i32(self.pid) + self.key)


StartupPacket = StartupMessage | SSLRequest | GSSENCRequest | CancelRequest


def _packet(body: bytes) -> bytes:
    return i32(len(body) + 4) + body


def read_startup(buf: bytes | bytearray) -> tuple[StartupPacket, int] | None:
    """Parse the first startup-phase packet in buf: (packet, bytes used), or None if partial."""
    if len(buf) < 4:
        return None
    length = I32.unpack_from(buf, 0)[0]
    if not 8 <= length <= codes.MAX_STARTUP_LENGTH:
        raise ProtocolError("invalid startup packet length")
    if len(buf) < length:
        return None
    return decode_startup(bytes(buf[4:length])), length


def decode_startup(body: bytes) -> StartupPacket:
    r = Reader(body)
    code = r.int32()
    if code == codes.SSL_REQUEST:
        r.end()
        return SSLRequest()
    if code == codes.GSSENC_REQUEST:
        r.end()
        return GSSENCRequest()
    if code == codes.CANCEL_REQUEST:
        pid, key = r.int32(), r.rest()
        if not 4 <= len(key) <= codes.MAX_CANCEL_KEY:
            raise ProtocolError("invalid cancel key length")
        return CancelRequest(pid, key)
    if code >> 16 != 3:
        raise ProtocolError(f"unsupported frontend protocol {code >> 16}.{code & 0xFFFF}")
    return StartupMessage(_params(r), code)


def _params(r: Reader) -> dict[str, str]:
    params: dict[str, str] = {}
    while True:
        name = r.cstring()
        if not name:
            r.end()
            return params
        params[name] = r.cstring()
