"""Structured logs: one JSON object per line, no literals or personal data, error types only."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from gateway.logging_setup import configure, scrub


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    out = io.StringIO()
    yield out
    root.handlers[:], root.level = handlers, level


def _lines(out: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_json_lines_carry_the_standard_and_extra_fields(stream: io.StringIO) -> None:
    configure(json=True, level="info", stream=stream)
    log = logging.getLogger("gateway.test")
    log.debug("not shown")
    log.info("session %d ended", 7, extra={"principal": "crm_app", "rows": 12})
    (line,) = _lines(stream)
    assert line["level"] == "info" and line["logger"] == "gateway.test"
    assert line["message"] == "session 7 ended" and line["timestamp"].endswith("Z")
    assert line["principal"] == "crm_app" and line["rows"] == 12


@pytest.mark.parametrize("text,hidden", [
    ("refused: SELECT * FROM t WHERE name = '张伟'", "张伟"),
    ("refused: SELECT $$13800138000$$", "13800138000"),
    ("手机13800138000 called", "13800138000"),
    ("card 6222 0212 3456 7890 declined", "6222 0212 3456 7890"),
    ("id 11010519491231002X seen", "11010519491231002X"),
    ("mail zhang.wei@example.cn bounced", "zhang.wei@example.cn"),
])
def test_literals_and_personal_data_are_scrubbed(stream: io.StringIO, text: str,
                                                 hidden: str) -> None:
    configure(json=True, level="info", stream=stream)
    logging.getLogger("gateway.test").warning("%s", text)
    assert hidden not in stream.getvalue()


def test_names_versions_and_ports_survive_scrubbing() -> None:
    text = "listening on 127.0.0.1:6432, rules version 3f2a1234567890ab, 12 rows"
    assert scrub(text) == text


def test_statement_fields_are_dropped_and_exceptions_give_only_their_type(
        stream: io.StringIO) -> None:
    configure(json=True, level="info", stream=stream)
    log = logging.getLogger("gateway.test")
    log.info("statement", extra={"sql": "SELECT 1", "query": "q", "password": "p"})
    try:
        raise ValueError("duplicate key value (phone)=(13800138000)")
    except ValueError:
        log.exception("write failed")
    first, second = _lines(stream)
    assert first["sql"] == first["query"] == first["password"] == "[redacted]"
    assert second["error"] == "ValueError" and second["trace"]
    assert "13800138000" not in stream.getvalue() and "duplicate key" not in stream.getvalue()


def test_text_mode_and_reconfiguring_replace_the_handler(stream: io.StringIO) -> None:
    configure(json=True, level="info", stream=stream)
    configure(json=False, level="warning", stream=stream)
    log = logging.getLogger("gateway.test")
    log.info("hidden")
    log.warning("phone 13800138000")
    assert stream.getvalue().count("\n") == 1 and "13800138000" not in stream.getvalue()
    with pytest.raises(ValueError):
        configure(json=True, level="loud")
