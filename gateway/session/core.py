"""The synchronous session core: client and server bytes in, bytes and actions out.

All decisions about a client connection live here (TLS negotiation, authentication,
purpose binding, statement checks, refusals); the asyncio shell only moves bytes.
Messages the gateway does not need to look at are forwarded as one slice, undecoded.
"""

from __future__ import annotations

import itertools
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from gateway.policy.decision import Decision
from gateway.policy.model import Principal, Rules
from gateway.protocol import codes
from gateway.protocol.buffer import I32
from gateway.protocol.errors import GatewayError, ProtocolError, error, fatal
from gateway.protocol.framing import split
from gateway.protocol.messages import (
    Authentication,
    BackendKeyData,
    Bind,
    ErrorResponse,
    ParameterStatus,
    Parse,
    PasswordMessage,
    Query,
    ReadyForQuery,
    name_at,
    parse_fields,
    query_text,
)
from gateway.protocol.startup import (
    CancelRequest,
    GSSENCRequest,
    SSLRequest,
    StartupMessage,
    read_startup,
)
from gateway.session import purpose as purposes
from gateway.session.actions import Action, CancelUpstream, Close, ConnectUpstream, StartTLS
from gateway.session.auth import ScramExchange, auth_info
from gateway.session.results import Checker, Maskers, Prepared, Repeat, Tracker

# Client messages the core looks at; everything else is forwarded untouched.
_QUERY, _PARSE, _FUNCTION_CALL, _TERMINATE, _SYNC = (
    ord(codes.QUERY), ord(codes.PARSE), ord(codes.FUNCTION_CALL), ord(codes.TERMINATE),
    ord(codes.SYNC))
_BIND, _DESCRIBE, _EXECUTE, _CLOSE = (
    ord(codes.BIND), ord(codes.DESCRIBE), ord(codes.EXECUTE), ord(codes.CLOSE))
_TRACKED_CLIENT = frozenset((_BIND, _DESCRIBE, _CLOSE))  # Sync and Execute: read at once
_INSPECT_CLIENT = frozenset((_QUERY, _PARSE, _FUNCTION_CALL, _TERMINATE)) | _TRACKED_CLIENT
_READY, _ERROR = ord(codes.READY_FOR_QUERY), ord(codes.ERROR_RESPONSE)
_DATA_ROW, _COMMAND_COMPLETE, _ROW_DESCRIPTION = (
    ord(codes.DATA_ROW), ord(codes.COMMAND_COMPLETE), ord(codes.ROW_DESCRIPTION))
_COPY_DATA, _COPY_OUT = ord(codes.COPY_DATA), ord(codes.COPY_OUT_RESPONSE)
_TRACKED_SERVER = frozenset(
    (_DATA_ROW, _COMMAND_COMPLETE, _ROW_DESCRIPTION, _READY, _ERROR, _COPY_DATA, _COPY_OUT)
    + tuple(ord(t) for t in (codes.EMPTY_QUERY_RESPONSE, codes.PORTAL_SUSPENDED,
                             codes.NO_DATA)))
_STATEMENT = ord("S")
_TLS_HANDSHAKE = 0x16  # first byte of a TLS ClientHello record (direct TLS)
# A relation nobody has: the server fails the statement at Parse, in order, and we put
# the gateway's own error in place of the server's.
_REFUSED = "privacy gateway refused "
_session_ids = itertools.count(1)
# Why a login failed, for the audit log and metrics (never the name tried).
_LOGIN_REASONS = {"28P01": "password", "28000": "refused", "42501": "purpose",
                  "3D000": "database"}
_length = I32.unpack_from

# The policy: (SQL text, purpose name or None) -> Decision (text to send, or a refusal).
Decide = Callable[[str, "str | None"], Decision]
# (RowDescription body, purpose) -> positions of the columns that come straight from a
# classified base column the purpose may not see in clear.
RowGuards = Callable[[bytes, "str | None"], tuple[int, ...]]


