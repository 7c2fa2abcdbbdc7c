"""CPU seconds used by the servers under test, read from /proc (Linux only).

On a small shared machine throughput moves with whatever else runs; CPU time per request
does not, so the table shows both.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
CpuSample = dict[int, float]   # pid -> CPU seconds used so far


def _stat_fields(pid: int | str) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2:].split()   # fields from the 3rd (state) on


def _cpu_seconds(fields: list[str]) -> float:
    return (int(fields[11]) + int(fields[12])) / TICKS   # utime + stime


def process_group_sample(pgid: int) -> CpuSample:
    """Every live process of the group (a gunicorn master and its workers)."""
    sample: CpuSample = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(entry.name)
        if fields is not None and int(fields[2]) == pgid:
            sample[int(entry.name)] = _cpu_seconds(fields)
    return sample


def postgres_backends_sample(database_url: str) -> Callable[[], CpuSample]:
    """A probe of the PostgreSQL backends serving `database_url`'s database (same host)."""
    engine = sa.create_engine(database_url, poolclass=sa.NullPool)
    query = sa.text("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid()")

    def sample() -> CpuSample:
        with engine.connect() as connection:
            pids = connection.execute(query).scalars().all()
        found = {pid: _stat_fields(pid) for pid in pids}
        return {pid: _cpu_seconds(fields) for pid, fields in found.items() if fields}
    return sample


def used_between(before: CpuSample, after: CpuSample) -> float:
    """CPU seconds spent between two samples by the processes alive at the second."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())
