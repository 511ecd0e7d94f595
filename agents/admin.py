"""Admin pages, scoped to the tenant of the signed-in user."""

from django.contrib import admin

from agents.models import Agent, Membership, Tenant
from agents.tenancy import tenant_of


class TenantScopedAdmin(admin.ModelAdmin):
    """Shows a tenant admin only their tenant's rows and sets the tenant on save.

    Superusers see every tenant's rows, with a tenant column and filter.
    """

    tenant_field = "tenant"

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        tenant = tenant_of(request.user)
        if tenant is None:
            return queryset.none()
        return queryset.filter(**{self.tenant_field: tenant})

    def get_list_display(self, request):
        columns = list(super().get_list_display(request))
        if request.user.is_superuser:
            columns.append(self.tenant_field)
        return columns

    def get_list_filter(self, request):
        filters = list(super().get_list_filter(request))
        if request.user.is_superuser:
            filters.append(self.tenant_field)
        return filters

    def get_exclude(self, request, obj=None):
        excluded = list(super().get_exclude(request, obj) or [])
        if not request.user.is_superuser:
            excluded.append(self.tenant_field)
        return excluded

    def save_model(self, request, obj, form, change):
        if not request.user.is_superuser and not change:
            setattr(obj, self.tenant_field, tenant_of(request.user))
        super().save_model(request, obj, form, change)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # Choices of agents and other tenant-owned rows list only the tenant's.
        related = db_field.related_model
        if not request.user.is_superuser and hasattr(related, "tenant"):
            kwargs["queryset"] = related.objects.filter(tenant=tenant_of(request.user))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "created_at"]
    search_fields = ["slug", "name"]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "tenant", "created_at"]
    list_filter = ["tenant"]


@admin.register(Agent)
class AgentAdmin(TenantScopedAdmin):
    list_display = ["name", "status", "registered_via", "created_at"]
    list_filter = ["status", "registered_via"]
    search_fields = ["name", "description"]
    readonly_fields = [
        "id",
        "registered_via",
        "registered_by",
        "registered_repository",
        "registered_repository_id",
        "registered_run_id",
        "created_at",
        "updated_at",
    ]
    actions = ["disable_agents", "enable_agents"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.registered_via = Agent.RegisteredVia.ADMIN
            obj.registered_by = request.user
        super().save_model(request, obj, form, change)

    @admin.action(description="Disable selected agents")
    def disable_agents(self, request, queryset):
        queryset.update(status=Agent.Status.DISABLED)

    @admin.action(description="Enable selected agents")
    def enable_agents(self, request, queryset):
        queryset.update(status=Agent.Status.ACTIVE)
