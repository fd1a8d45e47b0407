"""Framing of typed messages: find whole messages in a byte buffer without copying them."""

from __future__ import annotations

from gateway.protocol import codes
from gateway.protocol.buffer import HEADER, I32
from gateway.protocol.errors import ProtocolError

_unpack_length = I32.unpack_from


def split(buf: bytes | bytearray, pos: int = 0,
          max_length: int = codes.MAX_MESSAGE_LENGTH) -> tuple[list[tuple[int, int, int]], int]:
    """Whole messages in buf from pos: [(type byte, start, end)], and where the rest begins.

    `start` is the message's first byte (its type), `end` is one past its last byte, so
    buf[start:end] is the message as it travels. A length below 4 or above max_length is
    a ProtocolError at once: we never wait for a gigabyte a peer only announced.
    """
    found = []
    size = len(buf)
    while size - pos >= 5:
        length = _unpack_length(buf, pos + 1)[0]
        if length < 4 or length > max_length:
            raise ProtocolError(f"invalid message length {length}")
        end = pos + 1 + length
        if end > size:
            break
        found.append((buf[pos], pos, end))
        pos = end
    return found, pos


def header(type_byte: bytes, body_length: int) -> bytes:
    """The five-byte header of a message whose body has body_length bytes."""
    return HEADER.pack(type_byte, body_length + 4)
