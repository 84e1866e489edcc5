"""Database plumbing: pghistory's context on server-side-bound (prepared) statements.

django-pghistory passes its context (who, which request) to the history triggers by
prepending `SELECT set_config(...); ` to every writing statement. PostgreSQL's extended
protocol, which psycopg 3 uses for server-side binding and prepared statements
(settings: ITSM_DB_SERVER_SIDE_BINDING, ITSM_DB_PREPARE_THRESHOLD), accepts one command
per statement, so the same two settings are set here by a statement of their own, in the
same transaction, just before the writing statement. The writing statement itself stays
unchanged and can be prepared; the set_config statement is the same text every time and is
prepared too.
"""

import json
from contextlib import contextmanager

from django.db import connections, transaction
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


def _needs_context(cursor, sql) -> bool:
    text = sql.decode() if isinstance(sql, bytes) else (sql or "")
    text = text.lstrip().lower()
    return (
        not text.startswith(_SKIPPED_PREFIXES)
        and not getattr(cursor, "name", None)
        and not pghistory_runtime._is_transaction_errored(cursor)
    )


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


def history_context_install() -> None:
    """Make pghistory.context use history_context_inject (called from CoreConfig.ready)."""
    pghistory_runtime._inject_history_context = history_context_inject


@contextmanager
def join_order_as_written(using: str = "default"):
    """Run the queries of the block with the joins in the order Django wrote them.

    For a list read of one table joined to the rows it points at (select_related), the
    order as written (the table first, then each joined row by primary key) is the plan
    PostgreSQL picks anyway, but searching the join orders took it 15-70 ms of planning for
    the seven tables of the incident list, against 2-10 ms of execution; with
    join_collapse_limit = 1 it plans in about 2 ms. SET LOCAL needs a transaction: the
    block runs in one (a savepoint inside an outer one).
    """
    connection = connections[using]
    nested = connection.in_atomic_block
    with transaction.atomic(using=using), connection.cursor() as cursor:
        cursor.execute("SET LOCAL join_collapse_limit = 1")
        yield
        if nested:  # SET LOCAL outlives a savepoint: give the outer transaction its default
            cursor.execute("SET LOCAL join_collapse_limit TO DEFAULT")
