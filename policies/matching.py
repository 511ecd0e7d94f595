"""Matching a workflow's verified identity against trust policies.

Every rule is a check with a stable name. The first failed check of the
closest policy becomes the reason of a denial. That reason is shown only to
the tenant, in the exchange log, because the caller gets one uniform 403.
"""

from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db.models import Case, F, Value, When
from django.utils import timezone

from policies.models import TrustPolicy
from policies.validation import RISKY_EVENTS


@dataclass(frozen=True)
class WorkflowIdentity:
    """The claims of a verified GitHub token that matching relies on."""

    issuer: str
    repository: str
    repository_id: str
    repository_owner: str
    repository_owner_id: str
    ref: str
    event_name: str


@dataclass
class PolicyEvaluation:
    """The outcome of each check of one policy, in the order they ran."""

    policy: TrustPolicy
    checks: list[tuple[str, bool]] = field(default_factory=list)

    @property
    def matched(self) -> bool:
        return all(passed for _, passed in self.checks)

    @property
    def failed_check(self) -> str | None:
        return next((name for name, passed in self.checks if not passed), None)


@dataclass
class MatchResult:
    """The matching policy, or the reason no policy matched."""

    policy: TrustPolicy | None
    reason: str
    evaluations: list[PolicyEvaluation]

    def as_log_details(self) -> list[dict]:
        return [
            {
                "policy": str(evaluation.policy.pk),
                "checks": dict(evaluation.checks),
            }
            for evaluation in self.evaluations
        ]


def trusted_issuer(policy: TrustPolicy) -> str:
    """Return the issuer whose tokens the policy matches."""
    return policy.issuer or settings.GITHUB_OIDC_ISSUERS[0]


def same_repository(policy_repository: str, token_repository: str) -> bool:
    """Compare repository names as GitHub does, ignoring ASCII letter case.

    Only ASCII names compare equal. ``str.lower`` folds some non-ASCII letters
    to ASCII (the Kelvin sign becomes 'k'), which would let a lookalike match.
    """
    return (
        token_repository.isascii()
        and policy_repository.isascii()
        and policy_repository.lower() == token_repository.lower()
    )


def evaluate(policy: TrustPolicy, identity: WorkflowIdentity) -> PolicyEvaluation:
    """Run every check of one policy against the identity."""
    evaluation = PolicyEvaluation(policy)
    checks = evaluation.checks

    checks.append(("policy_enabled", policy.enabled))
    checks.append(("provider", policy.provider == TrustPolicy.Provider.GITHUB))
    checks.append(("issuer", trusted_issuer(policy) == identity.issuer))

    name_matches = same_repository(policy.repository, identity.repository)
    pinned_id_matches = (
        not policy.repository_id or policy.repository_id == identity.repository_id
    )
    if not name_matches and policy.repository_id == identity.repository_id:
        # The pinned repository now has another name: the policy is stale.
        checks.append(("repository_renamed", False))
    else:
        checks.append(("repository", name_matches))
    checks.append(("repository_id", pinned_id_matches))
    checks.append(
        (
            "repository_owner_id",
            not policy.repository_owner_id
            or policy.repository_owner_id == identity.repository_owner_id,
        )
    )

    if policy.branch:
        checks.append(("branch", identity.ref == f"refs/heads/{policy.branch}"))

    if identity.event_name in RISKY_EVENTS:
        checks.append(("event", identity.event_name in policy.allowed_events))

    return evaluation


# The denial reason recorded for each failed check.
FAILURE_REASONS = {
    "policy_enabled": "policy_disabled",
    "provider": "provider_mismatch",
    "issuer": "issuer_mismatch",
    "repository": "repository_mismatch",
    "repository_renamed": "repository_renamed",
    "repository_id": "repository_id_mismatch",
    "repository_owner_id": "owner_id_mismatch",
    "branch": "branch_mismatch",
    "event": "event_not_allowed",
}


def _closest_failure(evaluations: list[PolicyEvaluation]) -> str:
    """Return the denial reason of the policy that passed the most checks."""
    if not evaluations:
        return "no_policy"
    closest = max(evaluations, key=lambda e: sum(passed for _, passed in e.checks))
    return FAILURE_REASONS[closest.failed_check]


def match(policies: list[TrustPolicy], identity: WorkflowIdentity) -> MatchResult:
    """Return the first policy that passes every check, with all evaluations."""
    evaluations = [evaluate(policy, identity) for policy in policies]
    for evaluation in evaluations:
        if evaluation.matched:
            return MatchResult(evaluation.policy, "matched", evaluations)
    return MatchResult(None, _closest_failure(evaluations), evaluations)


# Maximum staleness of ``last_used_at``, so that a busy policy is not written
# on every exchange.
LAST_USED_RESOLUTION = timedelta(seconds=60)


def record_use(policy: TrustPolicy, identity: WorkflowIdentity) -> None:
    """Pin the policy to the identity's GitHub ids if unpinned, and mark it used.

    The update keeps ids already set, so concurrent first matches cannot
    overwrite a pin. A pinned policy marked used within the last minute is
    not written at all.
    """
    now = timezone.now()
    recently_used = (
        policy.last_used_at is not None
        and now - policy.last_used_at < LAST_USED_RESOLUTION
    )
    if policy.repository_id and policy.repository_owner_id and recently_used:
        return
    TrustPolicy.objects.filter(pk=policy.pk).update(
        repository_id=_value_if_empty("repository_id", identity.repository_id),
        repository_owner_id=_value_if_empty(
            "repository_owner_id", identity.repository_owner_id
        ),
        last_used_at=now,
    )


def _value_if_empty(field_name: str, value: str) -> Case:
    return Case(When(**{field_name: ""}, then=Value(value)), default=F(field_name))
