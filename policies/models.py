"""Trust policies: which GitHub repositories may act as which agent."""

import uuid

from django.conf import settings
from django.db import models

from agents.models import Agent, Tenant


class TrustPolicy(models.Model):
    """Allows workflows of one GitHub repository to act as an agent.

    A policy without an agent is a registration policy: matching workflows may
    register new agents in the tenant.
    """

    class Provider(models.TextChoices):
        GITHUB = "github", "GitHub"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, related_name="trust_policies"
    )
    provider = models.CharField(
        max_length=16, choices=Provider.choices, default=Provider.GITHUB
    )
    # The token issuer the policy trusts; empty means the first configured
    # issuer (github.com's by default). Tokens of other configured issuers,
    # such as a GitHub Enterprise Server, match only policies that name them,
    # because repository names of different issuers are different namespaces.
    issuer = models.CharField(max_length=255, blank=True, default="")
    # ``owner/name`` as the tenant wrote it; matching ignores letter case.
    repository = models.CharField(max_length=140)
    # A branch name without ``refs/heads/``; empty allows every ref.
    branch = models.CharField(max_length=255, blank=True, default="")
    agent = models.ForeignKey(
        Agent,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="trust_policies",
    )
    # Events that run code from outside the repository's own branches, such as
    # pull_request_target and workflow_run, which are denied unless listed here.
    allowed_events = models.JSONField(default=list, blank=True)
    enabled = models.BooleanField(default=True)
    description = models.TextField(blank=True, default="")
    # GitHub's numeric ids, as strings, recorded on the first match or set by
    # the tenant. A repository re-created under the same name, or an owner name
    # taken by another account, has other ids and no longer matches.
    repository_id = models.CharField(max_length=32, blank=True, default="")
    repository_owner_id = models.CharField(max_length=32, blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    last_used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "trust policies"
        ordering = ["tenant", "repository", "branch"]
        indexes = [
            models.Index(fields=["agent", "enabled"], name="policy_agent_enabled"),
            models.Index(
                fields=["tenant", "enabled"],
                name="policy_registration",
                condition=models.Q(agent__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        branch = self.branch or "any ref"
        return f"{self.repository} ({branch})"

    @property
    def is_registration_policy(self) -> bool:
        return self.agent_id is None
