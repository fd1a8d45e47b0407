"""Verify audit rows (sans-IO): MAC chain, sequence, checkpoint signatures, end markers.

Works on a whole log or an exported slice: rows of each replica in seq order. A slice
may start in the middle of a chain; its first key is reached by ratcheting from the
chain's first key. Without the secret, only linkage and signatures can be checked.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from gateway.audit.chain import GENESIS, ratchet, seal_mac, signed_bytes
from gateway.audit.keys import AuditKeys
from gateway.audit.record import (
    BODY_COLUMNS,
    CHAIN_END,
    CHAIN_START,
    CHECKPOINT,
    HEAD_COLUMNS,
    SIGNED_KINDS,
    canonical,
)

MAX_PROBLEMS = 100
_MACED = HEAD_COLUMNS + BODY_COLUMNS


@dataclass(frozen=True)
class Problem:
    replica: str
    seq: int
    reason: str

    def __str__(self) -> str:
        return f"record {self.replica}/{self.seq}: {self.reason}"


@dataclass
class VerifyReport:
    """Outcome of a verification; `first_bad` names the first failing record."""

    checked: int = 0
    checkpoints: int = 0
    chains: int = 0
    problems: list[Problem] = field(default_factory=list)
    open_chains: list[tuple[str, int, int]] = field(default_factory=list)  # replica, chain, last

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_bad(self) -> Problem | None:
        return self.problems[0] if self.problems else None


class _Cursor:
    """Where the verifier stands in one chain."""

    def __init__(self, replica: str, chain: int, seq: int, keys: AuditKeys | None) -> None:
        self.replica, self.chain = replica, chain
        self.key = keys.chain_key(replica, chain) if keys else None
        for _ in range(seq - chain if self.key else 0):
            self.key = ratchet(self.key)
        self.prev_mac: bytes | None = GENESIS if seq == chain else None
        self.last_seq = seq - 1
        self.last_kind = ""


class Verifier:
    """Streaming form of verify_chain: feed rows in (replica, seq) order, then finish."""

    def __init__(self, keys: AuditKeys | None = None,
                 public_key: Ed25519PublicKey | None = None) -> None:
        self.keys = keys
        self.public_key = public_key or (keys.public if keys else None)
        self.report = VerifyReport()
        self._cursor: _Cursor | None = None

    def feed(self, row: Any) -> None:
        report, cursor = self.report, self._cursor
        replica, seq, chain = row["replica"], row["seq"], row["chain"]
        if cursor is None or (cursor.replica, cursor.chain) != (replica, chain):
            _close(cursor, report)
            cursor = self._cursor = _Cursor(replica, chain, seq, self.keys)
            report.chains += 1
        for reason in _check(cursor, row, self.public_key):
            if len(report.problems) < MAX_PROBLEMS:
                report.problems.append(Problem(replica, seq, reason))
        cursor.key = ratchet(cursor.key) if cursor.key else None
        cursor.prev_mac, cursor.last_seq, cursor.last_kind = bytes(row["mac"]), seq, row["kind"]
        report.checked += 1
        report.checkpoints += row["kind"] == CHECKPOINT

    def finish(self) -> VerifyReport:
        _close(self._cursor, self.report)
        self._cursor = None
        return self.report


def verify_chain(rows: Iterable[Any], keys: AuditKeys | None = None,
                 public_key: Ed25519PublicKey | None = None) -> VerifyReport:
    """Check rows ordered by (replica, seq); rows are mappings with the audit_log columns."""
    verifier = Verifier(keys, public_key)
    for row in rows:
        verifier.feed(row)
    return verifier.finish()


def _check(cursor: _Cursor, row: Any, public_key: Ed25519PublicKey | None) -> list[str]:
    seq, kind, mac, prev = row["seq"], row["kind"], bytes(row["mac"]), bytes(row["prev_mac"])
    problems = []
    if seq != cursor.last_seq + 1:
        missing = seq - cursor.last_seq - 1
        problems.append(f"{missing} record(s) missing before it" if missing > 0
                        else "out of order or duplicated")
    if (seq == cursor.chain) != (kind == CHAIN_START):
        problems.append("chain start marker misplaced")
    if cursor.prev_mac is not None and prev != cursor.prev_mac:
        problems.append("does not link to the previous record")
    payload = canonical([row[c] for c in _MACED])
    if cursor.key and seal_mac(cursor.key, prev, payload) != mac:
        problems.append("MAC mismatch (record altered)")
    if kind in SIGNED_KINDS and public_key is not None:
        try:
            public_key.verify(bytes(row["signature"] or b""), signed_bytes(payload, mac))
        except InvalidSignature:
            problems.append(f"{kind} signature invalid")
    return problems


def _close(cursor: _Cursor | None, report: VerifyReport) -> None:
    if cursor is not None and cursor.last_kind != CHAIN_END:
        report.open_chains.append((cursor.replica, cursor.chain, cursor.last_seq))

