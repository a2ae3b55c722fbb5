"""Celery app, tenant-aware: tasks sent from inside a tenant carry its schema.

Periodic jobs come from the registry in apps.tenancy.periodic; beat fans each one out
to every organisation (see learning_site.beat).
"""

import os

from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "learning_site.settings")

app = CeleryApp("learning_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.beat_scheduler = "learning_site.beat:TenantBeatScheduler"
app.autodiscover_tasks()
