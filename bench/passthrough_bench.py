"""Pass-through cost: pgbench -S direct, through pgbouncer (session) and through the gateway.

All targets run in one process, interleaved: each round runs every mode on every target, the
target order rotating from round to round, so machine noise hits all of them alike. The
result table (median TPS and latency, ratios gateway/direct and gateway/pgbouncer, gateway
RSS with idle clients, machine description) is written to bench/results/passthrough.md.

Run: python bench/passthrough_bench.py [--seconds 10] [--rounds 5]
     [--modes simple,extended,prepared] [--dsn DSN] [--tails]
--tails adds each target's p99 and p99.9 latency (pgbench logs every transaction).
The pgbench tables (scale 10) live in a dedicated database (pgw_bench), created if missing
and kept for the next run. Without --dsn: the server on 127.0.0.1:5432, else an embedded one.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import psycopg
from common import (
    ROOT,
    GatewayProcess,
    Pgbouncer,
    as_url,
    checkout,
    conninfo,
    cpu_seconds,
    embedded,
    ensure_database,
    find_pgbouncer,
    free_connections,
    free_port,
    machine,
    machine_markdown,
    markdown_table,
    median,
    pg_program,
    program_version,
    ratio,
    rss_kb,
    scratch_database,
    server,
    server_version,
    stop_process,
    wait_port,
)

OUTPUT = ROOT / "bench" / "results" / "passthrough.md"
MODES = ("simple", "extended", "prepared")
_COMPARED = ("forwarder",)  # targets whose ratio to pgbouncer is reported too
# Demo principal and password, public (rules/README.md).
PRINCIPAL, PASSWORD, PURPOSE = "crm_app", "crm-demo", "customer_service"
TPS = re.compile(r"^tps = ([\d.]+) \((?:without|excluding)", re.MULTILINE)
LATENCY = re.compile(r"^latency average = ([\d.]+) ms", re.MULTILINE)


@dataclass
class Target:
    """Where pgbench connects, and as whom."""

    name: str
    host: str
    port: int
    user: str
    dbname: str
    env: dict[str, str] = field(default_factory=dict)
    pid: int | None = None  # a proxy's process: its CPU per transaction is measured


@dataclass
class Run:
    """One pgbench run: TPS, average latency (ms) and the proxy's CPU per transaction (µs),
    or the error that stopped it."""

    tps: float = float("nan")
    latency: float = float("nan")
    error: str = ""
    cpu_us: float = float("nan")
    tail: tuple[float, float] = (float("nan"), float("nan"))  # p99, p99.9 ms (--tails)


# --- pgbench -----------------------------------------------------------------------------

def pgbench_env(extra: dict[str, str]) -> dict[str, str]:
    """The caller's environment without its PG* variables, TLS off, plus extra."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    return {**env, "PGSSLMODE": "disable", "PGCONNECT_TIMEOUT": "10", **extra}


def pgbench(target: Target, mode: str, seconds: int, args: argparse.Namespace) -> Run:
    """pgbench -S -M mode for `seconds` against target."""
    argv = [pg_program("pgbench"), "-n", "-S", "-M", mode, "-c", str(args.clients),
            "-j", str(args.jobs), "-T", str(seconds), "-h", target.host,
            "-p", str(target.port), "-U", target.user, target.dbname]
    with tempfile.TemporaryDirectory(prefix="pgw-pgbench-") as logs:
        if args.tails:  # a line per transaction: what the tail percentiles are read from
            argv[1:1] = ["-l", f"--log-prefix={logs}/txn"]
        cpu_before = cpu_seconds(target.pid) if target.pid else 0.0
        try:
            done = subprocess.run(argv, capture_output=True, text=True,
                                  env=pgbench_env(target.env), timeout=seconds + 120)
        except subprocess.TimeoutExpired:
            return Run(error="pgbench did not finish")
        cpu = cpu_seconds(target.pid) - cpu_before if target.pid else float("nan")
        tail = tail_latency(Path(logs)) if args.tails else Run.tail
    tps, latency = TPS.search(done.stdout), LATENCY.search(done.stdout)
    if done.returncode or not tps or not latency:
        lines = (done.stderr or done.stdout).strip().splitlines()
        return Run(error=lines[-1] if lines else f"pgbench exit status {done.returncode}")
    rate = float(tps.group(1))
    return Run(rate, float(latency.group(1)), cpu_us=cpu / (rate * seconds) * 1e6, tail=tail)


