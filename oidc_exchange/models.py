"""Signing keys, the exchange log and the replay register."""

from django.db import models

from agents.models import Agent, Tenant
from policies.models import TrustPolicy


class SigningKey(models.Model):
    """A key SentryAgent signs access tokens with.

    NOTE: the private key is stored unencrypted in the database, so database
    backups must be protected like the key itself.
    """

    class State(models.TextChoices):
        ACTIVE = "active"
        RETIRED = "retired"

    kid = models.CharField(max_length=64, unique=True)
    algorithm = models.CharField(max_length=16, default="RS256")
    private_key_pem = models.TextField()
    state = models.CharField(max_length=16, choices=State.choices, default=State.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # At most one active key, so concurrent first uses cannot create two.
            models.UniqueConstraint(
                fields=["state"],
                condition=models.Q(state="active"),
                name="one_active_signing_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kid} ({self.state})"


class ExchangeRecord(models.Model):
    """One attempt at ``/oidc/token`` or ``/oidc/agents``, accepted or not.

    It stores the GitHub token's jti and claims, never the token itself.
    """

    class Endpoint(models.TextChoices):
        TOKEN = "token"
        REGISTRATION = "registration"

    class Outcome(models.TextChoices):
        ACCEPTED = "accepted"
        DENIED = "denied"
        ERROR = "error"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    endpoint = models.CharField(max_length=16, choices=Endpoint.choices)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    status_code = models.PositiveSmallIntegerField()
    # The reason code sent to the caller, and the exact failed check, which
    # is shown only to the tenant.
    reason = models.CharField(max_length=64)
    detail_reason = models.CharField(max_length=64, blank=True, default="")
    checks = models.JSONField(default=list, blank=True)
    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    agent = models.ForeignKey(
        Agent, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    policy = models.ForeignKey(
        TrustPolicy, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    requested_agent_id = models.CharField(max_length=64, blank=True, default="")
    issuer = models.CharField(max_length=255, blank=True, default="")
    subject = models.CharField(max_length=255, blank=True, default="")
    repository = models.CharField(max_length=200, blank=True, default="")
    repository_id = models.CharField(max_length=32, blank=True, default="")
    ref = models.CharField(max_length=255, blank=True, default="")
    sha = models.CharField(max_length=64, blank=True, default="")
    event_name = models.CharField(max_length=64, blank=True, default="")
    run_id = models.CharField(max_length=32, blank=True, default="")
    github_jti = models.CharField(max_length=128, blank=True, default="")
    client_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=256, blank=True, default="")
    issued_jti = models.CharField(max_length=64, blank=True, default="")
    issued_expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["tenant", "-created_at"], name="record_tenant_time"),
        ]

    def __str__(self) -> str:
        return f"{self.endpoint} {self.outcome} {self.reason}"

    def save(self, *args, **kwargs) -> None:
        # Parameters, headers and unverified claims come from the caller and
        # may contain NUL characters, which PostgreSQL text columns reject.
        # U+FFFD takes their place, so that the attempt is still recorded.
        for field in self._meta.concrete_fields:
            value = getattr(self, field.attname)
            if isinstance(value, str) and "\x00" in value:
                setattr(self, field.attname, value.replace("\x00", "\ufffd"))
        super().save(*args, **kwargs)


class UsedToken(models.Model):
    """A GitHub token's jti that has already yielded an access token.

    The unique constraint makes the claim atomic across processes and
    machines. Entries may be purged once the GitHub token has expired.
    """

    issuer = models.CharField(max_length=255)
    jti = models.CharField(max_length=128)
    expires_at = models.DateTimeField(db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["issuer", "jti"], name="used_token_unique_jti"
            ),
        ]

    def __str__(self) -> str:
        return self.jti


class RevokedToken(models.Model):
    """An access token revoked before its expiry, by its jti.

    Entries may be purged once the access token has expired.
    """

    jti = models.CharField(max_length=64, unique=True)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    agent = models.ForeignKey(
        Agent, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    expires_at = models.DateTimeField(db_index=True)
    revoked_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.jti
