"""Serializers of the agent API."""

from rest_framework import serializers

from agents.models import Agent


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


class AgentSerializer(RejectUnknownFieldsMixin, serializers.ModelSerializer):
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
