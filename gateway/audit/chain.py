"""The MAC chain (sans-IO): seals records in order with a key that ratchets forward.

Record i carries mac_i = HMAC(k_i, prev_mac || canonical(record_i)) and k_{i+1} = H(k_i);
k_i is forgotten once used, so a key taken from a running gateway cannot re-seal earlier
records. Checkpoints and end markers are also signed with Ed25519, so anyone holding the
public key can check them, and truncation shows as a chain without its end marker.
"""

from __future__ import annotations

import hashlib
import math

from gateway import compiled
from gateway.audit.keys import AuditKeys
from gateway.audit.record import (
    CHAIN_END,
    CHAIN_START,
    CHECKPOINT,
    KIND_JSON,
    SIGNED_KINDS,
    AuditRecord,
    Entry,
    canonical_json,
    entry,
    from_micros,
)

GENESIS = bytes(32)
_RATCHET_PREFIX = b"privacy-gateway ratchet\0"
_RATCHET = hashlib.sha256(_RATCHET_PREFIX)  # copied: the prefix is hashed once
_PLAIN = (int, type(None))
_PARTS = 4096  # encoded who/shape/objects/tail parts kept per chain
# HMAC-SHA256 (see seal_mac): the block size, and the key's XOR with each pad as a table
_BLOCK = 64
_IPAD = bytes(b ^ 0x36 for b in range(256))
_OPAD = bytes(b ^ 0x5C for b in range(256))
_sha256 = hashlib.sha256


def _number(value: float | None) -> str:
    """JSON of duration_ms as the encoder writes it (repr for a finite float)."""
    if type(value) is float and math.isfinite(value):
        return repr(value)
    return canonical_json(value)


def ratchet(key: bytes) -> bytes:
    h = _RATCHET.copy()
    h.update(key)
    return h.digest()


def seal_mac(key: bytes, prev_mac: bytes, payload: bytes) -> bytes:
    """HMAC-SHA256(key, prev_mac || payload), RFC 2104 spelt out with two SHA-256 calls,
    as the standard library's own hmac.HMAC builds it. hmac.digest goes to OpenSSL 3's
    one-shot HMAC, which sets up a MAC context per call: 2.7 against 1.7 µs for a
    record, on every statement (tests hold the two equal, keys of every length)."""
    if len(key) > _BLOCK:
        key = _sha256(key).digest()
    block = key.ljust(_BLOCK, b"\0")
    inner = _sha256(block.translate(_IPAD) + prev_mac + payload).digest()
    return _sha256(block.translate(_OPAD) + inner).digest()


def mac_chain(key: bytes, prev: bytes, payloads: list[bytes]) -> tuple[list[bytes], bytes]:
    """(MACs, next key) of payloads sealed in order from key and the MAC before them:
    each payload's seal_mac, the key ratcheted after each. The Python twin of
    gateway/audit/macs.pyx, which is taken where it is built."""
    macs = []
    for payload in payloads:
        prev = seal_mac(key, prev, payload)
        key = ratchet(key)
        macs.append(prev)
    return macs, key


_macs = compiled.load("gateway.audit.macs")
_mac_chain = (mac_chain if _macs is None else
              lambda key, prev, payloads: _macs.mac_chain(key, prev, payloads, _RATCHET_PREFIX))


def signed_bytes(payload: bytes, mac: bytes) -> bytes:
    return payload + mac


# Sealing a batch in one compiled pass (the twin of Chain.seal_entries below)
_batch = compiled.load("gateway.audit.batch")


