"""CN_PASSPORT: passports of the People's Republic of China (ordinary, service, diplomatic)."""

from __future__ import annotations

from gateway.detect.recognizers.base import ChineseRecognizer
from gateway.detect.text import NO_ALNUM_AFTER, NO_ALNUM_BEFORE


class PassportRecognizer(ChineseRecognizer):
    """E-passports E + 8 (or E + letter + 7); older G + 8; service and diplomatic DE/SE/PE + 7."""

    ENTITY = "CN_PASSPORT"
    PATTERNS = (
        ("e_passport", NO_ALNUM_BEFORE + r"E(?:[0-9]{8}|[A-HJ-NP-Z][0-9]{7})" + NO_ALNUM_AFTER,
         0.5),
        ("passport", NO_ALNUM_BEFORE + r"(?:G[0-9]{8}|[DSP]E[0-9]{7})" + NO_ALNUM_AFTER, 0.4),
    )
    CONTEXT = ("护照", "passport", "证件", "hz")
    PREFILTER = r"[EGDSP][A-Z0-9][0-9]{7}"
