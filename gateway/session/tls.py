"""TLS for client connections over memory BIOs, so the core decides when TLS begins.

A memory-BIO layer (rather than the transport's start_tls) lets the gateway take over a
connection whose first bytes were already read: PostgreSQL 17+ clients may open with a
TLS ClientHello directly ("direct SSL"), and SSLRequest must be answered before TLS.
"""

from __future__ import annotations

import contextlib
import ssl
from pathlib import Path

from cryptography import x509

_READ_CHUNK = 256 * 1024


def server_context(cert: str, key: str) -> ssl.SSLContext:
    """A server context for the gateway's certificate, TLS 1.2+, ALPN 'postgresql' offered."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    context.set_alpn_protocols(["postgresql"])
    return context


def certificate_pem(cert: str) -> str:
    """The first certificate of the file as PEM text (for SCRAM channel binding)."""
    loaded = x509.load_pem_x509_certificates(Path(cert).read_bytes())[0]
    from cryptography.hazmat.primitives.serialization import Encoding

    return loaded.public_bytes(Encoding.PEM).decode("ascii")


class TlsLayer:
    """One server-side TLS connection: ciphertext in/out, plaintext in/out."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self._in = ssl.MemoryBIO()
        self._out = ssl.MemoryBIO()
        self._tls = context.wrap_bio(self._in, self._out, server_side=True)
        self.handshaken = False
        self.closed = False

    def receive(self, data: bytes) -> tuple[bytes, bool]:
        """Feed ciphertext; returns (plaintext, handshake finished just now)."""
        self._in.write(data)
        finished = False
        if not self.handshaken:
            try:
                self._tls.do_handshake()
            except ssl.SSLWantReadError:
                return b"", False
            self.handshaken = finished = True
        return self._read_plaintext(), finished

    def _read_plaintext(self) -> bytes:
        chunks = []
        while True:
            try:
                chunk = self._tls.read(_READ_CHUNK)
            except ssl.SSLWantReadError:
                break
            except ssl.SSLZeroReturnError:
                self.closed = True
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)

    def send(self, plaintext: bytes | bytearray) -> None:
        """Encrypt plaintext for the client (collect it with `ciphertext`)."""
        view = memoryview(plaintext)
        while view:
            written = self._tls.write(view)
            view = view[written:]

    def ciphertext(self) -> bytes:
        """Everything TLS wants sent to the client now (handshake records included)."""
        return self._out.read()

    def shutdown(self) -> None:
        """Queue TLS close_notify (best effort: the connection closes anyway)."""
        if self.handshaken:
            with contextlib.suppress(ssl.SSLError):
                self._tls.unwrap()

    @property
    def alpn(self) -> str | None:
        return self._tls.selected_alpn_protocol()
