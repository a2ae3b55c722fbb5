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
