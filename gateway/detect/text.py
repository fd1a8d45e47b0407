"""Text normalisation and boundary fragments shared by the recognizers and the pre-filter."""

from __future__ import annotations

import re

# Full-width ASCII (U+FF01..U+FF5E) and the ideographic space map one code point to one,
# so offsets found in the normalised text are offsets in the original text as well.
# The full-width comma stays: it is Chinese punctuation between clauses, never a
# thousands separator, and "手机13812345678，身份证..." must not read as one amount.
_WIDE_TO_ASCII = {0xFF01 + i: 0x21 + i for i in range(94) if i != 0xFF0C - 0xFF01} | {
    0x3000: 0x20}
_HAS_WIDE = re.compile("[\uff01-\uff0b\uff0d-\uff5e\u3000]")

# Chinese text has no word boundaries between characters and digits, so \b cannot be
# used: numbers are delimited by "no ASCII letter or digit on that side" instead.
NO_ALNUM_BEFORE = r"(?<![0-9A-Za-z])"
NO_ALNUM_AFTER = r"(?![0-9A-Za-z])"
# A number that is the integer or fractional part of a decimal is not an identifier.
# (A comma is no such sign: "13812345678,13912345678" lists two numbers, and the
# groups of a thousands-separated amount are too short to be identifiers.)
NOT_DECIMAL_BEFORE = r"(?<![0-9]\.)"
NOT_DECIMAL_AFTER = r"(?!\.[0-9])"
NUMBER_START = NO_ALNUM_BEFORE + NOT_DECIMAL_BEFORE
NUMBER_END = NO_ALNUM_AFTER + NOT_DECIMAL_AFTER

# CJK unified ideographs (basic block and extension A).
CJK = "\u3400-\u4dbf\u4e00-\u9fff"

# Digit runs as written, before normalisation (for the pre-filter).
ANY_DIGIT = "0-9\uff10-\uff19"


def normalize(text: str) -> str:
    """Full-width letters, digits and punctuation as ASCII; same length as `text`."""
    if text.isascii() or not _HAS_WIDE.search(text):
        return text
    return text.translate(_WIDE_TO_ASCII)


def strip_separators(value: str) -> str:
    """The value without the spaces and hyphens people put between digit groups."""
    return value.replace(" ", "").replace("-", "")
