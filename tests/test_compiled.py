"""Which hot paths run compiled (gateway/compiled.py)."""

from __future__ import annotations

import os

import pytest

from gateway import compiled
from gateway.audit import binary, chain
from gateway.policy import fastpath
from gateway.session import connection, results


@pytest.mark.parametrize("module", [
    results.datarows, binary._compiled_text_array, fastpath._literals, chain._macs,
    chain._batch, binary._batch, connection.lanes])
def test_the_compiled_paths_are_built_where_required(module: object) -> None:
    # CI sets PGW_REQUIRE_COMPILED: there a missing build is a failure, not a skip
    if os.environ.get("PGW_REQUIRE_COMPILED"):
        assert module is not None


def test_pure_python_is_asked_for_by_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGW_PURE_PYTHON", "1")
    assert compiled.load("gateway.session.datarows") is None
    monkeypatch.setenv("PGW_PURE_PYTHON", "0")
    assert compiled.load("json") is not None  # any importable module stands for a built one


def test_a_module_that_is_not_built_is_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PGW_PURE_PYTHON", raising=False)
    assert compiled.load("gateway.session.no_such_module") is None
