"""CN_TAIWAN_PERMIT: travel permits between the mainland and Taiwan."""

from __future__ import annotations

from gateway.detect.recognizers.base import ChineseRecognizer
from gateway.detect.text import NO_ALNUM_AFTER, NO_ALNUM_BEFORE

# 台胞证 numbers are bare digits, so they are only taken right after their label.
_TBZ_LABEL = r"(?<=台胞证(?:号码?)?[:： ]{0,2})"


class TaiwanPermitRecognizer(ChineseRecognizer):
    """大陆居民往来台湾通行证 (L + 8) and 台湾居民来往大陆通行证 (8 or 10 digits after 台胞证)."""

    ENTITY = "CN_TAIWAN_PERMIT"
    PATTERNS = (
        ("to_taiwan", NO_ALNUM_BEFORE + r"L[0-9]{8}" + NO_ALNUM_AFTER, 0.4),
        ("compatriot", _TBZ_LABEL + r"[0-9]{8}(?:[0-9]{2})?" + NO_ALNUM_AFTER, 0.7),
    )
    CONTEXT = ("台湾", "台胞", "通行证", "入台", "permit", "txz")
    PREFILTER = r"L[0-9]{8}|台胞证"
