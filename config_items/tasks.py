from celery import shared_task

from .imports import import_job_run


@shared_task(name="config_items.tasks.import_job_run_task", acks_late=True)
def import_job_run_task(job_id: int) -> None:
    """Run a CMDB import job; a duplicate delivery finds the job no longer pending."""
    import_job_run(job_id=job_id)
