"""The trust policy API: ``/oidc/trust-policies`` and ``/oidc/trust-policies/{id}``."""

from rest_framework import viewsets

from policies.models import TrustPolicy
from policies.serializers import TrustPolicySerializer


class TrustPolicyViewSet(viewsets.ModelViewSet):
    """Trust policies of the caller's tenant."""

    serializer_class = TrustPolicySerializer

    def get_queryset(self):
        return TrustPolicy.objects.filter(tenant=self.request.tenant).select_related(
            "agent"
        )

    def perform_create(self, serializer):
        serializer.save(tenant=self.request.tenant, created_by=self.request.user)
