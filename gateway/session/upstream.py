"""The gateway's own connection to the upstream database: DSN, startup and authentication.

`Handshake` is sans-IO: feed it the server's bytes, send what it returns, until `ready`.
It answers trust, cleartext, md5 and SCRAM-SHA-256 with the gateway's own role.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit

from scramp import ScramClient, ScramException

from gateway.protocol import codes
from gateway.protocol.buffer import cstr, i32
from gateway.protocol.errors import GatewayError, ProtocolError, fatal
from gateway.protocol.framing import split
from gateway.protocol.messages import (
    Authentication,
    BackendKeyData,
    ErrorResponse,
    ParameterStatus,
    PasswordMessage,
    decode,
)
from gateway.protocol.startup import StartupMessage

# Startup parameters a client may pass through to the upstream server.
FORWARDED_PARAMS = ("application_name", "client_encoding", "DateStyle", "TimeZone",
                    "options", "extra_float_digits", "IntervalStyle", "search_path",
                    "standard_conforming_strings")


@dataclass(frozen=True)
class Upstream:
    """Where and as whom the gateway connects upstream."""

    host: str = "127.0.0.1"
    port: int = 5432
    user: str = "postgres"
    database: str = "postgres"
    password: str | None = None
    sslmode: str = "prefer"  # disable | prefer | require

    @property
    def unix_socket(self) -> str | None:
        return f"{self.host}/.s.PGSQL.{self.port}" if self.host.startswith("/") else None

    def dsn(self, database: str | None = None) -> str:
        """A libpq URL for the gateway's own side connections (asyncpg)."""
        auth = self.user + (f":{self.password}" if self.password else "")
        host = self.host if not self.host.startswith("/") else ""
        query = f"?host={self.host}" if self.host.startswith("/") else ""
        return f"postgresql://{auth}@{host}:{self.port}/{database or self.database}{query}"


def parse_dsn(dsn: str, password_env: str | None = None) -> Upstream:
    """Parse a postgresql:// URL or key=value DSN; the password may come from password_env."""
    if "://" in dsn:
        parts = urlsplit(dsn)
        query = dict(parse_qsl(parts.query))
        values = {
            "host": unquote(parts.hostname or "") or query.get("host", "127.0.0.1"),
            "port": str(parts.port or query.get("port", 5432)),
            "user": unquote(parts.username or "") or query.get("user", "postgres"),
            "dbname": parts.path.lstrip("/") or query.get("dbname", ""),
            "password": unquote(parts.password) if parts.password else query.get("password"),
            "sslmode": query.get("sslmode", "prefer"),
        }
    else:
        values = dict(item.split("=", 1) for item in dsn.split() if "=" in item)
    user = values.get("user") or "postgres"
    password = values.get("password") or (os.environ.get(password_env) if password_env else None)
    sslmode = values.get("sslmode") or "prefer"
    if sslmode not in ("disable", "allow", "prefer", "require", "verify-ca", "verify-full"):
        raise ValueError(f"unknown sslmode {sslmode!r}")
    return Upstream(host=values.get("host") or "127.0.0.1", port=int(values.get("port") or 5432),
                    user=user, database=values.get("dbname") or user, password=password,
                    sslmode=sslmode)


@dataclass
class Handshake:
    """Startup and authentication of one upstream connection, sans-IO."""

    upstream: Upstream
    client_params: dict[str, str]
    statuses: list[ParameterStatus] = field(default_factory=list)
    key: BackendKeyData | None = None
    ready: bool = False
    _buf: bytearray = field(default_factory=bytearray)
    _scram: ScramClient | None = None

    def start(self) -> bytes:
        params = {k: v for k, v in self.client_params.items() if k in FORWARDED_PARAMS}
        params.update(user=self.upstream.user, database=self.upstream.database)
        return StartupMessage(params).encode()

    def feed(self, data: bytes) -> tuple[bytes, bytes]:
        """(bytes to send upstream, bytes that arrived after ReadyForQuery)."""
        self._buf += data
        found, pos = split(self._buf)
        out = []
        for i, (type_byte, start, end) in enumerate(found):
            msg = decode(bytes([type_byte]), self._buf[start + 5:end], backend=True)
            out.append(self._on(msg))
            if self.ready:
                rest = bytes(self._buf[end:])
                self._buf.clear()
                del found[i + 1:]
                return b"".join(out), rest
        del self._buf[:pos]
        return b"".join(out), b""

    def _on(self, msg: object) -> bytes:
        if isinstance(msg, Authentication):
            return self._auth(msg)
        if isinstance(msg, ParameterStatus):
            self.statuses.append(msg)
        elif isinstance(msg, BackendKeyData):
            self.key = msg
        elif isinstance(msg, ErrorResponse):
            raise fatal("connection_failure", f"upstream refused the connection: {msg.get('M')}")
        elif getattr(msg, "TYPE", b"") == codes.READY_FOR_QUERY:
            self.ready = True
        return b""

    def _auth(self, msg: Authentication) -> bytes:
        code, password = msg.code, self.upstream.password or ""
        if code == codes.AUTH_OK:
            return b""
        if code == codes.AUTH_CLEARTEXT:
            return PasswordMessage(cstr(password)).encode()
        if code == codes.AUTH_MD5:
            inner = hashlib.md5((password + self.upstream.user).encode()).hexdigest()
            outer = hashlib.md5(inner.encode() + msg.data).hexdigest()
            return PasswordMessage(cstr("md5" + outer)).encode()
        try:
            return self._sasl(msg, password)
        except ScramException as exc:
            raise fatal("connection_failure", f"upstream authentication failed: {exc}") from None

    def _sasl(self, msg: Authentication, password: str) -> bytes:
        if msg.code == codes.AUTH_SASL:
            if "SCRAM-SHA-256" not in msg.mechanisms():
                raise fatal("connection_failure", "upstream offers no supported SASL mechanism")
            self._scram = ScramClient(["SCRAM-SHA-256"], self.upstream.user, password)
            first = self._scram.get_client_first().encode()
            return PasswordMessage(cstr("SCRAM-SHA-256") + i32(len(first)) + first).encode()
        if self._scram is None:
            raise ProtocolError("SASL message before SASL start")
        if msg.code == codes.AUTH_SASL_CONTINUE:
            self._scram.set_server_first(msg.data.decode())
            return PasswordMessage(self._scram.get_client_final().encode()).encode()
        if msg.code == codes.AUTH_SASL_FINAL:
            self._scram.set_server_final(msg.data.decode())
            return b""
        raise fatal("connection_failure",
                    f"upstream asks for unsupported authentication {msg.code}")


def upstream_error(exc: BaseException | str) -> GatewayError:
    """The 08006 error a client sees when the upstream database cannot be reached."""
    return fatal("connection_failure", f"upstream database unavailable: {exc}")
