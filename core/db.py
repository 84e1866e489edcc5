"""Database plumbing: pghistory's context on server-side-bound (prepared) statements,
`rows_insert` (the INSERT of a few new rows on a request's hot path), `select_columns` /
`instance_from_row` (instances from a written-out SELECT), `CompiledQuery` (a queryset's
SQL built once per process) and
`joins_as_written` (list queries planned without a search over join orders).

django-pghistory passes its context (who, which request) to the history triggers by
prepending `SELECT set_config(...); ` to every writing statement. PostgreSQL's extended
protocol, which psycopg 3 uses for server-side binding and prepared statements
(settings: ITSM_DB_SERVER_SIDE_BINDING, ITSM_DB_PREPARE_THRESHOLD), accepts one command
per statement, so the same two settings are set here by a statement of their own, in the
same transaction, just before the writing statement. The writing statement itself stays
unchanged and can be prepared; the set_config statement is the same text every time and is
prepared too. Only statements that write a table with a history trigger get it (most
writes of a request, its events, clocks and outbox rows, have none; an append-only guard
trigger reads no context): one round trip less each.
"""

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, NamedTuple

import psycopg
from django.db import connection, connections, transaction
from django.db.backends.postgresql import base as postgresql_base
from django.db.models.query import ModelIterable, get_related_populators
from pghistory import config as pghistory_config
from pghistory import runtime as pghistory_runtime

SET_CONTEXT_SQL = (
    "SELECT set_config('pghistory.context_id', %s, true), "
    "set_config('pghistory.context_metadata', %s, true)"
)
# Statements that fire no row triggers: nothing to attach a context to.
_SKIPPED_PREFIXES = (
    *pghistory_runtime.IGNORED_SQL_PREFIXES,
    "savepoint",
    "release",
    "rollback",
    "commit",
    "set ",
    "show",
)


# The tables an INSERT, UPDATE, DELETE or MERGE writes (a CTE's writes included). A
# statement in which none is found (COPY...) always gets the context.
_WRITTEN_TABLE = re.compile(
    r'(?:insert\s+into|update|delete\s+from|merge\s+into)\s+(?:"?[a-z0-9_]+"?\.)?"?([a-z0-9_]+)"?\s'
)


def _triggered_tables(cursor) -> frozenset[str]:
    """Tables with a history trigger (one that attaches pghistory's context), read from the
    catalogue once per connection: only a statement writing one of them needs the
    context. Other triggers (append-only guards) read none."""
    connection = cursor.connection
    tables = getattr(connection, "_itsm_triggered_tables", None)
    if tables is None:
        with connection.cursor() as raw:
            raw.execute(
                "SELECT DISTINCT c.relname FROM pg_trigger t "
                "JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_proc p ON p.oid = t.tgfoid "
                "WHERE NOT t.tgisinternal AND p.prosrc LIKE '%_pgh_attach_context%'"
            )
            tables = frozenset(row[0] for row in raw.fetchall())
        connection._itsm_triggered_tables = tables
    return tables


@lru_cache(maxsize=4096)
def _tables_written(text: str) -> frozenset[str] | None:
    """None for a statement that fires no row trigger; else the tables it writes (none
    found: unknown). Statement texts repeat, their parameters apart: parsed once each."""
    text = text.lstrip().lower()
    if text.startswith(_SKIPPED_PREFIXES):
        return None
    return frozenset(match.group(1) for match in _WRITTEN_TABLE.finditer(text))


def _needs_context(cursor, sql) -> bool:
    text = sql.decode() if isinstance(sql, bytes) else (sql or "")
    written = _tables_written(text) if isinstance(text, str) else frozenset()
    if (
        written is None
        or getattr(cursor, "name", None)
        or pghistory_runtime._is_transaction_errored(cursor)
    ):
        return False
    return not written or not written.isdisjoint(_triggered_tables(cursor))


def history_context_inject(execute, sql, params, many, context):
    """Execute wrapper replacing pghistory's: set the context, then run the statement."""
    raw = context["cursor"].cursor
    if not _needs_context(raw, sql):
        return execute(sql, params, many, context)
    tracked = pghistory_runtime._tracker.value
    values = (
        str(tracked.id),
        json.dumps(tracked.metadata, cls=pghistory_config.json_encoder()),
    )
    connection = context["connection"]
    if not connection.get_autocommit():
        raw.execute(SET_CONTEXT_SQL, values)
        return execute(sql, params, many, context)
    # Autocommit: the transaction-local settings must share the statement's transaction.
    with transaction.atomic(using=connection.alias):
        raw.execute(SET_CONTEXT_SQL, values)
        return execute(sql, params, many, context)