def tail_latency(logs: Path) -> tuple[float, float]:
    """p99 and p99.9 latency (ms) of the transactions pgbench logged (-l) in logs: the
    third field of each line is the transaction's time in µs."""
    times = sorted(int(line.split()[2]) for log in logs.glob("txn*")
                   for line in log.read_text().splitlines() if line)
    if not times:
        return Run.tail
    return tuple(times[min(len(times) - 1, int(len(times) * q))] / 1000 for q in (0.99, 0.999))


def prepare_tables(dsn: str, scale: int) -> None:
    """pgbench tables at `scale` (kept between runs), and the sample tables the rules name."""
    if pgbench_scale(dsn) != scale:
        print(f"creating pgbench tables, scale {scale} ...", flush=True)
        params = conninfo(dsn)
        env = pgbench_env({"PGPASSWORD": str(params["password"])} if params.get("password")
                          else {})
        subprocess.run([pg_program("pgbench"), "-i", "-q", "-s", str(scale),
                        "-h", params["host"], "-p", str(params["port"]), "-U", params["user"],
                        params["dbname"]], check=True, capture_output=True, env=env, timeout=900)
    ensure_sample(dsn)


def pgbench_scale(dsn: str) -> int | None:
    """Scale of the pgbench tables in dsn, None if missing or incomplete."""
    with psycopg.connect(dsn) as conn:
        if conn.execute("SELECT to_regclass('pgbench_accounts_pkey') IS NULL"
                        " OR to_regclass('pgbench_branches') IS NULL").fetchone()[0]:
            return None
        return conn.execute("SELECT count(*) FROM pgbench_branches").fetchone()[0]


def ensure_sample(dsn: str) -> None:
    """The tables rules/customers.yaml names, so the gateway sees the database it expects."""
    with psycopg.connect(dsn) as conn:
        present = conn.execute("SELECT to_regclass('public.customers') IS NOT NULL"
                               " AND to_regclass('public.orders') IS NOT NULL").fetchone()[0]
    if not present:
        from gateway.sample import load

        print("loading the sample customer tables ...", flush=True)
        load(dsn)


# --- targets -----------------------------------------------------------------------------

def direct_target(dsn: str) -> Target:
    params = conninfo(dsn)
    env = {"PGPASSWORD": str(params["password"])} if params.get("password") else {}
    return Target("direct", params["host"], int(params["port"]), params["user"],
                  params["dbname"], env)


def gateway_target(gw: GatewayProcess, dbname: str, name: str = "gateway") -> Target:
    env = {"PGPASSWORD": PASSWORD, "PGOPTIONS": f"-c privacy.purpose={PURPOSE}"}
    return Target(name, gw.host, gw.port, PRINCIPAL, dbname, env, gw.pid)


@contextlib.contextmanager
def start_forwarder(dsn: str, args: argparse.Namespace) -> Iterator[Target | None]:
    """With --forwarder: bench/forwarder.py in front of the server, as one more target."""
    if not args.forwarder:
        yield None
        return
    params, port = conninfo(dsn), free_port()
    proc = subprocess.Popen([sys.executable, str(ROOT / "bench" / "forwarder.py"), str(port),
                             params["host"], str(params["port"])])
    try:
        wait_port("127.0.0.1", port, proc)
        yield Target("forwarder", "127.0.0.1", port, params["user"], params["dbname"],
                     pid=proc.pid)
    finally:
        stop_process(proc)


@contextlib.contextmanager
def compared_gateway(dsn: str, args: argparse.Namespace,
                     state: str | None = None) -> Iterator[Target | None]:
    """With --compare REV: the gateway of that commit as one more target."""
    if not args.compare:
        yield None
        return
    with checkout(args.compare) as root, start_gateway(dsn, args.audit, root, state) as gw:
        yield gateway_target(gw, args.database, f"gateway@{args.compare}")


