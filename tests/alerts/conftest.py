"""Alert fixtures: a real aiohttp webhook receiver on 127.0.0.1 and the state schema."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest
from aiohttp import web

from gateway.state.connect import as_url, prepare
from tests.support.http_receiver import serving


@dataclass
class Receiver:
    """Records every request; answers with `statuses` in turn, then 200."""

    url: str = ""
    requests: list[dict] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append({"path": request.path_qs, "headers": dict(request.headers),
                              "body": await request.read()})
        self.arrived.set()
        return web.Response(status=self.statuses.pop(0) if self.statuses else 200)

    async def wait(self, count: int, timeout: float = 5.0) -> None:
        async def until():
            while len(self.requests) < count:
                self.arrived.clear()
                await self.arrived.wait()
        await asyncio.wait_for(until(), timeout)


@pytest.fixture
async def receiver():
    async with serving(Receiver()) as rec:
        yield rec


@pytest.fixture(scope="session")
async def state_dsn(upstream_dsn: str) -> str:
    url = as_url(upstream_dsn)
    await prepare(url)
    return url
