"""The trust policy API: ``/oidc/trust-policies`` and ``/oidc/trust-policies/{id}``."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import viewsets

from agents.views import TenantListPagination
from policies.filters import TrustPolicyFilter
from policies.models import TrustPolicy
from policies.serializers import TrustPolicySerializer


@extend_schema_view(
    list=extend_schema(summary="List the tenant's trust policies"),
    create=extend_schema(summary="Create a trust policy"),
    retrieve=extend_schema(summary="Get a trust policy"),
    update=extend_schema(summary="Replace a trust policy"),
    partial_update=extend_schema(summary="Change a trust policy"),
    destroy=extend_schema(summary="Delete a trust policy"),
)
class TrustPolicyViewSet(viewsets.ModelViewSet):
    """Trust policies of the caller's tenant."""

    serializer_class = TrustPolicySerializer
    filterset_class = TrustPolicyFilter
    pagination_class = TenantListPagination

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            # drf-spectacular inspects the view without a tenant.
            return TrustPolicy.objects.none()
        return TrustPolicy.objects.filter(tenant=self.request.tenant).select_related(
            "agent"
        )

    def perform_create(self, serializer):
        serializer.save(tenant=self.request.tenant, created_by=self.request.user)
