"""The agent API: ``/agents`` and ``/agents/{id}``."""

from rest_framework import viewsets

from agents.models import Agent
from agents.serializers import AgentSerializer


class AgentViewSet(viewsets.ModelViewSet):
    """Agents of the caller's tenant."""

    serializer_class = AgentSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return Agent.objects.filter(tenant=self.request.tenant).select_related("tenant")

    def perform_create(self, serializer):
        serializer.save(
            tenant=self.request.tenant,
            registered_via=Agent.RegisteredVia.API,
            registered_by=self.request.user,
        )
