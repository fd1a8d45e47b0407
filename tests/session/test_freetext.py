"""Free text in the result stream: patterns, the detector for residues, bounded time."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.policy.rules import load_rules
from gateway.session import freetext
from gateway.session.freetext import MAX_SCANNED_CHARS, text_masker
from tests.policy.test_masks import TEXT_PIECES, numbers_left

RULES = load_rules(Path(__file__).resolve().parents[2] / "rules" / "customers.yaml")
MASK = text_masker(("CN_MOBILE", "CN_ID_CARD", "CN_BANK_CARD", "EMAIL_ADDRESS"), RULES)


@pytest.mark.parametrize(("text", "masked"), [
    ("家属电话17821783965，白天方便接听。", "家属电话178****3965，白天方便接听。"),
    ("手机１３８１２３４５６７８", "手机１３８****５６７８"),          # full-width digits
    ("邮件 zhangsan@example.cn", "邮件 z***@example.cn"),
    ("身份证11010519491231002X", "身份证110105********002X"),
    ("订单号20231127 金额 300", "订单号20231127 金额 300"),          # not personal data
    ("投诉处理完毕。", "投诉处理完毕。"),
])
def test_masking(text: str, masked: str) -> None:
    assert MASK(text) == masked


def test_separated_digits_reach_the_detector() -> None:
    assert "1234" not in MASK("客户手机 138 1234 5678 请回电")


@pytest.mark.parametrize(("text", "masked"), [
    # prefixes the detector does not take for mobiles, split or full-width: digit by digit
    ("备用电话142-6819-5044，请回电", "备用电话***-****-****，请回电"),
    ("备用电话１６３９４９８３５５０", "备用电话***********"),
    # what the detector (or the patterns) masked keeps its form; dates and plain runs stay
    ("158 2199 3518", "158******3518"),
    ("2024-05-06 13912345678 来电", "2024-05-06 139****5678 来电"),
    ("订单 12345678901234", "订单 12345678901234"),
])
def test_what_the_detector_lets_pass_is_masked_as_the_sql_scan_would(
        text: str, masked: str) -> None:
    assert MASK(text) == masked


def test_a_huge_cell_that_needs_the_detector_is_redacted_in_bounded_time() -> None:
    cell = "电话 138 1234 5678，" * (MAX_SCANNED_CHARS // 10)
    started = time.monotonic()
    out = MASK(cell)
    assert time.monotonic() - started < 2
    assert out.startswith("[privacy gateway:") and "5678" not in out


@pytest.mark.parametrize(("text", "detector"), [
    ("订单号 0000012345 退货已受理", False),   # plain digits too few for any number
    ("金额 1234567 元", False),
    ("客户手机 138 1234 5678", True),          # separated: only the detector can tell
    ("旧身份证号 110105491231002", True),       # a run of 15 the patterns leave
    ("手机１３８１２３４５", True),              # full-width digits
])
def test_only_what_the_patterns_cannot_see_reaches_the_detector(
        monkeypatch: pytest.MonkeyPatch, text: str, detector: bool) -> None:
    calls = []
    scan = freetext.TextScanner.scan
    monkeypatch.setattr(freetext.TextScanner, "scan",
                        lambda self, value: calls.append(value) or scan(self, value))
    mask = text_masker(("CN_MOBILE", "CN_ID_CARD", "CN_BANK_CARD", "EMAIL_ADDRESS"), RULES)
    mask(text)
    assert bool(calls) == detector


@settings(max_examples=200, deadline=None)
@given(pieces=st.lists(st.sampled_from(TEXT_PIECES), max_size=14))
def test_no_number_a_detector_would_look_for_survives_the_masker(pieces: list[str]) -> None:
    text = "".join(pieces)
    out = MASK(text)
    assert numbers_left(out) == [], (text, out)