@contextlib.contextmanager
def state_database(dsn: str, audit: str) -> Iterator[str | None]:
    """With audit on: a new state database for this run, dropped after it. The audit log
    of earlier runs would otherwise grow from run to run (millions of rows each), and
    with it the state database's checkpoints and their full-page writes on the same
    cores: later runs would pay for earlier ones."""
    if audit == "off":
        yield None
        return
    with scratch_database(dsn, "pgw_bench_state") as state:
        yield state


# --audit: what the gateway records per statement (off measures the bare wire path)
AUDIT_SETTINGS = {"off": {"audit": False}, "on": {"audit_durability": "buffered"},
                  "strict": {"audit_durability": "strict"}}
# gateway / pgbouncer TPS to reach: the wire path's (audit off) and, with buffered audit
# and metering on, the audit issue's; strict mode is reported without one
TARGETS = {"off": 0.8, "on": 0.65, "strict": None}


@contextlib.contextmanager
def start_gateway(dsn: str, audit: str = "on", root: Path = ROOT,
                  state: str | None = None) -> Iterator[GatewayProcess]:
    """A gateway subprocess in front of dsn, run from the checkout at root (stopped on exit);
    its audit state in `state` (a DSN), else in the upstream database."""
    params = conninfo(dsn)
    settings = {**AUDIT_SETTINGS[audit], **({"state": as_url(conninfo(state))} if state else {})}
    gw = GatewayProcess(as_url(params), params.get("password"), settings=settings,
                        env={"PGW_AUDIT_KEY": "benchmark audit key"}, root=root).start()
    try:
        yield gw
    finally:
        gw.stop()


@contextlib.contextmanager
def start_pgbouncer(dsn: str, program: str | None, notes: list[str]) -> Iterator[Target | None]:
    """A session-mode pgbouncer target, or None (with a note) when it cannot run."""
    if program is None:
        yield None
        return
    params = conninfo(dsn)
    try:
        bouncer = Pgbouncer(program, params).start()
    except (RuntimeError, OSError) as exc:
        notes.append(f"pgbouncer could not start, column left out: {exc}")
        print(notes[-1], flush=True)
        yield None
        return
    try:
        yield Target("pgbouncer", bouncer.host, bouncer.port, params["user"], params["dbname"],
                     pid=bouncer.proc.pid)
    finally:
        bouncer.stop()


# --- rounds ------------------------------------------------------------------------------

def measure(targets: list[Target], args: argparse.Namespace) -> dict[str, dict[str, list[Run]]]:
    """Every mode on every target, `rounds` times, target order rotating per round."""
    for target in targets:  # unmeasured warm-up: caches, connections, JIT of nothing
        if args.warmup:
            pgbench(target, "simple", args.warmup, args)
    runs = {mode: {t.name: [] for t in targets} for mode in args.modes}
    for round_no in range(args.rounds):
        order = targets[round_no % len(targets):] + targets[:round_no % len(targets)]
        for mode in args.modes:
            for target in order:
                run = pgbench(target, mode, args.seconds, args)
                runs[mode][target.name].append(run)
                shown = run.error or f"{run.tps:.0f} tps, {run.latency:.3f} ms"
                print(f"round {round_no + 1}/{args.rounds} {mode:8} {target.name:9} {shown}",
                      flush=True)
    return runs


# --- gateway memory ----------------------------------------------------------------------

async def open_idle(host: str, port: int, dbname: str, count: int) -> list[asyncpg.Connection]:
    """count authenticated connections through the gateway, each having run one query."""
    gate = asyncio.Semaphore(16)

    async def one() -> asyncpg.Connection:
        async with gate:
            conn = await asyncpg.connect(host=host, port=port, user=PRINCIPAL,
                                         password=PASSWORD, database=dbname, ssl=False,
                                         server_settings={"privacy.purpose": PURPOSE})
            await conn.execute("SELECT 1")
            return conn

    return list(await asyncio.gather(*(one() for _ in range(count))))


def idle_rss(dsn: str, count: int) -> tuple[int, int]:
    """Gateway VmRSS (kB) before and after `count` idle authenticated clients."""
    with start_gateway(dsn) as gw:
        time.sleep(1)
        before = rss_kb(gw.pid)

        async def hold() -> int:
            conns = await open_idle(gw.host, gw.port, conninfo(dsn)["dbname"], count)
            await asyncio.sleep(2)  # idle: nothing in flight when measured
            after = rss_kb(gw.pid)
            await asyncio.gather(*(c.close() for c in conns))
            return after

        return before, asyncio.run(hold())


