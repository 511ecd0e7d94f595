"""The agent API: ``/agents`` and ``/agents/{id}``."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.pagination import LimitOffsetPagination

from agents.filters import AgentFilter
from agents.models import Agent
from agents.serializers import AgentSerializer


class TenantListPagination(LimitOffsetPagination):
    """LimitOffsetPagination whose limit has a maximum.

    Without one, a limit such as 10**22 reaches the database, whose 64-bit
    integers cannot hold it, and the request fails with a 500 on SQLite and
    PostgreSQL alike. A limit over the maximum gets the maximum, as DRF does
    for any max_limit.
    """

    max_limit = 1000  # rows per page

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.limit_query_param:
                parameter["description"] = (
                    f"Number of results to return per page, at most {self.max_limit}."
                )
        return parameters


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
    pagination_class = TenantListPagination
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
