"""Admin pages, scoped to the tenant of the signed-in user.

A tenant admin is a staff user with a membership and the "Tenant admins"
group. They see and change only their own tenant's rows: a row of another
tenant gets a 404 response, as an id that does not exist does. Superusers
(platform operators) see every tenant's rows, with a tenant column and filter. Users,
groups, tenants, memberships and API tokens are for superusers only.
"""

import django.contrib.auth.admin  # noqa: F401  registers User and Group first
import knox.admin  # noqa: F401  registers AuthToken first
from django import forms
from django.contrib import admin
from django.contrib.admin.options import TO_FIELD_VAR
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.http import Http404
from django.utils.text import Truncator
from knox.models import AuthToken

from agents.models import Agent, Membership, Tenant
from agents.tenancy import tenant_of

# The site's titles. The navigation sidebar is off so that the wide lists
# (policies, the exchange log) fit a laptop screen; the index page lists the
# same models. There is no public site to link to.
admin.site.site_header = "SentryAgent administration"
admin.site.site_title = "SentryAgent admin"
admin.site.index_title = "Agents, trust policies and the exchange log"
admin.site.site_url = None
admin.site.enable_nav_sidebar = False


class SuperuserOnlyAdmin:
    """Hides a model admin from every user who is not a superuser."""

    def has_module_permission(self, request):
        return request.user.is_superuser and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser and super().has_view_permission(request, obj)

    def has_add_permission(self, request, *args):
        return request.user.is_superuser and super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser and super().has_delete_permission(request, obj)


