"""From finished statements to audit records, meters and leak detection.

The tracker hands over each finished statement (a Run); this turns it into one audit
record and one metering observation. Nothing here waits: records are queued for the
background writer (strict mode awaits durability in the shell, not here).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

from gateway.audit.record import LOGIN, AuditRecord
from gateway.audit.statement import describe
from gateway.metering.bridge import objects_json, table_uses
from gateway.metering.runtime import Accounting
from gateway.metering.usage import StatementUse
from gateway.metrics import metric
from gateway.session.core import Session
from gateway.session.results import Run

_DESCRIBED = 2048  # statement texts whose fingerprint we keep (prepared ones repeat)


@dataclass
class SessionAccounting:
    """Audit and metering for the sessions of one gateway."""

    accounting: Accounting
    _described: OrderedDict[str, tuple[str, str]] = field(default_factory=OrderedDict)

    def statements(self, session: Session, runs: list[Run]) -> int:
        """Record finished statements; returns the last audit sequence number."""
        seq = 0
        for run in runs:
            seq = self._statement(session, run)
        return seq

    def _statement(self, session: Session, run: Run) -> int:
        decision = run.prepared.decision
        verdict = _verdict(run)
        fingerprint, text = self._describe(run.prepared.sql)
        subjects = run.subject_count
        duration = max(session.config.clock() - run.started, 0.0)
        principal = session.principal.name if session.principal else None
        record = AuditRecord(
            session_id=str(session.id), principal=principal, purpose=session.purpose,
            client_addr=session.client_address or None,
            application_name=session.params.get("application_name"),
            fingerprint=fingerprint, statement=text,
            objects=objects_json(decision.columns) if decision and decision.columns else None,
            rows=run.rows, subjects=subjects, decision=verdict,
            reason=decision.refusal.message if decision and decision.refusal else None,
            duration_ms=round(duration * 1000, 3), sqlstate=run.sqlstate)
        seq = self.accounting.auditor.submit(record)
        uses = table_uses(decision.columns, decision.exposure, run.rows,
                          run.subjects) if decision else []
        self.accounting.metering.observe(StatementUse(
            principal, session.purpose, verdict, uses, str(session.id), seq, duration))
        if run.misses:
            metric("rewrite_misses").labels(reason="result_stream").inc(run.misses)
        return seq

    def exposure(self, session: Session, run: Run, subjects: dict[str, set[str]]) -> None:
        """Subjects a statement still sending rows hands over (see Tracker.batches): to the
        exposure ledger and the subject detectors now; rows and the audit record follow
        when the statement ends."""
        decision = run.prepared.decision
        if decision is None:
            return
        uses = table_uses(decision.columns, decision.exposure, 0, subjects)
        self.accounting.metering.observe_batch(StatementUse(
            session.principal.name if session.principal else None, session.purpose,
            _verdict(run), uses, str(session.id)))

    def login(self, session: Session, ok: bool, reason: str | None) -> int:
        """Audit a login; a failed one by an unknown name keeps no name (it may be PII)."""
        known = session.principal is not None
        if not ok:
            metric("auth_failures").labels(reason=reason or "password").inc()
        return self.accounting.auditor.submit(AuditRecord(
            kind=LOGIN, session_id=str(session.id),
            principal=session.principal.name if known else None,
            purpose=session.purpose, client_addr=session.client_address or None,
            application_name=session.params.get("application_name"),
            decision="login_ok" if ok else "login_failed", reason=reason))

    def _describe(self, sql: str) -> tuple[str, str]:
        cache = self._described
        found = cache.get(sql)
        if found is None:
            found = cache[sql] = describe(sql)
            if len(cache) > _DESCRIBED:
                cache.popitem(last=False)
        return found


def _verdict(run: Run) -> str:
    decision = run.prepared.decision
    if decision is not None and decision.refusal is not None:
        return "deny"
    if run.sqlstate is not None:
        return "error"
    return "rewrite" if decision is not None and decision.rewritten else "allow"
