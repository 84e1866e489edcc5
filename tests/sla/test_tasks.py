"""SLA tasks: the tick hands what it fired to the "sla" queue itself."""

import datetime as dt
import json

import redis
from django.utils import timezone

from core.models import OutboxMessage
from sla import services as sla
from sla.tasks import clock_tick_task, dashboard_cache_warm_task
from tests.incidents.factories import IncidentFactory
from tests.sla.factories import TargetFactory


def test_tick_task_publishes_its_firings_to_the_sla_queue(use_broker, throwaway_redis):
    use_broker(throwaway_redis.url)
    TargetFactory(duration=dt.timedelta(hours=1), thresholds=[])
    sla.sla_record_start(
        record=IncidentFactory(), actor=None, at=timezone.now() - dt.timedelta(hours=2)
    )

    marked = clock_tick_task()

    assert marked == 1
    message = OutboxMessage.objects.get(topic="sla.fired")
    assert message.dispatched_at is not None
    broker = redis.Redis.from_url(throwaway_redis.url)
    queued = [json.loads(raw)["headers"] for raw in broker.lrange("sla", 0, -1)]
    assert [(h["task"], h["argsrepr"]) for h in queued] == [
        ("core.tasks.outbox_deliver_task", f"({message.pk},)")
    ]
    assert broker.llen("celery") == 0


def test_tick_task_with_nothing_due_publishes_an_earlier_tick_s_waiting_message(
    use_broker, throwaway_redis
):
    use_broker(throwaway_redis.url)
    TargetFactory(duration=dt.timedelta(hours=1), thresholds=[])
    sla.sla_record_start(
        record=IncidentFactory(), actor=None, at=timezone.now() - dt.timedelta(hours=2)
    )
    assert sla.clock_tick() == 1  # marked while the broker was away: nothing published
    message = OutboxMessage.objects.get(topic="sla.fired")

    marked = clock_tick_task()

    assert marked == 0
    message.refresh_from_db()
    assert message.dispatched_at is not None
    assert redis.Redis.from_url(throwaway_redis.url).llen("sla") == 1


def test_the_dashboard_warm_task_goes_to_the_sla_worker_not_the_default_queue(
    use_broker, throwaway_redis
):
    use_broker(throwaway_redis.url)

    dashboard_cache_warm_task.delay()

    broker = redis.Redis.from_url(throwaway_redis.url)
    queued = [json.loads(raw)["headers"]["task"] for raw in broker.lrange("sla", 0, -1)]
    assert queued == ["sla.tasks.dashboard_cache_warm_task"]
    assert broker.llen("celery") == 0
