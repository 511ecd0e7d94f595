"""Unit tables for policies.matching: the rules that decide a trust policy."""

from dataclasses import replace

import pytest

from policies import matching
from policies.matching import WorkflowIdentity
from policies.models import TrustPolicy
from tests import factories

IDENTITY = WorkflowIdentity(
    issuer="https://token.actions.githubusercontent.com",
    repository="org/repo-a",
    repository_id="100",
    repository_owner="org",
    repository_owner_id="10",
    ref="refs/heads/main",
    event_name="push",
)


def make_policy(**fields) -> TrustPolicy:
    """Return an unsaved policy for org/repo-a with ``fields`` overridden."""
    return TrustPolicy(**{"repository": "org/repo-a", **fields})


# --- same_repository ---------------------------------------------------------------

SAME_REPOSITORY = [
    pytest.param("org/repo-a", "org/repo-a", True, id="equal"),
    pytest.param("org/repo-a", "ORG/Repo-A", True, id="token-upper-case"),
    pytest.param("Org/Repo-A", "org/repo-a", True, id="policy-upper-case"),
    pytest.param("org/repo-a", "org/repo-b", False, id="other-name"),
    pytest.param("org/repo-a", "org2/repo-a", False, id="other-owner"),
    pytest.param("org/repo-a", "org/repo-a-evil", False, id="suffix"),
    pytest.param("org/repo-a", "org/repo-", False, id="prefix"),
    pytest.param("org/repo-a", "org/repo-a.git", False, id="git-suffix"),
    pytest.param("org/repo-a", " org/repo-a", False, id="leading-space"),
    pytest.param("org/repo-a", "org/repo-\u0430", False, id="cyrillic-a"),
    pytest.param("org/kit", "org/\u212ait", False, id="kelvin-sign"),
    pytest.param("org/\u212ait", "org/kit", False, id="kelvin-sign-in-policy"),
    pytest.param("org/ss", "org/\u00df", False, id="sharp-s"),
    pytest.param("org/i", "org/\u0130", False, id="dotted-capital-i"),
    pytest.param("org/repo-a", "", False, id="empty"),
]


@pytest.mark.parametrize(
    ("policy_repository", "token_repository", "same"), SAME_REPOSITORY
)
def test_same_repository(policy_repository, token_repository, same):
    assert matching.same_repository(policy_repository, token_repository) is same


# --- evaluate: the first failed check of one policy ------------------------------

# Policy fields, identity changes, and the first check that fails (None when
# every check passes).
EVALUATIONS = [
    pytest.param({}, {}, None, id="any-ref"),
    pytest.param({"branch": "main"}, {}, None, id="branch"),
    pytest.param({"repository": "ORG/REPO-A"}, {}, None, id="policy-case"),
    pytest.param({}, {"repository": "Org/Repo-A"}, None, id="token-case"),
    pytest.param({"repository_id": "100"}, {}, None, id="pinned-repository"),
    pytest.param({"repository_owner_id": "10"}, {}, None, id="pinned-owner"),
    pytest.param({"enabled": False}, {}, "policy_enabled", id="disabled"),
    pytest.param({"provider": "gitlab"}, {}, "provider", id="provider"),
    pytest.param(
        {"issuer": "https://ghes.example.com/_services/token"},
        {},
        "issuer",
        id="policy-other-issuer",
    ),
    pytest.param(
        {},
        {"issuer": "https://ghes.example.com/_services/token"},
        "issuer",
        id="token-other-issuer",
    ),
    pytest.param({}, {"repository": "org/repo-b"}, "repository", id="other-repository"),
    pytest.param(
        {"repository_id": "100"},
        {"repository": "org/renamed"},
        "repository_renamed",
        id="renamed",
    ),
    pytest.param(
        {"repository_id": "100"},
        {"repository_id": "200"},
        "repository_id",
        id="recreated",
    ),
    pytest.param(
        {"repository_owner_id": "10"},
        {"repository_owner_id": "20"},
        "repository_owner_id",
        id="owner-taken-over",
    ),
    pytest.param(
        {"repository_id": "100"},
        {"repository": "org/other", "repository_id": "200"},
        "repository",
        id="other-repository-pinned",
    ),
    pytest.param({"branch": "main"}, {"ref": "refs/heads/dev"}, "branch", id="dev"),
    pytest.param({"branch": "main"}, {"ref": "refs/tags/main"}, "branch", id="tag"),
    pytest.param(
        {"branch": "main"}, {"ref": "refs/pull/7/merge"}, "branch", id="pull-request"
    ),
    pytest.param(
        {"branch": "main"}, {"ref": "refs/heads/main-evil"}, "branch", id="suffix"
    ),
    pytest.param(
        {"branch": "main"}, {"ref": "refs/heads/x/main"}, "branch", id="nested"
    ),
    pytest.param({"branch": "main"}, {"ref": "refs/heads/MAIN"}, "branch", id="case"),
    pytest.param({"branch": "main"}, {"ref": "main"}, "branch", id="bare-name"),
    pytest.param(
        {"branch": "release/1.x"},
        {"ref": "refs/heads/release/1.x"},
        None,
        id="branch-with-slash",
    ),
    pytest.param({}, {"event_name": "pull_request_target"}, "event", id="prt"),
    pytest.param({}, {"event_name": "workflow_run"}, "event", id="workflow-run"),
    pytest.param(
        {"allowed_events": ["pull_request_target"]},
        {"event_name": "pull_request_target"},
        None,
        id="prt-allowed",
    ),
    pytest.param(
        {"allowed_events": ["pull_request_target"]},
        {"event_name": "workflow_run"},
        "event",
        id="other-event-allowed",
    ),
    pytest.param({}, {"event_name": "pull_request"}, None, id="pull-request-event"),
    pytest.param({}, {"event_name": "schedule"}, None, id="schedule"),
]