def measure_rss(dsn: str, count: int, notes: list[str]) -> tuple[int, int] | None:
    """idle_rss on the bench server, or an embedded one when it lacks connection slots."""
    try:
        if free_connections(dsn) >= count + 10:
            return idle_rss(dsn, count)
        notes.append(f"the server has fewer than {count + 10} free connection slots: "
                     "idle-client memory measured against an embedded PostgreSQL")
        print(notes[-1], flush=True)
        with embedded() as other:
            ensure_sample(other)
            return idle_rss(other, count)
    except (OSError, RuntimeError, asyncpg.PostgresError, psycopg.Error) as exc:
        notes.append(f"idle-client memory not measured: {type(exc).__name__}: {exc}")
        print(notes[-1], flush=True)
        return None


# --- report ------------------------------------------------------------------------------

def summary(runs: dict[str, dict[str, list[Run]]], names: list[str], attr: str,
            fmt: str) -> list[list[str]]:
    """One row per mode: median of attr per target, then gateway/direct, gateway/pgbouncer
    (and, with --compare, the other commit's gateway/pgbouncer)."""
    rows = []
    for mode, by_target in runs.items():
        medians = {n: median([getattr(r, attr) for r in by_target.get(n, []) if not r.error])
                   for n in {"direct", "pgbouncer", *names}}
        cells = [format(medians[n], fmt) if medians[n] == medians[n] else "–" for n in names]
        rows.append([mode, *cells, *(ratio(medians[n], medians["pgbouncer"])
                                     for n in compared(names)),
                     ratio(medians["gateway"], medians["direct"]),
                     ratio(medians["gateway"], medians["pgbouncer"])])
    return rows


def compared(names: list[str]) -> list[str]:
    """The targets, besides the gateway, whose ratio to pgbouncer the tables show."""
    return [n for n in names if n in _COMPARED or n.startswith("gateway@")]


def cpu_rows(runs: dict[str, dict[str, list[Run]]], names: list[str]) -> list[list[str]]:
    """One row per mode: the median CPU µs per transaction of each proxy."""
    rows = []
    for mode, by_target in runs.items():
        cells = [median([r.cpu_us for r in by_target.get(n, []) if not r.error]) for n in names]
        rows.append([mode, *(f"{c:.1f}" if c == c else "–" for c in cells)])
    return rows


def tail_rows(runs: dict[str, dict[str, list[Run]]], names: list[str]) -> list[list[str]]:
    """One row per mode: each target's median p99 / p99.9 latency (ms) over the runs."""
    rows = []
    for mode, by_target in runs.items():
        cells = []
        for name in names:
            done = [r.tail for r in by_target.get(name, []) if not r.error]
            p99, p999 = (median([t[i] for t in done]) for i in (0, 1))
            cells.append(f"{p99:.2f} / {p999:.2f}" if p99 == p99 else "–")
        rows.append([mode, *cells])
    return rows


def all_runs(runs: dict[str, dict[str, list[Run]]]) -> str:
    lines = []
    for mode, by_target in runs.items():
        for name, values in by_target.items():
            shown = ", ".join(f"failed ({r.error})" if r.error else f"{r.tps:.0f}"
                              for r in values)
            lines.append(f"- {mode}, {name}: {shown}")
    return "\n".join(lines)


def paired(runs: dict[str, dict[str, list[Run]]]) -> dict[str, list[float]]:
    """Per mode, gateway / pgbouncer TPS of each round in which both ran: the two ran
    minutes apart at most, so these ratios carry less of the machine's drift."""
    found = {}
    for mode, by_target in runs.items():
        pairs = zip(by_target.get("gateway", []), by_target.get("pgbouncer", []),
                    strict=False)  # no pgbouncer: no pairs
        found[mode] = [g.tps / b.tps for g, b in pairs if not (g.error or b.error) and b.tps]
    return found


