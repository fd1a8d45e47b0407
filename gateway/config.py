"""gateway.yaml: the configuration keys, their defaults and environment overrides.

Every key is documented once, in KEYS. Any key can be overridden by PGW_<KEY>
(e.g. PGW_LISTEN); structured keys take YAML in the variable.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

DEFAULT_FILE = "gateway.yaml"

# key: (default, description)
KEYS: dict[str, tuple[Any, str]] = {
    "listen": ("127.0.0.1:6432", "host:port the gateway accepts PostgreSQL clients on"),
    "upstream": (None, "DSN of the customer database, reached with the gateway's own role"),
    "upstream_password_env": ("PGW_UPSTREAM_PASSWORD", "variable holding the upstream password"),
    "rules": ("rules/customers.yaml", "purpose rules file"),
    "state": (None, "DSN for audit, meters and incidents; null = upstream, schema privacy_gateway"),
    "admin": ("127.0.0.1:9187", "host:port of the admin HTTP server; null = off"),
    "admin_token_env": ("PGW_ADMIN_TOKEN", "variable holding the admin API bearer token"),
    "tls": ({"cert": None, "key": None, "client": "allow"},
            "client TLS: certificate and key files; client: allow | require"),
    "upstream_tls": ("prefer", "TLS to upstream: disable | prefer | require"),
    "keys": ({"audit_signing_key_env": "PGW_AUDIT_KEY", "mask_hash_key_env": "PGW_MASK_KEY"},
             "variables holding the audit signing key and the pseudonym (hash mask) key"),
    "alerts": ([], "alert sinks, e.g. {type: webhook, url: ..., format: alertmanager}"),
    "playbooks": ("incident/playbooks", "folder of incident playbooks"),
    "max_clients": (500, "client connections accepted at once; more get SQLSTATE 53300"),
    "startup_timeout": (10.0, "seconds a client has to finish TLS, startup and authentication"),
    "idle_timeout": (0.0, "seconds a session may sit idle outside a transaction; 0 = no limit"),
    "connect_timeout": (10.0, "seconds to reach the upstream database"),
    "catalog_refresh": (60.0, "seconds between re-reads of the upstream catalog (views, "
                               "tables) for the rewrite; 0 = only at start and reload"),
    "log_format": ("text", "log lines: text | json (one object per line, scrubbed of values)"),
    "log_level": ("info", "debug | info | warning | error"),
    "drain_timeout": (10.0, "on SIGTERM, seconds running statements may take to finish"),
    "audit_spool": ("var/audit-spool",
                    "local append-only file used while the state database is down"),
    "audit_durability": ("buffered", "audit durability: buffered | strict"),
    "audit_flush_interval": (0.2, "buffered audit: seconds between the writer's commits "
                                  "(0.01-60); a crash loses at most the records of the last "
                                  "interval and one commit"),
    "audit": (True, "audit log, metering, leak detection and block list; false only to "
                    "measure the bare wire path"),
}


class ConfigError(Exception):
    """The configuration file or an override is invalid (message names the key)."""


@dataclass
class Config:
    """The effective configuration: defaults, then the file, then the environment."""

    values: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    def __getattr__(self, key: str) -> Any:
        try:
            return self.values[key]
        except KeyError:
            raise AttributeError(key) from None

    def secret(self, env_name: str | None) -> str | None:
        """The value of the environment variable a `*_env` key names."""
        return os.environ.get(env_name) if env_name else None


def load(path: str | os.PathLike | None = None, overrides: dict[str, Any] | None = None,
         environ: dict[str, str] | None = None) -> Config:
    """Read gateway.yaml (when present), apply PGW_* variables, then explicit overrides."""
    environ = os.environ if environ is None else environ
    values = {key: _copy(default) for key, (default, _) in KEYS.items()}
    file = Path(path) if path else Path(DEFAULT_FILE)
    if path and not file.exists():
        raise ConfigError(f"{file}: no such configuration file")
    if file.exists():
        values.update(_read_file(file))
    for key in KEYS:
        raw = environ.get(f"PGW_{key.upper()}")
        if raw is not None:
            values[key] = _parse_env(key, raw)
    values.update(overrides or {})
    _check(values)
    return Config(values=values, path=file if file.exists() else None)


def _read_file(file: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{file}:{mark.line + 1}" if mark else str(file)
        raise ConfigError(f"{where}: invalid YAML") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{file}: expected a mapping of keys")
    unknown = sorted(set(data) - set(KEYS))
    if unknown:
        raise ConfigError(f"{file}: unknown key {unknown[0]!r}")
    return data


def _parse_env(key: str, raw: str) -> Any:
    default = KEYS[key][0]
    if isinstance(default, str) or default is None:
        return raw if raw.lower() not in ("", "null", "none") else None
    try:
        return yaml.safe_load(raw)
    except yaml.YAMLError:
        raise ConfigError(f"PGW_{key.upper()}: invalid value") from None


def _check(values: dict[str, Any]) -> None:
    tls = {**KEYS["tls"][0], **(values.get("tls") or {})}
    if tls["client"] not in ("allow", "require"):
        raise ConfigError("tls.client: must be allow or require")
    if tls["client"] == "require" and not (tls["cert"] and tls["key"]):
        raise ConfigError("tls.client: require needs tls.cert and tls.key")
    values["tls"] = tls
    values["keys"] = {**KEYS["keys"][0], **(values.get("keys") or {})}
    if values["log_format"] not in ("text", "json"):
        raise ConfigError("log_format: must be text or json")
    if values["audit_durability"] not in ("buffered", "strict"):
        raise ConfigError("audit_durability: must be buffered or strict")
    interval = values["audit_flush_interval"]
    if type(interval) not in (int, float) or not 0.01 <= interval <= 60:
        raise ConfigError("audit_flush_interval: must be a number of seconds from 0.01 to 60")
    for key in ("listen", "admin"):
        if values[key] is not None:
            split_address(values[key], key)


def split_address(value: str, key: str = "address") -> tuple[str, int]:
    """'host:port' -> (host, port), with a clear error naming the key."""
    host, sep, port = str(value).rpartition(":")
    if not sep or not port.isdigit():
        raise ConfigError(f"{key}: expected host:port, got {value!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, list):
        return list(value)
    return value
