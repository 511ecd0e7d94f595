"""Admin pages for trust policies."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet
from django.utils.html import format_html

from agents.admin import TenantScopedAdmin
from policies import validation
from policies.models import TrustPolicy

# Shown wherever a policy has no branch: it then matches every ref.
ANY_REF_WARNING = (
    "No branch is set: every branch, tag and pull request of {repository} may "
    "use this policy. Set a branch to limit it."
)


class EventsField(forms.MultipleChoiceField):
    """Checkboxes of the events denied by default.

    Every value reaches ``validation.validate_allowed_events``, which alone
    decides what is valid, as it does for the API.
    """

    def valid_value(self, value) -> bool:
        return True


class TrustPolicyForm(forms.ModelForm):
    """Applies the same field rules as the API serializer."""

    # A text field shown as a drop-down list, so that validation.py, not the
    # model's choices, decides which values are valid.
    provider = forms.CharField(
        initial=TrustPolicy.Provider.GITHUB,
        widget=forms.Select(choices=TrustPolicy.Provider.choices),
        help_text="Only GitHub Actions today.",
    )
    allowed_events = EventsField(
        choices=[(event, event) for event in validation.RISKY_EVENTS],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Allowed events",
        help_text=(
            "These events can run code from outside the repository's own "
            "branches, so they are denied unless ticked here."
        ),
    )

    class Meta:
        model = TrustPolicy
        fields = [
            "tenant",
            "provider",
            "issuer",
            "repository",
            "branch",
            "agent",
            "allowed_events",
            "enabled",
            "description",
            "repository_id",
            "repository_owner_id",
        ]
        help_texts = {
            "issuer": (
                "Leave it empty for github.com. Set it only for tokens of another "
                "trusted issuer, such as a GitHub Enterprise Server."
            ),
            "repository": (
                "GitHub repository as owner/name, such as octo-org/deploy-tools. "
                "Letter case is ignored."
            ),
            "branch": (
                "Only runs on this branch match (the ref refs/heads/ followed "
                "by this name), not tags or pull requests. Leave it empty to "
                "allow every branch, tag and pull request."
            ),
            "agent": (
                "The agent that matching workflows may act as. Leave it empty "
                "for a registration policy: matching workflows may then register "
                "new agents in this tenant."
            ),
            "repository_id": (
                "GitHub's numeric repository id. Left empty, it is recorded on "
                "the first match; a repository re-created under the same name "
                "then no longer matches."
            ),
            "repository_owner_id": (
                "GitHub's numeric id of the owner, recorded on the first match "
                "like the repository id."
            ),
        }

    def clean_provider(self):
        return validation.validate_provider(self.cleaned_data["provider"])

    def clean_issuer(self):
        return validation.validate_issuer(self.cleaned_data["issuer"])

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

    def clean(self):
        cleaned_data = super().clean()
        tenant = cleaned_data.get("tenant")
        if tenant is not None:
            try:
                validation.validate_agent_tenant(cleaned_data.get("agent"), tenant)
            except ValidationError as error:
                self.add_error("agent", error)
        return cleaned_data


def describe_scope(policy: TrustPolicy) -> str:
    """Describe in one sentence which workflows the policy allows, to do what."""
    if policy.branch:
        workflows = f"Workflows on branch {policy.branch} of {policy.repository}"
    else:
        workflows = f"Every branch, tag and pull request of {policy.repository}"
    if policy.agent_id is None:
        permission = "may register new agents in this tenant"
    else:
        permission = f"may get tokens for agent {policy.agent}"
    condition = "" if policy.enabled else " once the policy is enabled"
    return f"{workflows} {permission}{condition}."


@admin.register(TrustPolicy)
class TrustPolicyAdmin(TenantScopedAdmin):
    form = TrustPolicyForm
    list_display = [
        "repository",
        "branch_or_warning",
        "agent_or_registration",
        "enabled",
        "last_used",
        "pinned_ids",
    ]
    list_display_links = ["repository"]
    list_filter = [("agent", admin.RelatedOnlyFieldListFilter), "enabled"]
    list_select_related = ["agent", "tenant"]
    search_fields = ["repository"]
    search_help_text = "Search by repository (owner/name)."
    readonly_fields = [
        "scope",
        "id",
        "created_by",
        "last_used_at",
        "created_at",
        "updated_at",
    ]
    actions = ["enable_policies", "disable_policies"]

    def get_fieldsets(self, request, obj=None):
        main = ["tenant", "provider", "repository", "branch", "agent", "enabled"]
        if obj is not None:
            main.insert(0, "scope")
        return [
            (None, {"fields": [*main, "description"]}),
            ("Events", {"fields": ["allowed_events"]}),
            ("Issuer", {"fields": ["issuer"], "classes": ["collapse"]}),
            (
                "Pinned GitHub ids",
                {"fields": ["repository_id", "repository_owner_id"]},
            ),
            (
                "History",
                {
                    "fields": [
                        "id",
                        "created_by",
                        "last_used_at",
                        "created_at",
                        "updated_at",
                    ]
                },
            ),
        ]

    @admin.display(description="allows")
    def scope(self, policy: TrustPolicy) -> str:
        return describe_scope(policy)

    @admin.display(description="branch", ordering="branch")
    def branch_or_warning(self, policy: TrustPolicy) -> str:
        if policy.branch:
            return policy.branch
        return format_html(
            '<strong style="color: var(--error-fg)" title="{}">'
            "&#9888; any branch, tag or pull request</strong>",
            ANY_REF_WARNING.format(repository=policy.repository),
        )

    @admin.display(description="agent", ordering="agent__name")
    def agent_or_registration(self, policy: TrustPolicy) -> str:
        if policy.agent_id is None:
            return "none: may register agents"
        return str(policy.agent)

    @admin.display(description="last used (UTC)", ordering="last_used_at")
    def last_used(self, policy: TrustPolicy) -> str:
        if policy.last_used_at is None:
            return "never"
        return policy.last_used_at.strftime("%Y-%m-%d %H:%M:%S")

    @admin.display(description="pinned ids (repository / owner)")
    def pinned_ids(self, policy: TrustPolicy) -> str:
        if not policy.repository_id and not policy.repository_owner_id:
            return "not yet: set on first match"
        return (
            f"{policy.repository_id or 'unset'} / "
            f"{policy.repository_owner_id or 'unset'}"
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method == "GET":
            policy = self.get_object(request, unquote(object_id))
            if policy is not None and not policy.branch:
                self.message_user(
                    request,
                    ANY_REF_WARNING.format(repository=policy.repository),
                    messages.WARNING,
                )
        return super().change_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    @admin.action(description="Enable selected trust policies", permissions=["change"])
    def enable_policies(self, request, queryset):
        count = queryset.update(enabled=True)
        self.message_user(request, f"Enabled {count} {_policies(count)}.")

    @admin.action(description="Disable selected trust policies", permissions=["change"])
    def disable_policies(self, request, queryset):
        count = queryset.update(enabled=False)
        self.message_user(
            request,
            f"Disabled {count} {_policies(count)}; workflows matching only "
            "these get no tokens.",
        )


def _policies(count: int) -> str:
    return "trust policy" if count == 1 else "trust policies"


class AgentPolicyFormSet(BaseInlineFormSet):
    """Gives policies added beside an agent the agent's tenant and creator."""

    user = None

    def save_new(self, form, commit=True):
        form.instance.tenant_id = self.instance.tenant_id
        form.instance.created_by = self.user
        return super().save_new(form, commit)


class AgentPolicyInline(admin.TabularInline):
    """The trust policies of one agent, on the agent's page.

    ``oidc_exchange.admin`` adds it to the agent admin.
    """

    model = TrustPolicy
    form = TrustPolicyForm
    formset = AgentPolicyFormSet
    fk_name = "agent"
    fields = ["provider", "repository", "branch", "enabled", "last_used_at"]
    readonly_fields = ["last_used_at"]
    extra = 0
    show_change_link = True
    verbose_name = "trust policy"
    verbose_name_plural = "trust policies: repositories that may act as this agent"

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.user = request.user
        return formset
