import logging

from celery import shared_task
from django.db import connection

from apps.tenancy.periodic import get_job, job_run

logger = logging.getLogger(__name__)


@shared_task(name="tenancy.run_periodic_job", ignore_result=True)
def run_periodic_job(job_name: str) -> str:
    """Run one registered periodic job in the schema the task was sent for (idle check and
    per-organisation lock included: see apps.tenancy.periodic)."""
    result = job_run(get_job(job_name))
    logger.info("job %s in %s: %s", job_name, connection.schema_name, result)
    return result
