import itertools

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from accounts.choices import Role
from accounts.services import roles_apply
from core.outbox import KICK_PENDING_KEY
from tests.factories import DEFAULT_PASSWORD, OrganisationFactory, UserFactory
from tests.processes import ThrowawayRedis


@pytest.fixture(autouse=True)
def _no_pending_outbox_nudge():
    """A nudge a test published (to a broker nobody consumes) must not hold back the
    next test's nudges: the flag that skips them lives in this process's cache."""
    cache.delete(KICK_PENDING_KEY)
    yield
    cache.delete(KICK_PENDING_KEY)


_THROTTLE_WINDOWS = itertools.count()


@pytest.fixture
def throttle_rates(monkeypatch):
    """Set API rate limits for a test (`throttle_rates(user="2/minute")`). The windows are
    fixed ones, so the clock is held in the middle of one: requests of a test that
    straddled a minute's edge would otherwise be counted in two windows. Each test gets a
    window of its own, so no count carries over from an earlier test."""

    def set_rates(**rates):
        monkeypatch.setattr(
            SimpleRateThrottle, "THROTTLE_RATES", {**SimpleRateThrottle.THROTTLE_RATES, **rates}
        )
        now = 1_800_000_030.0 + 3600 * next(_THROTTLE_WINDOWS)
        monkeypatch.setattr(SimpleRateThrottle, "timer", lambda self: now)

    return set_rates


@pytest.fixture
def roles(db):
    """The role groups, as `manage.py apply_roles` leaves them (flushed by live-server tests)."""
    roles_apply()


@pytest.fixture
def password():
    return DEFAULT_PASSWORD


@pytest.fixture
def org_a(db):
    return OrganisationFactory(name="Acme Trading", code="acme")


@pytest.fixture
def org_b(db):
    return OrganisationFactory(name="Bluebird Logistics", code="bluebird")


@pytest.fixture
def customer_a(org_a, roles):
    return UserFactory(username="cust_a", organisation=org_a, roles=[Role.CUSTOMER])


@pytest.fixture
def customer_b(org_b, roles):
    return UserFactory(username="cust_b", organisation=org_b, roles=[Role.CUSTOMER])


@pytest.fixture
def agent(db, roles):
    return UserFactory(username="agent", roles=[Role.AGENT])


@pytest.fixture
def manager(db, roles):
    return UserFactory(username="manager", roles=[Role.MANAGER])


@pytest.fixture
def administrator(db, roles):
    return UserFactory(username="admin", roles=[Role.ADMINISTRATOR])


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def throwaway_redis():
    """A private redis-server on a free port that keeps its data across a restart, as
    production's does; the test may stop and start it."""
    server = ThrowawayRedis()
    server.start()
    try:
        yield server
    finally:
        server.cleanup()
