"""Sealed audit records in PostgreSQL's binary COPY format, encoded once per batch.

Records come as the chain sealed them (entries, `ts` in microseconds), so no datetime
or row tuple is built per record; the parts that repeat from record to record (who ran
it, the statement's shape, the objects, the small counts) are encoded once and reused.
Column types are those of privacy_gateway.audit_log (gateway/state/schema.py).
"""

from __future__ import annotations

import struct

from gateway import compiled
from gateway.audit.record import COLUMNS, micros

# text_array in one compiled pass, and AuditCopy.encode's rows (gateway/compiled.py)
_arrays = compiled.load("gateway.audit.arrays")
_compiled_text_array = _arrays.text_array if _arrays is not None else None
_batch = compiled.load("gateway.audit.batch")

# COPY BINARY: signature, flags, header extension length; a row: field count, then
# each field as int32 length (-1: NULL) and bytes; the end: field count -1.
HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)
TRAILER = struct.pack("!h", -1)
_PG_EPOCH_US = 946_684_800 * 1_000_000  # 2000-01-01, where timestamptz counts from
_NULL = struct.pack("!i", -1)
_INT8 = struct.Struct("!iq")
_FLOAT8 = struct.Struct("!id")
_PARTS = 4096

# The columns in the order sent (COPY names them): the ones that are never NULL and of
# fixed size first, packed in one call, then the others in groups that repeat.
COPY_COLUMNS = ("seq", "chain", "ts", "prev_mac", "mac", "replica", "kind", "session_id",
                "principal", "purpose", "client_addr", "application_name", "fingerprint",
                "statement", "objects", "rows", "subjects", "decision", "reason",
                "sqlstate", "duration_ms", "signature")
assert sorted(COPY_COLUMNS) == sorted(COLUMNS)
# field count, seq, chain, ts, prev_mac, mac (SHA-256 MACs: always 32 bytes)
_FIXED = struct.Struct("!hiqiqiqi32si32s")


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


class AuditCopy:
    """Encodes sealed records (chain.Sealed) for copy_to_table(format="binary")."""

    def __init__(self) -> None:
        self._texts: dict[tuple, bytes] = {}  # consecutive text columns
        self._objects: dict[str | None, bytes] = {}
        self._counts: dict[tuple, bytes] = {}  # rows, subjects, decision, reason, sqlstate

    def encode(self, sealed: list[tuple]) -> bytes:
        """The whole COPY stream (COPY_COLUMNS order), header and trailer included.
        Compiled where built (gateway/audit/batch.pyx)."""
        if _batch is not None:
            try:
                rows = _batch.copy_rows(self, sealed, len(COPY_COLUMNS), _PG_EPOCH_US)
            except (TypeError, OverflowError):
                pass  # a value struct packs otherwise, or refuses: as the Python way does
            else:
                return b"".join((HEADER, rows, TRAILER))
        return self.python_encode(sealed)

    def python_encode(self, sealed: list[tuple]) -> bytes:
        """encode in Python: the reference, and the path where nothing is built."""
        out = [HEADER]
        append, texts, objects = out.append, self._texts, self._objects
        for replica, seq, chain, item, prev, mac, signature in sealed:
            (kind, us, who, shape, objects_text, rows, subjects, decision, reason, duration,
             sqlstate) = item
            head, counts = (replica, kind), (rows, subjects, decision, reason, sqlstate)
            append(_FIXED.pack(len(COPY_COLUMNS), 8, seq, 8, chain, 8, us - _PG_EPOCH_US,
                               32, prev, 32, mac))
            append(texts.get(head) or self._texts_of(head))
            append(texts.get(who) or self._texts_of(who))
            append(texts.get(shape) or self._texts_of(shape))
            append(objects.get(objects_text) or self._objects_of(objects_text))
            append(self._counts.get(counts) or self._counts_of(counts))
            append(_NULL if duration is None else _FLOAT8.pack(8, duration))
            append(_NULL if signature is None else
                   struct.pack("!i", len(signature)) + signature)
        out.append(TRAILER)
        return b"".join(out)

    def _texts_of(self, values: tuple) -> bytes:
        return _keep(self._texts, values, b"".join(map(_text, values)))

    def _objects_of(self, value: str | None) -> bytes:
        return _keep(self._objects, value, _jsonb(value))

    def _counts_of(self, values: tuple) -> bytes:
        rows, subjects, decision, reason, sqlstate = values
        found = (_int8(rows) + _int8(subjects) + _text(decision) + _text(reason)
                 + _text(sqlstate))
        if type(rows) not in _PLAIN or type(subjects) not in _PLAIN:
            return found  # as dict keys 1 == 1.0 == True: only ints and None are kept
        return _keep(self._counts, values, found)


