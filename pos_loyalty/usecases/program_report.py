"""The back office's reports page: the program's figures for a period, read at once."""
from __future__ import annotations

import datetime as dt
from typing import Any

from pos_loyalty import exports, program_figures
from pos_loyalty.db import retry_read
from pos_loyalty.models import Program
from pos_loyalty.programs import local_day


def figures(program: Program, first: Any, last: Any,
            now: dt.datetime) -> program_figures.ProgramFigures:
    """The figures of the local days `first` to `last` (ISO dates); ValidationFailed naming
    the field for a bad period."""
    period = exports.read_period(first, last, local_day(program, now))
    return retry_read(lambda: program_figures.figures(program, period))
