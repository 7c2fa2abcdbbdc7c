"""Closed-loop load: N simulated terminals, each one request at a time over its own connection.

Each terminal is a thread with one http.client connection (reopened by http.client whenever
the server closes it, as gunicorn's sync workers do after every response). Requests that end
inside the measured window count; the warm-up before it does not.
"""
from __future__ import annotations

import http.client
import json
import math
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cpu_time import CpuSample, used_between

# (path, body, headers) of the terminal's next request; a maker counts its own requests, so
# that a terminal driven in several rounds never repeats a receipt.
RequestMaker = Callable[[], tuple[str, dict[str, Any], dict[str, str]]]
# Named CPU probes sampled at both ends of the measured window ("app", "db").
CpuProbes = dict[str, Callable[[], CpuSample]]


@dataclass
class PhaseResult:
    """What one phase measured: latencies of the requests that ended in the window."""
    name: str
    seconds: float
    expected_status: int
    latencies_ms: list[float] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)
    cpu_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def completed(self) -> int:
        return len(self.latencies_ms)

    @property
    def ok(self) -> int:
        return self.completed - sum(self.errors.values())

    @property
    def per_second(self) -> float:
        """Successful requests per second."""
        return self.ok / self.seconds if self.seconds else 0.0

    def cpu_ms_per_request(self, name: str) -> float:
        if name not in self.cpu_seconds or not self.completed:
            return float("nan")
        return self.cpu_seconds[name] * 1000 / self.completed

    @classmethod
    def combined(cls, rounds: list[PhaseResult]) -> PhaseResult:
        """One phase's rounds as one result: their windows, requests and CPU added up."""
        total = cls(rounds[0].name, sum(r.seconds for r in rounds), rounds[0].expected_status)
        for result in rounds:
            total.latencies_ms += result.latencies_ms
            total.errors.update(result.errors)
            for probe, seconds in result.cpu_seconds.items():
                total.cpu_seconds[probe] = total.cpu_seconds.get(probe, 0.0) + seconds
        return total

    def percentile(self, p: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]   # nearest rank


@dataclass
class _TerminalLog:
    records: list[tuple[float, float, str | None]] = field(default_factory=list)


def run_phase(name: str, port: int, makers: list[RequestMaker], *, warmup: float,
              seconds: float, expected_status: int = 201,
              probes: CpuProbes | None = None) -> PhaseResult:
    """Drive one terminal per maker for warm-up + `seconds`; measure the last `seconds`."""
    stop = threading.Event()
    logs = [_TerminalLog() for _ in makers]
    threads = [threading.Thread(target=_terminal_loop, daemon=True, name=f"terminal-{n}",
                                args=(port, maker, log, stop, expected_status))
               for n, (maker, log) in enumerate(zip(makers, logs))]
    for thread in threads:
        thread.start()
    probes = {**(probes or {}), "client": _client_sample}
    start = time.perf_counter() + warmup
    end = start + seconds
    try:
        stop.wait(warmup)
        before = {probe: sample() for probe, sample in probes.items()}
        stop.wait(end - time.perf_counter())
        after = {probe: sample() for probe, sample in probes.items()}
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=35)
    result = PhaseResult(name, seconds, expected_status)
    result.cpu_seconds = {probe: used_between(before[probe], after[probe]) for probe in probes}
    for log in logs:
        for began, ended, error in log.records:
            if start <= ended <= end:
                result.latencies_ms.append((ended - began) * 1000)
                if error is not None:
                    result.errors[error] += 1
    return result


def _client_sample() -> CpuSample:
    return {0: time.process_time()}


def _terminal_loop(port: int, maker: RequestMaker, log: _TerminalLog, stop: threading.Event,
                   expected_status: int) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    while not stop.is_set():
        path, body, headers = maker()
        payload = json.dumps(body).encode()
        headers = {**headers, "Content-Type": "application/json"}
        began = time.perf_counter()
        try:
            connection.request("POST", path, payload, headers)
            response = connection.getresponse()
            answer = response.read()
            error = None if response.status == expected_status else \
                _describe(response.status, answer)
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            error = f"{type(exc).__name__}"
        log.records.append((began, time.perf_counter(), error))
    connection.close()


def _describe(status: int, answer: bytes) -> str:
    """'409 duplicate_receipt': the status and the API error code when there is one."""
    try:
        code = json.loads(answer)["error"]["code"]
    except (ValueError, KeyError, TypeError):
        code = answer[:60].decode(errors="replace").strip()
    return f"{status} {code}"
