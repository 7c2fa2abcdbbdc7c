"""Statements sent together: one round trip on PostgreSQL, one after another on SQLite.

A checkout writes a dozen rows that need nothing back from each other; waiting for the server
after each one is what made a sale slow, not the writes themselves. On PostgreSQL a list of
statements goes as ONE statement, each a WITH query (`WITH w0 AS (INSERT ...), w1 AS (UPDATE
...) SELECT ...`): SQLAlchemy builds it from the statements themselves (data-modifying CTEs)
and compiles it once per shape, and the server runs the parts in one go, far cheaper than a
dozen statements, even pipelined. SQLite runs inside the process, so there the same
statements simply run in turn.

The price of one statement is a rule: its parts must not depend on each other's effects. They
all see the database as it was when the statement began (foreign keys are checked at its end,
so a row may name one inserted beside it).

Nothing here runs by itself, at a commit or before a query: the call is the round trip.
- `run_together(steps)`: statements whose rows the caller needs now (the checkout's first read).
- `Writes`: writes that need nothing back, collected while a use case decides, each with the
  number of rows it must touch, and sent by `Writes.send()`, usually right before the commit.
- `insert_many`, `update_many`: thousands of rows of one table at once (an import), one
  array per column on PostgreSQL.

(Sending the COMMIT in the same round trip, with psycopg's pipeline mode, was measured: the
pipeline's own work in Python cost more CPU than the round trip it saved.)
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    JSON, BindParameter, Executable, bindparam, cast, false, func, literal_column, null, select,
    union_all, update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as _pg_insert
from sqlalchemy.dialects.sqlite import insert as _sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import visitors

from pos_loyalty.db import db

Params = Mapping[str, Any] | Sequence[Mapping[str, Any]]


@dataclass(frozen=True)
class Step:
    """One prebuilt Core statement and its parameters (a list of them: one row or run each)."""
    statement: Executable
    params: Params

    def parameter_sets(self) -> Sequence[Mapping[str, Any]]:
        return [self.params] if isinstance(self.params, Mapping) else self.params


@dataclass(frozen=True)
class Outcome:
    rows: list[tuple[Any, ...]]
    rowcount: int   # -1 for a write without RETURNING sent as part of one statement


@dataclass(frozen=True)
class Write:
    step: Step
    # Rows the write must touch (it needs a RETURNING clause), and the error raised otherwise.
    expect_rows: int | None = None
    error: Callable[[], Exception] | None = None


class Writes:
    """Writes waiting to be sent together; whoever collects them decides when (`send`)."""

    def __init__(self) -> None:
        self._waiting: list[Write] = []

    def add(self, step: Step, *, expect_rows: int | None = None,
            error: Callable[[], Exception] | None = None) -> None:
        """Send `step` with the others; if it touches other than `expect_rows` rows, nothing
        is committed and `error()` is raised. A unique constraint it breaks raises
        IntegrityError, which the unit of work turns into its domain error."""
        self._waiting.append(Write(step, expect_rows, error))

    def add_all(self, steps: Iterable[Step]) -> None:
        for step in steps:
            self.add(step)

    def __len__(self) -> int:
        return len(self._waiting)

    def send(self) -> None:
        """One round trip with every waiting write, then check what each touched."""
        waiting, self._waiting = self._waiting, []
        outcomes = run_together([write.step for write in waiting])
        for write, outcome in zip(waiting, outcomes):
            if write.expect_rows is not None and outcome.rowcount != write.expect_rows:
                raise (write.error or _unexpected)()


def _unexpected() -> Exception:
    return RuntimeError("a write touched an unexpected number of rows")


def run_together(steps: Sequence[Step]) -> list[Outcome]:
    """Run `steps` now, in the current transaction: their rows and row counts, in order.

    One statement on PostgreSQL (see the module's rule), whose rows come back through JSON:
    ask only for numbers, text, booleans and nulls. The session's pending ORM changes are
    flushed first, as its autoflush would before a query.
    """
    if not steps:
        return []
    session = db.session()   # the session itself, not its scoped proxy
    if session.new or session.dirty or session.deleted:
        session.flush()
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        # Each parameter set of a step is a part of the one statement.
        parts = [(number, params) for number, step in enumerate(steps)
                 for params in step.parameter_sets()]
        if len(parts) > 1:
            return _as_one_statement(connection, steps, parts)
    return [_one_by_one(connection, step) for step in steps]


def _one_by_one(connection: Connection, step: Step) -> Outcome:
    if not step.parameter_sets():
        return Outcome([], 0)   # no row to write (an empty list would run it once)
    result = connection.execute(step.statement, step.params)
    if not result.returns_rows:
        return Outcome([], result.rowcount)
    rows = [tuple(row) for row in result]
    return Outcome(rows, len(rows))


# --- one PostgreSQL statement --------------------------------------------------------------

def _as_one_statement(connection: Connection, steps: Sequence[Step],
                      parts: Sequence[tuple[int, Mapping[str, Any]]]) -> list[Outcome]:
    """All steps as one statement: `WITH w0 AS (...), w1 AS (...) SELECT ...`.

    Each part (a parameter set of a step) is its own WITH query. The final SELECT returns, as
    JSON, the rows of every part that is a SELECT or has a RETURNING clause. The statement
    goes to a psycopg RawCursor with PostgreSQL's own $n placeholders: sent through
    SQLAlchemy's execution instead, a sale cost 0.7 to 1.5 ms more CPU (of about 4).
    """
    import psycopg  # only PostgreSQL comes here, and psycopg is its driver

    merged = _merged(tuple((steps[number].statement, tuple(params)) for number, params in parts))
    given = [params if not defaults else {**params, **{name: make() for name, make
                                                       in defaults.items()}}
             for (_, params), defaults in zip(parts, merged.defaults)]
    bound = [name if part < 0 else given[part][name] for part, name in merged.slots]
    for position, process in merged.processors:
        bound[position] = process(bound[position])
    driver_connection = connection.connection.driver_connection
    try:
        with psycopg.RawCursor(driver_connection) as cursor:
            rows = cursor.execute(merged.sql, bound).fetchall()
    except psycopg.Error as error:
        # What SQLAlchemy does for its own statements: a lost connection leaves the pool (so
        # the unit of work retries on a new one), and the error hides the parameters.
        lost = connection.dialect.is_disconnect(error, driver_connection, None)
        if lost:
            connection.invalidate(error)
        raise DBAPIError.instance(merged.sql, bound, error, psycopg.Error,
                                  hide_parameters=connection.engine.hide_parameters,
                                  connection_invalidated=lost,
                                  dialect=connection.dialect) from error
    found: dict[int, list[tuple[Any, ...]]] = {number: [] for number in range(len(steps))}
    for index, row in rows:
        found[parts[index][0]].append(tuple(row.values()))
    returns = {number: merged.returns[index] for index, (number, _) in enumerate(parts)}
    return [Outcome(found[number], len(found[number]) if returns.get(number, True) else -1)
            for number in range(len(steps))]


@dataclass(frozen=True)
class Merged:
    sql: str                                            # with $n placeholders
    # Where the value of each $n comes from: (part, parameter name), or (-1, the value the
    # statement carries itself, such as a literal in a WHERE clause).
    slots: tuple[tuple[int, Any], ...]
    processors: tuple[tuple[int, Callable[[Any], Any]], ...]  # $n bound through its type (JSON)
    defaults: list[dict[str, Callable[[], Any]]]        # per part, Python defaults to fill in
    returns: list[bool]                                 # per part, whether its rows come back


@lru_cache(maxsize=256)
def _merged(shape: tuple[tuple[Executable, tuple[str, ...]], ...]) -> Merged:
    """The one statement for this shape of parts (statement, parameter names), compiled once.

    Each part's parameters are renamed `w<part>_<name>`, so that parts never share one.
    """
    ctes, selects, defaults, returns, renamed = [], [], [], [], {}
    for index, (statement, names) in enumerate(shape):
        part, part_defaults = _part(statement, names, f"w{index}_")
        renamed.update({f"w{index}_{name}": (index, name) for name in [*names, *part_defaults]})
        cte = part.cte(f"w{index}")
        ctes.append(cte)
        defaults.append(part_defaults)
        returns.append(bool(statement.is_select or statement.exported_columns))
        if returns[-1]:
            selects.append(select(literal_column(str(index)), func.to_json(cte.table_valued())))
    if not selects:   # nothing comes back (every part runs all the same)
        selects.append(select(literal_column("0"), cast(null(), JSON)).where(false()))
    final = (union_all(*selects) if len(selects) > 1 else selects[0]).add_cte(*ctes)
    dialect = _dollar_dialect()
    compiled = final.compile(dialect=dialect)
    carried = compiled.params
    slots, processors = [], []
    for position, name in enumerate(compiled.positiontup or ()):
        bind = compiled.binds[name]
        if name not in renamed and bind.required:
            raise KeyError(f"no value for the parameter {name!r} (renamed w<part>_<name>)")
        slots.append(renamed.get(name, (-1, carried[name])))
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            processors.append((position, process))
    return Merged(compiled.string, tuple(slots), tuple(processors), defaults, returns)


@lru_cache(maxsize=1)
def _dollar_dialect() -> Any:
    """The psycopg dialect, rendering PostgreSQL's own $n placeholders."""
    from sqlalchemy.dialects.postgresql import psycopg as psycopg_dialect
    return psycopg_dialect.dialect(paramstyle="numeric_dollar")


def _part(statement: Executable, names: Sequence[str],
          prefix: str) -> tuple[Executable, dict[str, Callable[[], Any]]]:
    """`statement` with its named parameters renamed `prefix` + name; an INSERT gets its
    values as such parameters, with the Python-side defaults of the columns left out, as
    SQLAlchemy's own execution would give them."""
    def renamed(element: Any) -> Any:
        if isinstance(element, BindParameter) and not element.unique:
            return bindparam(prefix + element.key, element.value, type_=element.type,
                             required=element.required)
        return None
    part = visitors.replacement_traverse(statement, {}, renamed)
    if not statement.is_insert:
        return part, {}
    table = statement.table
    defaults = _python_defaults(table, names)
    return part.values({name: bindparam(prefix + name, type_=table.c[name].type)
                        for name in [*names, *defaults]}), defaults


def _python_defaults(table: Any, given: Sequence[str]) -> dict[str, Callable[[], Any]]:
    found: dict[str, Callable[[], Any]] = {}
    for column in table.columns:
        default = column.default
        if column.key in given or default is None or not (default.is_scalar or default.is_callable):
            continue
        found[column.key] = ((lambda value=default.arg: value) if default.is_scalar
                             else (lambda make=default.arg: make(None)))
    return found


# --- many rows in one statement --------------------------------------------------------------
# A bulk write (an import) sends thousands of rows. SQLAlchemy's executemany of an INSERT
# with RETURNING renders one VALUES list with a named parameter per value, which psycopg
# parses anew each time (500 rows: 0.2 s); on PostgreSQL these send one array per column
# instead, read by unnest(), so the statement's text stays short (500 rows: 0.02 s). SQLite
# runs in the process: a plain executemany is as fast there.

def insert_many(table: Any, rows: Sequence[Mapping[str, Any]], *,
                skip_conflicts_on: Sequence[str] = (),
                returning: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """Insert `rows` (dicts with the same keys; the columns' Python defaults fill the rest),
    skipping those that break the unique index on `skip_conflicts_on` when given; the
    `returning` columns of the rows written."""
    if not rows:
        return []
    if db.session.get_bind().dialect.name != "postgresql":
        statement = _sqlite_insert(table)
        if skip_conflicts_on:
            statement = statement.on_conflict_do_nothing(index_elements=list(skip_conflicts_on))
        if returning:
            return [tuple(row) for row in db.session.execute(statement.returning(*returning),
                                                             list(rows))]
        db.session.execute(statement, list(rows))
        return []
    names = list(rows[0])
    each = _unnested(table, names, rows)
    statement = _pg_insert(table).from_select(names, select(*[each.c[name] for name in names]))
    if skip_conflicts_on:
        statement = statement.on_conflict_do_nothing(index_elements=list(skip_conflicts_on))
    if returning:
        return [tuple(row) for row in db.session.execute(statement.returning(*returning))]
    db.session.execute(statement)
    return []


def update_many(table: Any, key: str, rows: Sequence[Mapping[str, Any]],
                guards: Sequence[Any] = ()) -> int:
    """Set the other columns of each row on the table's row whose `key` column equals the
    row's, where `guards` (conditions on the table) hold; how many rows changed."""
    if not rows:
        return 0
    names = [name for name in rows[0] if name != key]
    if db.session.get_bind().dialect.name != "postgresql":
        statement = (update(table).where(table.c[key] == bindparam(f"each_{key}"), *guards)
                     .values({name: bindparam(f"each_{name}") for name in names}))
        return db.session.execute(statement, [{f"each_{name}": value for name, value
                                               in row.items()} for row in rows]).rowcount
    each = _unnested(table, [key, *names], rows)
    statement = (update(table).where(table.c[key] == each.c[key], *guards)
                 .values({name: each.c[name] for name in names}))
    return db.session.execute(statement).rowcount


def _unnested(table: Any, names: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> Any:
    """unnest(one array per column) AS each(names...): the rows as a table of the query."""
    arrays = [bindparam(f"each_{name}", [row[name] for row in rows],
                        type_=ARRAY(table.c[name].type)) for name in names]
    return func.unnest(*arrays).table_valued(*names, name="each").render_derived()

