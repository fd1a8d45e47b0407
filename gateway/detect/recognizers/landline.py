"""CN_LANDLINE: fixed-line numbers with area code (010, 02x, 0xxx), separators and extension."""

from __future__ import annotations

import re

from gateway.detect.recognizers.base import ChineseRecognizer
from gateway.detect.text import NUMBER_END, NUMBER_START

_AREA = r"0(?:10|2[0-9]|[3-9][0-9]{2})"
_LOCAL = r"[2-9][0-9]{2,3}[ -]?[0-9]{4}"
_EXTENSION = r"(?:(?:-|转|ext\.?)[0-9]{1,5})?"
_PARSE = re.compile(r"\(?0?(10|2[0-9]|[3-9][0-9]{2})\)?[ -]?"
                    r"([2-9][0-9]{2,3}[ -]?[0-9]{4})")


class LandlineRecognizer(ChineseRecognizer):
    """Area code and a 7- or 8-digit local number; without separators only with context."""

    ENTITY = "CN_LANDLINE"
    PATTERNS = (
        ("landline_sep", NUMBER_START + rf"(?:\({_AREA}\) ?|{_AREA}[ -]){_LOCAL}{_EXTENSION}"
                         + NUMBER_END, 0.6),
        # The country code is left outside the finding, as for mobile numbers.
        ("landline_cc", r"(?<=(?<![0-9A-Za-z+])(?:\+86|0086)[ -]?)(?:10|2[0-9]|[3-9][0-9]{2})[ -]"
                        + _LOCAL + _EXTENSION + NUMBER_END, 0.65),
        ("landline_plain", NUMBER_START + _AREA + r"[2-9][0-9]{6,7}" + NUMBER_END, 0.3),
    )
    CONTEXT = ("电话", "座机", "固话", "办公", "联系方式", "传真", "总机", "tel", "phone",
               "landline", "fax", "gddh", "lxdh")
    PREFILTER = r"0[1-9][0-9]{1,2}\)? ?-?[2-9][0-9]{2}|\+86|0086"

    def valid(self, value: str) -> bool:
        parts = _PARSE.match(value)
        if not parts:
            return False
        area, local = parts.group(1), parts.group(2).replace(" ", "").replace("-", "")
        # 010 and 02x areas have 8-digit local numbers, the 0xxx areas 7 or 8.
        return len(local) == 8 or (len(area) == 3 and len(local) == 7)
