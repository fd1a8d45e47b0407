"""Audit keys: the MAC chain root and the Ed25519 checkpoint key, derived from one secret."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

log = logging.getLogger(__name__)


class AuditKeyError(Exception):
    """The audit secret is missing where it is required (message names the variable)."""


def _hkdf(secret: bytes, label: bytes) -> bytes:
    return HKDF(algorithm=SHA256(), length=32, salt=b"privacy-gateway audit",
                info=label).derive(secret)


@dataclass(frozen=True)
class AuditKeys:
    """Keys derived from the audit secret; `generated` marks a throw-away dev key."""

    mac_root: bytes
    signing: Ed25519PrivateKey
    generated: bool = False

    @classmethod
    def derive(cls, secret: str | bytes, generated: bool = False) -> AuditKeys:
        raw = secret.encode() if isinstance(secret, str) else secret
        if len(raw) < 16:
            raise AuditKeyError("audit secret: need at least 16 bytes")
        signing = Ed25519PrivateKey.from_private_bytes(_hkdf(raw, b"checkpoint signing"))
        return cls(_hkdf(raw, b"mac chain root"), signing, generated)

    def chain_key(self, replica: str, chain: int) -> bytes:
        """First key of one chain; each record's key is the previous one ratcheted."""
        label = f"chain\0{replica}\0{chain}".encode()
        return hmac.new(self.mac_root, label, hashlib.sha256).digest()

    @property
    def public(self) -> Ed25519PublicKey:
        return self.signing.public_key()

    def public_hex(self) -> str:
        raw = self.public.public_bytes(serialization.Encoding.Raw,
                                       serialization.PublicFormat.Raw)
        return raw.hex()


def from_config(config, strict: bool) -> AuditKeys:
    """Keys from the variable named by keys.audit_signing_key_env.

    Strict durability refuses to start without it; otherwise a random key is generated
    and the log says so, because records written under it cannot be verified later.
    """
    env = (config.values.get("keys") or {}).get("audit_signing_key_env")
    secret = config.secret(env)
    if secret:
        return AuditKeys.derive(secret)
    if strict:
        raise AuditKeyError(f"audit: {env or 'keys.audit_signing_key_env'} is not set;"
                            " strict audit needs a signing secret")
    log.warning("audit: %s is not set; using a generated key for this run only"
                " (records cannot be verified after a restart)", env)
    return AuditKeys.derive(secrets.token_bytes(32), generated=True)
