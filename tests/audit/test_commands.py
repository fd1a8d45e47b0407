"""`privacy-gateway audit verify` end to end: real database, real chain."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from gateway.audit.record import AuditRecord
from gateway.audit.spool import Spool
from gateway.audit.writer import AuditWriter
from gateway.cli import main

SECRET = "test audit secret, not for production"


@pytest.fixture
def config_file(tmp_path, state_dsn, monkeypatch):
    monkeypatch.setenv("PGW_AUDIT_KEY", SECRET)
    path = tmp_path / "gateway.yaml"
    path.write_text(f"state: '{state_dsn}'\n")
    return str(path)


def _write_chain(keys, dsn, tmp_path, replica) -> list[int]:
    async def go():
        writer = AuditWriter(keys, replica, lambda: asyncpg.connect(dsn), Spool(tmp_path / "s"))
        await writer.start()
        seqs = [writer.submit(AuditRecord(principal="crm_app", rows=i)) for i in range(3)]
        await writer.close()
        return seqs
    return asyncio.run(go())


def test_verify_passes_then_names_tampered_record(config_file, keys, state_dsn, tmp_path,
                                                  capsys):
    seqs = _write_chain(keys, state_dsn, tmp_path, "cli-replica")
    assert main(["--config", config_file, "audit", "verify", "--replica", "cli-replica"]) == 0
    assert capsys.readouterr().out.startswith("ok: 5 records")

    async def tamper():
        conn = await asyncpg.connect(state_dsn)
        async with conn.transaction():
            await conn.execute("ALTER TABLE privacy_gateway.audit_log DISABLE TRIGGER USER")
            await conn.execute("UPDATE privacy_gateway.audit_log SET principal = 'x'"
                               " WHERE replica = 'cli-replica' AND seq = $1", seqs[1])
            await conn.execute("ALTER TABLE privacy_gateway.audit_log ENABLE TRIGGER USER")
        await conn.close()
    asyncio.run(tamper())
    assert main(["--config", config_file, "audit", "verify", "--replica", "cli-replica"]) == 1
    err = capsys.readouterr().err
    assert f"record cli-replica/{seqs[1]}: MAC mismatch" in err and len(err.splitlines()) == 1


def test_verify_without_key_is_one_line_error(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("PGW_AUDIT_KEY", raising=False)
    path = tmp_path / "gateway.yaml"
    path.write_text("state: 'postgresql://nobody@127.0.0.1:1/x'\n")
    assert main(["--config", str(path), "audit", "verify"]) == 1
    assert "PGW_AUDIT_KEY is not set" in capsys.readouterr().err


def test_verify_unreachable_database(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PGW_AUDIT_KEY", SECRET)
    path = tmp_path / "gateway.yaml"
    path.write_text("state: 'postgresql://nobody@127.0.0.1:1/x'\n")
    assert main(["--config", str(path), "audit", "verify"]) == 1
    assert "state database unreachable" in capsys.readouterr().err


def test_public_key_verification_without_the_secret(config_file, keys, state_dsn, tmp_path,
                                                    capsys, monkeypatch):
    _write_chain(keys, state_dsn, tmp_path, "cli-public")
    assert main(["--config", config_file, "audit", "public-key"]) == 0
    public = capsys.readouterr().out.strip()
    assert public == keys.public_hex()
    monkeypatch.delenv("PGW_AUDIT_KEY")
    assert main(["--config", config_file, "audit", "verify", "--replica", "cli-public",
                 "--public-key", public]) == 0
    assert "MACs not checked" in capsys.readouterr().out
    assert main(["--config", config_file, "audit", "verify", "--public-key", "zz"]) == 1
