"""A real gateway for black-box tests, served from its own thread and event loop."""

from __future__ import annotations

import asyncio
import datetime as dt
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from gateway import config
from gateway.app import Gateway


class GatewayThread:
    """Starts a Gateway on 127.0.0.1 (free port) in a thread; `call` runs code in its loop."""

    def __init__(self, overrides: dict[str, Any]) -> None:
        spool = str(Path(tempfile.mkdtemp(prefix="pgw-spool-")) / "audit-spool")
        self.config = config.load(None, {"listen": "127.0.0.1:0", "admin": None,
                                         "audit_spool": spool, **overrides}, environ={})
        self.gateway = Gateway(self.config)
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.host, self.port = "", 0

    def start(self) -> GatewayThread:
        self._thread.start()
        self.host, self.port = self.call(self.gateway.start)
        return self

    def call(self, fn: Callable[..., Any], *args: Any, timeout: float = 30) -> Any:
        """Run fn (sync or async) inside the gateway's loop and return its result."""
        async def runner() -> Any:
            result = fn(*args)
            return await result if asyncio.iscoroutine(result) else result

        return asyncio.run_coroutine_threadsafe(runner(), self.loop).result(timeout)

    def stop(self) -> None:
        self.call(self.gateway.stop)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)


def self_signed(folder: Path) -> tuple[str, str]:
    """A throw-away certificate and key for 127.0.0.1 / localhost."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), False)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "gateway.crt", folder / "gateway.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_file), str(key_file)
