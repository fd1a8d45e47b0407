"""Start and stop the accounting side of a gateway: audit writer, alerts, metering.

The session server calls `start_accounting(config)` once, hands `accounting.auditor`
and `accounting.metering` to each session, serves `accounting.ready` at /readyz, and
awaits `accounting.close()` on shutdown (which writes the end-of-chain marker).
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Mapping
from dataclasses import dataclass

import asyncpg

from gateway.alerts.dispatch import AlertDispatcher
from gateway.alerts.sinks import build
from gateway.audit.keys import from_config
from gateway.audit.spool import Spool
from gateway.audit.writer import STRICT, AuditWriter
from gateway.metering.bridge import rules_inputs
from gateway.metering.detection import DetectionConfig
from gateway.metering.meter import Metering
from gateway.state import connect as state

log = logging.getLogger(__name__)


@dataclass
class Accounting:
    """The running audit writer, alert dispatcher and metering of one gateway."""

    auditor: AuditWriter
    alerts: AlertDispatcher
    metering: Metering
    pool: asyncpg.Pool

    def ready(self) -> dict[str, bool]:
        """For /readyz: the state database takes audit records (not only the spool)."""
        return {"audit_state": not self.auditor.degraded}

    async def close(self) -> None:
        await self.metering.close()
        await self.auditor.close()
        await self.alerts.close()
        await self.pool.close()


def default_replica(config) -> str:
    """Host name and listen port: stable across restarts of the same instance."""
    port = str(config.values.get("listen", "")).rpartition(":")[2]
    return f"{socket.gethostname()}:{port}"


async def start_accounting(config, replica: str | None = None,
                           detection: DetectionConfig | None = None,
                           limits: Mapping[str, Mapping[str, int]] | None = None,
                           canaries: Mapping[str, frozenset[str]] | None = None,
                           rules=None) -> Accounting:
    """Build and start everything; strict mode refuses to start without the audit secret.

    A state database that is down at start is not fatal: records go to the spool.
    With `rules` (a loaded policy Rules), detection, limits and canaries come from it
    unless given.
    """
    if rules is not None:
        from_rules = rules_inputs(rules)
        detection = detection or from_rules[0]
        limits = limits if limits is not None else from_rules[1]
        canaries = canaries if canaries is not None else from_rules[2]
    mode = config.values.get("audit_durability", "buffered")
    keys = from_config(config, strict=mode == STRICT)
    dsn, password = state.as_url(state.state_dsn(config)), state.state_password(config)
    replica = replica or default_replica(config)

    async def connect() -> asyncpg.Connection:
        conn = await state.connect(dsn, password)
        await state.ensure_schema(conn)  # also after an outage that began before startup
        return conn

    # min_size=0: no connection at start, so a state database that is down is retried later
    pool = await asyncpg.create_pool(dsn, password=password, min_size=0, max_size=4,
                                     timeout=5)
    auditor = AuditWriter(keys, replica, connect, Spool(config.values["audit_spool"]),
                          mode=mode, flush_interval=config.audit_flush_interval)
    alerts = AlertDispatcher(build(config.values.get("alerts") or [], config.secret), pool,
                             replica, settled=auditor.settled)
    metering = Metering(replica, auditor, alerts, detection, limits, canaries, pool)
    await auditor.start()
    await alerts.start()
    await metering.start()
    log.info("accounting: replica %s, audit %s, %d alert sink(s)", replica, mode,
             len(alerts.sinks))
    return Accounting(auditor, alerts, metering, pool)
