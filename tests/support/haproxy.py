"""A real HAProxy from the deploy/haproxy example in front of local gateway replicas."""

from __future__ import annotations

import pwd
import re
import socket
import subprocess
import time
from pathlib import Path
from typing import NamedTuple, Protocol

from gateway.embedded import free_port
from tests.deploy.support import DEPLOY, tool


class Backend(Protocol):
    """A replica as HAProxy sees it: a name, the client port, the /readyz (admin) port."""

    @property
    def name(self) -> str: ...

    @property
    def port(self) -> int: ...

    @property
    def admin_port(self) -> int: ...


class Server(NamedTuple):
    """A Backend given by its values."""

    name: str
    port: int
    admin_port: int


def haproxy_config(backends: list[Backend], front: int, stats: int) -> str:
    """deploy/haproxy/haproxy.cfg with these replicas, local ports and fast checks."""
    text = (DEPLOY / "haproxy" / "haproxy.cfg").read_text()
    text = text.replace("bind :5432", f"bind 127.0.0.1:{front}")
    text = text.replace("bind 127.0.0.1:8404", f"bind 127.0.0.1:{stats}")
    text = text.replace("inter 2s", "inter 100ms").replace("slowstart 10s", "")
    text = re.sub(r"^\s*server .*\n", "", text, flags=re.M)
    servers = "".join(f"    server {gw.name} 127.0.0.1:{gw.port} port {gw.admin_port}\n"
                      for gw in backends)
    text = text.replace("\n# HAProxy's own metrics", servers + "\n# HAProxy's own metrics")
    try:
        pwd.getpwnam("haproxy")
    except KeyError:  # the Debian package creates this user; elsewhere run as we are
        text = re.sub(r"^\s*(user|group) haproxy\n", "", text, flags=re.M)
    return text


class HAProxy:
    """A real HAProxy in front of `backends`, listening on `port`."""

    def __init__(self, folder: Path, backends: list[Backend]) -> None:
        program = tool("haproxy")
        self.port = free_port()
        config = folder / "haproxy.cfg"
        config.write_text(haproxy_config(backends, self.port, free_port()))
        self.proc = subprocess.Popen([program, "-db", "-f", str(config)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not self._wait_listening(10):
            self.stop()
            raise AssertionError("haproxy did not start listening")

    def _wait_listening(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return True
            except OSError:
                if time.monotonic() > deadline:
                    return False
                time.sleep(0.05)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)
