"""Containment through real gateways: two replicas share one state database; a block made
by the incident CLI refuses new logins (28000) and ends live sessions (57P01) on both."""

from __future__ import annotations

import asyncio
import os
import time

import psycopg
import pytest
from incident_support import AUDIT_SECRET, KEY_ENV

from incident import engine, service
from incident.loader import Step
from tests.integration.conftest import RULES, conninfo
from tests.integration.gateway_thread import GatewayThread


@pytest.fixture(scope="module")
def replicas(upstream_dsn, state_dsn):
    """Two gateways whose block lists live in the incident tests' state database."""
    os.environ[KEY_ENV] = AUDIT_SECRET  # read once, when each gateway starts
    pairs = []
    for _ in range(2):
        gw = GatewayThread({"upstream": upstream_dsn, "rules": str(RULES), "state": state_dsn,
                            # the incident tests' audit key: evidence steps verify chains
                            "keys": {"audit_signing_key_env": KEY_ENV}}).start()
        pairs.append((gw, gw.gateway.watcher))
    yield pairs
    for gw, _ in pairs:
        gw.stop()


def _login(gw: GatewayThread) -> psycopg.Connection:
    return psycopg.connect(conninfo(gw, "crm_app"), autocommit=True, connect_timeout=5)


async def test_block_reaches_both_replicas_and_release_restores(replicas, conn, settings):
    (a, _), (b, watcher_b) = replicas
    live = await asyncio.to_thread(_login, a)
    assert (await asyncio.to_thread(live.execute, "SELECT 1")).fetchone() == (1,)

    inc = await service.declare(conn, settings, title="gateway containment", actor="t",
                                principal="crm_app")
    started = time.monotonic()
    step = Step("block", "contain.block_principal", {})
    assert (await engine.run_single(conn, settings, inc.id, step, "t")).state == "finished"
    while not watcher_b.blocks.is_blocked("crm_app"):
        assert time.monotonic() - started < 1.0, "replica b did not hear of the block in 1 s"
        await asyncio.sleep(0.01)

    with pytest.raises(psycopg.OperationalError) as refused:
        await asyncio.to_thread(_login, b)
    assert "access suspended" in str(refused.value)
    with pytest.raises(psycopg.Error) as ended:
        await asyncio.to_thread(live.execute, "SELECT 1")
    assert "access suspended" in str(ended.value) or ended.value.sqlstate in ("57P01", None)
    live.close()

    assert await engine.release(conn, settings, inc.id, "t") == ["block"]
    while watcher_b.blocks.is_blocked("crm_app"):
        await asyncio.sleep(0.01)
    again = await asyncio.to_thread(_login, b)
    again.close()
