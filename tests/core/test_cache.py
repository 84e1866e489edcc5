"""core.cache.RedisCache: Django's Redis cache with one client object per pool."""

from django.core.cache import cache


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
