"""Human-readable alert text for chat sinks: a headline and count lines, no personal data."""

from __future__ import annotations

from gateway.alerts.model import Alert

_MARK = {"critical": "[CRITICAL]", "warning": "[WARNING]", "info": "[INFO]"}


def headline(alert: Alert) -> str:
    shadow = " (shadow mode, no action)" if alert.shadow else ""
    return f"{_MARK[alert.severity]} privacy gateway: {alert.summary}{shadow}"


def lines(alert: Alert, link: str | None = None) -> list[str]:
    """Rule, who, why, and the numbers from details; a link when configured."""
    out = [f"rule: {alert.rule}",
           f"principal: {alert.principal or '-'}  purpose: {alert.purpose or '-'}",
           f"why: {alert.explanation}"]
    out += [f"{key}: {value}" for key, value in sorted(alert.details.items())
            if key != "explanation" and isinstance(value, int | float | str)]
    if alert.occurrences > 1:
        out.append(f"occurrences: {alert.occurrences}")
    if link:
        out.append(f"link: {link}")
    return out


def labels(alert: Alert) -> dict[str, str]:
    """Flat string labels shared by the structured formats."""
    return {"alertname": alert.rule, "severity": alert.severity,
            "principal": alert.principal or "", "purpose": alert.purpose or "",
            "fingerprint": alert.fingerprint, "shadow": str(alert.shadow).lower(),
            "service": "privacy-gateway"}
