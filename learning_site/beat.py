"""Celery beat scheduler (imported by beat only, once Django is ready)."""

from tenant_schemas_celery.scheduler import TenantAwarePersistentScheduler


class TenantBeatScheduler(TenantAwarePersistentScheduler):
    """Beat whose schedule is the periodic job registry; each entry goes to every tenant."""

    def setup_schedule(self):
        from apps.tenancy.periodic import beat_schedule

        self.app.conf.beat_schedule = beat_schedule()
        super().setup_schedule()
