from celery import shared_task

from core.outbox import outbox_relay

from .models import BusinessCalendar, Target
from .selectors import dashboard_cache_warm
from .services import clock_tick, clocks_recompute


@shared_task(name="sla.tasks.clock_tick_task", ignore_result=True)
def clock_tick_task() -> int:
    """Fire due SLA warnings and breaches (beat, every ITSM_SLA_TICK_SECONDS, on the
    "sla-tick" queue), then hand every sla.fired message still waiting to the broker at
    once (this tick's, or an earlier one's if the broker was down): the relay that a
    commit nudges runs on the default queue, which may be busy with notifications."""
    marked = clock_tick()
    outbox_relay(topics=["sla.fired"])
    return marked


@shared_task(name="sla.tasks.clocks_recompute_task", ignore_result=True)
def clocks_recompute_task(calendar_id: int | None = None, target_id: int | None = None) -> int:
    """Recompute the live clocks of an edited calendar or target from their histories."""
    calendar = BusinessCalendar.objects.filter(pk=calendar_id).first() if calendar_id else None
    target = Target.objects.filter(pk=target_id).first() if target_id else None
    if calendar is None and target is None:
        return 0
    return clocks_recompute(calendar=calendar, target=target)


@shared_task(name="sla.tasks.calendars_holidays_import_task", ignore_result=True)
def calendars_holidays_import_task() -> int:
    """Import this year's and next year's public holidays into every calendar that names
    a country (weekly from beat), so a new year's days arrive without anyone asking."""
    from django.utils import timezone

    from .calendars import calendar_holidays_import

    year = timezone.now().year
    changed = 0
    for calendar in BusinessCalendar.objects.exclude(holiday_country=""):
        changed += calendar_holidays_import(calendar=calendar, years=[year, year + 1])
    return changed


@shared_task(name="sla.tasks.dashboard_cache_warm_task", ignore_result=True)
def dashboard_cache_warm_task() -> int:
    """Refresh the cached default SLA dashboard in every language (beat, every
    DASHBOARD_WARM_SECONDS), so managers opening it never wait for the aggregation over
    the rollups; filtered views keep their one-minute cache."""
    return dashboard_cache_warm()
