"""Serializers of the agent API."""

from drf_spectacular.extensions import (
    OpenApiSerializerExtension,
    OpenApiSerializerFieldExtension,
)
from rest_framework import serializers

from agents.models import Agent
from agents.validation import AGENT_NAME_PATTERN, validate_agent_name


class RejectUnknownFieldsMixin:
    """Reject request fields that the serializer does not define.

    DRF ignores unknown fields by default, which hides typos such as
    ``agentID`` and lets a request look accepted when it was not.
    """

    def to_internal_value(self, data):
        if hasattr(data, "keys"):
            writable = {
                name for name, field in self.fields.items() if not field.read_only
            }
            unknown = sorted(set(data.keys()) - writable)
            if unknown:
                raise serializers.ValidationError(
                    {
                        name: [
                            "Unknown or read-only field. Allowed fields: "
                            + ", ".join(sorted(writable))
                            + "."
                        ]
                        for name in unknown
                    },
                    code="unknown_field",
                )
        return super().to_internal_value(data)


class RejectUnknownFieldsExtension(OpenApiSerializerExtension):
    """The OpenAPI schema of serializers that reject unknown fields, whose
    request bodies get ``additionalProperties: false``."""

    target_class = RejectUnknownFieldsMixin
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(
            self.target, direction, bypass_extensions=True
        )
        if direction == "request":
            schema["additionalProperties"] = False
        return schema


class RuleCharField(serializers.CharField):
    """A CharField whose request schema states the rule of its validators.

    ``request_schema`` contains the JSON Schema keywords, such as a pattern,
    that state the rule. Response schemas get none of them, because rows
    stored before a rule existed may break it.
    """

    request_schema: dict = {}


class RuleCharFieldExtension(OpenApiSerializerFieldExtension):
    """The OpenAPI schema of a RuleCharField, with its ``request_schema`` in
    requests only."""

    target_class = RuleCharField
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        schema = auto_schema._map_serializer_field(
            self.target, direction, bypass_extensions=True
        )
        if direction == "request":
            schema.update(self.target.request_schema)
        return schema


class AgentNameField(RuleCharField):
    request_schema = {"pattern": f"^{AGENT_NAME_PATTERN.pattern}$"}


class AgentSerializer(RejectUnknownFieldsMixin, serializers.ModelSerializer):
    """An agent of the caller's tenant."""

    name = AgentNameField(
        max_length=100,
        validators=[validate_agent_name],
        help_text="Unique in the tenant, such as 'release-bot'.",
    )
    tenant = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    registeredVia = serializers.CharField(source="registered_via", read_only=True)
    registeredRepository = serializers.CharField(
        source="registered_repository", read_only=True
    )
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)
    updatedAt = serializers.DateTimeField(source="updated_at", read_only=True)

    class Meta:
        model = Agent
        fields = [
            "id",
            "tenant",
            "name",
            "description",
            "status",
            "registeredVia",
            "registeredRepository",
            "createdAt",
            "updatedAt",
        ]
        read_only_fields = ["id"]

    def validate_name(self, value: str) -> str:
        tenant = self.context["request"].tenant
        taken = Agent.objects.filter(tenant=tenant, name=value)
        if self.instance is not None:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise serializers.ValidationError(
                f"An agent named {value!r} already exists in this tenant. "
                "Choose another name or update the existing agent.",
                code="unique",
            )
        return value