def targets_met(rows: list[list[str]], rss: tuple[int, int] | None, audit: str,
                rounds: dict[str, list[float]]) -> str:
    """The verdicts: the wire path's target with audit off, the audit issue's with
    buffered audit; strict mode has none (reported only)."""
    target = TARGETS[audit]
    lines = []
    for row in rows:
        each = ", ".join(f"{r:.2f}" for r in rounds.get(row[0], [])) or "–"
        if target is None:
            lines.append(f"- {row[0]}: gateway / pgbouncer {row[-1]} (no target with "
                         f"audit {audit}); by round: {each}")
            continue
        verdict = "no pgbouncer figure" if row[-1] == "–" else (
            "met" if float(row[-1]) >= target else "NOT met")
        every = all(r >= target for r in rounds.get(row[0], [])) and each != "–"
        lines.append(f"- {row[0]}: gateway TPS ≥ {target} × pgbouncer TPS: {verdict} "
                     f"({row[-1]}); by round: {each} "
                     f"({'met in every round' if every else 'not met in every round'})")
    if rss:
        verdict = "met" if rss[1] <= 200 * 1024 else "NOT met"
        lines.append(f"- gateway RSS with idle clients ≤ 200 MB: {verdict} "
                     f"({rss[1] / 1024:.0f} MB)")
    return "\n".join(lines)


def report(args: argparse.Namespace, description: dict[str, str], setup: str,
           runs: dict[str, dict[str, list[Run]]], names: list[str],
           rss: tuple[int, int] | None, notes: list[str]) -> str:
    headers = ["mode", *names, *(f"{n}/pgbouncer" for n in compared(names)),
               "gateway/direct", "gateway/pgbouncer"]
    tps_rows = summary(runs, names, "tps", ".0f")
    proxies = [n for n in names if n != "direct"]
    lat_rows = summary(runs, names, "latency", ".3f")
    parts = [
        "# Pass-through: pgbench -S direct, through pgbouncer, through the gateway", "",
        f"Command: `{command_line(args)}`", "", setup, "",
        "## Machine", "", machine_markdown(description), "",
        f"## Throughput: median TPS of {args.rounds} run(s), excluding connection time", "",
        markdown_table(headers, tps_rows), "",
        f"## Average latency: median of {args.rounds} run(s), ms "
        "(ratio > 1: the gateway is slower)", "",
        markdown_table(headers, lat_rows), "",
        *([f"## Tail latency: p99 / p99.9 of each run's transactions, median of {args.rounds} "
           "run(s), ms", "", markdown_table(["mode", *names], tail_rows(runs, names)), ""]
          if args.tails else []),
        "## Proxy CPU per transaction: median of the runs, µs (user + system, process time)",
        "", markdown_table(["mode", *proxies], cpu_rows(runs, proxies)), "",
        f"## Gateway memory with {args.idle_clients} idle authenticated clients", "",
        rss_section(rss, args.idle_clients), "",
        "## Targets", "", targets_met(tps_rows, rss, args.audit, paired(runs)), "",
        "## Every run (TPS, in round order)", "", all_runs(runs)]
    if notes:
        parts += ["", "## Notes", "", *(f"- {n}" for n in notes)]
    return "\n".join(parts) + "\n"


def rss_section(rss: tuple[int, int] | None, count: int) -> str:
    if rss is None:
        return "Not measured (see notes)."
    before, after = rss
    return markdown_table(
        ["gateway VmRSS before", f"with {count} idle clients", "per client"],
        [[f"{before / 1024:.1f} MB", f"{after / 1024:.1f} MB",
          f"{(after - before) / max(count, 1):.0f} kB"]])


def command_line(args: argparse.Namespace) -> str:
    line = (f"python bench/passthrough_bench.py --audit {args.audit} --seconds {args.seconds}"
            f" --rounds {args.rounds} --modes {','.join(args.modes)}")
    line += " --forwarder" if args.forwarder else ""
    line += " --tails" if args.tails else ""
    return line + (f" --compare {args.compare}" if args.compare else "") + (
        " --dsn DSN" if args.dsn else "")


