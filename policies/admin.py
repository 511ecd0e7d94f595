"""Admin pages for trust policies."""

from django import forms
from django.contrib import admin

from agents.admin import TenantScopedAdmin
from policies import validation
from policies.models import TrustPolicy


class TrustPolicyForm(forms.ModelForm):
    """Applies the same field rules as the API serializer."""

    class Meta:
        model = TrustPolicy
        fields = [
            "tenant",
            "provider",
            "repository",
            "branch",
            "agent",
            "allowed_events",
            "enabled",
            "description",
            "repository_id",
            "repository_owner_id",
        ]

    def clean_provider(self):
        return validation.validate_provider(self.cleaned_data["provider"])

    def clean_repository(self):
        return validation.validate_repository(self.cleaned_data["repository"])

    def clean_branch(self):
        return validation.validate_branch(self.cleaned_data["branch"])

    def clean_allowed_events(self):
        return validation.validate_allowed_events(self.cleaned_data["allowed_events"])

    def clean_repository_id(self):
        return validation.validate_github_id(self.cleaned_data["repository_id"])

    def clean_repository_owner_id(self):
        return validation.validate_github_id(self.cleaned_data["repository_owner_id"])


@admin.register(TrustPolicy)
class TrustPolicyAdmin(TenantScopedAdmin):
    form = TrustPolicyForm
    list_display = [
        "repository",
        "branch",
        "agent",
        "enabled",
        "last_used_at",
        "repository_id",
        "repository_owner_id",
    ]
    list_filter = ["enabled", "agent"]
    search_fields = ["repository"]
    readonly_fields = ["id", "created_by", "last_used_at", "created_at", "updated_at"]
    actions = ["enable_policies", "disable_policies"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    @admin.action(description="Enable selected trust policies")
    def enable_policies(self, request, queryset):
        queryset.update(enabled=True)

    @admin.action(description="Disable selected trust policies")
    def disable_policies(self, request, queryset):
        queryset.update(enabled=False)