def _mogrify(cursor, query, params=None) -> str:
    """The query with its parameters bound client-side, as text (psycopg's ClientCursor)."""
    return psycopg.ClientCursor(cursor.connection).mogrify(query, params)


def history_context_install() -> None:
    """Make pghistory.context use history_context_inject (called from CoreConfig.ready),
    and give Django's server-side-binding cursor the `mogrify` that pghistory's event
    queries call (psycopg 3 has it only on client-side-binding cursors)."""
    pghistory_runtime._inject_history_context = history_context_inject
    server_cursor = getattr(postgresql_base, "ServerBindingCursor", None)
    if server_cursor is not None and not hasattr(server_cursor, "mogrify"):
        server_cursor.mogrify = _mogrify


@lru_cache(maxsize=64)
def _columns(model, alias: str) -> tuple[str, list[str], tuple]:
    """(SELECT list, attribute names, (position, field, converters) of the fields that
    have converters) of all of a model's columns."""
    fields = tuple(model._meta.concrete_fields)
    quote = connection.ops.quote_name
    converters = tuple(
        (i, field, tuple(field.get_db_converters(connection)))
        for i, field in enumerate(fields)
        if field.get_db_converters(connection)
    )
    select = ", ".join(f"{alias}.{quote(f.column)}" for f in fields)
    return select, [f.attname for f in fields], converters


def select_columns(model, alias: str) -> str:
    """The SELECT list of all of a model's columns, its table aliased `alias`: for
    written-out statements whose rows `instance_from_row` turns into instances."""
    return _columns(model, alias)[0]


def instance_from_row(model, alias: str, row, start: int = 0) -> tuple:
    """(instance, index after its columns) from a row holding `select_columns(model,
    alias)` at `start`, with the fields' database converters applied, as the ORM would
    build it."""
    _sql, names, converters = _columns(model, alias)
    values = list(row[start : start + len(names)])
    for i, field, field_converters in converters:
        for convert in field_converters:
            values[i] = convert(values[i], field, connection)
    return model.from_db(connection.alias, names, values), start + len(names)


@lru_cache(maxsize=256)
def _insert_sql(model, count: int, on_conflict_nothing: bool) -> tuple[str, tuple]:
    fields = tuple(f for f in model._meta.concrete_fields if not f.primary_key)
    quote = connection.ops.quote_name
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    # Names from the model's metadata, values as parameters.
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} "  # noqa: S608
        f"({', '.join(quote(f.column) for f in fields)}) VALUES {', '.join([row] * count)}"
        f"{' ON CONFLICT DO NOTHING' if on_conflict_nothing else ''} "
        f"RETURNING {quote(model._meta.pk.column)}"
    )
    return sql, fields


def insert_values(obj, fields) -> list:
    """The values of a new instance's `fields` as an INSERT writes them (auto_now_add,
    JSON...), as Django prepares them."""
    return [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]


def inserted(obj, pk) -> None:
    """Mark a new instance as written with primary key `pk`, as `save()` would."""
    obj.pk = pk
    obj._state.adding = False
    obj._state.db = connection.alias


