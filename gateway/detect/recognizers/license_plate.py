"""CN_LICENSE_PLATE: vehicle plates, including new-energy plates and 挂/学/警 suffixes."""

from __future__ import annotations

from gateway.detect.lexicon import PLATE_PROVINCES
from gateway.detect.recognizers.base import ChineseRecognizer
from gateway.detect.text import NO_ALNUM_AFTER

_C = "[A-HJ-NP-Z0-9]"  # plate characters: no I or O
# New energy (D/F + 5, or 5 digits + D/F), ordinary (5), or 4 + 挂 (trailer) 学 (driving
# school) 警 (police).
_TAIL = rf"(?:[DF]{_C}[0-9]{{4}}|[0-9]{{5}}[DF]|{_C}{{5}}|{_C}{{4}}[挂学警])"


class LicensePlateRecognizer(ChineseRecognizer):
    """Province character, issuing-office letter, then five characters (six for new energy)."""

    ENTITY = "CN_LICENSE_PLATE"
    PATTERNS = (
        ("plate", rf"[{PLATE_PROVINCES}][A-HJ-NP-Z][·• ]?{_TAIL}" + NO_ALNUM_AFTER, 0.6),
    )
    CONTEXT = ("车牌", "号牌", "车辆", "车号", "牌照", "plate", "cph")
    PREFILTER = rf"[{PLATE_PROVINCES}][A-HJ-NP-Z]"

    def valid(self, value: str) -> bool:
        # Ordinary plates carry at most two letters after the office letter.
        tail = value[2:].lstrip("·• ")
        return sum(c.isdigit() for c in tail) >= 3
