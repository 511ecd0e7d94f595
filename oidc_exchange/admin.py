"""Admin pages for the exchange log and signing keys."""

from django.contrib import admin

from agents.admin import TenantScopedAdmin
from oidc_exchange.models import ExchangeRecord, SigningKey


@admin.register(ExchangeRecord)
class ExchangeRecordAdmin(TenantScopedAdmin):
    """The exchange log, read-only."""

    list_display = [
        "created_at",
        "endpoint",
        "outcome",
        "reason",
        "detail_reason",
        "repository",
        "ref",
        "event_name",
        "run_id",
        "agent",
        "policy",
    ]
    list_filter = ["outcome", "reason", "endpoint"]
    search_fields = ["repository", "run_id", "github_jti"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(SigningKey)
class SigningKeyAdmin(admin.ModelAdmin):
    """Signing keys, for superusers; the private key is never shown."""

    list_display = ["kid", "algorithm", "state", "created_at", "retired_at"]
    fields = ["kid", "algorithm", "state", "created_at", "retired_at"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_module_permission(self, request):
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser
