"""The `sla` and `incidents` configuration versions (core.ConfigVersion, moved by statement
triggers) and the per-process copies checked against them (core.config_cache)."""

import datetime as dt

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from core.config_cache import ConfigCache, configs_get
from core.models import ConfigVersion
from incidents.models import PriorityMatrix
from incidents.services import PRIORITY_MATRIX
from sla import services as sla
from sla.models import Agreement, BusinessCalendar, Target
from tests.factories import SupportGroupFactory
from tests.incidents.factories import IncidentFactory
from tests.sla.factories import (
    AgreementFactory,
    BusinessCalendarFactory,
    CalendarDayFactory,
    ServiceFactory,
    TargetFactory,
    WorkingIntervalFactory,
)

H = dt.timedelta(hours=1)


def version(area: str = "sla") -> int:
    return ConfigVersion.objects.get(area=area).version


@pytest.mark.parametrize(
    "write",
    [
        pytest.param(lambda t: AgreementFactory(), id="agreement created"),
        pytest.param(lambda t: TargetFactory(agreement=t.agreement), id="target created"),
        pytest.param(
            lambda t: Target.objects.filter(pk=t.pk).update(duration=2 * H),
            id="target updated without signals",
        ),
        pytest.param(lambda t: t.services.add(ServiceFactory()), id="target service added"),
        pytest.param(lambda t: t.delete(), id="target deleted"),
        pytest.param(
            lambda t: t.agreement.support_groups.add(SupportGroupFactory()),
            id="agreement group added",
        ),
        pytest.param(
            lambda t: Agreement.objects.filter(pk=t.agreement_id).update(status="expired"),
            id="agreement updated",
        ),
        pytest.param(
            lambda t: BusinessCalendar.objects.filter(pk=t.calendar_id).update(version=9),
            id="calendar updated",
        ),
        pytest.param(
            lambda t: WorkingIntervalFactory(calendar=t.calendar), id="working interval added"
        ),
        pytest.param(lambda t: CalendarDayFactory(calendar=t.calendar), id="holiday added"),
    ],
)
def test_every_write_to_the_areas_tables_moves_its_version(db, write):
    target = TargetFactory(calendar=BusinessCalendarFactory(name="Office"))
    before = version()

    write(target)

    assert version() > before


def test_writes_elsewhere_leave_the_version_alone(db):
    before = version()

    IncidentFactory()
    SupportGroupFactory()

    assert version() == before


def test_a_version_is_never_handed_out_twice_not_even_after_a_rollback(db):
    before = version()
    with pytest.raises(RuntimeError), transaction.atomic():
        AgreementFactory()
        rolled_back = version()
        raise RuntimeError

    assert version() == before
    AgreementFactory()
    assert version() not in (before, rolled_back)


def test_the_copy_is_loaded_once_while_the_version_stays(db):
    loads = []
    copy = ConfigCache("sla", lambda: loads.append(Agreement.objects.count()) or loads[-1])

    assert (copy.get(), copy.get()) == (0, 0)
    AgreementFactory()
    assert (copy.get(), copy.get()) == (1, 1)
    assert loads == [0, 1]


def test_a_copy_made_inside_a_rolled_back_transaction_is_not_used_after_it(db):
    copy = ConfigCache("sla", lambda: Agreement.objects.count())

    with pytest.raises(RuntimeError), transaction.atomic():
        AgreementFactory()
        assert copy.get() == 1
        raise RuntimeError

    assert copy.get() == 0


def test_an_area_never_written_keeps_no_copy(db):
    loads = []
    copy = ConfigCache("nothing-here", lambda: loads.append(1))

    copy.get()
    copy.get()

    assert len(loads) == 2


def test_an_edited_target_applies_to_the_next_record_at_once(db):
    target = TargetFactory(priorities=[3], duration=4 * H)
    incident = IncidentFactory(priority=3)
    assert [c.target_duration for c in sla.sla_record_plan(record=incident).clocks] == [4 * H]

    # No signal, no save(): only the trigger sees this write.
    Target.objects.filter(pk=target.pk).update(duration=2 * H)

    assert [c.target_duration for c in sla.sla_record_plan(record=incident).clocks] == [2 * H]


def test_while_nothing_changed_matching_reads_one_row(db):
    TargetFactory(priorities=[3])
    incident = IncidentFactory(priority=3)
    sla.sla_record_plan(record=incident)

    with CaptureQueriesContext(connection) as queries:
        plan = sla.sla_record_plan(record=incident)

    assert len(plan.clocks) == 1
    assert [q["sql"] for q in queries] == [
        "SELECT version FROM core_configversion WHERE area = 'sla'"
    ]


def test_a_priority_matrix_edit_moves_the_incidents_version_only(db):
    sla_before, before = version(), version("incidents")

    PriorityMatrix.objects.filter(impact=1, urgency=1).update(priority=2)

    assert version("incidents") > before
    assert version() == sla_before


def test_two_areas_are_checked_in_one_statement(db):
    configs_get(PRIORITY_MATRIX, sla.MATCHING)

    with CaptureQueriesContext(connection) as queries:
        matrix, matching = configs_get(PRIORITY_MATRIX, sla.MATCHING)

    assert len(queries) == 1
    assert matrix[(1, 1)] == 1
    assert isinstance(matching, sla.Matching)
