"""The audit record: one per statement, login or chain event, and its canonical bytes."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from json import encoder as json_encoder
from typing import Any

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Record kinds. Chain kinds are written by the writer itself, never by the session.
STATEMENT, LOGIN, SUPPRESSION = "statement", "login", "suppression"
CHAIN_START, CHECKPOINT, CHAIN_END = "chain_start", "checkpoint", "chain_end"
SIGNED_KINDS = frozenset({CHECKPOINT, CHAIN_END})


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class AuditRecord:
    """What the session reports. No clear personal data: the statement is normalised
    (literals replaced by $n) and subjects are a count."""

    kind: str = STATEMENT
    ts: datetime = field(default_factory=utcnow)
    session_id: str | None = None
    principal: str | None = None
    purpose: str | None = None
    client_addr: str | None = None
    application_name: str | None = None
    fingerprint: str | None = None
    statement: str | None = None
    # [{"table": "public.customers", "columns": {"phone": "mask", "name": "show"}}], or
    # the same as JSON text (metering.bridge.objects_json caches it per decision)
    objects: list[dict[str, Any]] | str | None = None
    rows: int | None = None
    subjects: int | None = None
    decision: str | None = None  # allow | rewrite | deny | error | login_ok | login_failed
    reason: str | None = None
    duration_ms: float | None = None
    sqlstate: str | None = None


# Column order of privacy_gateway.audit_log as written by the writer.
HEAD_COLUMNS = ("replica", "seq", "chain")
BODY_COLUMNS = tuple(AuditRecord.__dataclass_fields__)
SEAL_COLUMNS = ("prev_mac", "mac", "signature")
COLUMNS = HEAD_COLUMNS + BODY_COLUMNS + SEAL_COLUMNS
_TS = COLUMNS.index("ts")
_OBJECTS = COLUMNS.index("objects")


def body(record: AuditRecord) -> tuple:
    """The record's values in BODY_COLUMNS order."""
    return tuple(getattr(record, c) for c in BODY_COLUMNS)


# An entry: a record as queued for the writer, built cheaply on the session's path.
#   (kind, ts in µs since the epoch, who, shape, objects, rows, subjects, decision,
#    reason, duration_ms, sqlstate)
# who = (session_id, principal, purpose, client_addr, application_name) and shape =
# (fingerprint, statement) repeat from statement to statement, so the writer encodes
# each of them once; objects is canonical JSON text (objects_text) or None.
Entry = tuple


def entry(record: AuditRecord) -> Entry:
    """The entry for a record (logins, chain events, and callers that build records)."""
    r = record
    # A float as stored (double precision): an int would be sealed as 3 and read back as
    # 3.0, and the record would no longer verify.
    duration = None if r.duration_ms is None else float(r.duration_ms)
    return (r.kind, micros(r.ts),
            (r.session_id, r.principal, r.purpose, r.client_addr, r.application_name),
            (r.fingerprint, r.statement), objects_text(r.objects), r.rows, r.subjects,
            r.decision, r.reason, duration, r.sqlstate)


def legible(value: Any) -> Any:
    """`value` with text that can be stored: bytes a client sent that are not UTF-8, which
    the gateway keeps as lone surrogates (protocol.buffer.ERRORS), become U+FFFD (UTF-8
    cannot encode them, so a record holding them could not be sealed). A tuple (an entry,
    its who and shape) item by item; anything but text as it is."""
    if isinstance(value, tuple):
        return tuple(legible(v) for v in value)
    if not isinstance(value, str):
        return value
    try:
        raw = value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate that no undecodable byte left
        raw = value.encode("utf-8", "replace")
    return raw.decode("utf-8", "replace")


def micros(ts: datetime) -> int:
    """Exact microseconds since the epoch (timestamptz precision, no float rounding)."""
    return (ts - _EPOCH) // timedelta(microseconds=1)


def from_micros(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


# Built once: json.dumps with options builds a new encoder on every call.
_CANONICAL = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
_SORTED = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, sort_keys=True)
_TEXTS: dict[str, str] = {}  # JSON text -> its canonical form; sessions repeat shapes
# The C encoder that _CANONICAL.encode() builds on every call (a third of its cost),
# built once; same arguments, so the same text (no circular check: records hold none).
_C_ENCODER = json_encoder.c_make_encoder and json_encoder.c_make_encoder(
    None, _CANONICAL.default, json_encoder.encode_basestring, None, ":", ",", False, False,
    True)


def canonical_json(value: Any) -> str:
    """_CANONICAL.encode(value), faster."""
    if _C_ENCODER is None:
        return _CANONICAL.encode(value)
    return "".join(_C_ENCODER(value, 0))


# Each record kind as it appears in the canonical JSON (the chain's parts, see chain.py)
KIND_JSON = {k: canonical_json(k) for k in (STATEMENT, LOGIN, SUPPRESSION, CHAIN_START,
                                             CHECKPOINT, CHAIN_END)}


def objects_text(objects: Any) -> str | None:
    """Canonical JSON text of `objects` (sorted keys, no spaces), from a value or any JSON
    text of it (jsonb gives its own spacing and key order back)."""
    if objects is None:
        return None
    if isinstance(objects, str):
        known = _TEXTS.get(objects)
        if known is None:
            known = objects_text(json.loads(objects))
            if len(_TEXTS) >= 4096:
                _TEXTS.clear()
            _TEXTS[objects] = known
        return known
    return _SORTED.encode(objects)


def canonical(values: tuple | list, objects_ready: bool = False) -> bytes:
    """The bytes the MAC covers: head and body columns in a fixed JSON form.

    `objects` enters as its canonical text; pass objects_ready=True when it already is
    (the writer's path), else it is normalised here (rows read back for verification).
    """
    out = list(values[: len(HEAD_COLUMNS) + len(BODY_COLUMNS)])
    out[_TS] = micros(out[_TS])
    if not objects_ready:
        out[_OBJECTS] = objects_text(out[_OBJECTS])
    return _CANONICAL.encode(out).encode()


def row_values(row: Any) -> list:
    """A stored row (asyncpg Record or mapping) as a list in COLUMNS order."""
    return [row[c] for c in COLUMNS]
