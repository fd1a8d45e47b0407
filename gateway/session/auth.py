"""SCRAM-SHA-256 client authentication against the principals of the rules file (via scramp).

The gateway never uses the database's passwords: a principal's secret is either a
PostgreSQL-format SCRAM verifier in the rules file or a password in an environment
variable, from which a verifier is derived once per process.
"""

from __future__ import annotations

import base64
import functools
import os
import re
from dataclasses import dataclass

from scramp import ScramException, ScramMechanism

from gateway.policy.model import Principal
from gateway.protocol import codes
from gateway.protocol.errors import GatewayError, ProtocolError, fatal
from gateway.protocol.messages import Authentication, PasswordMessage, sasl_initial_response

MECHANISM = "SCRAM-SHA-256"
MECHANISM_PLUS = "SCRAM-SHA-256-PLUS"
_VERIFIER = re.compile(r"^SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):(.+)$")
# Salt for verifiers derived from password_env: fixed per process so the PBKDF2 work is
# done once per password, random so it is never the same across deployments.
_PROCESS_SALT = os.urandom(16)

AuthInfo = tuple[bytes, bytes, bytes, int]  # salt, StoredKey, ServerKey, iterations


def parse_verifier(verifier: str) -> AuthInfo:
    """'SCRAM-SHA-256$<iter>:<salt>$<StoredKey>:<ServerKey>' -> scramp auth info."""
    match = _VERIFIER.match(verifier.strip())
    if not match:
        raise ValueError("not a SCRAM-SHA-256 verifier")
    iterations, salt, stored, server = match.groups()
    b64 = base64.b64decode
    return b64(salt), b64(stored), b64(server), int(iterations)


def make_verifier(password: str, iterations: int = 4096) -> str:
    """A PostgreSQL-format SCRAM-SHA-256 verifier for a password (for rules files)."""
    salt, stored, server, i = ScramMechanism().make_auth_info(password, iteration_count=iterations)
    b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731
    return f"SCRAM-SHA-256${i}:{b64(salt)}${b64(stored)}:{b64(server)}"


@functools.lru_cache(maxsize=256)
def _derived(password: str) -> AuthInfo:
    return ScramMechanism().make_auth_info(password, salt=_PROCESS_SALT)


def auth_info(principal: Principal | None) -> AuthInfo | None:
    """The principal's SCRAM secret, or None when it has none (unknown or unset variable)."""
    if principal is None:
        return None
    if principal.password:
        try:
            return parse_verifier(principal.password)
        except ValueError:
            return None
    password = os.environ.get(principal.password_env or "")
    return _derived(password) if password else None


@functools.lru_cache(maxsize=1)
def _decoy() -> AuthInfo:
    # Unknown principals go through the same exchange and fail at the end, so a client
    # cannot tell a wrong name from a wrong password.
    return ScramMechanism().make_auth_info(os.urandom(16).hex())


@dataclass
class ScramExchange:
    """One SCRAM exchange with a client: feed PasswordMessages, get Authentication replies."""

    user: str
    info: AuthInfo | None
    channel_binding: str | None = None  # our certificate (PEM) when the client uses TLS
    _server: object = None
    done: bool = False

    def start(self) -> Authentication:
        mechanisms = [MECHANISM_PLUS, MECHANISM] if self.channel_binding else [MECHANISM]
        return Authentication.sasl(mechanisms)

    def step(self, msg: PasswordMessage) -> Authentication:
        """Advance the exchange; raises the FATAL error that ends the connection on failure."""
        try:
            if self._server is None:
                return self._first(msg)
            return self._final(msg)
        except (ScramException, UnicodeDecodeError, ProtocolError):
            raise self.failure() from None

    def _first(self, msg: PasswordMessage) -> Authentication:
        mechanism, data = sasl_initial_response(msg)
        if mechanism == MECHANISM_PLUS and self.channel_binding:
            binding = ("tls-server-end-point", self.channel_binding)
            self._server = ScramMechanism(MECHANISM_PLUS).make_server(self._lookup, binding)
        elif mechanism == MECHANISM:
            self._server = ScramMechanism(MECHANISM).make_server(self._lookup)
        else:
            raise fatal("protocol_violation", f"SASL mechanism {mechanism!r} is not supported")
        client_first = (data or b"").decode("utf-8")
        header, sep, bare = client_first.partition(",n=,")
        if sep:
            # PostgreSQL clients leave the SCRAM user name empty (the startup packet names
            # the user) and scramp refuses an empty one: give it a placeholder, then sign
            # over the bare message the client really sent.
            self._server.set_client_first(f"{header},n=*,{bare}")
            self._server.client_first_bare = f"n=,{bare}"
        else:
            self._server.set_client_first(client_first)
        return Authentication(codes.AUTH_SASL_CONTINUE,
                              self._server.get_server_first().encode())

    def _final(self, msg: PasswordMessage) -> Authentication:
        self._server.set_client_final(msg.data.decode("utf-8"))
        if self.info is None:
            raise self.failure()
        self.done = True
        return Authentication(codes.AUTH_SASL_FINAL, self._server.get_server_final().encode())

    def _lookup(self, _scram_user: str) -> AuthInfo:
        # PostgreSQL clients leave the SCRAM user name empty; the startup user counts.
        return self.info or _decoy()

    def failure(self) -> GatewayError:
        return fatal("invalid_password", f'password authentication failed for user "{self.user}"')
