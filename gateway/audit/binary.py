"""Sealed audit rows in PostgreSQL's binary COPY format, encoded once per batch.

The writer's rows carry `ts` as microseconds since the Unix epoch (as sealed), so no
datetime is built per record; the parts that repeat from record to record (who ran it,
the statement's shape, the objects, the small counts) are encoded once and reused.
Column types are those of privacy_gateway.audit_log (gateway/state/schema.py).
"""

from __future__ import annotations

import struct

from gateway.audit.record import COLUMNS

# COPY BINARY: signature, flags, header extension length; a row: field count, then
# each field as int32 length (-1: NULL) and bytes; the end: field count -1.
HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)
TRAILER = struct.pack("!h", -1)
_PG_EPOCH_US = 946_684_800 * 1_000_000  # 2000-01-01, where timestamptz counts from
_NULL = struct.pack("!i", -1)
_INT8 = struct.Struct("!iq")
_FLOAT8 = struct.Struct("!id")
_COUNT = struct.pack("!h", len(COLUMNS))  # each row starts with its number of fields
_SEQ_CHAIN = struct.Struct("!iqiq")
_TS = struct.Struct("!iq")
_PARTS = 4096

_WHO = slice(COLUMNS.index("session_id"), COLUMNS.index("application_name") + 1)
_SHAPE = slice(COLUMNS.index("fingerprint"), COLUMNS.index("statement") + 1)


def _text(value: str | None) -> bytes:
    if value is None:
        return _NULL
    raw = value.encode()
    return struct.pack("!i", len(raw)) + raw


def _jsonb(value: str | None) -> bytes:
    if value is None:
        return _NULL
    raw = b"\x01" + value.encode()  # jsonb binary: format version 1, then the text
    return struct.pack("!i", len(raw)) + raw


def _int8(value: int | None) -> bytes:
    return _NULL if value is None else _INT8.pack(8, value)


def _float8(value: float | None) -> bytes:
    return _NULL if value is None else _FLOAT8.pack(8, value)


def _bytea(value: bytes | None) -> bytes:
    return _NULL if value is None else struct.pack("!i", len(value)) + value


class AuditCopy:
    """Encodes sealed rows (record.COLUMNS order, ts in µs) for copy_to_table(binary)."""

    def __init__(self) -> None:
        self._texts: dict[tuple, bytes] = {}  # consecutive text columns
        self._objects: dict[str | None, bytes] = {}
        self._counts: dict[tuple, bytes] = {}  # rows, subjects, decision, reason

    def encode(self, rows: list[tuple]) -> bytes:
        """The whole COPY stream for `rows`, header and trailer included."""
        out = [HEADER]
        append, texts, objects = out.append, self._texts, self._objects
        for r in rows:
            replica, kind, who, shape = r[0:1], r[3:4], r[_WHO], r[_SHAPE]
            append(_COUNT)
            append(texts.get(replica) or self._texts_of(replica))
            append(_SEQ_CHAIN.pack(8, r[1], 8, r[2]))
            append(texts.get(kind) or self._texts_of(kind))
            append(_TS.pack(8, r[4] - _PG_EPOCH_US))
            append(texts.get(who) or self._texts_of(who))
            append(texts.get(shape) or self._texts_of(shape))
            append(objects.get(r[12]) or self._objects_of(r[12]))
            append(self._counts_of(r[13:17]))
            append(_float8(r[17]))
            sqlstate = r[18:19]
            append(texts.get(sqlstate) or self._texts_of(sqlstate))
            append(_bytea(r[19]))
            append(_bytea(r[20]))
            append(_bytea(r[21]))
        out.append(TRAILER)
        return b"".join(out)

    def _texts_of(self, values: tuple) -> bytes:
        return _keep(self._texts, values, b"".join(map(_text, values)))

    def _objects_of(self, value: str | None) -> bytes:
        return _keep(self._objects, value, _jsonb(value))

    def _counts_of(self, values: tuple) -> bytes:
        found = self._counts.get(values)
        if found is not None:
            return found
        rows, subjects, decision, reason = values
        found = _int8(rows) + _int8(subjects) + _text(decision) + _text(reason)
        if type(rows) not in _PLAIN or type(subjects) not in _PLAIN:
            return found  # as dict keys 1 == 1.0 == True: only ints and None are kept
        return _keep(self._counts, values, found)


def _keep(parts: dict, key, encoded: bytes) -> bytes:
    if len(parts) >= _PARTS:
        parts.clear()
    parts[key] = encoded
    return encoded


_PLAIN = (int, type(None))
