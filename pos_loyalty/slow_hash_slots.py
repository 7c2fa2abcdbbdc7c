"""How many slow (argon2) hashes may run at once on this machine.

A staff password check costs about 0.2 s of CPU and 64 MiB. gunicorn's sync workers are
processes, so a bound per process would let every worker hash at once while the tills wait:
the slots are lock files shared by every process of the machine (`flock`, released by the
kernel even when a worker dies). A request that finds no free slot within a short wait is
refused with `ServerBusy` (503) instead of queueing behind a flood: a sync worker that waits
is a worker the tills do not get, so the wait stays short. After each hash its slot rests for
a while (`busy_share`: 0.5 = rest as long as the hash took), so a flood of logins gets at most
that share of a slot's time, whatever its rate.
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
# until which the slot rests.
REST_UNTIL = struct.Struct("d")


class SlowHashSlots:
    def __init__(self, count: int, wait_seconds: float, folder: str = "",
                 busy_share: float = 1.0) -> None:
        self.count, self.wait_seconds = count, wait_seconds
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
            os.pwrite(descriptor, REST_UNTIL.pack(ended + (ended - started) * self.rest_factor), 0)
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
                if not self._resting(descriptor):
                    return descriptor
                fcntl.flock(descriptor, fcntl.LOCK_UN)
                os.close(descriptor)
            if time.monotonic() >= deadline:
                raise ServerBusy()
            pause.wait(POLL_SECONDS)

    @staticmethod
    def _resting(descriptor: int) -> bool:
        stored = os.pread(descriptor, REST_UNTIL.size, 0)
        return len(stored) == REST_UNTIL.size and REST_UNTIL.unpack(stored)[0] > time.monotonic()
