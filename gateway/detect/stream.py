"""The asyncio side of free-text masking: scan a batch of cells without holding the loop."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from gateway.detect.scan import TextScanner


async def scan_cells(scanner: TextScanner, values: Iterable[str | None]) -> list[str | None]:
    """scanner.scan_many(values), giving the event loop a turn after every bounded piece."""
    results: list[str | None] = []
    for piece in scanner.chunks(values):
        results.extend(piece)
        await asyncio.sleep(0)
    return results
