"""What incidents need from the purpose rules: canary customers and sensitive classes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gateway.policy.rules import RulesError, load_rules


class RulesUnavailable(Exception):
    """The rules file cannot be read; assessment refuses to guess (fail closed)."""


@dataclass(frozen=True)
class RulesInfo:
    canaries: frozenset[str]
    sensitive: frozenset[str]


def load(path: Path | None) -> RulesInfo:
    """Canary subject ids of every table and the classes marked sensitive."""
    if path is None:
        raise RulesUnavailable("no rules file configured")
    try:
        rules = load_rules(path)
    except (RulesError, OSError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise RulesUnavailable(f"rules file cannot be loaded: {first}") from None
    canaries = {str(c) for table in rules.tables.values() for c in table.canaries}
    sensitive = {name for name, cls in rules.classes.items() if cls.sensitive}
    return RulesInfo(frozenset(canaries), frozenset(sensitive))
