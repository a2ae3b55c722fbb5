from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.template.response import TemplateResponse
from django.utils.cache import add_never_cache_headers

from apps.tenancy.admin_display import when_column
from apps.users.models import ApiKey, User
from apps.users.services import api_key_create, api_key_revoke


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "get_full_name", "email", "role", "team", "manager", "is_active"]
    list_filter = ["role", "team", "is_active"]
    search_fields = ["username", "first_name", "last_name", "email"]
    list_select_related = ["manager"]
    fieldsets = BaseUserAdmin.fieldsets + (
        ("Learning Loop", {"fields": ("role", "team", "manager", "time_zone")}),
    )
    add_fieldsets = BaseUserAdmin.add_fieldsets + (
        ("Learning Loop", {"fields": ("role", "team", "manager")}),
    )

    def save_model(self, request, obj, form, change):
        obj.is_staff = obj.is_superuser = obj.role == "admin"
        super().save_model(request, obj, form, change)


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "prefix",
        "user",
        "kind",
        "created_by",
        when_column("created_at"),
        when_column("last_used_at"),
        when_column("revoked_at"),
    ]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix", "user__username"]
    list_select_related = ["user", "created_by"]
    fields = ["name", "user"]
    actions = ["revoke"]

    @admin.display(description="Kind")
    def kind(self, obj: ApiKey) -> str:
        return "agent" if obj.is_agent_key else "personal"

    def get_readonly_fields(self, request, obj=None):
        if obj:
            return [
                "name",
                "user",
                "prefix",
                "created_by",
                "created_at",
                "last_used_at",
                "revoked_at",
            ]
        return []

    def get_fields(self, request, obj=None):
        return self.get_readonly_fields(request, obj) if obj else self.fields

    def save_model(self, request, obj, form, change):
        if change:
            return
        key, raw_key = api_key_create(name=obj.name, user=obj.user, created_by=request.user)
        obj.pk = key.pk
        # Kept on this request only: shown by response_add, never in a message (the messages
        # cookie is signed, not encrypted), a redirect URL or a log.
        request._new_api_key = raw_key

    def response_add(self, request, obj, post_url_continue=None):
        raw_key = getattr(request, "_new_api_key", None)
        if raw_key is None:
            return super().response_add(request, obj, post_url_continue)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "API key created",
            "key": obj,
            "raw_key": raw_key,
        }
        response = TemplateResponse(request, "admin/users/apikey/created.html", context)
        add_never_cache_headers(response)  # the key must not outlive this page in a cache
        return response

    @admin.action(description="Revoke selected keys")
    def revoke(self, request, queryset):
        for key in queryset:
            api_key_revoke(key=key)
        self.message_user(request, f"Revoked {queryset.count()} key(s).")
