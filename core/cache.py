"""Django's Redis cache backend, with one client object per connection pool, and a
`clear()` that removes only this cache's keys.

Django's backend wraps its pool in a new `redis.Redis` for every cache call, and redis-py's
constructor fills its table of response callbacks each time: it cost more than the round
trip itself (about 0.3 ms per call, four calls per API request with throttling). A client
is thread-safe and only borrows connections from its pool, and Django keeps one cache
object per thread anyway, so one client per pool is enough.

While Redis cannot be reached, the cache degrades to no cache instead of failing the
request: reads miss, writes are dropped, the rate limit lets requests through (sessions
are cached_db, so they are read from PostgreSQL). The issue's promise is that agents and
customers can still create and update incidents with Redis down; the broker's work waits
in the outbox meanwhile. After a failure the process leaves Redis alone for
`PAUSE_SECONDS`, so a dead server costs one failed connection per pause, not one per call.
A process whose call failed owes a clear: its first contact after the outage empties this
cache, since an entry it could not update or delete meanwhile (a session ended during the
outage, say) would otherwise come back stale.
"""

import threading
import time

import redis
import structlog
from django.core.cache.backends import redis as django_redis

logger = structlog.get_logger(__name__)

# What a cache call raises when Redis cannot be reached.
UNREACHABLE = (redis.ConnectionError, redis.TimeoutError, OSError)
PAUSE_SECONDS = 5.0


class _ClientPerPool(django_redis.RedisCacheClient):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[object, object] = {}  # by pool

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(pool)
        if client is None:
            client = self._clients[pool] = self._client(connection_pool=pool)
        return client


class _Outage:
    """This process's view of Redis: when to try it again, and whether a clear is owed."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.retry_at = 0.0
        self.owes_clear = False


_OUTAGES: dict[str, _Outage] = {}  # by LOCATION: every thread's cache object shares one


def _degrading(method, fallback):
    """`method` of the cache, returning `fallback(*args, **kwargs)` while Redis is away."""

    def call(self, *args, **kwargs):
        outage = self._outage
        if outage.retry_at and time.monotonic() < outage.retry_at:
            return fallback(*args, **kwargs)
        try:
            if outage.owes_clear:
                self._clear_after_outage()
            return method(self, *args, **kwargs)
        except UNREACHABLE as exc:
            self._went_away(exc)
            return fallback(*args, **kwargs)

    call.__name__ = method.__name__
    call.__doc__ = method.__doc__
    return call


def _default(key, default=None, *args, **kwargs):
    return default


_django = django_redis.RedisCache


class RedisCache(django_redis.RedisCache):
    def __init__(self, server, params) -> None:
        super().__init__(server, params)
        self._class = _ClientPerPool
        self._outage = _OUTAGES.setdefault(str(server), _Outage())

    def _went_away(self, exc: BaseException) -> None:
        outage = self._outage
        with outage.lock:
            first = not outage.owes_clear
            outage.owes_clear = True
            outage.retry_at = time.monotonic() + PAUSE_SECONDS
        if first:
            logger.warning("cache_unreachable", error=type(exc).__name__, pause=PAUSE_SECONDS)

    def _clear_after_outage(self) -> None:
        self.clear()
        with self._outage.lock:
            self._outage.owes_clear = False
            self._outage.retry_at = 0.0
        logger.warning("cache_back", cleared=True)

    get = _degrading(_django.get, _default)
    get_many = _degrading(_django.get_many, lambda keys, *args, **kwargs: {})
    has_key = _degrading(_django.has_key, lambda *args, **kwargs: False)
    set = _degrading(_django.set, lambda *args, **kwargs: None)
    set_many = _degrading(_django.set_many, lambda data, *args, **kwargs: list(data))
    # As if stored: work a caller guards with add() is done (the outbox nudges anyway).
    add = _degrading(_django.add, lambda *args, **kwargs: True)
    touch = _degrading(_django.touch, lambda *args, **kwargs: False)
    delete = _degrading(_django.delete, lambda *args, **kwargs: False)
    delete_many = _degrading(_django.delete_many, lambda *args, **kwargs: None)

    def clear(self) -> None:
        """Delete every key of this cache (its KEY_PREFIX), all versions. Django's clear()
        flushes the whole Redis database: the Celery broker's queues too when they share
        it (CELERY_BROKER_URL defaults to REDIS_URL), and the keys of other caches on it,
        such as the other processes of a parallel test run."""
        client = self._cache.get_client(write=True)
        batch = []
        for key in client.scan_iter(match=f"{_glob_escape(self.key_prefix)}:*", count=1000):
            batch.append(key)
            if len(batch) == 1000:
                client.delete(*batch)
                batch = []
        if batch:
            client.delete(*batch)

    def incr_window(self, key: str, timeout: int) -> int:
        """Add one to a counter that expires `timeout` seconds after its last increment;
        returns the new count, 0 while Redis is away (a rate limit lets the request
        through). One round trip (rate limits count every API request)."""
        key = self.make_and_validate_key(key)
        client = self._cache.get_client(key, write=True)
        with client.pipeline(transaction=False) as pipe:
            pipe.incr(key)
            pipe.expire(key, timeout)
            count, _expiry = pipe.execute()
        return count

    incr_window = _degrading(incr_window, lambda *args, **kwargs: 0)


def _glob_escape(text: str) -> str:
    """`text` matched literally by a Redis glob pattern."""
    return "".join(f"\\{char}" if char in "*?[]\\" else char for char in text)
