"""Bounds-checked reading and writing of protocol fields (int16/int32, C strings, bytes)."""

from __future__ import annotations

import struct

from gateway.protocol.errors import ProtocolError

I16 = struct.Struct("!h")
I32 = struct.Struct("!i")
U32 = struct.Struct("!I")
HEADER = struct.Struct("!ci")  # type byte + length (length counts itself, not the type)

ENCODING = "utf-8"
ERRORS = "surrogateescape"  # keep bytes that are not UTF-8 intact across decode/encode


class Reader:
    """Reads fields from one message body; any overrun is the peer's ProtocolError."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes | bytearray | memoryview) -> None:
        self.data = bytes(data)
        self.pos = 0

    def _take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise ProtocolError("message is shorter than its fields")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def byte(self) -> bytes:
        return self._take(1)

    def int16(self) -> int:
        return I16.unpack(self._take(2))[0]

    def int32(self) -> int:
        return I32.unpack(self._take(4))[0]

    def count(self) -> int:
        """An int16 element count, which must not be negative."""
        n = self.int16()
        if n < 0:
            raise ProtocolError("negative count")
        return n

    def cstring(self) -> str:
        end = self.data.find(b"\0", self.pos)
        if end < 0:
            raise ProtocolError("string is not terminated")
        raw = self.data[self.pos:end]
        self.pos = end + 1
        return raw.decode(ENCODING, ERRORS)

    def value(self) -> bytes | None:
        """An int32-length-prefixed value; -1 means NULL."""
        n = self.int32()
        if n == -1:
            return None
        if n < 0:
            raise ProtocolError("negative value length")
        return self._take(n)

    def rest(self) -> bytes:
        chunk = self.data[self.pos:]
        self.pos = len(self.data)
        return chunk

    def end(self) -> None:
        if self.pos != len(self.data):
            raise ProtocolError("message is longer than its fields")


def cstr(text: str) -> bytes:
    if "\0" in text:
        raise ProtocolError("string contains NUL", by_peer=False)
    return text.encode(ENCODING, ERRORS) + b"\0"


def i16(n: int) -> bytes:
    return I16.pack(n)


def i32(n: int) -> bytes:
    return I32.pack(n)


def value(data: bytes | None) -> bytes:
    return b"\xff\xff\xff\xff" if data is None else I32.pack(len(data)) + data


def frame(type_byte: bytes, payload: bytes) -> bytes:
    """A whole message: type byte, int32 length (including itself), payload."""
    return type_byte + I32.pack(len(payload) + 4) + payload
