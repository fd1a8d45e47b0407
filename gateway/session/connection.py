"""The asyncio shell of one session: moves bytes between client, core and upstream.

asyncio Protocol callbacks (no streams) and one write per batch keep the hot path short;
the core decides everything. Flow control couples the two sides: when one side cannot
take more, the other side stops being read.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from typing import TYPE_CHECKING

from gateway import compiled
from gateway.protocol.errors import GatewayError, fatal
from gateway.protocol.messages import ErrorResponse
from gateway.protocol.startup import CancelRequest, SSLRequest
from gateway.session.actions import CancelUpstream, Close, ConnectUpstream, StartTLS
from gateway.session.core import Session
from gateway.session.tls import TlsLayer
from gateway.session.upstream import Handshake, upstream_error

if TYPE_CHECKING:
    from gateway.session.server import Listener

log = logging.getLogger("gateway.session")
# the compiled short way for repeated batches; without it the core takes them itself
lanes = compiled.load("gateway.session.lane")


class ClientConnection(asyncio.Protocol):
    """The client side of a session."""

    def __init__(self, listener: Listener) -> None:
        self.listener = listener
        self.transport: asyncio.Transport | None = None
        self.upstream: UpstreamConnection | None = None
        self.session: Session | None = None
        self.tls: TlsLayer | None = None
        self._tls_direct = False
        self._startup_timer: asyncio.TimerHandle | None = None
        self._held: list[bytes | memoryview] | None = None  # strict audit: replies waiting
        self._hold_seq = 0
        self.lane = None  # see open_lane

    def open_lane(self) -> None:
        """Once the session is ready: take statements sent again and their plain replies
        the compiled short way (gateway/session/lane.pyx). Not under strict audit (replies
        wait for their records)."""
        if lanes is not None and not self.listener.strict:
            self.lane = lanes.Lane(self.session)

    # -- asyncio callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername") or ("", 0)
        self.session = Session(self.listener.session_config, client_address=str(peer[0]))
        if not self.listener.admit(self):
            self.session.fail(fatal("too_many_connections", "sorry, too many clients already"))
            self.flush()
            return
        self._startup_timer = self.listener.loop.call_later(
            self.listener.startup_timeout, self._startup_expired)

    def data_received(self, data: bytes) -> None:
        try:
            if self.tls is not None:
                data = self._decrypted(data)
                if not data:
                    return
            # the lane's, else the core's
            taken = self.lane.client(data) if self.lane is not None else False
            if taken:
                self.upstream.transport.write(data)
                return
            if taken is False:  # (None: a Query the lane decided and left to the core)
                self.session.client_bytes(data)
            self.flush()
        except Exception:  # noqa: BLE001 - one broken session must not hang or spread
            self.crashed()

    def crashed(self) -> None:
        """An unexpected error in this session: log it (no data), tell the client, close."""
        log.exception("session %s failed", self.session.id if self.session else "-")
        if self.transport and not self.transport.is_closing() and self.tls is None:
            self.transport.write(ErrorResponse.build(
                "XX000", "privacy gateway: internal error", "FATAL").encode())
        self.close()

    def _decrypted(self, data: bytes) -> bytes:
        """TLS records in, the plaintext they carry out (b"": nothing more to do)."""
        try:
            data, finished = self.tls.receive(data)
        except ssl.SSLError:
            self.close()
            return b""
        handshake = self.tls.ciphertext()  # TLS's own records (handshake, alerts)
        if handshake:
            self.transport.write(handshake)
        if finished:
            self.session.tls_started(self.tls.alpn, self._tls_direct)
        if not data:
            self.flush()
        return data

    def connection_lost(self, exc: Exception | None) -> None:
        self.listener.forget(self)
        if self._startup_timer:
            self._startup_timer.cancel()
        if self.upstream and self.upstream.transport:
            self.upstream.transport.close()

    def pause_writing(self) -> None:
        if self.upstream and self.upstream.transport:
            self.upstream.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.upstream and self.upstream.transport:
            self.upstream.transport.resume_reading()

    # -- moving bytes and carrying out actions

    def flush(self) -> None:
        """Send what the core queued, then do what it asked."""
        session = self.session
        tracker = session.tracker
        due = session.logins or tracker.finished or tracker.batches
        strict = self.listener.strict
        if due and strict:  # replies wait for their records (see _hold)
            seq = self.listener.account(session)
            if seq:
                self._hold(seq)
        if session.to_client:
            chunks, session.to_client = session.to_client, []
            if self._held is not None:
                self._held.extend(chunks)
            else:
                self._write(chunks)
        if session.to_server:
            upstream = self.upstream
            if upstream is not None and upstream.ready:
                # (uvloop sends a list as it is, without joining it)
                upstream.transport.writelines(session.to_server)
                session.to_server = []
        if due and not strict:
            # buffered: the bytes went first, so a reply does not wait for its accounting
            self.listener.account(session)
        if session.actions:
            actions, session.actions = session.actions, []
            for action in actions:
                self._act(action)

    def _hold(self, seq: int) -> None:
        """Strict audit: keep replies (and stop reading upstream) until seq is durable."""
        self._hold_seq = max(self._hold_seq, seq)
        if self._held is not None:
            return
        self._held = []
        if self.upstream and self.upstream.transport:
            self.upstream.transport.pause_reading()
        self.listener.loop.create_task(self._release())

    async def _release(self) -> None:
        try:
            seq = 0
            while seq != self._hold_seq:
                seq = self._hold_seq
                await self.listener.durable(seq)
        except Exception:  # noqa: BLE001 - no durable record, no reply: end the session
            self.session.fail(fatal("connection_failure", "audit log unavailable"))
            self._held = None
            self.crashed()
            return
        held, self._held = self._held, None
        if held:
            self._write(held)
        if self.upstream and self.upstream.transport:
            self.upstream.transport.resume_reading()
        self.flush()

    def replied(self, data: bytes) -> None:
        """The lane took a whole reply: forward it and account its statement."""
        self._write([data])
        self.listener.account(self.session)

    def _write(self, chunks: list[bytes | memoryview]) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        if self.tls is not None and not self.tls.handshaken:
            return  # nothing can be said to a client whose TLS handshake is unfinished
        if self.tls is None:
            self.transport.writelines(chunks)
        else:
            self.tls.send(b"".join(chunks))
            self.transport.write(self.tls.ciphertext())

    def _act(self, action: object) -> None:
        if isinstance(action, StartTLS):
            self.tls = TlsLayer(self.listener.tls_context)
            self._tls_direct = action.direct
            if action.initial:
                self.data_received(action.initial)
        elif isinstance(action, ConnectUpstream):
            self.listener.loop.create_task(self._connect(action.params))
        elif isinstance(action, CancelUpstream):
            self.listener.cancel(action.pid, action.key)
        elif isinstance(action, Close):
            self.close()

    def close(self) -> None:
        if self.tls is not None and self.transport and not self.transport.is_closing():
            self.tls.shutdown()
            self.transport.write(self.tls.ciphertext())
        if self.transport:
            self.transport.close()
        if self.upstream and self.upstream.transport:
            self.upstream.transport.close()

    def terminate(self, sqlstate: str, message: str) -> None:
        self.session.terminate(sqlstate, message)
        self.flush()

    def _startup_expired(self) -> None:
        if self.session.phase in ("startup", "auth", "connecting"):
            self.session.fail(fatal("protocol_violation", "startup timeout"))
            self.flush()

    async def _connect(self, params: dict[str, str]) -> None:
        try:
            await self._open_upstream(params)
        except Exception:  # noqa: BLE001
            self.crashed()

    async def _open_upstream(self, params: dict[str, str]) -> None:
        try:
            self.upstream = await self.listener.open_upstream(self, params)
        except GatewayError as exc:
            self.session.fail(exc)
        except (TimeoutError, OSError, ssl.SSLError) as exc:
            self.session.fail(upstream_error(type(exc).__name__))
        else:
            if self._startup_timer:
                self._startup_timer.cancel()
            self.listener.register_key(self)
            self.open_lane()
        self.flush()


class UpstreamConnection(asyncio.Protocol):
    """The upstream side of a session: handshake first, then relay to the core."""

    def __init__(self, client: ClientConnection, handshake: Handshake) -> None:
        self.client = client
        self.handshake = handshake
        self.transport: asyncio.Transport | None = None
        self.ready = False
        self.done: asyncio.Future = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.transport.write(self.handshake.start())

    def data_received(self, data: bytes) -> None:
        if self.ready:
            client = self.client
            try:
                lane = client.lane
                if lane is not None and lane.server(data):
                    client.replied(data)
                else:
                    client.session.server_bytes(data)
                    client.flush()
            except Exception:  # noqa: BLE001
                client.crashed()
            return
        try:
            reply, rest = self.handshake.feed(data)
        except GatewayError as exc:
            self._finish(exc)
            return
        except Exception as exc:  # noqa: BLE001 - a broken upstream must not kill the loop
            self._finish(upstream_error(type(exc).__name__))
            return
        if reply:
            self.transport.write(reply)
        if self.handshake.ready:
            self.ready = True
            self.client.session.upstream_ready(self.handshake.statuses, self.handshake.key, rest)
            self._finish(None)

    def _finish(self, exc: BaseException | None) -> None:
        if not self.done.done():
            if exc is None:
                self.done.set_result(self)
            else:
                self.done.set_exception(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self._finish(upstream_error("connection closed during startup"))
            return
        session = self.client.session
        if session.phase != "closed":
            session.fail(fatal("connection_failure", "upstream connection lost"))
            self.client.flush()

    def pause_writing(self) -> None:
        if self.client.transport:
            self.client.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.client.transport:
            self.client.transport.resume_reading()


async def send_cancel(host: str, port: int, unix: str | None, request: CancelRequest) -> None:
    """Deliver a CancelRequest to the upstream server on a connection of its own."""
    if unix:
        reader, writer = await asyncio.open_unix_connection(unix)
    else:
        reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(request.encode())
        await writer.drain()
        await asyncio.wait_for(reader.read(1), 5)  # the server closes when done
    finally:
        writer.close()


def ssl_request() -> bytes:
    return SSLRequest().encode()
