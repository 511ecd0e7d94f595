"""Serializer of the trust policy API."""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from agents.models import Agent
from agents.serializers import RejectUnknownFieldsMixin
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


class TrustPolicySerializer(RejectUnknownFieldsMixin, serializers.ModelSerializer):
    provider = serializers.CharField(
        default=TrustPolicy.Provider.GITHUB,
        validators=[validation.validate_provider],
    )
    issuer = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=255,
        validators=[validation.validate_issuer],
    )
    repository = serializers.CharField(
        max_length=140, validators=[validation.validate_repository]
    )
    branch = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        validators=[validation.validate_branch],
    )
    agentId = TenantAgentField(
        source="agent", required=False, allow_null=True, default=None
    )
    allowedEvents = serializers.ListField(
        source="allowed_events",
        child=serializers.CharField(),
        required=False,
        default=list,
        validators=[validation.validate_allowed_events],
    )
    repositoryId = serializers.CharField(
        source="repository_id",
        required=False,
        allow_blank=True,
        default="",
        validators=[validation.validate_github_id],
    )
    repositoryOwnerId = serializers.CharField(
        source="repository_owner_id",
        required=False,
        allow_blank=True,
        default="",
        validators=[validation.validate_github_id],
    )
    lastUsedAt = serializers.DateTimeField(source="last_used_at", read_only=True)
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