def _keep(parts: dict, key, encoded: bytes) -> bytes:
    if len(parts) >= _PARTS:
        parts.clear()
    parts[key] = encoded
    return encoded


_PLAIN = (int, type(None))


# Exposure ledger rows (store.EXPOSURE_COLUMNS order): arrays of text in binary form
# cost a fraction of what the generic encoder spends on them.
_TEXT_OID = 25
_ARRAY_HEAD = struct.Struct("!iiiii")  # ndim 1, has NULLs, element type, length, lower bound
_EMPTY_ARRAY = struct.pack("!iiii", 12, 0, 0, _TEXT_OID)  # field length, ndim 0, ...
_BOOL = {False: struct.pack("!ib", 1, 0), True: struct.pack("!ib", 1, 1)}
_EXPOSURE_COUNT = struct.pack("!h", 12)
_I32 = struct.Struct("!i")


def text_array(values) -> bytes:
    """A text[] field (length included); one already encoded (bytes) is returned as is."""
    if type(values) is bytes:
        return values
    if not values:
        return _EMPTY_ARRAY
    if _compiled_text_array is not None and type(values) is list:
        try:
            return _compiled_text_array(values)
        except TypeError:
            pass  # a NULL or a value that is not text: the Python way below
    items = [_text(v) for v in values]
    body = _ARRAY_HEAD.pack(1, int(None in values), _TEXT_OID, len(items), 1) + b"".join(items)
    return struct.pack("!i", len(body)) + body


def text_array_values(field: bytes) -> list[str | None]:
    """The elements of a text[] field made by text_array."""
    if len(field) <= len(_EMPTY_ARRAY):
        return []
    count = _I32.unpack_from(field, 16)[0]
    out: list[str | None] = []
    pos = 4 + _ARRAY_HEAD.size
    for _ in range(count):
        size = _I32.unpack_from(field, pos)[0]
        pos += 4
        if size < 0:
            out.append(None)
        else:
            out.append(field[pos:pos + size].decode())
            pos += size
    return out


class ExposureCopy:
    """Encodes exposure ledger rows for copy_to_table(format="binary")."""

    def __init__(self) -> None:
        self._texts: dict[tuple, bytes] = {}
        self._classes: dict[tuple, bytes] = {}

    def encode(self, rows: list[tuple]) -> bytes:
        out = [HEADER]
        append, texts, classes = out.append, self._texts, self._classes
        for (ts, replica, seq, session_id, principal, purpose, table, subjects, clear,
             masked, aggregate, count) in rows:
            who = (replica, session_id, principal, purpose, table)
            kinds = (tuple(clear), tuple(masked))
            append(_EXPOSURE_COUNT)
            append(_INT8.pack(8, micros(ts) - _PG_EPOCH_US))
            append(texts.get(who) or _keep(texts, who, b"".join(map(_text, who))))
            append(_int8(seq))
            append(text_array(subjects))
            append(classes.get(kinds) or _keep(classes, kinds,
                                               text_array(clear) + text_array(masked)))
            append(_BOOL[bool(aggregate)])
            append(_int8(count))
        out.append(TRAILER)
        return b"".join(out)


# The order ExposureCopy writes the columns in (COPY names them).
EXPOSURE_COPY_COLUMNS = ("ts", "replica", "session_id", "principal", "purpose", "table_name",
                         "audit_seq", "subjects", "clear_classes", "masked_classes",
                         "aggregate", "rows")
