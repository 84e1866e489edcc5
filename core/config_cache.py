"""A process's copy of what it derives from an area of configuration, checked against the
area's version in PostgreSQL (`core.ConfigVersion`) before each use.

Some configuration is read on every write of a hot path and written a few times a year:
the SLA targets and calendars every record created is matched against, for one. Loading
and shaping it costs more than the record's own INSERT. Here it is loaded once per process
and version. A statement trigger on each of the area's tables moves the version on every
write, from a sequence, so a version is never handed out twice: a copy made inside a
transaction that rolled back carries a version nobody will see again.

The check is one primary-key read. It comes before the load, so a copy is never labelled
with a version newer than its contents; at worst a write committed in between makes the
next use load again.
"""

from collections.abc import Callable
from typing import Generic, TypeVar

from django.db import connection

T = TypeVar("T")

_VERSION_SQL = "SELECT version FROM core_configversion WHERE area = %s"
_VERSIONS_SQL = "SELECT area, version FROM core_configversion WHERE area = ANY(%s)"
_READ = object()


class ConfigCache(Generic[T]):
    """`load()`'s result, loaded again whenever the area's version moved."""

    def __init__(self, area: str, load: Callable[[], T]) -> None:
        self.area = area
        self.load = load
        self._copy: tuple[int, T] | None = None

    def get(self, version: int | None | object = _READ) -> T:
        """The current value; `version` is the area's, when the caller read it already
        (`configs_get`)."""
        if version is _READ:
            with connection.cursor() as cursor:
                cursor.execute(_VERSION_SQL, [self.area])
                row = cursor.fetchone()
            version = row[0] if row else None
        copy = self._copy
        if copy is not None and version is not None and copy[0] == version:
            return copy[1]
        value = self.load()
        # No version yet (the area was never written since the migration): nothing to
        # check a copy against, so none is kept.
        self._copy = None if version is None else (version, value)
        return value


def configs_get(*caches: ConfigCache) -> tuple:
    """The current values of several caches, their versions read in one statement (a
    service that needs two areas pays one round trip)."""
    with connection.cursor() as cursor:
        cursor.execute(_VERSIONS_SQL, [[c.area for c in caches]])
        versions = dict(cursor.fetchall())
    return tuple(c.get(version=versions.get(c.area)) for c in caches)
