"""The MAC chain (sans-IO): seals records in order with a key that ratchets forward.

Record i carries mac_i = HMAC(k_i, prev_mac || canonical(record_i)) and k_{i+1} = H(k_i);
k_i is forgotten once used, so a key taken from a running gateway cannot re-seal earlier
records. Checkpoints and end markers are also signed with Ed25519, so anyone holding the
public key can check them, and truncation shows as a chain without its end marker.
"""

from __future__ import annotations

import hashlib
import hmac

from gateway.audit.keys import AuditKeys
from gateway.audit.record import (
    CHAIN_END,
    CHAIN_START,
    CHECKPOINT,
    COLUMNS,
    SIGNED_KINDS,
    AuditRecord,
    body,
    canonical,
    objects_text,
)

GENESIS = bytes(32)
OBJECTS = COLUMNS.index("objects")


def ratchet(key: bytes) -> bytes:
    return hashlib.sha256(b"privacy-gateway ratchet\0" + key).digest()


def seal_mac(key: bytes, prev_mac: bytes, payload: bytes) -> bytes:
    return hmac.new(key, prev_mac + payload, hashlib.sha256).digest()


def signed_bytes(payload: bytes, mac: bytes) -> bytes:
    return payload + mac


class Chain:
    """One replica's chain from one start; `chain` is the seq of its start record."""

    def __init__(self, keys: AuditKeys, replica: str, chain: int) -> None:
        self.keys, self.replica, self.chain = keys, replica, chain
        self._key = keys.chain_key(replica, chain)
        self._prev = GENESIS
        self.last_seq = chain - 1
        self.since_checkpoint = 0

    def seal(self, seq: int, record: AuditRecord) -> tuple:
        """The full row for record `seq` (must be the next one)."""
        if seq != self.last_seq + 1:
            raise ValueError(f"audit chain: expected seq {self.last_seq + 1}, got {seq}")
        values = [self.replica, seq, self.chain, *body(record)]
        values[OBJECTS] = objects_text(values[OBJECTS])  # stored as this text, too
        payload = canonical(values, objects_ready=True)
        mac = seal_mac(self._key, self._prev, payload)
        signature = (self.keys.signing.sign(signed_bytes(payload, mac))
                     if record.kind in SIGNED_KINDS else None)
        row = (*values, self._prev, mac, signature)
        self._key, self._prev, self.last_seq = ratchet(self._key), mac, seq
        self.since_checkpoint = 0 if record.kind == CHECKPOINT else self.since_checkpoint + 1
        return row


def start_record(reason: str) -> AuditRecord:
    return AuditRecord(kind=CHAIN_START, decision="chain", reason=reason)


def checkpoint_record(count: int) -> AuditRecord:
    return AuditRecord(kind=CHECKPOINT, decision="chain", rows=count)


def end_record(reason: str) -> AuditRecord:
    return AuditRecord(kind=CHAIN_END, decision="chain", reason=reason)
