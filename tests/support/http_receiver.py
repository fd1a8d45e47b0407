"""A real aiohttp server on 127.0.0.1 that hands every POST to a test's receiver."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Protocol, TypeVar

from aiohttp import web


class Receiver(Protocol):
    """What a test records POSTs with: its handler, and the base URL it is reached at."""

    url: str

    async def handle(self, request: web.Request) -> web.StreamResponse: ...


R = TypeVar("R", bound=Receiver)


@contextlib.asynccontextmanager
async def serving(receiver: R) -> AsyncIterator[R]:
    """Serve POST /<any path> with receiver.handle on a free port; sets receiver.url."""
    app = web.Application()
    app.router.add_route("POST", "/{tail:.*}", receiver.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    receiver.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
    try:
        yield receiver
    finally:
        await runner.cleanup()