@dataclass
class SessionConfig:
    """What all sessions of one listener share."""

    rules: Callable[[], Rules]
    database: str  # the only database name clients may ask for
    tls_available: bool = False
    tls_required: bool = False
    certificate_pem: str | None = None  # for SCRAM-SHA-256-PLUS channel binding
    decide: Decide | None = None  # None: statements pass as they are (no policy)
    row_guards: RowGuards | None = None
    maskers: Maskers | None = None  # free-text maskers for Decision.scan_columns
    checker: Checker | None = None  # the check of computed result columns (results.Checks)
    blocked: Callable[[str], bool] = lambda principal: False
    frozen: Callable[[str], bool] = lambda purpose: False
    clock: Callable[[], float] = time.monotonic
    max_message: int = codes.MAX_MESSAGE_LENGTH


@dataclass
class Session:
    """One client connection from its first byte to its last."""

    config: SessionConfig
    client_address: str = ""
    id: int = field(default_factory=lambda: next(_session_ids))
    phase: str = "startup"  # startup -> auth -> connecting -> ready -> closed
    tls_active: bool = False
    principal: Principal | None = None
    purpose: str | None = None
    user: str = ""
    params: dict[str, str] = field(default_factory=dict)
    minor: int = 0
    key: BackendKeyData | None = None  # what the client knows us by
    upstream_key: BackendKeyData | None = None
    transaction: bytes = codes.IDLE
    statements: int = 0  # run: simple Queries and Executes
    rows: int = 0
    started_at: float = field(default_factory=time.time)
    # Chunks to send, in order; the shell writes and empties them after every event.
    to_client: list[bytes | memoryview] = field(default_factory=list)
    to_server: list[bytes | memoryview] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    _inbuf: bytearray = field(default_factory=bytearray)
    _outbuf: bytearray = field(default_factory=bytearray)
    _scram: ScramExchange | None = None
    _syncs_sent: int = 0
    _syncs_done: int = 0
    _refusals: dict[str, tuple[int, GatewayError]] = field(default_factory=dict)
    tracker: Tracker = field(init=False)
    logins: list[tuple[bool, str | None]] = field(default_factory=list)  # (ok, reason)
    # who the audit records of its statements name: made once per purpose (accounting)
    audit_who: tuple | None = None
    _row_limit: int | None = None
    # a Parse a batch began with: (where it ends, its statement name, its text)
    _lead: tuple[int, str, str] | None = None

    def __post_init__(self) -> None:
        guards = self.config.row_guards
        self.tracker = Tracker(
            row_guards=(lambda body: guards(body, self.purpose)) if guards else None,
            maskers=self.config.maskers, checker=self.config.checker, clock=self.config.clock)

    @property
    def round_trips(self) -> int:
        """Simple Queries and Syncs sent so far: moves with every statement run, prepared
        ones included (their Bind/Execute/Sync parse nothing)."""
        return self._syncs_sent

    @property
    def busy(self) -> bool:
        """A statement or pipeline is in flight (sent upstream, not yet answered)."""
        return self._syncs_sent > self._syncs_done

    # ------------------------------------------------------------ events in

    def client_bytes(self, data: bytes) -> None:
        """Plaintext bytes from the client."""
        if self.phase == "closed":
            return
        try:
            if self.phase == "ready":
                if not self._inbuf and len(data) <= self.config.max_message:
                    # a batch like one before (results.Repeat) goes the short way
                    found = self.tracker.repeated(data)
                    if found is not None and (found.sql is None or self._current(found)):
                        self.tracker.replay(found)
                        self.statements += 1  # its one Execute
                        self._syncs_sent += 1
                        self.to_server.append(data)
                        return
                self._relay(data)
                return
            self._inbuf += data
            if self.phase == "startup":
                self._startup()
            elif self.phase == "auth":
                self._authenticate()
        except ProtocolError as exc:
            self.fail(fatal("protocol_violation", f"invalid message from client: {exc}"))
        except GatewayError as exc:
            if self.user and self.phase in ("startup", "auth"):
                self.logins.append((False, _LOGIN_REASONS.get(exc.sqlstate, "refused")))
            self.fail(exc)

    def server_bytes(self, data: bytes) -> None:
        """Bytes from the upstream server once the session is ready.

        One pass over the message headers; the tracker sees the messages that belong to a
        statement's result, and untouched runs are forwarded as one slice.
        """
        if self.phase != "ready":
            return
        tracker = self.tracker
        if self._outbuf:
            data = self._whole(self._outbuf, data)
        elif tracker.awaited is not None and tracker.settle(data):
            self._ready(data[-1:])  # the whole reply to a repeated batch, at once
            self.to_client.append(data)
            return
        size, pos, run = len(data), 0, 0
        out, data_row = self.to_client, tracker.data_row
        while size - pos >= 5:
            length = _length(data, pos + 1)[0]
            end = pos + 1 + length
            if length < 4 or end > size:
                if length < 4:
                    self.fail(fatal("connection_failure", "invalid message from upstream"))
                    return
                break
            # the messages of every statement first, the rarer ones in _server_message
            type_byte = data[pos]
            if type_byte == _DATA_ROW:
                replacement = data_row(data, pos, end)
                if replacement is not None and tracker.rows_end:
                    end, tracker.rows_end = tracker.rows_end, 0  # rows taken at once
            elif type_byte == _COMMAND_COMPLETE:
                replacement = tracker.command_complete(data[pos + 5:end])
            elif type_byte == _READY:
                self._ready(data[end - 1:end])
                tracker.ready()
                replacement = None
            elif type_byte == _ROW_DESCRIPTION:
                replacement = tracker.row_description(data[pos + 5:end])
            elif type_byte in _TRACKED_SERVER:
                replacement = self._server_message(type_byte, data, pos, end)
            else:
                replacement = None
            if replacement is not None:
                if run < pos:
                    out.append(memoryview(data)[run:pos])
                if replacement:
                    out.append(replacement)
                run = end
            pos = end
        if run < pos:
            out.append(data if run == 0 and pos == size else memoryview(data)[run:pos])
        if pos < size:
            self._outbuf += memoryview(data)[pos:]

    def _ready(self, status: bytes) -> None:
        """A ReadyForQuery with this transaction status."""
        self.transaction = status
        self._syncs_done += 1
        if self._refusals:
            self._forget_refusals()

    def _server_message(self, type_byte: int, data: bytes, start: int,
                        end: int) -> bytes | None:
        """Let the tracker see an ErrorResponse, NoData, CopyOutResponse, CopyData,
        EmptyQueryResponse or PortalSuspended; a replacement, b'' to drop, or None."""
        tracker = self.tracker
        if type_byte == _ERROR:
            body = data[start + 5:end]
            replacement = self._replace_error(body) if self._refusals else None
            if replacement is not None:
                tracker.error(replacement[5:])
                return replacement
            return tracker.error(body)
        if type_byte == ord(codes.NO_DATA):
            tracker.no_data()
        elif type_byte == _COPY_DATA:
            return tracker.copy_data(data, start, end)
        elif type_byte == _COPY_OUT:
            return tracker.copy_out(data[start + 5:end])
        elif type_byte == ord(codes.EMPTY_QUERY_RESPONSE):
            return tracker.command_complete(b"\0")
        else:  # PortalSuspended
            tracker.suspended()
        return None

    @staticmethod
    def _whole(pending: bytearray, data: bytes) -> bytes:
        """Join bytes left over from the last event with new ones (copying only then)."""
        if not pending:
            return data
        pending += data
        data = bytes(pending)
        pending.clear()
        return data

    def tls_started(self, alpn: str | None, direct: bool) -> None:
        """The shell finished the TLS handshake with the client."""
        self.tls_active = True
        if direct and alpn != "postgresql":
            self.fail(fatal("protocol_violation", "direct TLS requires ALPN 'postgresql'"))
        elif self._inbuf:
            self._startup()

    def upstream_ready(self, statuses: list[ParameterStatus], key: BackendKeyData | None,
                       rest: bytes) -> None:
        """The shell finished the upstream handshake: tell the client it may begin."""
        self.upstream_key = key
        out = self.to_client
        out.append(Authentication(codes.AUTH_OK).encode())
        for status in statuses:
            out.append(self._client_status(status).encode())
        key_length = 32 if self.minor >= 2 else 4
        self.key = BackendKeyData(secrets.randbits(31), secrets.token_bytes(key_length))
        out.append(self.key.encode())
        out.append(ReadyForQuery(codes.IDLE).encode())
        self.phase = "ready"
        if rest:
            self.server_bytes(rest)
        if self._inbuf:
            self.client_bytes(b"")

    def fail(self, exc: GatewayError) -> None:
        """Send the error; a FATAL one (or any before the session is ready) ends it."""
        self.to_client.append(_error(exc))
        if exc.fatal or self.phase != "ready":
            self.phase = "closed"
            self.actions.append(Close(exc.message))

    def terminate(self, sqlstate: str, message: str) -> None:
        """End the session from outside (containment, shutdown) with a FATAL error."""
        if self.phase != "closed":
            self.fail(GatewayError(sqlstate, message, "FATAL"))

    # ------------------------------------------------------------ startup and auth

    def _startup(self) -> None:
        while self.phase == "startup" and self._inbuf:
            if self._inbuf[0] == _TLS_HANDSHAKE and not self.tls_active:
                self._direct_tls()
                return
            parsed = read_startup(self._inbuf)
            if parsed is None:
                return
            packet, used = parsed
            del self._inbuf[:used]
            self._on_startup_packet(packet)

    def _direct_tls(self) -> None:
        if not self.config.tls_available:
            raise fatal("protocol_violation", "TLS is not configured on this gateway")
        initial = bytes(self._inbuf)
        self._inbuf.clear()
        self.actions.append(StartTLS(initial=initial, direct=True))

    def _on_startup_packet(self, packet: object) -> None:
        if isinstance(packet, SSLRequest):
            if self.tls_active:
                raise fatal("protocol_violation", "SSLRequest inside TLS")
            if not self.config.tls_available:
                self.to_client.append(b"N")
                return
            if self._inbuf:  # bytes sent before the handshake could be injected: refuse
                raise fatal("protocol_violation", "received unencrypted data after SSL request")
            self.to_client.append(b"S")
            self.actions.append(StartTLS())
        elif isinstance(packet, GSSENCRequest):
            self.to_client.append(b"N")
        elif isinstance(packet, CancelRequest):
            self.actions.append(CancelUpstream(packet.pid, packet.key))
            self.actions.append(Close("cancel request"))
            self.phase = "closed"
        elif isinstance(packet, StartupMessage):
            self._on_startup(packet)

    def _on_startup(self, msg: StartupMessage) -> None:
        if self.config.tls_required and not self.tls_active:
            raise fatal("invalid_authorization_specification",
                        "this gateway accepts only TLS connections (use sslmode=require)")
        self.minor = min(msg.minor, codes.NEWEST_MINOR)
        unknown = tuple(k for k in msg.params if k.startswith("_pq_."))
        if msg.minor > codes.NEWEST_MINOR or unknown:
            from gateway.protocol.messages import NegotiateProtocolVersion

            self.to_client.append(NegotiateProtocolVersion(self.minor, unknown).encode())
        params = {k: v for k, v in msg.params.items() if not k.startswith("_pq_.")}
        self.user = params.get("user", "")
        if not self.user:
            raise fatal("invalid_authorization_specification", "no user name given")
        database = params.get("database") or self.user
        if database != self.config.database:
            raise fatal("invalid_catalog_name",
                        f'database "{database}" is not served by this gateway')
        self.params = params
        self.principal = self.config.rules().principals.get(self.user)
        self._scram = scram = ScramExchange(
            self.user, auth_info(self.principal),
            self.config.certificate_pem if self.tls_active else None)
        self.to_client.append(scram.start().encode())
        self.phase = "auth"
        if self._inbuf:
            self._authenticate()

    def _authenticate(self) -> None:
        scram = self._scram
        if scram is None:
            raise fatal("protocol_violation", "authentication has not started")
        found, pos = split(self._inbuf, 0, codes.MAX_STARTUP_LENGTH)
        for type_byte, start, end in found:
            if type_byte != ord(codes.PASSWORD):
                raise fatal("protocol_violation", "expected a SASL response")
            msg = PasswordMessage(bytes(self._inbuf[start + 5:end]))
            self.to_client.append(scram.step(msg).encode())
            if scram.done:
                del self._inbuf[:end]
                self._authenticated()
                return
        del self._inbuf[:pos]

    def _authenticated(self) -> None:
        principal = self._authenticated_principal()
        if self.config.blocked(principal.name):
            raise fatal("invalid_authorization_specification", "access suspended")
        declared, forward = purposes.take_purpose(self.params)
        purpose = declared or purposes.default_purpose(principal)
        if purpose is not None:
            problem = self._purpose_problem(purpose)
            if problem:
                raise GatewayError(problem.sqlstate, problem.message, "FATAL")
        self._bind_purpose(purpose)
        self.logins.append((True, None))
        self.phase = "connecting"
        self.actions.append(ConnectUpstream(forward))

    def _client_status(self, status: ParameterStatus) -> ParameterStatus:
        # The upstream role is the gateway's own; clients see their principal.
        if status.name == "session_authorization":
            return ParameterStatus(status.name, self.user)
        if status.name == "is_superuser":
            return ParameterStatus(status.name, "off")
        return status

    # ------------------------------------------------------------ ready: client side

    def _relay(self, data: bytes) -> None:
        """Forward whole client messages, runs of untouched ones as one slice each."""
        if self._inbuf:
            data = self._whole(self._inbuf, data)
        self._lead = None
        size, pos, run = len(data), 0, 0
        limit, out, tracker = self.config.max_message, self.to_server, self.tracker
        while size - pos >= 5:
            length = _length(data, pos + 1)[0]
            if length < 4 or length > limit:
                raise ProtocolError(f"invalid message length {length}")
            end = pos + 1 + length
            if end > size:
                break
            type_byte = data[pos]
            if type_byte == _SYNC:
                self._syncs_sent += 1
                tracker.sync()
            elif type_byte == _EXECUTE:
                self.statements += 1
                tracker.execute(name_at(data, pos + 5, end), self._row_limit)
            elif type_byte in _INSPECT_CLIENT:
                replacement = (self._track(type_byte, data, pos, end)
                               if type_byte in _TRACKED_CLIENT
                               else self._inspect(type_byte, data, pos, end))
                if replacement is not None:
                    if run < pos:
                        out.append(memoryview(data)[run:pos])
                    out.append(replacement)
                    run = end
                if self.phase == "closed":  # Terminate
                    if run < end:
                        out.append(memoryview(data)[run:end])
                    return
            pos = end
        if run < pos:
            out.append(data if run == 0 and pos == size else memoryview(data)[run:pos])
        if pos < size:
            self._inbuf += memoryview(data)[pos:]

    def _current(self, found: Repeat) -> bool:
        """A repeated batch that starts with a Parse (found.sql) goes the short way only
        while its text still gets the very decision it got then (rules and catalog
        unchanged)."""
        decide = self.config.decide
        return decide is not None and \
            decide(found.sql, self.purpose) is found.prepared.decision

    def _track(self, type_byte: int, data: bytes, start: int, end: int) -> bytes | None:
        """Note Bind/Describe/Close for the tracker; a rewritten Bind, or None."""
        tracker = self.tracker
        if type_byte == _BIND:
            stop = data.find(b"\0", start + 5, end)
            portal = name_at(data, start + 5, end, stop)
            statement = name_at(data, stop + 1, end)
            prepared = tracker.prepared(statement)
            decision = prepared.decision if prepared else None
            if prepared is None or decision is None or not decision.tables:
                tracker.bind(portal, prepared, False)
                lead = self._lead  # a Parse of this very statement just before it
                if prepared is not None and start == 0:
                    tracker.remember(data, start, end, portal, statement, prepared)
                elif prepared is not None and lead is not None and lead[:2] == (start, statement):
                    tracker.remember(data, start, end, portal, statement, prepared, lead[2])
                return None
            if decision.purpose != self.purpose:
                # Rewritten for another purpose: running it now would show that purpose's view.
                return Parse("", self._refusal(error(
                    "insufficient_privilege", "privacy gateway: statement was prepared under "
                    "another purpose; prepare it again"), self._syncs_sent + 1)).encode()
            extra = len(decision.subject_columns)
            if not extra:
                tracker.bind(portal, prepared, False)
                return None
            return self._bind_with_subjects(data, start, end, portal, prepared, extra)
        # Describe or Close: a kind byte, then a name
        if start + 5 >= end:
            raise ProtocolError("message is shorter than its fields")
        kind = "S" if data[start + 5] == _STATEMENT else "P"
        name = name_at(data, start + 6, end)
        if type_byte == _DESCRIBE:
            tracker.describe(kind, name)
        else:
            tracker.close(kind, name)
        return None

    def _bind_with_subjects(self, data: bytes, start: int, end: int, portal: str,
                            prepared: Prepared, extra: int) -> bytes | None:
        # The rewrite appended subject-key columns: per-column result formats need one
        # more (text) code each; a single code applies to them as well.
        msg = Bind.from_body(data[start + 5:end])
        formats = msg.result_formats
        self.tracker.bind(portal, prepared, len(formats) == 1 and formats[0] == 1)
        if len(formats) <= 1:
            return None
        return Bind(msg.portal, msg.statement, msg.param_formats, msg.params,
                    formats + (0,) * extra).encode()

    def _inspect(self, type_byte: int, buf: bytes, start: int, end: int) -> bytes | None:
        """Decide a Query, Parse or FunctionCall, note a Terminate; what to send in its place
        (a rewrite or a refusal), or None to forward it as the client sent it."""
        if type_byte == _TERMINATE:
            self.phase = "closed"
            self.actions.append(Close("client terminated"))
            return None
        if type_byte == _QUERY:
            sql = query_text(buf, start + 5, end)
            return self._query(sql, self._statement(sql, self._syncs_sent + 1))
        if type_byte == _PARSE:
            name, sql, types = parse_fields(buf, start + 5, end)
            decision, text, tag = self._statement(sql, self._syncs_sent + 1)
            self.tracker.parse(name, sql, decision, tag)
            if start == 0 and text is None and tag is None and decision is not None:
                self._lead = (end, name, sql)  # a batch may repeat from here (see _current)
            return None if text is None else Parse(name, text, types).encode()
        # FunctionCall: calls any function by OID, beyond any analysis
        self._syncs_sent += 1
        self.tracker.query("", None, None)
        return Query(self._refusal(error(
            "insufficient_privilege", "privacy gateway: cannot verify a function call message"),
            self._syncs_sent)).encode()

    def query_alone(self, data: bytes, sql: str, decision: Decision) -> None:
        """A Query that came alone in data, its text sql not about the purpose, decided by
        the compiled lane (lane.pyx) and left to the core: as _relay takes it."""
        self._lead = None
        replacement = self._query(sql, self._decided(sql, decision, self._syncs_sent + 1))
        self.to_server.append(data if replacement is None else replacement)

    def _query(self, sql: str, decided: tuple[Decision | None, str | None, bytes | None]
               ) -> bytes | None:
        """A simple Query and what _statement made of it: what to send in its place."""
        self._syncs_sent += 1
        self.statements += 1
        decision, text, tag = decided
        self.tracker.query(sql, decision, self._row_limit, tag)
        return None if text is None else Query(text).encode()

    def _statement(self, sql: str, batch: int
                   ) -> tuple[Decision | None, str | None, bytes | None]:
        """Decide one Query or Parse: (its decision, the text to send in its place or None
        to forward it as it is, the tag to answer with in place of the server's)."""
        if purposes.mentions_reserved(sql):
            found = purposes.parse_statement(sql)
            if found is not None:
                if isinstance(found, GatewayError):
                    return None, self._refusal(found, batch), None
                return None, self._purpose_statement(found, batch), purposes.reply_tag(found)
        decide = self.config.decide
        if decide is None:
            return None, None, None
        return self._decided(sql, decide(sql, self.purpose), batch)

    def _decided(self, sql: str, decision: Decision, batch: int
                 ) -> tuple[Decision, str | None, None]:
        """_statement's answer once the policy decided."""
        if decision.verbatim:
            return decision, None, None
        refusal = decision.refusal
        if refusal is not None:
            return decision, self._refusal(GatewayError(refusal.sqlstate, refusal.message),
                                           batch), None
        return decision, (None if decision.sql == sql else decision.sql), None

    def _purpose_statement(self, stmt: purposes.PurposeStatement, batch: int) -> str:
        if stmt.action != "show" and self.transaction != codes.IDLE:
            # Cursors and statements of the transaction were rewritten for the old purpose.
            return self._refusal(error("feature_not_supported", f"{purposes.PARAMETER} "
                                       "cannot change inside a transaction block"), batch)
        if stmt.action == "set" and stmt.value is not None:
            problem = self._purpose_problem(stmt.value)
            if problem:
                return self._refusal(problem, batch)
            self._bind_purpose(stmt.value)
        elif stmt.action == "reset":
            self._bind_purpose(purposes.default_purpose(self._authenticated_principal()))
        return purposes.upstream_equivalent(stmt, self.purpose)

    def _purpose_problem(self, purpose: str) -> GatewayError | None:
        problem = purposes.check_purpose(self.config.rules(), self._authenticated_principal(),
                                         purpose)
        if problem is None and self.config.frozen(purpose):
            problem = error("insufficient_privilege", f'purpose "{purpose}" is suspended')
        return problem

    def _authenticated_principal(self) -> Principal:
        # SCRAM succeeds only for a known principal, so after it there always is one.
        if self.principal is None:
            raise fatal("invalid_authorization_specification", "not authenticated")
        return self.principal

    def _bind_purpose(self, purpose: str | None) -> None:
        self.purpose = purpose
        bound = self.config.rules().purposes.get(purpose) if purpose else None
        self._row_limit = bound.limits.rows_per_query if bound else None

    def _refusal(self, exc: GatewayError, batch: int) -> str:
        """A statement the server fails at once, in order; its error is replaced by exc."""
        nonce = secrets.token_hex(8)
        self._refusals[nonce] = (batch, exc)
        return f'SELECT FROM "{_REFUSED}{nonce}"'

    # ------------------------------------------------------------ ready: server side

    def _replace_error(self, body: bytes | bytearray) -> bytes | None:
        message = ErrorResponse.from_body(body).get("M") or ""
        if _REFUSED not in message:
            return None
        nonce = message.split(_REFUSED, 1)[1][:16]
        entry = self._refusals.pop(nonce, None)
        return _error(entry[1]) if entry else None

    def _forget_refusals(self) -> None:
        # A refused statement the server skipped (an earlier error in its batch) never
        # produces its error; drop it once its batch is over.
        done = self._syncs_done
        for nonce in [n for n, (batch, _) in self._refusals.items() if batch <= done]:
            del self._refusals[nonce]


def _error(exc: GatewayError) -> bytes:
    return ErrorResponse.build(exc.sqlstate, exc.message, exc.severity, exc.detail).encode()
