from django.core.validators import RegexValidator
from django.db import models
from django_tenants.models import DomainMixin, TenantMixin


class Organization(TenantMixin):
    """A customer organisation. All of its data lives in its own PostgreSQL schema."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=50, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # ISO 4217 code every amount of this organisation is shown in (apps.tenancy.money).
    currency = models.CharField(
        max_length=3,
        default="USD",
        db_default="USD",  # rows written by code still running during a deploy get it too
        validators=[RegexValidator(r"^[A-Z]{3}$", "A three-letter ISO 4217 code, e.g. USD.")],
        help_text="ISO 4217 code: amounts (deal values, discounts) are shown in it.",
    )

    auto_create_schema = True
    auto_drop_schema = True

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Domain(DomainMixin):
    """A host name that routes requests to an organisation (e.g. ``acme.localhost``)."""

    def __str__(self) -> str:
        return self.domain


class PeriodicJobRun(models.Model):
    """The last successful run of one periodic job in one organisation (public schema).

    A job's idle check compares the organisation's data with ``started_at``
    (apps.tenancy.periodic): nothing new since then, no run.
    """

    schema_name = models.CharField(max_length=63)
    job = models.CharField(max_length=100)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    result = models.CharField(max_length=500, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["schema_name", "job"], name="periodic_run_one_per_job")
        ]

    def __str__(self) -> str:
        return f"{self.job} in {self.schema_name} at {self.started_at:%Y-%m-%d %H:%M}"


class ThrottleCounter(models.Model):
    """A fixed-window request counter of the API throttle when there is no Redis: one row
    per budget (organisation, scope, key/user/address), reset when a new window starts.

    An unlogged table in the public schema: no write-ahead log per request, shared by every
    web process and server on the database; a crash empties it (budgets start afresh).
    """

    key = models.CharField(max_length=255, primary_key=True)
    window_start = models.BigIntegerField()
    count = models.IntegerField()

    def __str__(self) -> str:
        return f"{self.key}: {self.count}"
