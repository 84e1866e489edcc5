from celery import shared_task

from .services import incident_close_resolved


@shared_task(name="incidents.tasks.incident_close_resolved_task")
def incident_close_resolved_task() -> int:
    """Close incidents resolved longer ago than the configured number of days."""
    return incident_close_resolved()
