"""One running gateway: configuration, rules, listener, reloads and shutdown, wired together."""

from __future__ import annotations

import asyncio
import gc
import itertools
import logging
import os
import signal
import socket
from collections.abc import Callable
from dataclasses import dataclass, field

import asyncpg

from gateway import blocks
from gateway.admin.api import api_routes
from gateway.admin.app import add_api_routes, from_config
from gateway.admin.app import serve as serve_admin
from gateway.audit.keys import AuditKeyError
from gateway.audit.spool import SpoolBusy
from gateway.blocks import BlockWatcher
from gateway.config import Config, split_address
from gateway.metering.bridge import rules_inputs
from gateway.metering.runtime import Accounting, start_accounting
from gateway.metrics import metric
from gateway.policy.catalog import Catalog, load_catalog
from gateway.policy.decision import Decision, Refusal
from gateway.policy.freetext import PATTERN_ENTITIES
from gateway.policy.freetext import masker as pattern_masker
from gateway.policy.model import Rules
from gateway.policy.rewrite import PolicyCache
from gateway.policy.rules import RulesError, load_rules
from gateway.session import tls
from gateway.session.accounting import SessionAccounting
from gateway.session.core import SessionConfig
from gateway.session.freetext import text_masker, warm_up
from gateway.session.results import column_guards
from gateway.session.server import Limits, Listener
from gateway.session.upstream import Upstream, parse_dsn
from gateway.state import connect as state

log = logging.getLogger("gateway")
_instances = itertools.count(1)
CATALOG_RETRY_SECONDS = 2.0
# What reading the upstream catalog can fail with while the database is away.
_UPSTREAM_ERRORS = (OSError, asyncpg.PostgresError, TimeoutError)
NO_CATALOG = Decision(sql=None, kind="refused", refusal=Refusal(
    "42501", "privacy gateway: cannot verify statements until the upstream catalog is read"))


class StartupError(Exception):
    """The gateway cannot start (bad configuration, rules or certificate); one line."""