def setup_text(args: argparse.Namespace, label: str, bouncer_note: str) -> str:
    short = args.seconds < 10 or args.rounds < 5
    state = " (state database: a new one per run, on the same server)" \
        if args.audit != "off" else ""
    return "\n".join([
        f"pgbench -S (select only), {args.clients} clients, -j {args.jobs}, -T {args.seconds} s "
        f"per run, scale {args.scale}, database {args.database} on the {label}. Each round runs "
        "every mode on every target, the target order rotating per round; one unmeasured "
        f"{args.warmup} s warm-up run per target first. TLS off everywhere.",
        f"Gateway: `privacy-gateway serve` from this checkout, rules/customers.yaml, principal "
        f"{PRINCIPAL} (SCRAM), purpose {PURPOSE}, one upstream connection per client, "
        f"audit + metering: {args.audit}{state}. "
        f"pgbouncer: session mode, pool size 20, trust authentication (pgbouncer {bouncer_note}).",
        *(["**Short run: not the reference configuration (10 s × 5 rounds).**"] if short else []),
    ])


# --- main --------------------------------------------------------------------------------

def main(args: argparse.Namespace) -> None:
    description = machine()  # now, so the load average is the one at start
    notes: list[str] = []
    program, how = find_pgbouncer(install=not args.no_install)
    print(f"pgbouncer: {program or '-'} ({how})", flush=True)
    if program is None:
        notes.append(f"pgbouncer {how}: the pgbouncer column is left out")
    with server(args.dsn) as (dsn, label):
        bench_dsn = ensure_database(dsn, args.database)
        prepare_tables(bench_dsn, args.scale)
        description |= {"PostgreSQL": server_version(bench_dsn),
                        "pgbench": program_version([pg_program("pgbench"), "--version"]),
                        "pgbouncer": program_version([program, "--version"]) if program else "-"}
        with state_database(dsn, args.audit) as state, \
                start_gateway(bench_dsn, args.audit, state=state) as gw, \
                start_pgbouncer(bench_dsn, program, notes) as bouncer, \
                compared_gateway(bench_dsn, args, state) as earlier, \
                start_forwarder(bench_dsn, args) as forwarder:
            targets = [direct_target(bench_dsn), *([bouncer] if bouncer else []),
                       *([forwarder] if forwarder else []), gateway_target(gw, args.database),
                       *([earlier] if earlier else [])]
            runs = measure(targets, args)
        rss = measure_rss(bench_dsn, args.idle_clients, notes) if args.idle_clients else None
    names = [t.name for t in targets]
    text = report(args, description, setup_text(args, label, how), runs, names, rss, notes)
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(text, encoding="utf-8")
    print(text)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dsn", help="server to use (default: 127.0.0.1:5432, else embedded)")
    parser.add_argument("--database", default="pgw_bench", help="database for the tables")
    parser.add_argument("--seconds", type=int, default=10, help="duration of each pgbench run")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--modes", default=",".join(MODES),
                        help="comma-separated pgbench -M modes: simple,extended,prepared")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--scale", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per target")
    parser.add_argument("--idle-clients", type=int, default=200,
                        help="idle clients for the RSS measurement (0 = skip)")
    parser.add_argument("--no-install", action="store_true",
                        help="do not try apt-get install pgbouncer")
    parser.add_argument("--audit", choices=sorted(AUDIT_SETTINGS), default="on",
                        help="gateway audit + metering: on (buffered), strict, or off")
    parser.add_argument("--forwarder", action="store_true",
                        help="also run a bare uvloop byte forwarder (bench/forwarder.py)")
    parser.add_argument("--compare", metavar="REV",
                        help="also run the gateway of this commit (a temporary git worktree)")
    parser.add_argument("--tails", action="store_true",
                        help="also report p99 and p99.9 latency (pgbench logs every "
                             "transaction, which costs its clients some CPU on every target)")
    parser.add_argument("--output", default=str(OUTPUT))
    args = parser.parse_args()
    args.modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = set(args.modes) - set(MODES)
    if unknown or not args.modes:
        parser.error(f"--modes: choose among {', '.join(MODES)}")
    return args


if __name__ == "__main__":
    try:
        main(parse_args())
    except (RuntimeError, OSError, psycopg.Error, subprocess.CalledProcessError) as exc:
        raise SystemExit(f"passthrough_bench: {type(exc).__name__}: {exc}") from None
