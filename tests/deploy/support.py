"""Helpers for the deploy/ artifact tests: paths, real tools, the metric series names."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client import Counter, Gauge, Histogram

from gateway.metrics import DEFINITIONS

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
INSTALL_HINT = "scripts/install-ops-tools.sh installs it"

# Series each metric type exposes, from the metric's table name.
_SUFFIXES = {Counter: ("_total",), Gauge: ("",), Histogram: ("_bucket", "_sum", "_count")}
SERIES: dict[str, str] = {
    f"pgw_{name}{suffix}": name
    for name, (kind, _, _) in DEFINITIONS.items() for suffix in _SUFFIXES[kind]}
_METRIC = re.compile(r"\bpgw_[a-z_]+")


def tool(name: str) -> str:
    """The path of a command-line tool, or skip the test saying how to get it."""
    # pip-installed tools live beside this interpreter, which need not be on PATH.
    here = str(Path(sys.executable).parent)
    path = shutil.which(name) or shutil.which(name, path=f"{here}:/usr/sbin:/sbin")
    if path is None:
        pytest.skip(f"{name} not installed ({INSTALL_HINT})")
    return path


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=60, cwd=cwd)


def metric_names(expr: str) -> set[str]:
    """Every pgw_* series an expression reads."""
    return set(_METRIC.findall(expr))


def metric_labels(name: str) -> tuple[str, ...]:
    return DEFINITIONS[SERIES[name]][2]
