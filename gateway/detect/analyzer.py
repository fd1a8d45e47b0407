"""The offline analyzer: presidio with our recognizers, no NLP model, findings without overlaps."""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from presidio_analyzer import AnalyzerEngine, RecognizerResult
from presidio_analyzer.nlp_engine import NoOpNlpEngine

from gateway.detect.context import WindowContextEnhancer
from gateway.detect.recognizers import ALL, LANGUAGE
from gateway.detect.registry import build_registry, check_entities, prefilter
from gateway.detect.text import normalize

# Matches scoring below this are not reported: a pattern alone, without context, must be
# specific (checksum, assigned prefix, structure) to reach it.
DEFAULT_THRESHOLD = 0.5

# Tie-break between findings of equal score over the same text: earlier in ALL wins.
_PRECEDENCE = {cls.ENTITY: rank for rank, cls in enumerate(ALL)}


@dataclass(frozen=True, slots=True)
class Finding:
    """One piece of personal information in a text: entity, [start, end) and score."""

    entity: str
    start: int
    end: int
    score: float


def build_engine(entities: Iterable[str] | None = None) -> AnalyzerEngine:
    """A presidio AnalyzerEngine that loads no model and opens no connection.

    The NLP engine is presidio's no-op engine: every recognizer here works on the raw
    text, and context comes from characters around a match (WindowContextEnhancer).
    """
    nlp = NoOpNlpEngine(models=[{"lang_code": LANGUAGE, "model_name": "none"}])
    return AnalyzerEngine(registry=build_registry(entities), nlp_engine=nlp,
                          supported_languages=[LANGUAGE],
                          context_aware_enhancer=WindowContextEnhancer())


def resolve_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Findings without overlaps (higher score, then longer, then precedence wins), by start."""
    ranked = sorted(findings, key=lambda f: (-f.score, -(f.end - f.start),
                                             _PRECEDENCE.get(f.entity, 99), f.start))
    starts: list[int] = []  # kept findings, ordered by start, for a bisect per candidate
    kept: list[Finding] = []
    for f in ranked:
        i = bisect.bisect_left(starts, f.start)
        if i > 0 and kept[i - 1].end > f.start:
            continue
        if i < len(kept) and kept[i].start < f.end:
            continue
        starts.insert(i, f.start)
        kept.insert(i, f)
    return kept


def to_findings(results: Iterable[RecognizerResult], threshold: float) -> list[Finding]:
    """presidio results at or over `threshold` as Findings, overlaps resolved."""
    return resolve_findings(Finding(r.entity_type, r.start, r.end, round(r.score, 4))
                            for r in results if r.score >= threshold)


class Detector:
    """Finds the entities in a text: our presidio recognizers, context, threshold, overlaps.

    `engine` is the equivalent presidio AnalyzerEngine. `find` drives the same
    recognizers and context enhancer directly and runs only those whose pre-filter
    matches: the engine's per-call bookkeeping (registry lookup, NLP artifacts, result
    copies) would cost more than the matching itself on short cells.
    """

    def __init__(self, entities: Iterable[str] | None = None,
                 threshold: float = DEFAULT_THRESHOLD) -> None:
        self.entities = list(check_entities(entities))
        self.threshold = threshold
        self.engine = build_engine(self.entities)
        self.enhancer = self.engine.context_aware_enhancer
        self._recognizers = {r.supported_entities[0]: r
                             for r in self.engine.registry.recognizers}
        self._gates = {entity: prefilter([entity]) for entity in self.entities}

    def candidates(self, text: str, entities: Sequence[str] | None = None) -> list[str]:
        """The entities whose pre-filter matches the normalised text (cheap, no presidio)."""
        return [e for e in entities or self.entities if self._gates[e].search(text)]

    def find(self, text: str, context: Sequence[str] | None = None,
             entities: Sequence[str] | None = None) -> list[Finding]:
        """The findings in `text`; `context` words (e.g. a column name) count as nearby."""
        wanted = self.candidates(normalize(text), entities)
        if not wanted:
            return []
        recognizers = [self._recognizers[e] for e in wanted]
        results = [r for recognizer in recognizers for r in recognizer.analyze(text, wanted)]
        if results:
            results = self.enhancer.enhance_using_context(
                text, results, None, recognizers, list(context) if context else None)
        return to_findings(results, self.threshold)
