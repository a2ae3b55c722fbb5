import logging

from celery import shared_task
from django.db import connection

from apps.tenancy.periodic import get_job

logger = logging.getLogger(__name__)


@shared_task(name="tenancy.run_periodic_job")
def run_periodic_job(job_name: str) -> str:
    """Run one registered periodic job in the schema the task was sent for."""
    result = get_job(job_name).func()
    logger.info("job %s in %s: %s", job_name, connection.schema_name, result)
    return str(result)
