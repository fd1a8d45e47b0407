"""Incident settings: packaged defaults merged with a deployment's incident.yaml."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

DEFAULTS = Path(__file__).with_name("defaults.yaml")
FILE_NAME = "incident.yaml"


class SettingsError(Exception):
    """The incident settings file is missing or invalid (message names the file)."""


@dataclass
class Settings:
    """Incident settings plus what they need from gateway.yaml (state, upstream, rules)."""

    values: dict[str, Any]
    state_dsn: str | None = None
    upstream_dsn: str | None = None
    rules_path: Path | None = None
    playbooks_dir: Path = Path(__file__).with_name("playbooks")
    alert_sinks: list[dict[str, Any]] = field(default_factory=list)
    audit_key_env: str | None = None
    upstream_password: str | None = None
    state_password: str | None = None

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    @property
    def workdir(self) -> Path:
        return Path(self.values["workdir"])

    def link(self, incident_id: str) -> str:
        return str(self.values["link"]).format(id=incident_id)


def load(path: str | Path | None = None, base: dict[str, Any] | None = None) -> Settings:
    """Defaults, then the given file (or ./incident.yaml when present), then `base` keys."""
    values = _read(DEFAULTS)
    file = Path(path) if path else Path(FILE_NAME)
    if path and not file.exists():
        raise SettingsError(f"{file}: no such settings file")
    if file.exists():
        _merge(values, _read(file))
    _merge(values, base or {})
    return Settings(values=values)


def defaults() -> dict[str, Any]:
    """The packaged defaults alone (what a sandbox built from sample data needs)."""
    return _read(DEFAULTS)


def from_config(config: Any, settings_path: str | Path | None = None) -> Settings:
    """Settings for a gateway.yaml Config: state DSN, upstream, rules and playbooks."""
    if settings_path is None and config.path is not None:
        beside = Path(config.path).with_name(FILE_NAME)
        settings_path = beside if beside.exists() else None
    settings = load(settings_path)
    settings.upstream_dsn = config.upstream
    settings.state_dsn = config.state or config.upstream
    settings.rules_path = Path(config.rules) if config.rules else None
    if config.playbooks and Path(config.playbooks).is_dir():
        settings.playbooks_dir = Path(config.playbooks)
    settings.alert_sinks = [s for s in (config.alerts or []) if isinstance(s, dict)]
    settings.audit_key_env = (config.keys or {}).get("audit_signing_key_env")
    settings.upstream_password = config.secret(config.upstream_password_env)
    # The state lives in the upstream database unless `state` names another DSN.
    settings.state_password = None if config.state else settings.upstream_password
    return settings


def _read(file: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise SettingsError(f"{file}: cannot read ({type(exc).__name__})") from None
    if not isinstance(data, dict):
        raise SettingsError(f"{file}: expected a mapping of keys")
    return data


def _merge(into: dict[str, Any], extra: dict[str, Any]) -> None:
    # Nested mappings merge key by key so a deployment overrides only what it names.
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value
