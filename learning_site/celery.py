"""Celery app, tenant-aware: tasks sent from inside a tenant carry its schema.

Periodic jobs come from the registry in apps.tenancy.periodic; beat fans each one out
to every organisation, jittered, expiring, from one beat only (see learning_site.beat).
"""

import os

from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "learning_site.settings")

app = CeleryApp("learning_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.beat_scheduler = "learning_site.beat:TenantBeatScheduler"
# Beat wakes at least this often: it renews its lock (learning_site.beat) on each tick.
app.conf.beat_max_interval = 30
# A worker looks an organisation up once a minute, not once per task (one entry per
# organisation it served: bounded by their number).
app.conf.task_tenant_cache_seconds = 60
app.autodiscover_tasks()
