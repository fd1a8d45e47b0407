"""CN_PERSON_NAME: Chinese personal names after a cue word or before a title; name-column check."""

from __future__ import annotations

import re

from gateway.detect.lexicon import (
    COMPOUND_SURNAMES,
    GIVEN_NAME_CHARS,
    NAME_CUES,
    NAME_FOLLOWERS,
    NAME_TITLES,
    SURNAMES,
)
from gateway.detect.recognizers.base import ChineseRecognizer
from gateway.detect.text import CJK

_SURNAME = "(?:" + "|".join(COMPOUND_SURNAMES) + f"|[{SURNAMES}])"
_NAME = _SURNAME + f"[{GIVEN_NAME_CHARS}]{{1,2}}"
_CUE = "(?:" + "|".join(NAME_CUES) + ")"
_TITLE = "(?:" + "|".join(NAME_TITLES) + ")"
_FOLLOWER = "(?:" + "|".join(NAME_FOLLOWERS) + ")"
# A name that opens a clause: start of text, or after punctuation or a space.
_CLAUSE_START = r"(?:(?<=^)|(?<=[\s,.;:!?，。；：！？、（）()]))"

_WHOLE_NAME = re.compile("(?:" + "|".join(COMPOUND_SURNAMES) + f"|[{SURNAMES}])[{CJK}]{{1,2}}")


def looks_like_name(value: str) -> bool:
    """Cheap check for a name column's cell: a known surname and one or two more characters."""
    value = value.strip()
    return 2 <= len(value) <= 4 and _WHOLE_NAME.fullmatch(value) is not None


class PersonNameRecognizer(ChineseRecognizer):
    """Surname + one or two given-name characters, after a cue word or before a title or verb."""

    ENTITY = "CN_PERSON_NAME"
    PATTERNS = (
        ("after_cue", rf"(?<={_CUE}[:： ]{{0,2}}){_NAME}", 0.6),
        ("before_title", rf"{_NAME}(?={_TITLE})", 0.55),
        ("before_verb", rf"{_CLAUSE_START}{_NAME}(?={_FOLLOWER})", 0.55),
    )
    CONTEXT = ("姓名", "名字", "联系人", "客户", "name", "xm", "contact")
    # A cue right before a surname, or a surname and given name right before a title or
    # verb: "客户来电" (no surname after the cue) stops here.
    PREFILTER = (rf"{_CUE}[:： ]{{0,2}}{_SURNAME}|"
                 rf"{_SURNAME}[{GIVEN_NAME_CHARS}]{{1,2}}(?:{_TITLE}|{_FOLLOWER})")
