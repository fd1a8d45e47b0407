"""The Containerfile: hadolint where installed, and the structure the deployment relies on."""

from __future__ import annotations

import json
import re

from tests.deploy.support import DEPLOY, ROOT, run, tool

CONTAINERFILE = DEPLOY / "container" / "Containerfile"


def _instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", CONTAINERFILE.read_text())  # join continuation lines
    rows = [line.strip() for line in text.splitlines()]
    return [(row.split(None, 1)[0].upper(), row.split(None, 1)[1])
            for row in rows if row and not row.startswith("#")]


def test_hadolint_finds_nothing() -> None:
    result = run(tool("hadolint"), str(CONTAINERFILE))
    assert result.returncode == 0, result.stdout + result.stderr


def test_slim_base_and_non_root_user() -> None:
    steps = _instructions()
    bases = [args.split()[0] for op, args in steps if op == "FROM"]
    assert bases and all(re.fullmatch(r"python:3\.1[1-9]-slim(-\w+)?", b) for b in bases)
    final = steps[max(i for i, (op, _) in enumerate(steps) if op == "FROM"):]
    users = [args for op, args in final if op == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")


def test_copied_sources_exist_and_entrypoint_serves() -> None:
    steps = _instructions()
    for op, args in steps:
        if op == "COPY" and not args.startswith("--from"):
            for source in args.split()[:-1]:
                assert (ROOT / source).exists(), source
    entry = json.loads(next(args for op, args in steps if op == "ENTRYPOINT"))
    command = json.loads(next(args for op, args in steps if op == "CMD"))
    assert entry == ["privacy-gateway"] and command[0] == "serve"
    exposed = {p for op, args in steps if op == "EXPOSE" for p in args.split()}
    assert exposed == {"6432", "9187"}
