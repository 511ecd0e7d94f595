"""Serializer of the trust policy API."""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from agents.models import Agent
from agents.serializers import RejectUnknownFieldsMixin, RuleCharField
from policies import validation
from policies.models import TrustPolicy


class TenantAgentField(serializers.PrimaryKeyRelatedField):
    """An agent id that must name an agent of the caller's tenant."""

    default_error_messages = {
        "does_not_exist": (
            "No agent with id '{pk_value}' in this tenant. List your agents with "
            "GET /agents."
        ),
        "incorrect_type": "Invalid agent id. Use the agent's UUID from GET /agents.",
    }

    def get_queryset(self):
        return Agent.objects.filter(tenant=self.context["request"].tenant)

    def to_internal_value(self, data):
        # A malformed UUID makes the lookup raise Django's ValidationError,
        # which DRF's field does not catch.
        try:
            return super().to_internal_value(data)
        except DjangoValidationError:
            self.fail("incorrect_type")


class ProviderField(RuleCharField):
    request_schema = {"enum": [TrustPolicy.Provider.GITHUB.value]}


class RepositoryField(RuleCharField):
    # '.', '..' and a '.git' suffix, which validate_repository also rejects,
    # are left to the help text.
    request_schema = {
        "pattern": (
            f"^{validation.OWNER_PATTERN.pattern}/{validation.NAME_PATTERN.pattern}$"
        )
    }


class RiskyEventField(RuleCharField):
    request_schema = {"enum": list(validation.RISKY_EVENTS)}


class GitHubIdField(RuleCharField):
    # drf-spectacular adds the empty string, which the field allows, as an
    # alternative to the pattern.
    request_schema = {"pattern": f"^{validation.GITHUB_ID_PATTERN.pattern}$"}


class TrustPolicySerializer(RejectUnknownFieldsMixin, serializers.ModelSerializer):
    """A trust policy of the caller's tenant: which repository may act as the
    agent, or, without an agent, may register agents."""

    provider = ProviderField(
        default=TrustPolicy.Provider.GITHUB,
        validators=[validation.validate_provider],
    )
    issuer = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=255,
        validators=[validation.validate_issuer],
        help_text=(
            "One of the issuers this service trusts, such as a GitHub Enterprise "
            "Server's. Empty means the first trusted issuer, github.com's by "
            "default."
        ),
    )
    repository = RepositoryField(
        max_length=140,
        validators=[validation.validate_repository],
        help_text=(
            "The GitHub repository as 'owner/name', without '.git', such as "
            "'octo-org/deploy-tools'. Matching ignores letter case."
        ),
    )
    branch = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        validators=[validation.validate_branch],
        help_text=(
            "A git branch name without 'refs/heads/', such as 'main'. The policy "
            "then matches only tokens whose ref is that branch. Empty matches "
            "every ref."
        ),
    )
    agentId = TenantAgentField(
        source="agent", required=False, allow_null=True, default=None
    )
    allowedEvents = serializers.ListField(
        source="allowed_events",
        child=RiskyEventField(),
        required=False,
        default=list,
        validators=[validation.validate_allowed_events],
    )
    repositoryId = GitHubIdField(
        source="repository_id",
        required=False,
        allow_blank=True,
        default="",
        validators=[validation.validate_github_id],
    )
    repositoryOwnerId = GitHubIdField(
        source="repository_owner_id",
        required=False,
        allow_blank=True,
        default="",
        validators=[validation.validate_github_id],
    )
    lastUsedAt = serializers.DateTimeField(
        source="last_used_at", read_only=True, allow_null=True
    )
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)
    updatedAt = serializers.DateTimeField(source="updated_at", read_only=True)

    class Meta:
        model = TrustPolicy
        fields = [
            "id",
            "provider",
            "issuer",
            "repository",
            "branch",
            "agentId",
            "allowedEvents",
            "enabled",
            "description",
            "repositoryId",
            "repositoryOwnerId",
            "lastUsedAt",
            "createdAt",
            "updatedAt",
        ]
        read_only_fields = ["id"]
