"""Two agents acting on the same incident at the same moment: one wins, one is told."""

import threading

import pytest
from django.db import connection

from core.exceptions import DomainError
from incidents.choices import IncidentStatus
from incidents.models import Incident
from incidents.services import (
    incident_ci_change,
    incident_create,
    incident_resolve,
    incident_update,
)
from tests.config_items.factories import ConfigurationItemFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _race(*callables):
    """Run the callables at once (a barrier releases them together); collect outcomes."""
    barrier = threading.Barrier(len(callables))
    outcomes = [None] * len(callables)

    def run(index, fn):
        try:
            barrier.wait()
            outcomes[index] = ("ok", fn())
        except DomainError as exc:
            outcomes[index] = ("refused", exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(callables)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


def test_two_agents_resolving_at_once_exactly_one_wins(roles, customer_a):
    first, second = UserFactory(roles=["agent"]), UserFactory(roles=["agent"])
    incident = incident_create(actor=first, caller=customer_a, title="Mail down")

    outcomes = _race(
        lambda: incident_resolve(
            actor=first, incident=incident, code="solved_workaround", notes="Restarted the relay."
        ),
        lambda: incident_resolve(
            actor=second,
            incident=incident,
            code="solved_permanently",
            notes="Replaced the certificate.",
        ),
    )

    kinds = sorted(kind for kind, _ in outcomes)
    assert kinds == ["ok", "refused"]
    assert [value for kind, value in outcomes if kind == "refused"] == ["illegal_transition"]
    stored = Incident.objects.get(pk=incident.pk)
    assert stored.status == IncidentStatus.RESOLVED
    assert stored.events.filter(event_type="status_changed").count() == 1


def test_two_agents_editing_the_same_version_one_gets_a_conflict(roles, customer_a):
    first, second = UserFactory(roles=["agent"]), UserFactory(roles=["agent"])
    incident = incident_create(actor=first, caller=customer_a, title="Original")
    version = incident.version

    outcomes = _race(
        lambda: incident_update(
            actor=first, incident=incident, expected_version=version, title="First agent's title"
        ),
        lambda: incident_update(
            actor=second,
            incident=incident,
            expected_version=version,
            description="Second agent's description",
        ),
    )

    assert sorted(kind for kind, _ in outcomes) == ["ok", "refused"]
    assert [value for kind, value in outcomes if kind == "refused"] == ["stale_version"]
    stored = Incident.objects.get(pk=incident.pk)
    assert stored.version == version + 1
    changed = stored.events.filter(event_type="field_changed")
    assert changed.count() == 1


def test_two_agents_linking_cis_at_once_both_keep_theirs(roles, customer_a):
    first, second = UserFactory(roles=["agent"]), UserFactory(roles=["agent"])
    incident = incident_create(actor=first, caller=customer_a, title="Checkout slow")
    database, cache = (
        ConfigurationItemFactory(name="db-01"),
        ConfigurationItemFactory(name="redis-01"),
    )

    outcomes = _race(
        lambda: incident_ci_change(actor=first, incident=incident, add=database),
        lambda: incident_ci_change(actor=second, incident=incident, add=cache),
    )

    assert [kind for kind, _ in outcomes] == ["ok", "ok"]
    stored = Incident.objects.get(pk=incident.pk)
    assert set(stored.configuration_items.values_list("name", flat=True)) == {"db-01", "redis-01"}
    assert stored.events.filter(data__field="configuration_items").count() == 2
