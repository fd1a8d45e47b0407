"""The `detection:` section (rules file or a file beside it): detectors and their settings.

```yaml
detection:
  canary:            {severity: critical}
  rows_per_query:    {severity: warning}             # limit: purposes.*.limits.rows_per_query
  subjects_per_hour: {severity: warning, shadow: true}  # limit: purposes.*.limits.subjects_per_hour
  bulk_export:       {rows: 50000, window: 600}
  refused_burst:     {count: 20, window: 60}
  enumeration:       {lookups: 30, window: 120, max_gap: 3}
  off_hours:         {rows: 1000, start: 8, end: 20, utc_offset: 8}
  baseline:          {k: 3.0, floor: 100, min_history: 4, alpha: 0.3}
  new_table:         {severity: info, min_history_days: 7}
```

Every detector has `severity`, `shadow` (store the alert, send nothing) and `enabled`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from gateway.alerts.model import SEVERITIES

# detector: (default severity, default parameters, what it means)
DETECTORS: dict[str, tuple[str, dict[str, Any], str]] = {
    "canary": ("critical", {}, "a canary (honeytoken) subject was returned"),
    "rows_per_query": ("warning", {"limit": None}, "one statement returned more rows than"
                       " the purpose allows"),
    "subjects_per_hour": ("warning", {"limit": None}, "distinct customers read in the last"
                          " hour by one principal under one purpose, across all gateways"),
    "bulk_export": ("warning", {"rows": 50000, "window": 600}, "rows read from classified"
                    " tables in a window, across all gateways"),
    "refused_burst": ("warning", {"count": 20, "window": 60}, "refused statements in a window"
                      " (probing the policy)"),
    "enumeration": ("warning", {"lookups": 30, "window": 120, "max_gap": 3},
                    "single-customer lookups walking a range of ids"),
    "off_hours": ("warning", {"rows": 1000, "start": 8, "end": 20, "utc_offset": 8},
                  "a bulk read outside working hours"),
    "baseline": ("warning", {"k": 3.0, "floor": 100, "min_history": 4, "alpha": 0.3},
                 "distinct customers in the last hour far above this principal's usual"
                 " level for this hour of the week"),
    "new_table": ("info", {"min_history_days": 7}, "a principal with an established history"
                  " read a classified table it never read before"),
}


@dataclass(frozen=True)
class Setting:
    """One detector's effective settings."""

    name: str
    severity: str
    shadow: bool = False
    enabled: bool = True
    params: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        return self.params[key]


@dataclass(frozen=True)
class DetectionConfig:
    settings: dict[str, Setting]

    def get(self, name: str) -> Setting | None:
        """The detector's settings when enabled, else None."""
        setting = self.settings.get(name)
        return setting if setting and setting.enabled else None


def load_detection(section: Mapping[str, Any] | None) -> DetectionConfig:
    """Validate a `detection:` mapping; unknown detectors or keys are errors naming them."""
    section = section or {}
    unknown = sorted(set(section) - set(DETECTORS))
    if unknown:
        raise ValueError(f"detection.{unknown[0]}: unknown detector")
    return DetectionConfig({name: _setting(name, section.get(name) or {})
                            for name in DETECTORS})


def _setting(name: str, raw: Mapping[str, Any]) -> Setting:
    severity, defaults, _ = DETECTORS[name]
    allowed = {"severity", "shadow", "enabled", *defaults}
    bad = sorted(set(raw) - allowed)
    if bad:
        raise ValueError(f"detection.{name}.{bad[0]}: unknown key")
    severity = raw.get("severity", severity)
    if severity not in SEVERITIES:
        raise ValueError(f"detection.{name}.severity: must be one of {', '.join(SEVERITIES)}")
    params = {**defaults, **{k: v for k, v in raw.items() if k in defaults}}
    return Setting(name, severity, bool(raw.get("shadow", False)),
                   bool(raw.get("enabled", True)), params)


def load_detection_file(path: str | Path) -> DetectionConfig:
    """The `detection:` section of a YAML file (a rules file, or a file beside it)."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    return load_detection(data.get("detection"))
