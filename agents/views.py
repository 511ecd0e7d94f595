"""The agent API: ``/agents`` and ``/agents/{id}``."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import viewsets

from agents.filters import AgentFilter
from agents.models import Agent
from agents.serializers import AgentSerializer


@extend_schema_view(
    list=extend_schema(summary="List the tenant's agents"),
    create=extend_schema(summary="Create an agent"),
    retrieve=extend_schema(summary="Get an agent"),
    partial_update=extend_schema(summary="Rename, describe, disable or enable"),
    destroy=extend_schema(summary="Delete an agent and its trust policies"),
)
class AgentViewSet(viewsets.ModelViewSet):
    """Agents of the caller's tenant."""

    serializer_class = AgentSerializer
    filterset_class = AgentFilter
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            # drf-spectacular inspects the view without a tenant.
            return Agent.objects.none()
        return Agent.objects.filter(tenant=self.request.tenant).select_related("tenant")

    def perform_create(self, serializer):
        serializer.save(
            tenant=self.request.tenant,
            registered_via=Agent.RegisteredVia.API,
            registered_by=self.request.user,
        )
