"""Statements sent together: one round trip on PostgreSQL, one after another on SQLite.

A checkout writes a dozen rows that need nothing back from each other; waiting for the server
after each one is what made a sale slow, not the writes themselves. On PostgreSQL a list of
statements can go as ONE statement, each a WITH query (`WITH w0 AS (INSERT ...), w1 AS
(UPDATE ...) SELECT ...`): the server runs them in one go, far cheaper than a dozen statements,
even pipelined. SQLite runs inside the process, so there the same statements simply run in turn.

The price of one statement is a rule: its parts must not depend on each other's effects. They
all see the database as it was when the statement began (foreign keys are checked at its end,
so a row may name one inserted beside it).

Two uses:
- `run_together(steps, as_one_statement=True)`: reads (and writes) whose rows come back now.
  A step can ride along with the next such call (`send_with_next`): the idempotency claim goes
  with the checkout's first read.
- `defer(step)`: writes sent together when the session commits (a `before_commit` hook), each
  with the number of rows it must touch; a write that touched another number raises its own
  error, and the commit does not happen. As with the ORM's autoflush, a query made after
  them in the same transaction sends them first, so it sees them (a checkout makes none).

(Sending the COMMIT in the same round trip, with psycopg's pipeline mode, was measured: the
pipeline's own work in Python cost more CPU than the round trip it saved.)
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable

from pos_loyalty.db import db

Params = Mapping[str, Any] | Sequence[Mapping[str, Any]]
DEFERRED = "pos_loyalty.deferred_writes"
RIDING = "pos_loyalty.riding_along"


@dataclass(frozen=True)
class Step:
    """One prebuilt Core statement and its parameters (a list of them: one row each)."""
    statement: Executable
    params: Params


@dataclass(frozen=True)
class Outcome:
    rows: list[tuple[Any, ...]]
    rowcount: int


@dataclass(frozen=True)
class Riding:
    step: Step
    # Called with the outcome before the caller sees its own rows; raises to stop it.
    check: Callable[[Outcome], None]


@dataclass(frozen=True)
class Deferred:
    step: Step
    # Rows the write must touch (it needs a RETURNING clause), and the error raised otherwise.
    expect_rows: int | None = None
    error: Callable[[], Exception] | None = None


# --- reads and writes now ------------------------------------------------------------------

def run_together(steps: Sequence[Step], as_one_statement: bool = False) -> list[Outcome]:
    """Run `steps` in the current transaction; their rows and row counts, in order.

    Steps riding along go first, and their checks run before this returns. With
    `as_one_statement`, PostgreSQL gets them as one statement (see the module's rule); its
    values come back through JSON, so ask only for numbers, text, booleans and nulls.
    """
    riding: list[Riding] = db.session.info.pop(RIDING, [])
    outcomes = _run([item.step for item in riding] + list(steps), as_one_statement)
    for item, outcome in zip(riding, outcomes):
        item.check(outcome)
    return outcomes[len(riding):]


def send_with_next(step: Step, check: Callable[[Outcome], None]) -> None:
    """Send `step` in front of the next `run_together`, and check its outcome first."""
    _waiting_list(RIDING).append(Riding(step, check))


def send_riding() -> None:
    """Send what waits to ride along now, if nothing took it yet."""
    if db.session.info.get(RIDING):
        run_together([])


def _run(steps: Sequence[Step], as_one_statement: bool,
         deferred: Sequence[Deferred] = ()) -> list[Outcome]:
    if not steps:
        return []
    session = db.session
    if session.new or session.dirty or session.deleted:
        session.flush()   # what the ORM's autoflush would do before a query
    if not deferred:
        send_deferred(session())
    connection = session.connection()
    if connection.dialect.name == "postgresql" and as_one_statement:
        outcomes = _as_one_statement(connection, steps)
    else:
        outcomes = [_one_by_one(connection, step) for step in steps]
    for item, outcome in zip(deferred, outcomes):
        _expect(item, outcome)
    return outcomes


def _one_by_one(connection: Connection, step: Step) -> Outcome:
    result = connection.execute(step.statement, step.params)
    if not result.returns_rows:
        return Outcome([], result.rowcount)
    rows = [tuple(row) for row in result]
    return Outcome(rows, len(rows))


# --- writes at commit ----------------------------------------------------------------------

def defer(step: Step, *, expect_rows: int | None = None,
          error: Callable[[], Exception] | None = None) -> None:
    """Send `step` with the other deferred writes when the session commits.

    A unique constraint it breaks raises IntegrityError, which the unit of work turns into
    its domain error (`db.conflict_error`).
    """
    _waiting_list(DEFERRED).append(Deferred(step, expect_rows, error))


def _waiting_list(name: str) -> list[Any]:
    """Where statements wait in this transaction; it is begun now, so that a rollback, even
    before any statement ran, fires the hook that forgets them."""
    session = db.session()
    if not session.in_transaction():
        session.connection()
    return session.info.setdefault(name, [])


def send_deferred(session: Session) -> None:
    """Run the writes deferred in this transaction and check what they touched."""
    if session.info.get(RIDING):
        raise RuntimeError("a statement waiting to ride along was never sent")
    waiting: list[Deferred] = session.info.pop(DEFERRED, [])
    if not waiting:
        return
    _run([item.step for item in waiting], True, waiting)


def _expect(item: Deferred, outcome: Outcome) -> None:
    if item.expect_rows is not None and outcome.rowcount != item.expect_rows:
        raise (item.error or _unexpected)()


def _unexpected() -> Exception:
    return RuntimeError("a deferred write touched an unexpected number of rows")


def drop_deferred(session: Session, *_: Any) -> None:
    session.info.pop(DEFERRED, None)
    session.info.pop(RIDING, None)


def _send_deferred_before_query(state: Any) -> None:
    """Like the ORM's autoflush: a query sees the writes deferred before it."""
    if state.session.info.get(DEFERRED):
        send_deferred(state.session)


def install_hooks() -> None:
    """Deferred writes go out before any later query and before every commit; a rollback
    forgets them."""
    if not event.contains(Session, "before_commit", send_deferred):
        event.listen(Session, "before_commit", send_deferred)
        event.listen(Session, "do_orm_execute", _send_deferred_before_query)
        event.listen(Session, "after_soft_rollback", drop_deferred)


# --- one PostgreSQL statement --------------------------------------------------------------

def _as_one_statement(connection: Connection, steps: Sequence[Step]) -> list[Outcome]:
    """All steps as one statement: `WITH w0 AS (...), w1 AS (...) SELECT ...`.

    Each parameter set of a step is its own WITH query. The final SELECT returns, as JSON,
    the rows of every part that is a SELECT or has a RETURNING clause.
    The SQL is built once per shape with PostgreSQL's own $n placeholders and sent through a
    RawCursor: psycopg would otherwise parse this long query again on every sale.
    """
    import psycopg  # only PostgreSQL comes here, and psycopg is its driver

    parts = [(number, params) for number, step in enumerate(steps)
             for params in ([step.params] if isinstance(step.params, Mapping) else step.params)]
    merged = _merged(connection, steps, parts)
    values: list[Any] = []
    for (number, params), names in zip(parts, merged.names):
        _, bind = _compiled(connection, Step(steps[number].statement, params))
        bound = bind(params)
        values += [bound[name] for name in names]
    try:
        cursor = psycopg.RawCursor(connection.connection.driver_connection)
        rows = cursor.execute(merged.sql, values).fetchall()
    except psycopg.Error as error:
        # The exception SQLAlchemy would raise, so retries and callers see one kind.
        raise DBAPIError.instance("(statements sent together)", {}, error,
                                  psycopg.Error) from error
    found: dict[int, list[tuple[Any, ...]]] = {number: [] for number in range(len(steps))}
    for index, row in rows:
        found[parts[index][0]].append(tuple(row.values()))
    return [Outcome(found[number], len(found[number]) if number in merged.returning else -1)
            for number in range(len(steps))]


@dataclass(frozen=True)
class Merged:
    sql: str
    names: list[list[str]]   # per WITH query, the bind names behind its $n, in order
    returning: set[int]      # steps whose rows come back


_PLACEHOLDER = re.compile(r"(?<!%)%\(([^)]+)\)s")
_MERGED: dict[tuple[Any, ...], Merged] = {}


def _merged(connection: Connection, steps: Sequence[Step],
            parts: Sequence[tuple[int, Mapping[str, Any]]]) -> Merged:
    """The merged statement for this shape of steps (cached)."""
    shape = tuple((id(steps[number].statement), tuple(params)) for number, params in parts)
    cached = _MERGED.get(shape)
    if cached is not None:
        return cached
    queries, selects, names, returning = [], [], [], set()
    for index, (number, params) in enumerate(parts):
        sql, _ = _compiled(connection, Step(steps[number].statement, params))
        own: list[str] = []
        offset = sum(len(earlier) for earlier in names)

        def numbered(match: re.Match[str], own: list[str] = own, offset: int = offset) -> str:
            if match[1] not in own:
                own.append(match[1])
            return f"${offset + own.index(match[1]) + 1}"
        queries.append(f"w{index} AS ({_PLACEHOLDER.sub(numbered, sql).replace('%%', '%')})")
        names.append(own)
        if " RETURNING " in sql or sql.startswith("SELECT "):
            returning.add(number)
            selects.append(f"SELECT {index}, to_json(w{index}.*) FROM w{index}")
    final = " UNION ALL ".join(selects) or "SELECT 0, NULL::json WHERE false"
    merged = _MERGED[shape] = Merged(f"WITH {', '.join(queries)} {final}", names, returning)
    return merged


_COMPILED: dict[tuple[int, tuple[str, ...]], tuple[Executable, str, Callable[..., Any]]] = {}


def _compiled(connection: Connection, step: Step) -> tuple[str, Callable[..., Any]]:
    """The statement as the driver's SQL, and how to turn parameters into its binds (cached).

    An INSERT gets the Python-side defaults of the columns its parameters leave out, as
    SQLAlchemy's own execution would give them, and returns only what it asks for.
    """
    sample = step.params if isinstance(step.params, Mapping) else step.params[0]
    key = (id(step.statement), tuple(sample))
    cached = _COMPILED.get(key)
    if cached is None or cached[0] is not step.statement:
        defaults = _python_defaults(step.statement, sample)
        statement = step.statement
        if getattr(statement, "is_insert", False) and not statement._returning:
            statement = statement.inline()   # no implicit RETURNING of the new id
        compiled = statement.compile(dialect=connection.dialect,
                                     column_keys=[*sample, *defaults])
        processors = dict(compiled._bind_processors)  # JSON values are serialised here
        # Values the statement carries itself (literals in its WHERE): taken once.
        fixed = {name: value for name, value
                 in compiled.construct_params({}, _check=False).items()
                 if name not in sample and name not in defaults}

        def bind(params: Mapping[str, Any]) -> dict[str, Any]:
            values = {**fixed, **{name: make() for name, make in defaults.items()}, **params}
            for name, process in processors.items():
                if name in values:
                    values[name] = process(values[name])
            return values
        cached = _COMPILED[key] = (step.statement, compiled.string, bind)
    return cached[1], cached[2]


def _python_defaults(statement: Executable, given: Mapping[str, Any]) -> dict[str, Callable[[], Any]]:
    table = getattr(statement, "table", None)
    if not getattr(statement, "is_insert", False) or table is None:
        return {}
    found: dict[str, Callable[[], Any]] = {}
    for column in table.columns:
        default = column.default
        if column.key in given or default is None or not (default.is_scalar or default.is_callable):
            continue
        found[column.key] = ((lambda value=default.arg: value) if default.is_scalar
                             else (lambda make=default.arg: make(None)))
    return found
