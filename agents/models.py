"""Tenants, the users who belong to them, and their agents."""

import uuid

from django.conf import settings
from django.db import models

from agents.validation import validate_agent_name


class Tenant(models.Model):
    """An organisation that owns agents and trust policies."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    slug = models.SlugField(max_length=63, unique=True)
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


class Membership(models.Model):
    """The tenant a user belongs to. A user belongs to at most one tenant."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership"
    )
    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, related_name="memberships"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.user} in {self.tenant}"


class Agent(models.Model):
    """A software agent that CI workflows may act as."""

    class Status(models.TextChoices):
        ACTIVE = "active"
        DISABLED = "disabled"

    class RegisteredVia(models.TextChoices):
        ADMIN = "admin"
        API = "api"
        GITHUB_OIDC = "github_oidc", "GitHub OIDC"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="agents")
    name = models.CharField(max_length=100, validators=[validate_agent_name])
    description = models.TextField(blank=True, default="")
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.ACTIVE
    )
    registered_via = models.CharField(
        max_length=16, choices=RegisteredVia.choices, default=RegisteredVia.ADMIN
    )
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # Set when a workflow registered the agent with its GitHub OIDC token.
    registered_repository = models.CharField(max_length=200, blank=True, default="")
    registered_repository_id = models.CharField(max_length=32, blank=True, default="")
    registered_run_id = models.CharField(max_length=32, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["tenant", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "name"], name="agent_name_unique_in_tenant"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE
