"""CN_ID_CARD: resident identity card numbers (GB 11643), 18-digit and legacy 15-digit."""

from __future__ import annotations

from gateway.detect.checksums import birth_date_valid, id_card_valid
from gateway.detect.lexicon import REGION_PREFIXES
from gateway.detect.recognizers.base import ChineseRecognizer
from gateway.detect.text import NUMBER_END, NUMBER_START, strip_separators

_DATE = r"(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"


def plausible_id(digits: str) -> bool:
    """An 18-digit number shaped like an ID (region and birth date), check digit aside."""
    return (len(digits) == 18 and digits[:2] in REGION_PREFIXES
            and birth_date_valid(digits[6:14]))


class IdCardRecognizer(ChineseRecognizer):
    """Region (6) + birth date (8) + sequence (3) + ISO 7064 MOD 11-2 check character."""

    ENTITY = "CN_ID_CARD"
    PATTERNS = (
        ("id18", NUMBER_START + rf"[1-8][0-9]{{5}} ?(?:18|19|20)[0-9]{{2}}{_DATE} ?[0-9]{{3}}"
                 r"[0-9Xx]" + NUMBER_END, 0.95),
        # Issued until 1999 (two-digit year, no check digit): weak without context.
        ("id15", NUMBER_START + rf"[1-8][0-9]{{5}}[0-9]{{2}}{_DATE}[0-9]{{3}}" + NUMBER_END, 0.4),
    )
    CONTEXT = ("身份证", "证件", "公民身份", "身份号", "idcard", "id_card", "id_no", "idno",
               "sfz", "identity")
    PREFILTER = r"[1-8][0-9]{5} ?[0-9]{6}"

    def valid(self, value: str) -> bool:
        digits = strip_separators(value).upper()
        if len(digits) == 15:
            return digits[:2] in REGION_PREFIXES and birth_date_valid("19" + digits[6:12])
        return digits[:2] in REGION_PREFIXES and id_card_valid(digits)
