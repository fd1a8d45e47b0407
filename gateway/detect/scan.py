"""Free-text masking for the result stream: pre-filter, LRU cache, presidio only for candidates."""

from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from functools import lru_cache

from gateway.detect.analyzer import Detector, Finding, resolve_findings
from gateway.detect.registry import check_entities, prefilter
from gateway.detect.text import normalize

Mask = Callable[[str], str]

# Long texts are analysed in segments; neighbours overlap by more than the longest
# entity (an e-mail address can reach 318 characters), so nothing is missed at a cut.
SEGMENT_CHARS = 8192
OVERLAP_CHARS = 400


@lru_cache(maxsize=1)
def shared_detector() -> Detector:
    """One Detector for all entities, built on first use and shared by every scanner."""
    return Detector()


class TextScanner:
    """Masks each finding of `entities` inside a text with the mask given for its entity.

    `scan` returns the masked text, or None when the value is returned unchanged. Work
    per value: a normalisation and one combined regex (most values stop there), then an
    LRU cache of recent candidates, then presidio. Synchronous and free of I/O; asyncio
    code iterates `chunks` and yields to the loop between chunks. Not for use from
    several threads at once (the cache is unguarded); tasks of one loop may share it.
    """

    def __init__(self, entities: Sequence[str], masks: Mapping[str, Mask], *,
                 context: Sequence[str] = (), detector: Detector | None = None,
                 cache_size: int = 4096, cache_max_chars: int = 2048,
                 chunk_cells: int = 256, chunk_chars: int = 65536) -> None:
        self.entities = list(check_entities(entities))
        missing = [e for e in self.entities if e not in masks]
        if missing:  # a finding we could not mask would leave the scan open
            raise ValueError(f"no mask for entity {missing[0]!r}")
        self.masks = dict(masks)
        self.context = list(context)
        self.detector = detector or shared_detector()
        unknown = [e for e in self.entities if e not in self.detector.entities]
        if unknown:
            raise ValueError(f"the detector does not look for {unknown[0]!r}")
        self._gate = prefilter(self.entities).search
        # value -> (masked value or None, entities found): repeated cells cost one lookup.
        self._cache: OrderedDict[str, tuple[str | None, tuple[str, ...]]] = OrderedDict()
        self.cache_size, self.cache_max_chars = cache_size, cache_max_chars
        self.chunk_cells, self.chunk_chars = chunk_cells, chunk_chars
        self.stats: Counter[str] = Counter()  # counts only: cells, candidates, hits, entities

    def scan(self, value: str) -> str | None:
        """`value` with every finding masked, or None when nothing was found."""
        self.stats["cells"] += 1
        text = normalize(value)
        if self._gate(text) is None:
            return None
        self.stats["candidates"] += 1
        if len(value) <= self.cache_max_chars:
            return self._cached(value)
        return self._mask(value, self.findings(value))

    def scan_bytes(self, value: bytes) -> bytes | None:
        """Like scan, for a UTF-8 cell as sent on the wire; invalid bytes pass through as is."""
        masked = self.scan(value.decode("utf-8", "surrogateescape"))
        return None if masked is None else masked.encode("utf-8", "surrogateescape")

    def scan_many(self, values: Iterable[str | None]) -> list[str | None]:
        """scan over many cells at once (None cells stay None)."""
        return [None if v is None else self.scan(v) for v in values]

    def chunks(self, values: Iterable[str | None]) -> Iterator[list[str | None]]:
        """scan_many in consecutive pieces of bounded work, computed as they are taken.

        The pieces, concatenated, line up with `values`. A piece holds at most
        `chunk_cells` cells and about `chunk_chars` characters; a longer cell is worked
        through segment by segment, with an empty piece after each segment. An event loop
        iterates this and yields (await asyncio.sleep(0)) between pieces.
        """
        piece: list[str | None] = []
        budget = 0
        for value in values:
            if value is not None and len(value) > self.chunk_chars:
                if piece:
                    yield piece
                    piece, budget = [], 0
                yield from self._scan_stepwise(value)
                continue
            piece.append(None if value is None else self.scan(value))
            budget += len(value or "")
            if len(piece) >= self.chunk_cells or budget >= self.chunk_chars:
                yield piece
                piece, budget = [], 0
        if piece:
            yield piece

    def findings(self, value: str) -> list[Finding]:
        """The findings of this scanner's entities in `value`, long texts in segments."""
        found: list[Finding] = []
        for part in self._segments(value):
            found.extend(part)
        return resolve_findings(found) if len(value) > SEGMENT_CHARS else found

    def _segments(self, value: str) -> Iterator[list[Finding]]:
        """Findings per segment of `value` (one segment unless it is long), in its offsets."""
        if len(value) <= SEGMENT_CHARS:
            yield self.detector.find(value, self.context, self.entities)
            return
        step = SEGMENT_CHARS - OVERLAP_CHARS
        for offset in range(0, len(value) - OVERLAP_CHARS, step):
            end = min(offset + SEGMENT_CHARS, len(value))
            part = self.detector.find(value[offset:end], self.context, self.entities)
            # A finding touching a cut may be a piece of a longer value; the overlapping
            # neighbour segment sees that value whole.
            yield [Finding(f.entity, f.start + offset, f.end + offset, f.score) for f in part
                   if not (f.start == 0 < offset or f.end == end - offset < len(value) - offset)]

    def _scan_stepwise(self, value: str) -> Iterator[list[str | None]]:
        """scan of one long value: an empty piece after each segment, then its result."""
        self.stats["cells"] += 1
        if self._gate(normalize(value)) is None:
            yield [None]
            return
        self.stats["candidates"] += 1
        found: list[Finding] = []
        for part in self._segments(value):
            found.extend(part)
            yield []
        yield [self._mask(value, resolve_findings(found))]

    def _cached(self, value: str) -> str | None:
        hit = self._cache.get(value)
        if hit is not None:
            self._cache.move_to_end(value)
            self.stats["cache_hits"] += 1
            masked, entities = hit
            self._count(entities)
            return masked
        found = self.findings(value)
        masked = self._mask(value, found)
        self._cache[value] = (masked, tuple(f.entity for f in found))
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return masked

    def _mask(self, value: str, found: list[Finding]) -> str | None:
        if not found:
            return None
        parts, last = [], 0
        for f in found:
            parts.append(value[last:f.start])
            parts.append(self.masks[f.entity](value[f.start:f.end]))
            last = f.end
        parts.append(value[last:])
        self._count(f.entity for f in found)
        return "".join(parts)

    def _count(self, entities: Iterable[str]) -> None:
        """Counts for metrics: masked cells and findings per entity (never values)."""
        counted = False
        for entity in entities:
            self.stats[entity] += 1
            counted = True
        if counted:
            self.stats["masked"] += 1
