"""Query filters of the trust policy API.

For example ``/oidc/trust-policies?agent=<uuid>&repository=octo-org/app&enabled=true``.
"""

import django_filters

from agents.models import Agent
from policies.models import TrustPolicy


def tenant_agents(request):
    """Return the agents the ``agent`` filter accepts: the caller's only.

    An agent id of another tenant is then an invalid choice, as an unknown id
    is, so the response reveals nothing about other tenants.
    """
    tenant = getattr(request, "tenant", None)
    if tenant is None:
        return Agent.objects.none()
    return Agent.objects.filter(tenant=tenant)


class TrustPolicyFilter(django_filters.FilterSet):
    agent = django_filters.ModelChoiceFilter(
        queryset=tenant_agents,
        help_text="Only policies of this agent, by agent id.",
    )
    registration = django_filters.BooleanFilter(
        field_name="agent",
        lookup_expr="isnull",
        help_text="true: only registration policies (no agent); false: the others.",
    )
    repository = django_filters.CharFilter(
        lookup_expr="iexact",
        help_text="Only policies of this repository (owner/name), ignoring case.",
    )
    branch = django_filters.CharFilter(help_text="Only policies of this branch.")
    enabled = django_filters.BooleanFilter(help_text="Only enabled or disabled ones.")

    class Meta:
        model = TrustPolicy
        fields = ["agent", "registration", "repository", "branch", "enabled"]
