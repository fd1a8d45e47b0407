"""evidence.snapshot: the audit slice, its verification and checkpoints, with a SHA-256 manifest."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import asyncpg

from incident import affected
from incident.actions.base import Action, ActionError, Context, Outcome

# Whole chains from the first to the last record of each replica touching the window, so
# the slice verifies on its own.
_AUDIT = """
WITH span AS (
    SELECT replica, min(seq) AS lo, max(seq) AS hi FROM privacy_gateway.audit_log
    WHERE ts >= $1 AND ts <= $2 GROUP BY replica)
SELECT a.* FROM privacy_gateway.audit_log a JOIN span s
  ON a.replica = s.replica AND a.seq BETWEEN s.lo AND s.hi
ORDER BY a.replica, a.seq
"""
_EXPOSURE = ("SELECT * FROM privacy_gateway.exposure WHERE ($1::text IS NULL OR principal = $1)"
             " AND ($2::text IS NULL OR purpose = $2) AND ts >= $3 AND ts <= $4 ORDER BY ts")
_ALERTS = ("SELECT a.* FROM privacy_gateway.alerts a JOIN privacy_gateway.incident_signals s"
           " ON s.alert_id = a.id WHERE s.incident_id = $1 ORDER BY a.id")


class EvidenceSnapshot(Action):
    """Writes a bundle folder; never reversible (evidence is kept)."""

    type = "evidence.snapshot"

    async def run(self, ctx: Context, params: dict[str, Any]) -> Outcome:
        now = await ctx.conn.fetchval("SELECT now()")
        scope = affected.scope_for(ctx.incident, ctx.settings["intake"]["lookback"], now)
        bundle = ctx.folder / "evidence" / f"{now:%Y%m%dT%H%M%S}-{ctx.step_id}"
        bundle.mkdir(parents=True, exist_ok=True)
        try:
            audit = await ctx.conn.fetch(_AUDIT, scope.since, scope.until)
            exposure = await ctx.conn.fetch(_EXPOSURE, *scope.args())
            alerts = await ctx.conn.fetch(_ALERTS, ctx.incident.id)
        except asyncpg.UndefinedTableError:
            raise ActionError("the audit log or exposure ledger does not exist") from None
        checkpoints = [r for r in audit if r["kind"] in ("checkpoint", "chain_end")]
        verification = _verify(audit, ctx.settings.audit_key_env)
        files = {"audit.jsonl": audit, "checkpoints.jsonl": checkpoints,
                 "exposure.jsonl": exposure, "alerts.jsonl": alerts}
        for name, rows in files.items():
            _write_jsonl(bundle / name, rows)
        (bundle / "verification.json").write_text(json.dumps(verification, indent=2))
        manifest = _manifest(bundle, ctx.incident.id, scope)
        if not verification["ok"]:
            raise ActionError(f"audit slice fails verification: {verification['first_bad']}")
        return Outcome(summary=f"evidence bundle with {len(audit)} audit record(s),"
                               f" {len(checkpoints)} checkpoint(s); chain verified",
                       after={"bundle": str(bundle), "manifest_sha256": manifest,
                              "audit_records": len(audit), "checkpoints": len(checkpoints),
                              "checkpoint_ids": [f"{r['replica']}/{r['seq']}"
                                                 for r in checkpoints][-20:]})


def _verify(rows: list[asyncpg.Record], key_env: str | None) -> dict[str, Any]:
    """Chain and signature check of the slice, with the audit key when it is available."""
    from gateway.audit.keys import AuditKeys
    from gateway.audit.verify import verify_chain

    secret = os.environ.get(key_env) if key_env else None
    keys = AuditKeys.derive(secret) if secret else None
    report = verify_chain(rows, keys)
    return {"ok": report.ok, "checked": report.checked, "checkpoints": report.checkpoints,
            "chains": report.chains, "with_key": keys is not None,
            "first_bad": str(report.first_bad) if report.first_bad else None,
            "problems": [str(p) for p in report.problems]}


def _write_jsonl(path: Path, rows: list[asyncpg.Record]) -> None:
    with path.open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(dict(row), default=_plain, ensure_ascii=False) + "\n")


def _plain(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    return str(value)


def _manifest(bundle: Path, incident_id: str, scope: affected.Scope) -> str:
    files = {p.name: {"sha256": hashlib.sha256(p.read_bytes()).hexdigest(),
                      "bytes": p.stat().st_size}
             for p in sorted(bundle.iterdir()) if p.name not in ("manifest.json",
                                                                 "manifest.sha256")}
    body = json.dumps({"incident": incident_id, "scope": {
        "principal": scope.principal, "purpose": scope.purpose,
        "since": scope.since.isoformat(), "until": scope.until.isoformat()},
        "files": files}, indent=2, sort_keys=True)
    (bundle / "manifest.json").write_text(body)
    digest = hashlib.sha256(body.encode()).hexdigest()
    (bundle / "manifest.sha256").write_text(f"{digest}  manifest.json\n")
    return digest
