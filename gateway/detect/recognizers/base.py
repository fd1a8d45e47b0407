"""Base class of the Chinese recognizers: presidio patterns on normalised text, graded scores."""

from __future__ import annotations

from typing import ClassVar

import regex
from presidio_analyzer import Pattern, PatternRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from gateway.detect.text import normalize

LANGUAGE = "zh"

# Case matters for these identifiers (USCC and plates are upper case), so IGNORECASE,
# presidio's default, is left out; patterns spell out both cases where both occur.
REGEX_FLAGS = regex.DOTALL | regex.MULTILINE


class ChineseRecognizer(PatternRecognizer):
    """One entity: patterns with base scores, context words, a check and a score adjustment.

    Subclasses set ENTITY, PATTERNS as (name, regex, score), CONTEXT (words that raise the
    score when found near the match or in the column name) and PREFILTER, a cheap regex
    fragment that any normalised text containing the entity must match; they override `valid`
    (checksums, prefixes) and, where confidence varies, `adjust`.
    """

    ENTITY: ClassVar[str]
    PATTERNS: ClassVar[tuple[tuple[str, str, float], ...]]
    CONTEXT: ClassVar[tuple[str, ...]] = ()
    PREFILTER: ClassVar[str]

    def __init__(self) -> None:
        super().__init__(
            supported_entity=self.ENTITY,
            name=type(self).__name__,
            supported_language=LANGUAGE,
            patterns=[Pattern(name, pattern, score) for name, pattern, score in self.PATTERNS],
            context=list(self.CONTEXT),
            global_regex_flags=REGEX_FLAGS,
        )

    def analyze(self, text: str, entities: list[str],
                nlp_artifacts: NlpArtifacts | None = None,
                regex_flags: int | None = None) -> list[RecognizerResult]:
        """Match on the normalised text (full-width digits as ASCII); offsets are unchanged."""
        text = normalize(text)
        results = super().analyze(text, entities, nlp_artifacts, regex_flags)
        kept = []
        for result in results:
            score = self.adjust(text[result.start:result.end], result.score)
            if score > 0:
                result.score = score
                kept.append(result)
        return kept

    def validate_result(self, pattern_text: str) -> bool | None:
        """presidio's validation hook: None keeps the pattern's score, False drops the match."""
        return None if self.valid(pattern_text) else False

    def valid(self, value: str) -> bool:
        """True when the matched text passes the entity's checks (check digits, prefixes)."""
        return True

    def adjust(self, value: str, score: float) -> float:
        """The score of a valid match; 0 drops it. Default: the pattern's score."""
        return score
