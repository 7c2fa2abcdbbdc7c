"""Start a gunicorn server on a free 127.0.0.1 port and stop it, whatever happens."""
from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class Server:
    port: int
    process_group: int


@contextmanager
def gunicorn(app_spec: str, *, workers: int, env: Mapping[str, str], ready_path: str,
             pythonpath: Path | None = None) -> Iterator[Server]:
    """Run `gunicorn APP -w workers` until the block ends."""
    port = free_port()
    log = tempfile.NamedTemporaryFile(prefix="bench-gunicorn-", suffix=".log", delete=False)
    command = [sys.executable, "-m", "gunicorn", app_spec, "-w", str(workers),
               "-b", f"127.0.0.1:{port}", "--graceful-timeout", "5", "--timeout", "60",
               "--log-level", "warning", "--error-logfile", log.name]
    if pythonpath is not None:
        command += ["--pythonpath", str(pythonpath)]
    # A session of its own: the master and its workers form one process group we can end.
    process = subprocess.Popen(command, env=dict(env), stdin=subprocess.DEVNULL,
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_until_ready(process, port, ready_path, Path(log.name))
        yield Server(port, process.pid)
    finally:
        _stop(process)
        log.close()
        os.unlink(log.name)


def _wait_until_ready(process: subprocess.Popen, port: int, path: str, log: Path,
                      timeout: float = 120) -> None:
    # Generous: four workers importing the app on a shared, loaded 2-CPU machine took > 30 s.
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}:\n{log.read_text()}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", path)
            if connection.getresponse().status == 200:
                connection.close()
                return
            connection.close()
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer on port {port} within {timeout:.0f}s:\n"
                       f"{log.read_text()}")


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM to the master (graceful); SIGKILL to its whole group if it lingers."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
            return
        except subprocess.TimeoutExpired:
            # The master is alive and unreaped, so its pid is still our group's id.
            os.killpg(process.pid, signal.SIGKILL)
    process.wait()