class Chain:
    """One replica's chain from one start; `chain` is the seq of its start record."""

    def __init__(self, keys: AuditKeys, replica: str, chain: int) -> None:
        self.keys, self.replica, self.chain = keys, replica, chain
        self._key = keys.chain_key(replica, chain)
        self._prev = GENESIS
        self.last_seq = chain - 1
        self.since_checkpoint = 0
        self._replica_json = canonical_json(replica)
        self._parts: dict[tuple | str, str] = {}

    def seal(self, seq: int, record: AuditRecord) -> tuple:
        """The full row for record `seq` (must be the next one), as read back from the
        database (audit_log COLUMNS order)."""
        return row(self.seal_entry(seq, entry(record)))

    def seal_entry(self, seq: int, item: Entry) -> Sealed:
        """Seal the entry numbered `seq` (must be the next one); see seal_entries."""
        return self.seal_entries([(seq, item)])[0]

    def seal_entries(self, numbered: list[tuple[int, Entry | None]]) -> list[Sealed]:
        """Seal entries numbered in order from the next seq: each (replica, seq, chain,
        entry, prev_mac, mac, signature); `row()` spells one out in COLUMNS order. None in
        place of an entry is a checkpoint of the records sealed since the last one.

        The MAC covers record.canonical() of the row; it is assembled here from parts
        encoded once per distinct who, shape and objects (the same bytes, see tests).
        The whole batch is hashed in one call (mac_chain); nothing changes before every
        seq has been checked. Compiled where built (gateway/audit/batch.pyx).
        """
        if _batch is not None:
            return _batch.seal_entries(self, numbered, KIND_JSON, checkpoint_entry,
                                       _RATCHET_PREFIX)
        return self.python_seal_entries(numbered)

    def python_seal_entries(self, numbered: list[tuple[int, Entry | None]]) -> list[Sealed]:
        """seal_entries in Python: the reference, and the path where nothing is built."""
        expected, since = self.last_seq + 1, self.since_checkpoint
        items, payloads = [], []
        for seq, item in numbered:
            if seq != expected:
                raise ValueError(f"audit chain: expected seq {expected}, got {seq}")
            if item is None:
                item = checkpoint_entry(since)
            since = 0 if item[0] == CHECKPOINT else since + 1
            items.append(item)
            payloads.append(self._payload(seq, item))
            expected += 1
        macs, key = _mac_chain(self._key, self._prev, payloads)
        sealed, prev, sign = [], self._prev, self.keys.signing.sign
        for (seq, _), item, payload, mac in zip(numbered, items, payloads, macs, strict=True):
            signature = (sign(signed_bytes(payload, mac)) if item[0] in SIGNED_KINDS
                         else None)
            sealed.append((self.replica, seq, self.chain, item, prev, mac, signature))
            prev = mac
        self._key, self._prev, self.last_seq = key, prev, expected - 1
        self.since_checkpoint = since
        return sealed

    def _payload(self, seq: int, item: Entry) -> bytes:
        """record.canonical() of the entry's row, from parts encoded once."""
        kind, us, who, shape, objects, rows, subjects, decision, reason, duration, sqlstate = item
        parts, part = self._parts, self._part
        counts = (rows, subjects, decision, reason)  # repeat: encoded once per combination
        # as dict keys 1 == 1.0 == True: only ints and None are looked up
        plain = type(rows) in _PLAIN and type(subjects) in _PLAIN
        counts_json = (parts.get(counts) or part(counts)) if plain else (
            canonical_json(counts)[1:-1])
        return (f"[{self._replica_json},{seq},{self.chain},{KIND_JSON[kind]},{us},"
                f"{parts.get(who) or part(who)},{parts.get(shape) or part(shape)},"
                f"{parts.get(objects) or part(objects, whole=True)},"
                f"{counts_json},{_number(duration)},"
                f"{parts.get(sqlstate) or part(sqlstate, whole=True)}]").encode()

    def _part(self, value: tuple | str | None, whole: bool = False) -> str:
        """JSON of a value as it appears inside the record's array (a tuple: its items)."""
        text = canonical_json(value) if whole else canonical_json(value)[1:-1]
        if len(self._parts) >= _PARTS:
            self._parts.clear()
        self._parts[value] = text
        return text


Sealed = tuple  # (replica, seq, chain, entry, prev_mac, mac, signature)


def row(sealed: Sealed) -> tuple:
    """A sealed entry as an audit_log row (COLUMNS order, ts a datetime)."""
    replica, seq, chain, (kind, us, who, shape, *rest), prev, mac, signature = sealed
    return (replica, seq, chain, kind, from_micros(us), *who, *shape, *rest, prev, mac,
            signature)


def start_record(reason: str) -> AuditRecord:
    return AuditRecord(kind=CHAIN_START, decision="chain", reason=reason)


def checkpoint_record(count: int) -> AuditRecord:
    return AuditRecord(kind=CHECKPOINT, decision="chain", rows=count)


def checkpoint_entry(count: int) -> Entry:
    """The entry of a checkpoint after `count` records (sealed in place of a None)."""
    return entry(checkpoint_record(count))


def end_record(reason: str) -> AuditRecord:
    return AuditRecord(kind=CHAIN_END, decision="chain", reason=reason)
