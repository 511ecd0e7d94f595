"""Rules for the fields of a trust policy.

The API serializer and the admin form both call these functions, so a policy
is valid or invalid the same way wherever it is written.
"""

import re
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError

if TYPE_CHECKING:
    from agents.models import Agent, Tenant

# GitHub account names: letters, digits and single hyphens, at most 39
# characters. Repository names: letters, digits, '.', '_' and '-', at most 100.
OWNER_PATTERN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,37}[A-Za-z0-9])?")
NAME_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,100}")
GITHUB_ID_PATTERN = re.compile(r"[1-9][0-9]{0,19}")

# Events whose workflows can run code from outside the repository's own
# branches. A policy must list them to allow them.
RISKY_EVENTS = ("pull_request_target", "workflow_run")

# Characters and sequences that git check-ref-format rejects in a branch name.
_BRANCH_FORBIDDEN = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|//")


def validate_provider(value: str) -> str:
    if value != "github":
        raise ValidationError(
            f"Unsupported provider {value!r}. The only allowed value is 'github'.",
            code="invalid_provider",
        )
    return value


def validate_repository(value: str) -> str:
    owner, slash, name = value.partition("/")
    valid = (
        slash == "/"
        and OWNER_PATTERN.fullmatch(owner) is not None
        and NAME_PATTERN.fullmatch(name) is not None
        and name not in (".", "..")
    )
    if not valid:
        raise ValidationError(
            f"Invalid repository {value!r}. Write it as 'owner/name', as in "
            "'octo-org/deploy-tools', with no URL, spaces or extra slashes.",
            code="invalid_repository",
        )
    if name.lower().endswith(".git"):
        raise ValidationError(
            f"Invalid repository {value!r}. Leave out the '.git' suffix: "
            f"'{owner}/{name[:-4]}'.",
            code="invalid_repository",
        )
    return value


def validate_branch(value: str) -> str:
    if not value:
        return value
    if value.startswith("refs/"):
        raise ValidationError(
            f"Invalid branch {value!r}. Give the branch name alone, such as "
            f"'{value.removeprefix('refs/heads/')}', without the 'refs/' prefix.",
            code="invalid_branch",
        )
    invalid = (
        len(value) > 255
        or _BRANCH_FORBIDDEN.search(value) is not None
        or value.startswith(("-", "/", "."))
        or value.endswith(("/", ".", ".lock"))
        or "/." in value
        or value == "@"
    )
    if invalid:
        raise ValidationError(
            f"Invalid branch {value!r}. Use a git branch name such as 'main' or "
            "'release/1.x', with no spaces, '..', '~', '^', ':', '?', '*', '[' or "
            "'\\'.",
            code="invalid_branch",
        )
    return value


def validate_allowed_events(value: list) -> list:
    if not isinstance(value, list) or not all(isinstance(e, str) for e in value):
        raise ValidationError(
            "allowedEvents must be a list of event names.", code="invalid_events"
        )
    unknown = sorted(set(value) - set(RISKY_EVENTS))
    if unknown:
        raise ValidationError(
            f"Unsupported events {unknown!r}. Only events that are denied by "
            f"default can be listed: {', '.join(RISKY_EVENTS)}.",
            code="invalid_events",
        )
    return sorted(set(value))


def validate_github_id(value: str) -> str:
    if value and GITHUB_ID_PATTERN.fullmatch(value) is None:
        raise ValidationError(
            f"Invalid GitHub id {value!r}. Use the decimal number that GitHub "
            "shows for the repository or owner, such as '514238596', or leave "
            "it empty to record it on the first match.",
            code="invalid_github_id",
        )
    return value


def validate_agent_tenant(agent: "Agent | None", tenant: "Tenant") -> None:
    """Reject an agent of another tenant than the policy's.

    The API applies the same rule by looking agents up only in the caller's
    tenant.
    """
    if agent is not None and agent.tenant_id != tenant.pk:
        raise ValidationError(
            f"Agent {agent.name!r} belongs to another tenant. Choose an agent of "
            f"tenant {tenant.slug!r}, or none for a registration policy.",
            code="agent_in_other_tenant",
        )


def validate_issuer(value: str) -> str:
    """Accept an empty issuer (the default one) or one of the configured issuers."""
    if value and value not in settings.GITHUB_OIDC_ISSUERS:
        raise ValidationError(
            f"Untrusted issuer {value!r}. Leave it empty for "
            f"{settings.GITHUB_OIDC_ISSUERS[0]!r}, or use one of the issuers this "
            f"service trusts: {', '.join(settings.GITHUB_OIDC_ISSUERS)}.",
            code="invalid_issuer",
        )
    return value
