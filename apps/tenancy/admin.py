from django.contrib import admin
from django_tenants.admin import TenantAdminMixin
from django_tenants.utils import get_public_schema_name

from apps.tenancy.admin_display import when_column
from apps.tenancy.models import Domain, Organization


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0


@admin.register(Organization)
class OrganizationAdmin(TenantAdminMixin, admin.ModelAdmin):
    list_display = ["name", "slug", "currency", "schema_name", when_column("created_at")]
    search_fields = ["name", "slug"]
    readonly_fields = ["schema_name", "created_at"]
    inlines = [DomainInline]

    # Organisations are the operator's business: invisible from any organisation's admin.
    def _on_public_host(self, request) -> bool:
        return request.tenant.schema_name == get_public_schema_name()

    def has_module_permission(self, request):
        return self._on_public_host(request) and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return self._on_public_host(request) and super().has_view_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._on_public_host(request) and super().has_change_permission(request, obj)

    def has_add_permission(self, request):
        return False  # create_org provisions the schema and domains together

    def has_delete_permission(self, request, obj=None):
        return self._on_public_host(request) and super().has_delete_permission(request, obj)
