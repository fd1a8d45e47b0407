"""contain.revoke_role and contain.terminate_upstream against real roles and sessions."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest

from incident import engine, service
from incident.loader import Step


@pytest.fixture
async def role(conn, state_dsn):
    name = f"leaky_{uuid.uuid4().hex[:6]}"
    await conn.execute(f'CREATE ROLE "{name}" LOGIN')
    await conn.execute(f"CREATE TABLE IF NOT EXISTS public.{name}_t (id int)")
    await conn.execute(f'GRANT SELECT, INSERT ON public.{name}_t TO "{name}"')
    await conn.execute(f'GRANT UPDATE ON public.{name}_t TO "{name}" WITH GRANT OPTION')
    yield name
    await conn.execute(f"DROP TABLE public.{name}_t")
    await conn.execute(f'DROP ROLE "{name}"')


async def _grants(conn, role: str) -> set[tuple]:
    rows = await conn.fetch(
        "SELECT privilege_type, is_grantable FROM information_schema.role_table_grants"
        " WHERE grantee = $1", role)
    return {tuple(r) for r in rows}


async def test_revoke_role_and_exact_undo(conn, settings, role):
    before = await _grants(conn, role)
    assert len(before) == 3
    inc = await service.declare(conn, settings, title="role", actor="t")
    step = Step("revoke", "contain.revoke_role", {"role": role})
    assert (await engine.run_single(conn, settings, inc.id, step, "t")).state == "finished"
    assert not await conn.fetchval("SELECT rolcanlogin FROM pg_roles WHERE rolname = $1", role)
    assert await _grants(conn, role) == set()
    assert await engine.release(conn, settings, inc.id, "t") == ["revoke"]
    assert await conn.fetchval("SELECT rolcanlogin FROM pg_roles WHERE rolname = $1", role)
    assert await _grants(conn, role) == before


async def test_terminate_upstream_ends_live_sessions(conn, settings, state_dsn, role):
    victim = await asyncpg.connect(state_dsn, user=role)
    pid = victim.get_server_pid()
    inc = await service.declare(conn, settings, title="sessions", actor="t")
    step = Step("terminate", "contain.terminate_upstream", {"role": role})
    assert (await engine.run_single(conn, settings, inc.id, step, "t")).state == "finished"
    for _ in range(100):  # the backend exits a moment after it is told to
        if not await conn.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid):
            break
        await asyncio.sleep(0.05)
    else:
        pytest.fail("the role's session is still running")
    # What the client sees depends on when the server's FATAL message reached it (asyncpg
    # may even be mid-way through its own state change): in every case, no more queries.
    with pytest.raises((asyncpg.AdminShutdownError, asyncpg.ConnectionDoesNotExistError,
                        asyncpg.InterfaceError, asyncpg.InternalClientError)):
        await victim.fetchval("SELECT 1")
    # Not reversible: release leaves it alone and says nothing was undone.
    assert await engine.release(conn, settings, inc.id, "t") == []


async def test_unknown_role_fails_the_step_without_detail(conn, settings):
    inc = await service.declare(conn, settings, title="missing role", actor="t")
    step = Step("revoke", "contain.revoke_role", {"role": "no_such_role_x"})
    result = await engine.run_single(conn, settings, inc.id, step, "t")
    assert result.state == "failed"
    (row,) = await engine.steps(conn, inc.id)
    assert row["error"] == "no database role 'no_such_role_x'"
