"""API rate limits as fixed-window counters in Redis.

DRF's throttles keep the time of every request in the window as one cached list, read and
written back whole on each request: at the default 6,000 requests a minute per user that
list holds thousands of entries. Here each window is a counter: one INCR (with its expiry,
in the same round trip) per request. A client may burst up to twice the rate across a
window's edge, the usual price of fixed windows.
"""

from rest_framework import throttling


class _FixedWindow(throttling.SimpleRateThrottle):
    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        window = int(self.now // self.duration)
        self.window_end = (window + 1) * self.duration
        count = self.cache.incr_window(f"{self.key}:{window}", self.duration)
        return count <= self.num_requests

    def wait(self) -> float:
        """Seconds until the current window ends (the Retry-After of a 429)."""
        return max(self.window_end - self.now, 0)


# DRF's class first: ScopedRateThrottle sets its rate in allow_request, then calls ours.
class AnonRateThrottle(throttling.AnonRateThrottle, _FixedWindow):
    """Anonymous clients, by address (scope `anon`)."""


class UserRateThrottle(throttling.UserRateThrottle, _FixedWindow):
    """Signed-in users and tokens, by user (scope `user`)."""


class ScopedRateThrottle(throttling.ScopedRateThrottle, _FixedWindow):
    """Per view scope (`throttle_scope`), e.g. password logins for tokens."""
