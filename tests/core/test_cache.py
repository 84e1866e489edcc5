"""core.cache.RedisCache: Django's Redis cache with one client object per pool; clear()
removes only its own keys; with Redis away it degrades to no cache, and forgets after the
outage what it could not update meanwhile."""

import time

from django.conf import settings
from django.core.cache import cache

import core.cache
from core.cache import RedisCache


def _cache(prefix: str) -> RedisCache:
    return RedisCache(settings.CACHES["default"]["LOCATION"], {"KEY_PREFIX": prefix})


def test_cache_calls_share_one_client_and_still_reach_redis():
    client = cache._cache.get_client(write=True)

    cache.set("test-cache-client", 41)
    assert cache.incr("test-cache-client") == 42

    assert cache._cache.get_client(write=True) is client
    assert cache._cache.get_client() is client  # one server: reads use the same pool
    assert client.get(cache.make_and_validate_key("test-cache-client")) == b"42"
    cache.delete("test-cache-client")


def test_incr_window_counts_and_expires():
    key = "test-cache-window"
    cache.delete(key)

    counts = [cache.incr_window(key, 30) for _ in range(3)]

    assert counts == [1, 2, 3]
    ttl = cache._cache.get_client().ttl(cache.make_and_validate_key(key))
    assert 0 < ttl <= 30
    cache.delete(key)


def test_clear_removes_this_caches_keys_only():
    # A parallel test run's processes, and Celery's broker queues, share the Redis
    # database: Django's clear() (FLUSHDB) removed their keys too.
    mine, other, starred = _cache("test-clear-mine"), _cache("test-clear-other"), _cache("a*")
    client = mine._cache.get_client(write=True)
    mine.set_many({f"k{n}": n for n in range(1500)})  # more than one delete batch
    mine.set("versioned", 1, version=2)
    other.set("k1", "kept")
    starred.set("k1", "kept")  # its glob would match "a-anything" unescaped
    mine_too = _cache("a-b")
    mine_too.set("k1", "kept")
    client.rpush("test-clear-queue", "a task")  # a broker's list, no prefix

    mine.clear()
    starred.clear()

    assert mine.get("k1") is None and mine.get("versioned", version=2) is None
    assert not list(client.scan_iter(match="test-clear-mine:*"))
    assert other.get("k1") == "kept"
    assert mine_too.get("k1") == "kept"
    assert starred.get("k1") is None
    assert client.lrange("test-clear-queue", 0, -1) == [b"a task"]
    other.clear()
    mine_too.clear()
    client.delete("test-clear-queue")


def test_with_redis_away_the_cache_degrades_and_after_it_forgets_what_went_stale(
    throwaway_redis, monkeypatch
):
    monkeypatch.setattr(core.cache, "PAUSE_SECONDS", 0.3)
    away = RedisCache(throwaway_redis.url, {"KEY_PREFIX": "test-outage"})
    away.set("session", "signed in")
    away.set("other", 1)

    throwaway_redis.stop()
    started = time.monotonic()
    outcomes = (
        away.get("session", "miss"),
        away.get_many(["session", "other"]),
        away.set("session", "signed out"),  # dropped
        away.delete("session"),  # dropped: the old value stays in Redis
        away.add("flag", 1),  # as if stored
        away.incr_window("rate", 60),  # the rate limit lets the request through
        away.has_key("other"),
    )
    calls_took = time.monotonic() - started

    assert outcomes == ("miss", {}, None, False, True, 0, False)
    assert calls_took < 1.5  # one failed connection, then no tries until the pause ends
    throwaway_redis.start()
    time.sleep(0.4)
    # The first call after the pause clears the cache: the session deleted during the
    # outage does not come back from Redis.
    assert away.get("session", "miss") == "miss"
    assert away.get("other", "miss") == "miss"
    away.set("session", "new")
    assert away.get("session") == "new"


def test_a_cache_that_never_failed_keeps_its_entries(throwaway_redis):
    steady = RedisCache(throwaway_redis.url, {"KEY_PREFIX": "test-steady"})
    steady.set("kept", 7)

    assert steady.get("kept") == 7
    assert core.cache._OUTAGES[throwaway_redis.url].owes_clear is False