class TenantScopedAdmin(admin.ModelAdmin):
    """Shows a tenant admin only their tenant's rows and sets the tenant on save.

    Superusers see every tenant's rows, with a tenant column and filter, and
    choose the tenant of a new row. A staff user who is neither a superuser
    nor a member of a tenant reaches nothing.
    """

    tenant_field = "tenant"

    def request_tenant(self, request) -> Tenant | None:
        """Return the tenant the user is limited to, or None for superusers."""
        if request.user.is_superuser:
            return None
        return tenant_of(request.user)

    def _may_use(self, request) -> bool:
        return request.user.is_superuser or tenant_of(request.user) is not None

    def has_module_permission(self, request):
        return self._may_use(request) and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return self._may_use(request) and super().has_view_permission(request, obj)

    def has_add_permission(self, request):
        return self._may_use(request) and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None):
        return self._may_use(request) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._may_use(request) and super().has_delete_permission(request, obj)

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset.select_related(self.tenant_field)
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

    # Django's admin responds to an id outside get_queryset with a redirect to
    # the index and a "doesn't exist" message, or with 403 where the user lacks
    # the permission. Checking first gives every such id one response: 404.

    def _object_or_404(self, request, object_id, to_field=None) -> None:
        if to_field and not self.to_field_allowed(request, to_field):
            return  # Django's view rejects the field itself.
        if self.get_object(request, unquote(object_id), to_field) is None:
            raise Http404(f"No {self.opts.verbose_name} with id {object_id!r}.")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        to_field = request.POST.get(TO_FIELD_VAR, request.GET.get(TO_FIELD_VAR))
        self._object_or_404(request, object_id, to_field)
        return super().change_view(request, object_id, form_url, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        to_field = request.POST.get(TO_FIELD_VAR, request.GET.get(TO_FIELD_VAR))
        self._object_or_404(request, object_id, to_field)
        return super().delete_view(request, object_id, extra_context)

    def history_view(self, request, object_id, extra_context=None):
        self._object_or_404(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def get_changeform_initial_data(self, request):
        # A tenant admin cannot pick the tenant through ?tenant= either.
        initial = super().get_changeform_initial_data(request)
        if not request.user.is_superuser:
            initial.pop(self.tenant_field, None)
        return initial

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        field = form.base_fields.get(self.tenant_field)
        if field is None:
            return form
        # The tenant stays a form field, disabled so that posted values are
        # ignored, because Django validates unique constraints that include
        # it (such as an agent's name) only for fields of the form.
        tenant = self.request_tenant(request)
        if tenant is not None:
            field.widget = forms.HiddenInput()
            field.queryset = Tenant.objects.filter(pk=tenant.pk)
            field.initial = tenant.pk
            field.disabled = True
        elif obj is not None:
            # A row never moves to another tenant: its policies, agents and
            # log records would stay behind.
            field.disabled = True
        return form

    def save_model(self, request, obj, form, change):
        tenant = self.request_tenant(request)
        if tenant is not None:
            setattr(obj, self.tenant_field, tenant)
        super().save_model(request, obj, form, change)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        related = db_field.related_model
        owned_by_tenant = db_field.name != self.tenant_field and hasattr(
            related, "tenant"
        )
        if not owned_by_tenant:
            return super().formfield_for_foreignkey(db_field, request, **kwargs)
        # Choices of agents and other tenant-owned rows list only the tenant's.
        # A posted id of another tenant's row fails as an invalid choice.
        tenant = self.request_tenant(request)
        if tenant is not None:
            kwargs["queryset"] = related.objects.filter(tenant=tenant)
            return super().formfield_for_foreignkey(db_field, request, **kwargs)
        kwargs["queryset"] = related.objects.select_related("tenant")
        formfield = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if formfield is not None:
            formfield.label_from_instance = lambda row: f"{row.tenant} / {row}"
        return formfield


@admin.register(Tenant)
class TenantAdmin(SuperuserOnlyAdmin, admin.ModelAdmin):
    list_display = ["slug", "name", "created_at"]
    search_fields = ["slug", "name"]


@admin.register(Membership)
class MembershipAdmin(SuperuserOnlyAdmin, admin.ModelAdmin):
    list_display = ["user", "tenant", "created_at"]
    list_filter = ["tenant"]
    search_fields = ["user__username", "tenant__slug"]


def _restrict_to_superusers(model) -> None:
    """Re-register another app's model admin so that only superusers see it."""
    current = admin.site.get_model_admin(model)
    restricted = type(
        f"SuperuserOnly{type(current).__name__}",
        (SuperuserOnlyAdmin, type(current)),
        {"__module__": __name__},
    )
    admin.site.unregister(model)
    admin.site.register(model, restricted)


for _model in (get_user_model(), Group, AuthToken):
    _restrict_to_superusers(_model)


class AgentAdmin(TenantScopedAdmin):
    """Agents: create, describe, disable and enable.

    ``oidc_exchange.admin`` registers a subclass that adds the agent's trust
    policies and recent exchanges, since this app imports neither of those.
    """

    list_display = ["name", "status_label", "summary", "registered_via", "created_at"]
    list_display_links = ["name"]
    list_filter = ["status", "registered_via"]
    search_fields = ["name", "description"]
    fieldsets = [
        (None, {"fields": ["tenant", "agent_id", "name", "description", "status"]}),
        (
            "Registration",
            {
                "classes": ["collapse"],
                "fields": [
                    "registered_via",
                    "registered_by_name",
                    "registered_repository",
                    "registered_repository_id",
                    "registered_run_id",
                    "created_at",
                    "updated_at",
                ],
            },
        ),
    ]
    readonly_fields = [
        "agent_id",
        "registered_via",
        "registered_by_name",
        "registered_repository",
        "registered_repository_id",
        "registered_run_id",
        "created_at",
        "updated_at",
    ]
    actions = ["disable_agents", "enable_agents"]

    @admin.display(description="agent id")
    def agent_id(self, agent: Agent) -> str:
        # The issue-token action needs this id. It is set when the agent is saved.
        return "assigned when saved" if agent._state.adding else str(agent.pk)

    @admin.display(description="registered by")
    def registered_by_name(self, agent: Agent) -> str:
        # Plain text: tenant admins cannot open user pages.
        return agent.registered_by.get_username() if agent.registered_by else "-"

    @admin.display(description="description")
    def summary(self, agent: Agent) -> str:
        return Truncator(agent.description).chars(80)

    @admin.display(description="status", ordering="status")
    def status_label(self, agent: Agent) -> str:
        if agent.is_active:
            return "active"
        return "disabled: gets no tokens"

    def save_model(self, request, obj, form, change):
        if not change:
            obj.registered_via = Agent.RegisteredVia.ADMIN
            obj.registered_by = request.user
        super().save_model(request, obj, form, change)

    @admin.action(description="Disable selected agents", permissions=["change"])
    def disable_agents(self, request, queryset):
        count = queryset.update(status=Agent.Status.DISABLED)
        self.message_user(
            request, f"Disabled {count} {_agents(count)}; they get no tokens."
        )

    @admin.action(description="Enable selected agents", permissions=["change"])
    def enable_agents(self, request, queryset):
        count = queryset.update(status=Agent.Status.ACTIVE)
        self.message_user(request, f"Enabled {count} {_agents(count)}.")


def _agents(count: int) -> str:
    return "agent" if count == 1 else "agents"


admin.site.register(Agent, AgentAdmin)