def rows_insert(objs: list, *, on_conflict_nothing: bool = False) -> list:
    """INSERT new model instances of one model in one statement and set their primary keys,
    as `bulk_create` does for the rows it wrote. The statement's text is built once per
    model and row count: Django's insert compiler costs more than PostgreSQL's work for
    the two or three rows a request writes (its events, its outbox message). Fields are
    prepared as Django prepares them (auto_now_add, JSON). No signals are sent, as with
    `bulk_create`; with `on_conflict_nothing`, rows that conflict are skipped and keep no
    primary key."""
    if not objs:
        return objs
    model = type(objs[0])
    sql, fields = _insert_sql(model, len(objs), on_conflict_nothing)
    params = [value for obj in objs for value in insert_values(obj, fields)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        keys = [row[0] for row in cursor.fetchall()]
    if len(keys) == len(objs):  # with conflicts skipped, which rows were written is unknown
        for obj, key in zip(objs, keys, strict=True):
            inserted(obj, key)
    return objs


@contextmanager
def joins_as_written() -> Iterator[None]:
    """Plan the queries run inside with their joins in the order written
    (join_collapse_limit = 1, for this transaction only).

    For a list page the base table's index gives the order and the LIMIT, and the joins
    only bring each row's related names (select_related), so the written order is the
    plan anyway. PostgreSQL still searches the orders of all the joined tables, each with
    its candidate indexes: on the agent queue (seven tables, twenty indexes on incidents,
    1M rows) planning took 10.6 ms and running 1.4 ms; with the order fixed, 1.0 ms.
    """
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL join_collapse_limit = 1")
        yield


class _Compiled(NamedTuple):
    """A compiled statement and how its rows become instances (CompiledQuery)."""

    compiler: Any
    converters: dict  # the columns' converters, looked up once (results_iter: per run)
    sql: str
    params: list
    slots: tuple  # (position, marker index, parameter type) of each marker
    model: type
    fields: slice  # the model's own columns in a row
    names: list[str]
    populators: list  # select_related rows
    annotations: dict


class CompiledQuery:
    """A queryset of fixed shape whose SQL is compiled once per process and connection;
    each run only puts in its parameter values.

    `build(*markers)` returns the queryset for marker values (distinct integers near the
    top of a 32-bit column's range, valid for every integer field, so that Django keeps
    the condition; no constant of the query may equal one); the compiled statement's
    parameters equal to a marker are replaced by the run's values. Rows become instances
    as the ORM makes them: the model's fields, its select_related rows and its
    annotations, converters applied.

    For the one-record reads of every page and API call: Django builds the SQL of a query
    with a dozen joined tables (the incident page's) on each evaluation, a few milliseconds
    of Python for a statement PostgreSQL runs, prepared, in half a millisecond.
    """

    _MARKER_BASE = 2_147_000_000

    def __init__(self, build: Callable, arity: int = 1):
        self._build = build
        self._markers = tuple(self._MARKER_BASE + i for i in range(arity))

    def _compiled(self, alias: str) -> _Compiled:
        wrapper = connections[alias]
        cache = wrapper.__dict__.setdefault("_itsm_compiled_queries", {})
        compiled = cache.get(self)
        if compiled is None:
            queryset = self._build(*self._markers)
            if (
                queryset._iterable_class is not ModelIterable
                or queryset._prefetch_related_lookups
                or queryset._known_related_objects
            ):
                # Rows are turned into instances here, with nothing after the statement.
                raise ValueError("CompiledQuery: model instances only, without prefetches")
            compiler = queryset.query.get_compiler(using=alias)
            sql, params = compiler.as_sql()
            # (position, marker index, the parameter's type: psycopg's Int8 for a bigint
            # column under server-side binding, else int).
            slots = tuple(
                (position, self._markers.index(int(value)), type(value))
                for position, value in enumerate(params)
                if isinstance(value, int)
                and not isinstance(value, bool)
                and int(value) in self._markers
            )
            if {index for _position, index, _kind in slots} != set(range(len(self._markers))):
                raise ValueError("CompiledQuery: a marker did not reach the SQL's parameters")
            klass_info = compiler.klass_info
            fields = klass_info["select_fields"]
            own = slice(fields[0], fields[-1] + 1)
            compiled = cache[self] = _Compiled(
                compiler=compiler,
                converters=compiler.get_converters(
                    [column[0] for column in compiler.select[: compiler.col_count]]
                ),
                sql=sql,
                params=list(params),
                slots=slots,
                model=klass_info["model"],
                fields=own,
                names=[f[0].target.attname for f in compiler.select[own]],
                populators=get_related_populators(klass_info, compiler.select, alias),
                annotations=compiler.annotation_col_map,
            )
        return compiled

    def list(self, *values, using: str = "default") -> list:
        """The instances of the rows for these parameter values."""
        compiled = self._compiled(using)
        params = compiled.params.copy()
        for position, index, kind in compiled.slots:
            params[position] = kind(values[index])
        with connections[using].cursor() as cursor:
            cursor.execute(compiled.sql, params)
            rows = cursor.fetchall()
        if compiled.converters:
            rows = compiled.compiler.apply_converters(rows, compiled.converters)
        instances = []
        for row in rows:
            instance = compiled.model.from_db(using, compiled.names, row[compiled.fields])
            for populator in compiled.populators:
                populator.populate(row, instance)
            for name, position in compiled.annotations.items():
                setattr(instance, name, row[position])
            instances.append(instance)
        return instances

    def first(self, *values, using: str = "default"):
        """The first row's instance, or None."""
        rows = self.list(*values, using=using)
        return rows[0] if rows else None
