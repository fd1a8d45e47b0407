"""The listener: accepts clients, opens upstream connections, routes cancel requests."""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from dataclasses import dataclass

from gateway.audit.statement import describe
from gateway.metrics import metric
from gateway.protocol.errors import GatewayError, fatal
from gateway.protocol.startup import CancelRequest
from gateway.session.accounting import SessionAccounting
from gateway.session.connection import (
    ClientConnection,
    UpstreamConnection,
    send_cancel,
    ssl_request,
)
from gateway.session.core import Session, SessionConfig
from gateway.session.results import Run
from gateway.session.upstream import Handshake, Upstream

log = logging.getLogger("gateway.server")
SHUTDOWN_MESSAGE = "terminating connection: the gateway is shutting down"


@dataclass
class Limits:
    max_clients: int = 500
    startup_timeout: float = 10.0
    idle_timeout: float = 0.0  # 0 = sessions may idle for ever
    connect_timeout: float = 10.0


class Listener:
    """Accepts PostgreSQL clients on one address and serves each with a session."""

    def __init__(self, session_config: SessionConfig, upstream: Upstream, limits: Limits,
                 tls_context: ssl.SSLContext | None = None) -> None:
        self.session_config = session_config
        self.upstream = upstream
        self.limits = limits
        self.tls_context = tls_context
        self.loop = asyncio.get_running_loop()
        self.clients: set[ClientConnection] = set()
        self._by_key: dict[tuple[int, bytes], ClientConnection] = {}
        self._server: asyncio.AbstractServer | None = None
        self._sweeper: asyncio.Task | None = None
        self.accountant: SessionAccounting | None = None  # audit + metering, when on
        self.strict = False  # completions wait until their audit records are durable

    @property
    def startup_timeout(self) -> float:
        return self.limits.startup_timeout

    async def start(self, host: str, port: int) -> tuple[str, int]:
        """Listen; returns the bound address (port 0 picks a free one)."""
        self._server = await self.loop.create_server(
            lambda: ClientConnection(self), host, port, reuse_address=True, backlog=1024)
        self._sweeper = self.loop.create_task(self._sweep_idle())
        return self._server.sockets[0].getsockname()[:2]

    async def stop(self, drain: float = 0.0) -> None:
        """Stop accepting; end each session once its running statement is done (at most
        `drain` seconds), then end the rest."""
        if self._server:
            self._server.close()
        if self._sweeper:
            self._sweeper.cancel()
        deadline = self.loop.time() + drain
        while True:
            for client in list(self.clients):
                if not client.session.busy or self.loop.time() >= deadline:
                    client.terminate("57P01", SHUTDOWN_MESSAGE)
            if not self.clients or self.loop.time() >= deadline:
                break
            await asyncio.sleep(0.05)
        if self._server:
            await self._server.wait_closed()

    # -- session bookkeeping

    def admit(self, client: ClientConnection) -> bool:
        if len(self.clients) >= self.limits.max_clients:
            return False
        self.clients.add(client)
        metric("sessions").inc()
        return True

    def forget(self, client: ClientConnection) -> None:
        if client in self.clients:
            self.clients.discard(client)
            metric("sessions").dec()
        key = client.session.key if client.session else None
        if key is not None:
            self._by_key.pop((key.pid, key.key), None)

    def register_key(self, client: ClientConnection) -> None:
        key = client.session.key
        if key is not None:
            self._by_key[(key.pid, key.key)] = client

    def terminate_principal(self, principal: str, message: str = "access suspended") -> int:
        """End every live session of a principal (containment); returns how many."""
        victims = [c for c in self.clients
                   if c.session.principal and c.session.principal.name == principal]
        for client in victims:
            client.terminate("57P01", message)
        return len(victims)

    def account(self, session: Session) -> int:
        """Hand finished statements and logins to audit and metering; the last audit seq."""
        tracker = session.tracker
        runs, batches, logins = tracker.finished, tracker.batches, session.logins
        # new lists only for what is handed over (most replies finish one statement)
        if runs:
            tracker.finished = []
        if batches:
            tracker.batches = []
        if logins:
            session.logins = []
        for run in runs:
            session.rows += run.rows
            if run.misses:  # the result stream caught what the rewrite let through
                _rewrite_miss(session, run)
        if self.accountant is None:
            return 0
        for run, subjects in batches:
            self.accountant.exposure(session, run, subjects)
        seq = 0
        for ok, reason in logins:
            seq = self.accountant.login(session, ok, reason)
        if runs:
            seq = self.accountant.statements(session, runs)
        return seq

    async def durable(self, seq: int) -> None:
        await self.accountant.accounting.auditor.durable(seq)

    # -- upstream

    async def open_upstream(self, client: ClientConnection,
                            params: dict[str, str]) -> UpstreamConnection:
        """Connect, negotiate TLS as configured, and finish the upstream handshake."""
        up = self.upstream
        handshake = Handshake(up, params)
        connection = UpstreamConnection(client, handshake)
        sock = await asyncio.wait_for(self._connect_socket(), self.limits.connect_timeout)
        tls = await asyncio.wait_for(self._negotiate_tls(sock), self.limits.connect_timeout)
        await self.loop.create_connection(lambda: connection, sock=sock, ssl=tls,
                                          server_hostname=up.host if tls else None)
        return await asyncio.wait_for(connection.done, self.limits.connect_timeout)

    async def _connect_socket(self) -> socket.socket:
        up = self.upstream
        if up.unix_socket:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            address: object = up.unix_socket
        else:
            info = await self.loop.getaddrinfo(up.host, up.port, type=socket.SOCK_STREAM)
            family, _, _, _, address = info[0]
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(False)
        try:
            await self.loop.sock_connect(sock, address)
        except BaseException:
            sock.close()
            raise
        return sock

    async def _negotiate_tls(self, sock: socket.socket) -> ssl.SSLContext | None:
        mode = self.upstream.sslmode
        if mode in ("disable", "allow") or self.upstream.unix_socket:
            return None
        await self.loop.sock_sendall(sock, ssl_request())
        answer = await self.loop.sock_recv(sock, 1)
        if answer == b"S":
            context = ssl.create_default_context()
            if mode in ("prefer", "require"):  # libpq's meaning: encrypt, do not verify
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            return context
        if mode == "prefer" and answer == b"N":
            return None
        sock.close()
        raise fatal("connection_failure", "upstream database does not accept TLS")

    def cancel(self, pid: int, key: bytes) -> None:
        """Forward a client's CancelRequest to the upstream backend of its session."""
        client = self._by_key.get((pid, key))
        upstream_key = client.session.upstream_key if client else None
        if upstream_key is None:
            return  # unknown keys are ignored, as PostgreSQL does
        up = self.upstream
        request = CancelRequest(upstream_key.pid, upstream_key.key)
        task = self.loop.create_task(send_cancel(up.host, up.port, up.unix_socket, request))
        task.add_done_callback(_log_failure)

    async def _sweep_idle(self) -> None:
        # One timer for all sessions, no clock read per message: a session is idle when
        # its round trips have not moved between sweeps, out of any transaction.
        seen: dict[ClientConnection, tuple[int, float]] = {}
        while True:
            await asyncio.sleep(1.0)
            limit, now = self.limits.idle_timeout, self.loop.time()
            if not limit:
                continue
            for client in list(self.clients):
                session = client.session
                count, since = seen.get(client, (-1, now))
                if session.round_trips != count or session.busy or session.phase != "ready" \
                        or session.transaction != b"I":
                    seen[client] = (session.round_trips, now)
                elif now - since >= limit:
                    client.terminate("57P05", "terminating connection due to idle-session timeout")
            for gone in [c for c in seen if c not in self.clients]:
                del seen[gone]


def _log_failure(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("cancel request not delivered: %s", type(task.exception()).__name__)


def _rewrite_miss(session: Session, run: Run) -> None:
    """Count it, and say which statement (fingerprint only: no text, no values) so the
    analyser's gap can be found and fixed."""
    metric("rewrite_misses").labels(reason="result_stream").inc(run.misses)
    log.warning("rewrite miss: the result stream masked %d cell(s) of statement %s "
                "(session %s, purpose %s)", run.misses, describe(run.sql)[0], session.id,
                session.purpose)


__all__ = ["Limits", "Listener", "GatewayError"]