@dataclass
class Gateway:
    """Owns the current rules and the listener; reload keeps the old rules on failure."""

    config: Config
    enforce: bool = True  # False only for measuring the bare wire path
    rules: Rules | None = None
    policy: PolicyCache | None = None
    _retry: asyncio.Task | None = None
    _refresher: asyncio.Task | None = None
    _stopping: bool = False
    accounting: Accounting | None = None
    watcher: BlockWatcher | None = None
    _admin: object = None
    _maskers: dict[tuple, Callable[[str], str]] = field(default_factory=dict)
    _checkers: dict[str | None, Callable[[str], str] | None] = field(default_factory=dict)
    listener: Listener | None = None
    address: tuple[str, int] | None = None

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
            metric("rules_reloads").labels(outcome="failed").inc()
            return False
        self.rules = rules
        self._maskers.clear()  # masks come from the rules' classes
        self._checkers.clear()
        if self.policy is not None:
            self.policy.replace(rules=rules)
            asyncio.get_running_loop().create_task(self.refresh_catalog())
        if self.accounting is not None:
            detection, limits, canaries = rules_inputs(rules)
            self.accounting.metering.update_rules(limits, canaries, detection)
        metric("rules_reloads").labels(outcome="ok").inc()
        log.info("rules reloaded: version %s", rules.version[:12])
        return True

    async def _refresh_periodically(self) -> None:
        # Views or tables created upstream after start must reach the rewrite's catalog.
        while True:
            await asyncio.sleep(float(self.config.catalog_refresh))
            if self.policy is not None:
                await self.refresh_catalog()

    async def refresh_catalog(self) -> None:
        """Re-read what the rewrite needs from the upstream catalog (tables, views ...)."""
        try:
            catalog = await self._load_catalog(self.upstream())
        except _UPSTREAM_ERRORS as exc:
            log.error("catalog refresh failed (%s); keeping the previous one",
                      type(exc).__name__)
            return
        if self.policy is not None:
            self.policy.replace(catalog=catalog)

    async def _load_catalog(self, upstream: Upstream) -> Catalog:
        conn = await asyncpg.connect(upstream.dsn(), ssl=_asyncpg_ssl(upstream.sslmode),
                                     timeout=float(self.config.connect_timeout))
        try:
            return await load_catalog(conn, self.rules)
        finally:
            await conn.close()

    async def _start_policy(self, upstream: Upstream) -> None:
        """Load the catalog; while the upstream is unreachable, retry in the background
        and refuse statements meanwhile (fail closed) rather than refuse to start."""
        try:
            await self._start_policy_once(upstream)
        except _UPSTREAM_ERRORS as exc:
            log.error("upstream catalog unavailable (%s); retrying", type(exc).__name__)
            self._retry = asyncio.get_running_loop().create_task(self._retry_policy(upstream))

    async def _retry_policy(self, upstream: Upstream) -> None:
        while self.policy is None:
            await asyncio.sleep(CATALOG_RETRY_SECONDS)
            try:
                await self._start_policy_once(upstream)
            except _UPSTREAM_ERRORS:
                continue

    async def _start_policy_once(self, upstream: Upstream) -> None:
        catalog = await self._load_catalog(upstream)
        key = self.config.secret(self.config.keys.get("mask_hash_key_env"))
        self.policy = PolicyCache(self.rules, catalog, mask_key=key.encode() if key else None,
                                  gateway_scan=True)
        log.info("upstream catalog loaded")

    def maskers(self, entities: tuple[str, ...]) -> Callable[[str], str]:
        """The free-text masker for these entities under the current rules (cached)."""
        found = self._maskers.get(entities)
        if found is None:
            found = self._maskers[entities] = text_masker(entities, self.rules)
        return found

    def checker(self, purpose: str | None) -> Callable[[str], str] | None:
        """The check of computed result columns under purpose (see results.Checks): the
        numbers and e-mail addresses of the classes it may not see in clear, found by
        validated patterns and masked with their class's mask. Cached per purpose."""
        if purpose in self._checkers:
            return self._checkers[purpose]
        bound = self.rules.purposes.get(purpose) if purpose else None
        entities = tuple(sorted({c.detect for c in self.rules.classes.values()
                                 if c.detect in PATTERN_ENTITIES
                                 and (bound is None or bound.treatment(c.name) != "show")}))
        found = self._checkers[purpose] = (
            pattern_masker(entities, self.rules, validated=True) if entities else None)
        return found

    def decide(self, sql: str, purpose: str | None) -> Decision:
        """The policy's decision; a refusal while the catalog is not loaded yet."""
        policy = self.policy
        if policy is None:
            return NO_CATALOG
        return policy.decide(sql, purpose)

    def guard(self, table_oid: int, attnum: int, purpose: str | None) -> bool:
        """True when a result column comes straight from a classified base column that
        the purpose may not see in clear (the result-stream check of rewrite misses)."""
        origin = self.policy.catalog.origin(table_oid, attnum) if self.policy else None
        if origin is None:
            return False
        cls = self.rules.column_class(*origin)
        bound = self.rules.purposes.get(purpose) if purpose else None
        return cls is not None and (bound is None or bound.treatment(cls.name) != "show")

    def row_guards(self, body: bytes, purpose: str | None) -> tuple[int, ...]:
        """The guarded columns of a RowDescription (see guard), cached with the policy."""
        policy = self.policy
        if policy is None:
            return ()
        key = (body, purpose)
        found = policy.described.get(key)
        if found is None:
            found = column_guards(body, lambda oid, att: self.guard(oid, att, purpose))
            policy.remember_description(key, found)
        return found

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
        if self.enforce:
            await self._start_policy(upstream)
            if float(self.config.catalog_refresh) > 0:
                self._refresher = asyncio.get_running_loop().create_task(
                    self._refresh_periodically())
            if any(c.scan for c in self.rules.classes.values()):
                await asyncio.get_running_loop().run_in_executor(None, warm_up)
        session_config = SessionConfig(
            rules=lambda: self.rules, database=upstream.database,
            tls_available=context is not None,
            tls_required=self.config.tls["client"] == "require",
            certificate_pem=pem, blocked=self.is_blocked, frozen=self.is_frozen,
            decide=self.decide if self.enforce else None,
            row_guards=self.row_guards if self.enforce else None,
            maskers=self.maskers if self.enforce else None,
            checker=self.checker if self.enforce else None)
        limits = Limits(max_clients=int(self.config.max_clients),
                        startup_timeout=float(self.config.startup_timeout),
                        idle_timeout=float(self.config.idle_timeout),
                        connect_timeout=float(self.config.connect_timeout))
        self.listener = Listener(session_config, upstream, limits, context)
        if self.enforce and self.config.audit:
            await self._start_accounting()
        host, port = split_address(self.config.listen, "listen")
        try:
            self.address = await self.listener.start(host, port)
        except OSError as exc:
            raise StartupError(f"listen: cannot listen on {host}:{port} ({exc.strerror})") from None
        log.info("listening on %s:%s, rules version %s", *self.address, self.rules.version[:12])
        if self.config.admin:
            await self._start_admin()
        # Everything loaded at start (rules, catalog, the detector's models) lives as long
        # as the process: keep it out of the collector's scans, which otherwise walk the
        # whole heap again and again while sessions allocate.
        gc.freeze()
        return self.address

    async def _start_accounting(self) -> None:
        """Audit writer, metering, alerts and the block list (all in the state database)."""
        try:
            self.accounting = await start_accounting(self.config, self._replica(),
                                                     rules=self.rules)
        except (AuditKeyError, SpoolBusy, ValueError) as exc:
            raise StartupError(f"audit: {exc}") from None
        self.listener.accountant = SessionAccounting(self.accounting)
        self.listener.strict = self.config.audit_durability == "strict"
        dsn, password = state.as_url(state.state_dsn(self.config)), state.state_password(
            self.config)
        try:
            async with self.accounting.pool.acquire() as conn:
                await blocks.migrate(conn)
        except _UPSTREAM_ERRORS as exc:
            log.error("block list tables not checked (%s); state database down?",
                      type(exc).__name__)
        self.watcher = BlockWatcher(lambda: state.connect(dsn, password),
                                    on_block=self.listener.terminate_principal)
        await self.watcher.start()

    def _replica(self) -> str:
        """This instance's name in the audit chain, ledger and alerts: host and port; with
        port 0 (picked at bind time) the process and instance, so names never collide."""
        host, port = split_address(self.config.listen, "listen")
        if port:
            return f"{socket.gethostname()}:{port}"
        return f"{socket.gethostname()}:{os.getpid()}.{next(_instances)}"

    async def _start_admin(self) -> None:
        host, port = split_address(self.config.admin, "admin")
        app = from_config(self.config, self.ready)
        add_api_routes(app, api_routes(self))
        try:
            self._admin = await serve_admin(app, host, port)
        except OSError as exc:
            raise StartupError(f"admin: cannot listen on {host}:{port} ({exc.strerror})"
                               ) from None

    def ready(self) -> dict[str, bool]:
        """For /readyz: rules loaded, catalog read (upstream reached), audit writing."""
        checks = {"serving": not self._stopping, "rules": self.rules is not None,
                  "upstream_catalog": self.policy is not None or not self.enforce}
        if self.accounting is not None:
            checks.update(self.accounting.ready())
        return checks

    def is_blocked(self, principal: str) -> bool:
        return self.watcher is not None and self.watcher.blocks.is_blocked(principal)

    def is_frozen(self, purpose: str) -> bool:
        return self.watcher is not None and self.watcher.blocks.is_frozen(purpose)

    async def block(self, principal: str, reason: str) -> bool:
        """Block a principal on every replica (state database + NOTIFY); ends its sessions."""
        async with self.accounting.pool.acquire() as conn:
            changed = await blocks.block_principal(conn, principal, reason, by="admin-api")
        self.listener.terminate_principal(principal)
        return changed

    async def unblock(self, principal: str) -> bool:
        async with self.accounting.pool.acquire() as conn:
            return await blocks.unblock_principal(conn, principal)

    async def stop(self, drain: float = 0.0) -> None:
        """Stop serving: drain running statements (up to `drain` s), flush the audit log."""
        self._stopping = True  # /readyz says no at once, so balancers stop sending clients
        for task in (self._retry, self._refresher):
            if task is not None:
                task.cancel()
        if self.listener:
            await self.listener.stop(drain)
        if self.watcher is not None:
            await self.watcher.close()
        if self._admin is not None:
            await self._admin.cleanup()
        if self.accounting is not None:
            await self.accounting.close()  # flushes the audit queue, writes the chain end

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
            log.info("stopping: draining sessions for up to %ss", self.config.drain_timeout)
            await self.stop(float(self.config.drain_timeout))


def _asyncpg_ssl(sslmode: str) -> object:
    # libpq's sslmode words, as asyncpg takes them for its side connections.
    return {"disable": False, "allow": "allow", "prefer": "prefer"}.get(sslmode, "require")


def run(coro) -> object:
    """Run a coroutine on uvloop where available (asyncio's own loop otherwise)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)
