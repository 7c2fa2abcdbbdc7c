"""Import members from another system: the dry run, then the import, a chunk at a time.

The file is read and judged whole first (`member_file`, no transaction open), then its good
lines go to the database in chunks of CHUNK_ROWS, each chunk one short transaction: the
tills keep selling meanwhile, and an import cut short is finished by running it again (what
it wrote is skipped). The one audit event, with the counts, commits with the last chunk.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import BinaryIO

from pos_loyalty import audit
from pos_loyalty.db import run_in_transaction
from pos_loyalty.errors import ImportFileChanged
from pos_loyalty.member_file import BadLine, CheckedFile, Member, read_members
from pos_loyalty.member_import import Sorted, sort_out, write_members
from pos_loyalty.models import Program
from pos_loyalty.programs import local_day

# Members per transaction: large enough for bulk statements to pay, small enough that a
# chunk holds the database (SQLite's one writer) for a few tens of milliseconds.
CHUNK_ROWS = 500

# Told after each chunk: members sorted out so far, members in all (the good lines).
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ImportReport:
    """What a dry run found, or what an import did (`imported` counts members written)."""
    file_name: str
    sha256: str
    rows: int
    bad_lines: list[BadLine]
    ignored_columns: list[str]
    dry_run: bool
    imported: int = 0      # a dry run: the members the import would write
    skipped: int = 0       # their phone has an account already
    points: int = 0        # opening balances written (a dry run: to write)
    texts: int = 0         # balance SMS queued (`notify`)
    bad_line_numbers: list[int] = field(default_factory=list)


def check_members(program: Program, source: BinaryIO, file_name: str, now: dt.datetime,
                  progress: Progress | None = None) -> ImportReport:
    """The dry run: every bad line with its reason, and what exists already; writes nothing."""
    checked = read_members(program, source, local_day(program, now))
    report = _report(checked, file_name, dry_run=True)
    done = 0
    for chunk in _chunks(checked.members):
        found = run_in_transaction(lambda chunk=chunk: sort_out(program, chunk))
        report = _tally(report, found, len(found.new), sum(m.points for m in found.new),
                        0, len(found.skipped))
        done += len(chunk)
        _tell(progress, done, len(checked.members))
    return _sorted(report)


def import_members(program: Program, source: BinaryIO, file_name: str, now: dt.datetime,
                   actor: str, *, notify: bool = False, checked_sha256: str | None = None,
                   progress: Progress | None = None) -> ImportReport:
    """Write the good lines' members that do not exist yet; the bad ones are reported.

    `checked_sha256`: the file the dry run checked; another file is refused whole
    (ImportFileChanged). `notify`: queue each new member's balance SMS (default: none).
    """
    checked = read_members(program, source, local_day(program, now))
    if checked_sha256 is not None and checked_sha256 != checked.sha256:
        raise ImportFileChanged()
    report = _report(checked, file_name, dry_run=False)
    chunks = _chunks(checked.members) or [[]]
    done = 0
    for number, chunk in enumerate(chunks):
        last = number == len(chunks) - 1

        def work(chunk: list[Member] = chunk, last: bool = last) -> ImportReport:
            found = sort_out(program, chunk) if chunk else Sorted()
            written = write_members(program, found, now, actor=actor,
                                    reason=f"import {file_name}", notify=notify)
            after = _tally(report, found, written.members, written.points, written.texts,
                           len(found.skipped) + written.skipped)
            if last:
                _audit(program, actor, now, after, notify)
            return after
        report = run_in_transaction(work)
        done += len(chunk)
        _tell(progress, done, len(checked.members))
    return _sorted(report)


def _report(checked: CheckedFile, file_name: str, dry_run: bool) -> ImportReport:
    return ImportReport(file_name=file_name, sha256=checked.sha256, rows=checked.rows,
                        bad_lines=list(checked.bad_lines),
                        ignored_columns=checked.ignored_columns, dry_run=dry_run)


def _chunks(members: list[Member]) -> list[list[Member]]:
    return [members[start:start + CHUNK_ROWS] for start in range(0, len(members), CHUNK_ROWS)]


def _tally(report: ImportReport, found: Sorted, members: int, points: int, texts: int,
           skipped: int) -> ImportReport:
    return replace(report, bad_lines=report.bad_lines + found.bad_lines,
                   imported=report.imported + members, points=report.points + points,
                   texts=report.texts + texts, skipped=report.skipped + skipped)


def _sorted(report: ImportReport) -> ImportReport:
    lines = sorted(report.bad_lines, key=lambda bad: bad.line)
    return replace(report, bad_lines=lines,
                   bad_line_numbers=sorted({bad.line for bad in lines}))


def _tell(progress: Progress | None, done: int, total: int) -> None:
    if progress is not None:
        progress(done, total)


def _audit(program: Program, actor: str, now: dt.datetime, report: ImportReport,
           notify: bool) -> None:
    audit.record(program, actor, "members_imported", f"file:{report.file_name}", now,
                 file=report.file_name, sha256=report.sha256, rows=report.rows,
                 imported=report.imported, skipped=report.skipped,
                 bad_lines=len({bad.line for bad in report.bad_lines}),
                 points=report.points, texts=report.texts, notify=notify)