@pytest.mark.parametrize(("policy_fields", "changes", "failed_check"), EVALUATIONS)
def test_evaluate(policy_fields, changes, failed_check):
    evaluation = matching.evaluate(
        make_policy(**policy_fields), replace(IDENTITY, **changes)
    )

    assert evaluation.failed_check == failed_check
    assert evaluation.matched is (failed_check is None)


def test_evaluate_runs_every_check():
    policy = make_policy(enabled=False, branch="dev", repository="org/other")

    evaluation = matching.evaluate(policy, replace(IDENTITY, event_name="workflow_run"))

    assert dict(evaluation.checks) == {
        "policy_enabled": False,
        "provider": True,
        "issuer": True,
        "repository": False,
        "repository_id": True,
        "repository_owner_id": True,
        "branch": False,
        "event": False,
    }


# --- match: the matching policy, or the reason of the closest one ------------------

MATCHES = [
    pytest.param([], "no_policy", id="no-policies"),
    pytest.param([{"enabled": False}], "policy_disabled", id="disabled"),
    pytest.param([{"provider": "gitlab"}], "provider_mismatch", id="provider"),
    pytest.param([{"repository": "org/b"}], "repository_mismatch", id="repository"),
    pytest.param([{"branch": "dev"}], "branch_mismatch", id="branch"),
    pytest.param([{"repository_id": "1"}], "repository_id_mismatch", id="repo-id"),
    pytest.param([{"repository_owner_id": "1"}], "owner_id_mismatch", id="owner-id"),
    pytest.param(
        [{"repository": "org/renamed", "repository_id": "100"}],
        "repository_renamed",
        id="renamed",
    ),
    pytest.param(
        [{"repository": "org/b"}, {"branch": "dev"}],
        "branch_mismatch",
        id="closest-is-branch",
    ),
    pytest.param(
        [{"branch": "dev"}, {"repository": "org/b", "branch": "dev"}],
        "branch_mismatch",
        id="closest-first",
    ),
]


@pytest.mark.parametrize(("policies", "reason"), MATCHES)
def test_match_denied(policies, reason):
    result = matching.match([make_policy(**fields) for fields in policies], IDENTITY)

    assert result.policy is None
    assert result.reason == reason
    assert len(result.evaluations) == len(policies)


def test_match_returns_first_matching():
    denied = make_policy(branch="dev")
    first = make_policy(branch="main")
    second = make_policy()

    result = matching.match([denied, first, second], IDENTITY)

    assert result.policy is first
    assert result.reason == "matched"


def test_match_log_details():
    policy = make_policy(branch="dev")

    details = matching.match([policy], IDENTITY).as_log_details()

    assert details == [
        {
            "policy": str(policy.pk),
            "checks": {
                "policy_enabled": True,
                "provider": True,
                "issuer": True,
                "repository": True,
                "repository_id": True,
                "repository_owner_id": True,
                "branch": False,
            },
        }
    ]


def test_every_check_has_reason():
    policy = make_policy(branch="main")
    identity = replace(IDENTITY, event_name="workflow_run")
    names = {name for name, _ in matching.evaluate(policy, identity).checks}
    renamed = make_policy(repository_id="100")
    names |= {
        name
        for name, _ in matching.evaluate(
            renamed, replace(IDENTITY, repository="org/renamed")
        ).checks
    }

    assert names == set(matching.FAILURE_REASONS)


# --- record_use: pinning on first use ----------------------------------------------


@pytest.mark.django_db
def test_record_use_pins_unpinned(agent):
    policy = factories.make_policy(agent)

    matching.record_use(policy, IDENTITY)
    policy.refresh_from_db()

    assert policy.repository_id == "100"
    assert policy.repository_owner_id == "10"
    assert policy.last_used_at is not None


@pytest.mark.django_db
def test_record_use_keeps_pins(agent):
    policy = factories.make_policy(agent, repository_id="555", repository_owner_id="66")

    matching.record_use(policy, IDENTITY)
    policy.refresh_from_db()

    assert policy.repository_id == "555"
    assert policy.repository_owner_id == "66"


@pytest.mark.django_db
def test_record_use_pins_missing_owner(agent):
    policy = factories.make_policy(agent, repository_id="100")

    matching.record_use(policy, IDENTITY)
    policy.refresh_from_db()

    assert policy.repository_id == "100"
    assert policy.repository_owner_id == "10"


@pytest.mark.django_db
def test_record_use_stale_instance(agent):
    """A concurrent first match that pinned other ids is not overwritten."""
    policy = factories.make_policy(agent)
    stale = TrustPolicy.objects.get(pk=policy.pk)
    TrustPolicy.objects.filter(pk=policy.pk).update(
        repository_id="777", repository_owner_id="77"
    )

    matching.record_use(stale, IDENTITY)
    policy.refresh_from_db()

    assert policy.repository_id == "777"
    assert policy.repository_owner_id == "77"
