"""Playbook files: the shipped ones load; mistakes are named."""

from __future__ import annotations

from pathlib import Path

import pytest

import incident
from incident import intake
from incident.loader import PlaybookError, load_dir, parse

SHIPPED = Path(incident.__file__).with_name("playbooks")


def test_shipped_playbooks_load_and_match():
    books = load_dir(SHIPPED)
    assert {"canary-leak", "mass-exposure"} <= set(books)
    assert intake.choose(books, {"rule": "canary_read", "severity": "critical"},
                         "一般").name == "canary-leak"
    assert intake.choose(books, {"rule": "subjects_per_hour", "severity": "warning"},
                         "较大").name == "mass-exposure"
    assert intake.choose(books, {"rule": "subjects_per_hour", "severity": "warning"},
                         "一般") is None


@pytest.mark.parametrize(("doc", "message"), [
    ({"name": "x", "steps": [{"type": "contain.nuke"}]}, "unknown step type"),
    ({"name": "x", "steps": [{"type": "notify.internal", "aproval": "required"}]},
     "unknown key 'aproval'"),
    ({"name": "x", "steps": [{"type": "notify.internal", "approval": "yes"}]}, "approval"),
    ({"name": "x", "steps": [{"id": "a", "type": "notify.internal"},
                             {"id": "a", "type": "notify.security"}]}, "unique"),
    ({"name": "x", "triggers": [{"grade": "huge"}], "steps": []}, "unknown grade"),
    ({"steps": []}, "missing key 'name'"),
    ([], "expected a mapping"),
])
def test_invalid_playbooks(doc, message):
    with pytest.raises(PlaybookError, match=message):
        parse(doc)


def test_file_errors_name_the_file(tmp_path):
    (tmp_path / "bad.yaml").write_text("name: x\nsteps: [{type: contain.nuke}]\n")
    with pytest.raises(PlaybookError, match=r"bad\.yaml: unknown step type"):
        load_dir(tmp_path)
