"""One running gateway: configuration, rules, listener, reloads and shutdown, wired together."""

from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import dataclass, field

from gateway.config import Config, split_address
from gateway.policy.model import Rules
from gateway.policy.rules import RulesError, load_rules
from gateway.session import tls
from gateway.session.core import SessionConfig, StatementCheck, pass_through
from gateway.session.server import Limits, Listener
from gateway.session.upstream import Upstream, parse_dsn

log = logging.getLogger("gateway")


class StartupError(Exception):
    """The gateway cannot start (bad configuration, rules or certificate); one line."""


@dataclass
class Gateway:
    """Owns the current rules and the listener; reload keeps the old rules on failure."""

    config: Config
    check: StatementCheck = pass_through
    rules: Rules | None = None
    listener: Listener | None = None
    address: tuple[str, int] | None = None
    blocked: set[str] = field(default_factory=set)

    def load_rules(self) -> Rules:
        try:
            return load_rules(self.config.rules)
        except RulesError as exc:
            raise StartupError(exc.problems[0] if exc.problems else str(exc)) from None

    def reload(self) -> bool:
        """Re-read the rules file; on failure keep serving with the rules we have."""
        try:
            rules = load_rules(self.config.rules)
        except RulesError as exc:
            log.error("rules reload failed, keeping version %s: %d problem(s)",
                      self.rules.version[:12] if self.rules else "-", len(exc.problems))
            return False
        self.rules = rules
        log.info("rules reloaded: version %s", rules.version[:12])
        return True

    def upstream(self) -> Upstream:
        if not self.config.upstream:
            raise StartupError("upstream: no upstream database configured")
        try:
            return parse_dsn(self.config.upstream, self.config.upstream_password_env)
        except ValueError as exc:
            raise StartupError(f"upstream: {exc}") from None

    async def start(self) -> tuple[str, int]:
        """Load rules, bind the listener; returns the address it listens on."""
        self.rules = self.load_rules()
        upstream = self.upstream()
        cert, key = self.config.tls["cert"], self.config.tls["key"]
        context = pem = None
        if cert and key:
            try:
                context, pem = tls.server_context(cert, key), tls.certificate_pem(cert)
            except (OSError, ValueError) as exc:
                raise StartupError(f"tls: cannot load certificate or key ({exc})") from None
        session_config = SessionConfig(
            rules=lambda: self.rules, database=upstream.database,
            tls_available=context is not None,
            tls_required=self.config.tls["client"] == "require",
            certificate_pem=pem, check=self.check, blocked=self.blocked.__contains__)
        limits = Limits(max_clients=int(self.config.max_clients),
                        startup_timeout=float(self.config.startup_timeout),
                        idle_timeout=float(self.config.idle_timeout),
                        connect_timeout=float(self.config.connect_timeout))
        self.listener = Listener(session_config, upstream, limits, context)
        host, port = split_address(self.config.listen, "listen")
        try:
            self.address = await self.listener.start(host, port)
        except OSError as exc:
            raise StartupError(f"listen: cannot listen on {host}:{port} ({exc.strerror})") from None
        log.info("listening on %s:%s, rules version %s", *self.address, self.rules.version[:12])
        return self.address

    async def stop(self) -> None:
        if self.listener:
            await self.listener.stop()

    async def serve_forever(self) -> None:
        """Serve until SIGINT/SIGTERM; SIGHUP reloads the rules."""
        loop = asyncio.get_running_loop()
        stopping = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stopping.set)
        loop.add_signal_handler(signal.SIGHUP, self.reload)
        try:
            await stopping.wait()
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                loop.remove_signal_handler(sig)
            await self.stop()


def run(coro) -> object:
    """Run a coroutine on uvloop where available (asyncio's own loop otherwise)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)
