"""A small run of the benchmark corpus: accuracy must not regress below the issue's bar."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[2] / "bench"))

import detect_bench  # noqa: E402
import detect_corpus  # noqa: E402

STRICT = ("CN_ID_CARD", "CN_MOBILE", "CN_BANK_CARD", "CN_USCC", "EMAIL_ADDRESS")


@pytest.fixture(scope="module")
def scores(detector):
    table, negatives = detect_bench.accuracy(detector, detect_corpus.corpus(40, seed=11))
    return table, negatives


@pytest.mark.parametrize("entity", STRICT + ("CN_PERSON_NAME", "CN_ADDRESS"))
def test_precision_and_recall(scores, entity):
    tp, fp, fn, _ = scores[0][entity]
    bar = 0.98 if entity in STRICT else 0.9
    assert tp / (tp + fp) >= bar and tp / (tp + fn) >= bar


def test_hard_negatives_stay_negative(scores):
    assert sum(scores[1].values()) <= 2
