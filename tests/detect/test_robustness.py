"""Bad input ends in bounded time: huge cells, binary junk, input crafted to backtrack."""

from __future__ import annotations

import random
import time

import pytest

from gateway.detect.registry import ENTITIES
from gateway.detect.scan import TextScanner

MB = 1_000_000
# Generous for a shared, loaded machine; a backtracking pattern takes minutes or more.
LIMIT_SECONDS = 15.0


def _junk() -> str:
    raw = random.Random(4).randbytes(MB)
    return raw.decode("utf-8", "surrogateescape")


CRAFTED = {
    "digits": "1" * MB,
    "digit_groups": "1 " * (MB // 2),
    "at_signs": "a@" * (MB // 2),
    "email_domain": "a" * 1000 + "@" + "a." * (MB // 2 - 600),
    "colons": "1:" * (MB // 2),
    "dots": "1." * (MB // 2),
    "districts": "区" * MB,
    "province_prefixes": "北京市朝阳区" * (MB // 6),
    "roads": "路1" * (MB // 2),
    "name_cues": "客户" * (MB // 2),
}


@pytest.fixture(scope="module")
def scanner() -> TextScanner:
    return TextScanner(list(ENTITIES), {e: (lambda v: "*" * len(v)) for e in ENTITIES})


@pytest.mark.parametrize("name", sorted(CRAFTED))
def test_crafted_input_finishes(scanner, name):
    start = time.perf_counter()
    scanner.scan(CRAFTED[name])
    assert time.perf_counter() - start < LIMIT_SECONDS


def test_binary_junk_finishes_and_keeps_its_bytes(scanner):
    junk = _junk()
    start = time.perf_counter()
    masked = scanner.scan(junk)
    assert time.perf_counter() - start < LIMIT_SECONDS
    assert masked is None or len(masked) == len(junk)


def test_one_megabyte_note_full_of_findings(scanner):
    note = "客户手机13812345678请回电，地址北京市朝阳区建国路88号。"
    text = note * (MB // len(note))
    start = time.perf_counter()
    masked = scanner.scan(text)
    assert time.perf_counter() - start < LIMIT_SECONDS
    assert masked is not None and "13812345678" not in masked and "建国路" not in masked
    assert len(masked) == len(text)
