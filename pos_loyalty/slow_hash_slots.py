"""How many slow (argon2) hashes may run at once on this machine.

A staff password check costs about 0.2 s of CPU and 64 MiB. gunicorn's sync workers are
processes, so a bound per process would let every worker hash at once while the tills wait:
the slots are lock files shared by every process of the machine (`flock`, released by the
kernel even when a worker dies). A request that finds no free slot within a short wait is
refused with `ServerBusy` (503) instead of queueing behind a flood: a sync worker that waits
is a worker the tills do not get, so the wait stays short. Each hash also owes its slot a rest
(`busy_share`: 0.25 = three times as long as the hash took); a slot owing more than
`burst_seconds` rests until it owes less. A few logins in a row (a shift change) go through at
once, and a flood of logins gets at most `busy_share` of a slot's time, whatever its rate.
"""
from __future__ import annotations

import fcntl
import os
import struct
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pos_loyalty.errors import ServerBusy

POLL_SECONDS = 0.005
# A slot file holds the moment (time.monotonic(), one clock for every process of a machine)
# until which the slot owes rest.
REST_UNTIL = struct.Struct("d")


class SlowHashSlots:
    def __init__(self, count: int, wait_seconds: float, folder: str = "",
                 busy_share: float = 1.0, burst_seconds: float = 0.0) -> None:
        self.count, self.wait_seconds, self.burst_seconds = count, wait_seconds, burst_seconds
        self.rest_factor = 1 / busy_share - 1 if 0 < busy_share < 1 else 0.0
        default = Path(tempfile.gettempdir()) / f"pos-loyalty-slow-hashes-{os.getuid()}"
        where = Path(folder) if folder else default
        self.paths = [where / f"slot-{n}.lock" for n in range(count)]
        if count > 0:
            where.mkdir(mode=0o700, parents=True, exist_ok=True)

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one slot for the block; 0 slots means no bound."""
        if self.count <= 0:
            yield
            return
        descriptor = self._take()
        started = time.monotonic()
        try:
            yield
        finally:
            ended = time.monotonic()
            owed = max(self._rest_until(descriptor), ended) + (ended - started) * self.rest_factor
            os.pwrite(descriptor, REST_UNTIL.pack(owed), 0)
            fcntl.flock(descriptor, fcntl.LOCK_UN)
            os.close(descriptor)

    def _take(self) -> int:
        deadline = time.monotonic() + self.wait_seconds
        pause = threading.Event()
        while True:
            for path in self.paths:
                descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
                try:
                    fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    os.close(descriptor)
                    continue
                if self._rest_until(descriptor) - time.monotonic() <= self.burst_seconds:
                    return descriptor
                fcntl.flock(descriptor, fcntl.LOCK_UN)
                os.close(descriptor)
            if time.monotonic() >= deadline:
                raise ServerBusy()
            pause.wait(POLL_SECONDS)

    @staticmethod
    def _rest_until(descriptor: int) -> float:
        stored = os.pread(descriptor, REST_UNTIL.size, 0)
        return REST_UNTIL.unpack(stored)[0] if len(stored) == REST_UNTIL.size else 0.0
