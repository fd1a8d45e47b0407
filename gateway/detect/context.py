"""Context words for Chinese: look at the characters around a match, not at tokens."""

from __future__ import annotations

from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.context_aware_enhancers import ContextAwareEnhancer
from presidio_analyzer.nlp_engine import NlpArtifacts

_RECOGNIZER_ID = RecognizerResult.RECOGNIZER_IDENTIFIER_KEY
_ENHANCED = RecognizerResult.IS_SCORE_ENHANCED_BY_CONTEXT_KEY


class WindowContextEnhancer(ContextAwareEnhancer):
    """Raise a match's score when a recognizer context word is near it or in `context`.

    Chinese is written without spaces, so token windows (presidio's lemma enhancer) see
    "客户手机" as one word or as single characters. A window of characters before and
    after the match does what the token window does for English; the `context` list
    passed to analyze() (e.g. a column name) counts as near every match.
    """

    def __init__(self, before: int = 12, after: int = 4, boost: float = 0.35,
                 floor: float = 0.4) -> None:
        super().__init__(context_similarity_factor=boost,
                         min_score_with_context_similarity=floor,
                         context_prefix_count=before, context_suffix_count=after)

    def enhance_using_context(self, text: str, raw_results: list[RecognizerResult],
                              nlp_artifacts: NlpArtifacts | None,
                              recognizers: list[EntityRecognizer],
                              context: list[str] | None = None) -> list[RecognizerResult]:
        """Boost results in place (they are fresh objects of this analyze call)."""
        by_id = {recognizer.id: recognizer for recognizer in recognizers}
        outside = " ".join(context).lower() if context else ""
        for result in raw_results:
            metadata = result.recognition_metadata or {}
            recognizer = by_id.get(metadata.get(_RECOGNIZER_ID))
            if recognizer is None or not recognizer.context or metadata.get(_ENHANCED):
                continue
            word = self._supporting_word(text, result, recognizer.context, outside)
            if word:
                self._boost(result, word)
        return raw_results

    def _supporting_word(self, text: str, result: RecognizerResult, words: list[str],
                         outside: str) -> str | None:
        near = (text[max(0, result.start - self.context_prefix_count):result.start] + " "
                + text[result.end:result.end + self.context_suffix_count]).lower()
        return next((w for w in words if w in near or (outside and w in outside)), None)

    def _boost(self, result: RecognizerResult, word: str) -> None:
        score = max(result.score + self.context_similarity_factor,
                    self.min_score_with_context_similarity)
        result.score = min(score, self.MAX_SCORE)
        result.recognition_metadata[_ENHANCED] = True
        if result.analysis_explanation is not None:
            result.analysis_explanation.set_supportive_context_word(word)
            result.analysis_explanation.set_improved_score(result.score)
