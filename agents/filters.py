"""Query filters of the agent API, such as ``/agents?status=disabled``."""

import django_filters

from agents.models import Agent


class AgentFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(
        choices=Agent.Status.choices, help_text="Only agents with this status."
    )
    name = django_filters.CharFilter(
        lookup_expr="iexact", help_text="Only the agent with this name."
    )

    class Meta:
        model = Agent
        fields = ["status", "name"]
