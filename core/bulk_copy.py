"""Bulk loading with PostgreSQL COPY (psycopg 3), for the volume seeders of the benchmarks:
rows streamed in chunks, one transaction per chunk, so memory stays flat and the deferred
foreign-key checks of a chunk run at its commit."""

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import connection, transaction

CHUNK = 50_000


def copy_value(value) -> str:
    """One value in COPY text format (lists as PostgreSQL array literals)."""
    if value is None:
        return r"\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return f"{value.total_seconds()} seconds"
    if isinstance(value, list):
        return "{" + ",".join(copy_value(item) for item in value) + "}"
    text = str(value)
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        text = (
            text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
            .replace("\r", "\\r")
        )  # fmt: skip
    return text


def copy_rows(table: str, columns: tuple[str, ...], rows: Iterable, *, chunk: int = CHUNK) -> int:
    """COPY rows (tuples in `columns` order) into table, `chunk` rows per transaction;
    returns the number of rows."""
    sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    total = 0
    lines: list[str] = []

    def flush():
        if not lines:
            return
        with transaction.atomic(), connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
            copy.write("".join(lines))
        lines.clear()

    for row in rows:
        lines.append("\t".join(copy_value(v) for v in row) + "\n")
        total += 1
        if len(lines) >= chunk:
            flush()
    flush()
    return total
