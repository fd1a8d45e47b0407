"""The gateway's own CPU per pgbench transaction, without the network: a hot loop.

A real gateway (rules, catalog and policy cache of the pgbench database, audit as asked)
runs in this process; one session is driven through its asyncio shell with the batches
pgbench sends in each mode and the replies the real server gives to them, captured once
over a plain connection. The sockets are replaced by sinks that only count bytes, so what
is timed is the Python of the shell, the session core, the tracker and the accounting
hand-over: what the pass-through benchmark's proxy CPU holds beyond a bare forwarder's.

Run: python bench/session_loop_bench.py [--transactions 50000] [--repeat 5]
     [--modes simple,extended,prepared] [--audit off|on] [--profile MODE]
Prints µs per transaction (median and least of the repeats) for each mode; --profile prints the
cProfile table of one mode instead.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import random
import socket
import tempfile
import time
from pathlib import Path

from common import ROOT, as_url, conninfo, ensure_database, median, server

from gateway import config as config_mod
from gateway.app import Gateway
from gateway.protocol import codes
from gateway.protocol.messages import Bind, Describe, Execute, Parse, Query, Sync
from gateway.protocol.startup import StartupMessage
from gateway.session.connection import ClientConnection, UpstreamConnection

MODES = ("simple", "extended", "prepared")
SQL = "SELECT abalance FROM pgbench_accounts WHERE aid = {};"
PARAM_SQL = "SELECT abalance FROM pgbench_accounts WHERE aid = $1;"
PRINCIPAL, PURPOSE = "crm_app", "customer_service"


class Sink:
    """A transport that takes every write and sends nothing. It counts calls, not bytes:
    uvloop's write and writelines cost the same for one chunk, and so must these."""

    def __init__(self) -> None:
        self.writes = 0

    def write(self, data: bytes) -> None:
        self.writes += 1

    def writelines(self, chunks: list) -> None:
        self.writes += 1

    def is_closing(self) -> bool:
        return False

    def get_extra_info(self, name: str, default: object = None) -> object:
        return ("127.0.0.1", 5) if name == "peername" else default

    def pause_reading(self) -> None: ...

    def resume_reading(self) -> None: ...

    def close(self) -> None: ...


def batches(mode: str, count: int) -> list[bytes]:
    """What pgbench -S sends per transaction in mode (the first one of prepared included)."""
    aids = [random.randint(1, 1_000_000) for _ in range(count)]
    if mode == "simple":
        return [Query(SQL.format(aid)).encode() for aid in aids]

    def execute(statement: str, aid: int) -> bytes:
        return (Bind("", statement, (), (str(aid).encode(),), ()).encode()
                + Describe("P", "").encode() + Execute("", 0).encode() + Sync().encode())

    if mode == "extended":
        return [Parse("", PARAM_SQL).encode() + execute("", aid) for aid in aids]
    return [Parse("P_1", PARAM_SQL).encode() + execute("P_1", aids[0])] + \
        [execute("P_1", aid) for aid in aids[1:]]


def _read_reply(sock: socket.socket) -> bytes:
    """Bytes up to and including the next ReadyForQuery."""
    data = b""
    while True:
        data += sock.recv(65536)
        pos = 0
        while len(data) - pos >= 5:
            length = int.from_bytes(data[pos + 1:pos + 5], "big")
            if data[pos] == ord(codes.READY_FOR_QUERY) and pos + 1 + length == len(data):
                return data
            pos += 1 + length


def replies(dsn: str, sent: list[bytes]) -> list[bytes]:
    """The server's reply to each batch, over one plain (trust) connection."""
    params = conninfo(dsn)
    with socket.create_connection((params["host"], int(params["port"]))) as sock:
        sock.sendall(StartupMessage({"user": params["user"],
                                     "database": params["dbname"]}).encode())
        _read_reply(sock)
        found = []
        for batch in sent:
            sock.sendall(batch)
            found.append(_read_reply(sock))
        return found


async def start_gateway(dsn: str, audit: str, folder: Path) -> Gateway:
    settings = {"listen": "127.0.0.1:0", "upstream": as_url(conninfo(dsn)), "admin": None,
                "rules": str(ROOT / "rules" / "customers.yaml"),
                "playbooks": str(ROOT / "incident" / "playbooks"),
                "audit_spool": str(folder / "spool")}
    if audit == "off":
        settings["audit"] = False
    gateway = Gateway(config_mod.load(None, overrides=settings,
                                      environ={"PGW_AUDIT_KEY": "benchmark audit key"}))
    await gateway.start()
    return gateway


def session(gateway: Gateway) -> tuple[ClientConnection, UpstreamConnection]:
    """A ready session of the demo principal under its purpose, its sockets sinks."""
    client = ClientConnection(gateway.listener)
    client.connection_made(Sink())
    core = client.session
    core.user, core.phase = PRINCIPAL, "ready"
    core.principal = gateway.rules.principals[PRINCIPAL]
    core._bind_purpose(PURPOSE)
    upstream = UpstreamConnection(client, handshake=None)
    upstream.transport, upstream.ready = Sink(), True
    client.upstream = upstream
    client.open_lane()
    if client._startup_timer:
        client._startup_timer.cancel()
    return client, upstream


def drive(client: ClientConnection, upstream: UpstreamConnection,
          pairs: list[tuple[bytes, bytes]]) -> float:
    """Seconds for the whole list, as the shell's two callbacks see it."""
    to_server, to_client = client.data_received, upstream.data_received
    start = time.perf_counter()
    for batch, reply in pairs:
        to_server(batch)
        to_client(reply)
    return time.perf_counter() - start


async def main(args: argparse.Namespace) -> None:
    with server(args.dsn) as (dsn, _), tempfile.TemporaryDirectory() as folder:
        dsn = ensure_database(dsn, args.database)
        gateway = await start_gateway(dsn, args.audit, Path(folder))
        try:
            modes = [args.profile] if args.profile else args.modes.split(",")
            for mode in modes:
                sent = batches(mode, args.transactions)
                pairs = list(zip(sent, replies(dsn, sent), strict=True))
                client, upstream = session(gateway)
                drive(client, upstream, pairs[:1000])  # warm: caches, the first Parse
                pairs = pairs[1000:]
                if args.profile:
                    profile = cProfile.Profile()
                    profile.runcall(drive, client, upstream, pairs)
                    pstats.Stats(profile).sort_stats("tottime").print_stats(25)
                    continue
                times = []
                for _ in range(args.repeat):
                    times.append(drive(client, upstream, pairs))
                    await asyncio.sleep(0)  # let the accounting's tasks run between
                per = [t / len(pairs) * 1e6 for t in times]
                # the least: the machine's noise only ever adds
                print(f"{mode:9} {median(per):6.2f} µs per transaction, least {min(per):.2f} "
                      f"(runs {', '.join(f'{t:.2f}' for t in per)})")
        finally:
            await gateway.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dsn", help="server to use (default: 127.0.0.1:5432, else embedded)")
    parser.add_argument("--database", default="pgw_bench",
                        help="database with the pgbench tables (see passthrough_bench.py)")
    parser.add_argument("--transactions", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--audit", choices=("off", "on"), default="off")
    parser.add_argument("--profile", choices=MODES, help="print a cProfile table of one mode")
    import uvloop

    uvloop.install()
    asyncio.run(main(parser.parse_args()))
