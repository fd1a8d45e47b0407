"""CN_USCC: unified social credit codes of organisations (GB 32100), with their check character."""

from __future__ import annotations

from gateway.detect.checksums import id_card_valid, uscc_valid
from gateway.detect.lexicon import REGION_PREFIXES
from gateway.detect.recognizers.base import ChineseRecognizer
from gateway.detect.text import NO_ALNUM_AFTER, NO_ALNUM_BEFORE

_CHAR = "[0-9A-HJ-NPQRTUWXY]"  # GB 32100 alphabet: no I, O, S, V, Z


class UsccRecognizer(ChineseRecognizer):
    """Registration authority, category, division code (6), organisation code (9), check."""

    ENTITY = "CN_USCC"
    PATTERNS = (
        ("uscc", NO_ALNUM_BEFORE + rf"[1-9ANY][1-9][0-9]{{6}}{_CHAR}{{10}}" + NO_ALNUM_AFTER,
         0.85),
    )
    CONTEXT = ("信用代码", "社会信用", "统一代码", "营业执照", "税号", "纳税人识别号", "uscc",
               "credit_code", "tax")
    PREFILTER = r"[1-9ANY][1-9][0-9]{6}[0-9A-Z]{10}"

    def valid(self, value: str) -> bool:
        # An 18-character number that is a valid ID number is read as an ID number: both
        # check characters rarely agree, and people outnumber organisations.
        if id_card_valid(value) and value[:2] in REGION_PREFIXES:
            return False
        return uscc_valid(value) and value[2:4] in REGION_PREFIXES | {"10"}
