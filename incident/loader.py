"""Playbooks: YAML files of triggers and ordered steps, loaded and validated."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from incident import actions
from incident.models import GRADES, grade_rank

_PLAYBOOK_KEYS = {"name", "title", "description", "category", "severity", "triggers", "steps"}
_STEP_KEYS = {"id", "type", "with", "approval", "when", "description"}
_TRIGGER_KEYS = {"rule", "severity", "grade"}
_WHEN_KEYS = {"grade_at_least", "eu_subjects", "drill"}


class PlaybookError(Exception):
    """A playbook file is invalid (message names file and reason)."""


@dataclass(frozen=True)
class Step:
    """One ordered step: an action type, its parameters and conditions."""

    id: str
    type: str
    params: dict[str, Any] = field(default_factory=dict)
    approval: bool = False
    when: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Playbook:
    """Triggers (any one matches) and the steps they start."""

    name: str
    title: str
    steps: tuple[Step, ...]
    triggers: tuple[dict[str, Any], ...] = ()
    category: str | None = None
    severity: str | None = None

    def matches(self, rule: str | None, severity: str | None, grade: str | None) -> bool:
        """True when one trigger matches the alert rule (glob), severity and minimum grade."""
        return any(_trigger_matches(t, rule, severity, grade) for t in self.triggers)


def _trigger_matches(trigger: dict[str, Any], rule: str | None, severity: str | None,
                     grade: str | None) -> bool:
    if "rule" in trigger and not (rule and fnmatch.fnmatchcase(rule, trigger["rule"])):
        return False
    if "severity" in trigger and severity != trigger["severity"]:
        return False
    return not ("grade" in trigger and not (grade and grade_rank(grade) >= grade_rank(
        trigger["grade"])))


def load_dir(folder: Path) -> dict[str, Playbook]:
    """Every *.yaml playbook in `folder`, by name."""
    books: dict[str, Playbook] = {}
    for file in sorted(Path(folder).glob("*.yaml")):
        book = load_file(file)
        if book.name in books:
            raise PlaybookError(f"{file}: playbook name {book.name!r} used twice")
        books[book.name] = book
    return books


def load_file(file: Path) -> Playbook:
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise PlaybookError(f"{file}: cannot read ({type(exc).__name__})") from None
    try:
        return parse(data)
    except PlaybookError as exc:
        raise PlaybookError(f"{file}: {exc}") from None


def parse(data: Any) -> Playbook:
    """Validate one playbook document; PlaybookError says what is wrong."""
    _mapping(data, _PLAYBOOK_KEYS, "playbook")
    for key in ("name", "steps"):
        if key not in data:
            raise PlaybookError(f"missing key {key!r}")
    triggers = tuple(data.get("triggers") or ())
    for trigger in triggers:
        _mapping(trigger, _TRIGGER_KEYS, "trigger")
        if "grade" in trigger and trigger["grade"] not in GRADES:
            raise PlaybookError(f"unknown grade {trigger['grade']!r}")
    steps = tuple(_step(s) for s in data["steps"] or ())
    ids = [s.id for s in steps]
    if len(set(ids)) != len(ids):
        raise PlaybookError("step ids must be unique")
    return Playbook(name=str(data["name"]), title=str(data.get("title") or data["name"]),
                    steps=steps, triggers=triggers, category=data.get("category"),
                    severity=data.get("severity"))


def _step(data: Any) -> Step:
    _mapping(data, _STEP_KEYS, "step")
    if data.get("type") not in actions.ACTIONS:
        raise PlaybookError(f"unknown step type {data.get('type')!r}")
    when = data.get("when") or {}
    _mapping(when, _WHEN_KEYS, "when")
    approval = data.get("approval")
    if approval not in (None, "required", "none"):
        raise PlaybookError(f"approval must be 'required' or 'none', not {approval!r}")
    return Step(id=str(data.get("id") or data["type"]), type=data["type"],
                params=dict(data.get("with") or {}), approval=approval == "required", when=when)


def _mapping(data: Any, allowed: set[str], what: str) -> None:
    if not isinstance(data, dict):
        raise PlaybookError(f"{what}: expected a mapping")
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise PlaybookError(f"{what}: unknown key {unknown[0]!r}")
