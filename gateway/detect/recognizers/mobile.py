"""CN_MOBILE: mainland mobile numbers on assigned 1[3-9]x prefixes, with +86/0086 and separators."""

from __future__ import annotations

from gateway.detect.recognizers.base import ChineseRecognizer
from gateway.detect.text import NUMBER_END, NUMBER_START, strip_separators

# Three-digit prefixes assigned to mobile (voice/SMS) service; 140-144, 146, 148 (data and
# IoT), 154, 160, 161, 163, 164, 168, 169, 174, 179 and 194 are not handed to subscribers.
ASSIGNED_PREFIXES = frozenset(
    [f"13{d}" for d in range(10)]
    + ["145", "147", "149", "150", "151", "152", "153", "155", "156", "157", "158", "159",
       "162", "165", "166", "167", "170", "171", "172", "173", "175", "176", "177", "178"]
    + [f"18{d}" for d in range(10)]
    + ["190", "191", "192", "193", "195", "196", "197", "198", "199"]
)

_NATIONAL = r"1[3-9][0-9](?:[ -]?[0-9]{4}){2}"
# The country code is left outside the finding, so a mask keeps "+86 " readable.
_COUNTRY_CODE = r"(?<=(?<![0-9A-Za-z+])(?:\+86|0086)[ -]?|\(\+?86\) ?)"


class MobileRecognizer(ChineseRecognizer):
    """Eleven digits on an assigned prefix, grouped 3-4-4 or not."""

    ENTITY = "CN_MOBILE"
    PATTERNS = (
        ("mobile", NUMBER_START + _NATIONAL + NUMBER_END, 0.7),
        ("mobile_cc", _COUNTRY_CODE + _NATIONAL + NUMBER_END, 0.85),
    )
    CONTEXT = ("手机", "电话", "联系方式", "号码", "致电", "来电", "回电", "短信", "微信",
               "mobile", "phone", "tel", "cell", "sjh", "lxdh")
    PREFILTER = r"1[3-9][0-9](?:[ -]?[0-9]{4}){2}"

    def valid(self, value: str) -> bool:
        return strip_separators(value)[:3] in ASSIGNED_PREFIXES
