"""CN_HK_MACAU_PERMIT: travel permits between the mainland and Hong Kong / Macau."""

from __future__ import annotations

from gateway.detect.recognizers.base import ChineseRecognizer
from gateway.detect.text import NO_ALNUM_AFTER, NO_ALNUM_BEFORE


class HkMacauPermitRecognizer(ChineseRecognizer):
    """往来港澳通行证 (C/W + 8) and 港澳居民来往内地通行证 (回乡证, H/M + 8 or 10 digits)."""

    ENTITY = "CN_HK_MACAU_PERMIT"
    PATTERNS = (
        ("exit_entry", NO_ALNUM_BEFORE + r"[CW][0-9A-HJ-NP-Z][0-9]{7}" + NO_ALNUM_AFTER, 0.4),
        ("home_return", NO_ALNUM_BEFORE + r"[HM][0-9]{8}(?:[0-9]{2})?" + NO_ALNUM_AFTER, 0.4),
    )
    CONTEXT = ("通行证", "港澳", "回乡证", "香港", "澳门", "permit", "txz")
    PREFILTER = r"[CWHM][0-9A-Z][0-9]{7}"
