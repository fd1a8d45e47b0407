"""From finished statements to audit records, meters and leak detection.

The tracker hands over each finished statement (a Run); this turns it into one audit
record and one metering observation. Nothing here waits: records are queued for the
background writer (strict mode awaits durability in the shell, not here).

This runs once per statement, so it does as little as it can: what follows from the
policy Decision alone is worked out once per decision (Facts), the record is queued as
a compact entry that the writer seals and encodes in batches, and a statement that
reads no classified table and was not refused only counts in the metrics (no detector
can fire for it).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from gateway.audit.record import LOGIN, STATEMENT, AuditRecord, from_micros
from gateway.audit.statement import describe
from gateway.metering.bridge import classes, objects_json, uses_from
from gateway.metering.runtime import Accounting
from gateway.metering.usage import StatementUse
from gateway.metrics import metric
from gateway.policy.decision import Decision
from gateway.session.core import Session
from gateway.session.results import Run

_FACTS = 4096  # decisions whose facts are kept (the policy caches about as many)


@dataclass(frozen=True, slots=True)
class Facts:
    """What accounting needs from one policy Decision, worked out once."""

    decision: Decision | None  # held so its id is not reused while the facts are cached
    objects: str | None  # AuditRecord.objects as canonical JSON text
    reason: str | None
    verdict: str  # deny, rewrite or allow; a run that failed makes it error
    exposure: str
    tables: dict[str, tuple[tuple[str, ...], tuple[str, ...], int]]  # bridge.classes


def facts(decision: Decision | None) -> Facts:
    if decision is None:
        return Facts(None, None, None, "allow", "none", {})
    refusal = decision.refusal
    verdict = "deny" if refusal else "rewrite" if decision.rewritten else "allow"
    columns = decision.columns
    tables = {t: (tuple(clear), tuple(masked), n)
              for t, (clear, masked, n) in classes(columns).items()}
    return Facts(decision, objects_json(columns) if columns else None,
                 refusal.message if refusal else None, verdict, decision.exposure, tables)


def _missed(cells: int) -> str:
    # The result stream caught what the rewrite let through (see results.Checks): the
    # record says so, for whoever investigates the statement.
    return f"rewrite miss: the result stream masked {cells} value(s)"


def _millis(seconds: float) -> float:
    """Milliseconds to the microsecond, as round(seconds * 1000, 3) gives them but for
    ties (the clock's own noise), in a third of its time."""
    return int(seconds * 1e6 + 0.5) / 1000


_PLAIN = {(verdict, exposure): Facts(None, None, None, verdict, exposure, {})
          for verdict in ("allow", "rewrite")
          for exposure in ("rows", "aggregate", "unknown", "none")}


@dataclass
class SessionAccounting:
    """Audit and metering for the sessions of one gateway."""

    accounting: Accounting
    _facts: dict[int, Facts] = field(default_factory=dict)

    def statements(self, session: Session, runs: list[Run]) -> int:
        """Record finished statements; returns the last audit sequence number."""
        seq = 0
        for run in runs:
            seq = self._statement(session, run)
        return seq

    def _statement(self, session: Session, run: Run) -> int:
        decision = run.prepared.decision
        known = self._facts_of(decision)
        verdict = known.verdict
        if run.sqlstate is not None and verdict != "deny":
            verdict = "error"
        subjects = run.subjects  # what the statement still holds (see exposure())
        duration = session.config.clock() - run.started
        if duration < 0.0:
            duration = 0.0
        who = session.audit_who
        if who is None or who[2] != session.purpose:  # made again when the purpose changes
            who = session.audit_who = (
                str(session.id), session.principal.name if session.principal else None,
                session.purpose, session.client_address or None,
                session.params.get("application_name"))
        session_id, principal, purpose, _, _ = who
        ts = time.time_ns() // 1000
        seq = self.accounting.auditor.submit_entry((
            STATEMENT, ts, who, describe(run.sql, decision and decision.shape), known.objects,
            run.rows, run.subject_count, verdict,
            _missed(run.misses) if run.misses else known.reason,
            _millis(duration), run.sqlstate))
        metering = self.accounting.metering
        exposed = (known.tables or subjects) and known.exposure != "none"
        if exposed or verdict == "deny" or not metering.quiet_without_tables:
            uses = uses_from(known.tables, known.exposure, run.rows, subjects) if exposed else []
            metering.observe(StatementUse(principal, purpose, verdict, uses, session_id, seq,
                                          duration, from_micros(ts)))
        else:
            metering.count(verdict, duration)
        return seq

    def exposure(self, session: Session, run: Run, subjects: dict[str, set[str]]) -> None:
        """Subjects a statement still sending rows hands over (see Tracker.batches): to the
        exposure ledger and the subject detectors now; rows and the audit record follow
        when the statement ends."""
        known = self._facts_of(run.prepared.decision)
        if known.exposure == "none":
            return
        self.accounting.metering.observe_batch(StatementUse(
            session.principal.name if session.principal else None, session.purpose,
            known.verdict, uses_from(known.tables, known.exposure, 0, subjects),
            str(session.id)))

    def _facts_of(self, decision: Decision | None) -> Facts:
        if decision is not None and not decision.columns and decision.refusal is None:
            # A new decision per text for statements with inline literals: not cached
            return _PLAIN["rewrite" if decision.rewritten else "allow", decision.exposure]
        cache = self._facts
        found = cache.get(id(decision))
        if found is None or found.decision is not decision:
            if len(cache) >= _FACTS:
                cache.clear()
            found = cache[id(decision)] = facts(decision)
        return found

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

