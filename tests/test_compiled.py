"""Which hot paths run compiled (gateway/compiled.py)."""

from __future__ import annotations

import pytest

from gateway import compiled


def test_pure_python_is_asked_for_by_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGW_PURE_PYTHON", "1")
    assert compiled.load("gateway.session.datarows") is None
    monkeypatch.setenv("PGW_PURE_PYTHON", "0")
    assert compiled.load("json") is not None  # any importable module stands for a built one


def test_a_module_that_is_not_built_is_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PGW_PURE_PYTHON", raising=False)
    assert compiled.load("gateway.session.no_such_module") is None
