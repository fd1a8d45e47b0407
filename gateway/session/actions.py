"""What the session core asks its asyncio shell to do, besides sending bytes."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class StartTLS:
    """Answer 'S' was queued (or the client opened with TLS): wrap the client connection.

    `initial` holds client bytes already read that belong to the TLS handshake (direct
    TLS, PostgreSQL 17+), `direct` says the ALPN must be 'postgresql'.
    """

    initial: bytes = b""
    direct: bool = False


@dataclass(frozen=True)
class ConnectUpstream:
    """Authentication succeeded: open the upstream connection with these startup params."""

    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CancelUpstream:
    """A CancelRequest arrived: find the session by its key and cancel its upstream query."""

    pid: int
    key: bytes


@dataclass(frozen=True)
class Close:
    """Flush what is queued for the client, then close both connections."""

    reason: str = ""


Action = StartTLS | ConnectUpstream | CancelUpstream | Close
