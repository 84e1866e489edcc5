"""The project's Celery app with the SLA tick on a queue of its own ("sla-tick"), for the
lateness benchmark's `--tick-queue` layout: one worker runs beat and the tick only,
another the outbox relay and the escalations, so a long escalation batch cannot hold the
tick back (`celery -A bench.sla_celery worker -B -Q sla-tick` + `... worker -Q celery`)."""

from itsm.celery import app

app.conf.task_routes = {"sla.tasks.clock_tick_task": {"queue": "sla-tick"}}

__all__ = ["app"]
