from celery import shared_task
from django.core.management import call_command


@shared_task(name="core.tasks.session_cleanup_task")
def session_cleanup_task() -> None:
    """Delete expired sessions (Django's clearsessions); daily from beat."""
    call_command("clearsessions")
