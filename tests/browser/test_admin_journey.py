"""A tenant admin's work in the Django admin, in Chromium, against gunicorn."""

import pytest
import requests
from playwright.sync_api import Page, expect

from agents.models import Agent
from policies.models import TrustPolicy
from tests import factories
from tests.browser.conftest import PASSWORD, set_password_for_gunicorn
from tests.conftest import AUDIENCE, exchange_params

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def admin_user(tenant):
    user = factories.make_tenant_admin(tenant, "acme-admin")
    set_password_for_gunicorn(user)
    return user


def log_in(page: Page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("#user-tools")).to_contain_text(username)


def exchange(live_service, local_issuer, agent_id) -> requests.Response:
    subject_token = local_issuer.mint(aud=AUDIENCE)
    return requests.post(
        f"{live_service.url}/oidc/token",
        data=exchange_params(subject_token, agent_id),
        timeout=10,
    )


def errors_of(page: Page, field: str) -> str:
    return page.locator(f".field-{field} .errorlist").inner_text()


def test_tenant_admin_journey(
    page, live_service, local_issuer, admin_user, tenant, screenshot
):
    base = live_service.url
    log_in(page, base, "acme-admin")

    # Create an agent.
    page.goto(f"{base}/admin/agents/agent/add/")
    page.fill("#id_name", "deployer")
    page.fill("#id_description", "Deploys org/repo-a from its main branch.")
    page.click("input[name=_save]")
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")
    agent = Agent.objects.get(name="deployer")
    assert agent.tenant == tenant

    # A trust policy with an unsupported provider and a URL for a repository.
    # The form offers only GitHub, so the other provider is what a crafted
    # request would send. The page must still explain both errors.
    page.goto(f"{base}/admin/policies/trustpolicy/add/")
    page.evaluate(
        """() => {
            const provider = document.querySelector('#id_provider');
            provider.add(new Option('GitLab', 'gitlab'));
            provider.value = 'gitlab';
        }"""
    )
    page.fill("#id_repository", "https://github.com/org/repo-a")
    page.fill("#id_branch", "main")
    page.select_option("#id_agent", label="deployer")
    page.click("input[name=_save]")
    assert errors_of(page, "provider") == (
        "Unsupported provider 'gitlab'. The only allowed value is 'github'."
    )
    assert errors_of(page, "repository").startswith(
        "Invalid repository 'https://github.com/org/repo-a'. Write it as 'owner/name'"
    )
    screenshot(page, "policy-form-error")
    assert not TrustPolicy.objects.exists()

    # The corrected policy.
    page.select_option("#id_provider", "github")
    page.fill("#id_repository", "org/repo-a")
    page.click("input[name=_save]")
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")
    policy = TrustPolicy.objects.get(repository="org/repo-a")
    assert policy.agent == agent
    assert policy.tenant == tenant

    # A registration policy without a branch, to show its warning in the list.
    factories.make_policy(tenant=tenant, repository="org/tools")

    # An exchange through the API, which pins the policy to the repository ids.
    accepted = exchange(live_service, local_issuer, agent.pk)
    assert accepted.status_code == 200, live_service.output()[-4000:]

    page.goto(f"{base}/admin/policies/trustpolicy/")
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(2)
    wide = rows.filter(has_text="org/tools")
    expect(wide).to_contain_text("any branch, tag or pull request")
    expect(rows.filter(has_text="org/repo-a")).not_to_contain_text("not yet")
    screenshot(page, "policy-list")

    # Disable the policy with the list's action.
    page.check(f"input[name=_selected_action][value='{policy.pk}']")
    page.select_option("select[name=action]", "disable_policies")
    page.click("button[name=index]")
    expect(page.locator(".messagelist")).to_contain_text("Disabled 1 trust policy")
    policy.refresh_from_db()
    assert policy.enabled is False

    denied = exchange(live_service, local_issuer, agent.pk)
    assert denied.status_code == 403, live_service.output()[-4000:]
    assert denied.json()["reason"] == "no_matching_policy"

    # Both exchanges are in the log, newest first, with their outcomes.
    page.goto(f"{base}/admin/oidc_exchange/exchangerecord/")
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("denied 403")
    expect(rows.nth(0)).to_contain_text("failed check: policy_disabled")
    expect(rows.nth(1)).to_contain_text("accepted 200")
    screenshot(page, "exchange-log")

    # The denial's page names the check that failed.
    rows.nth(0).locator("th a").click()
    checks = page.locator(".field-checks_table")
    expect(checks.get_by_role("row", name="policy_enabled FAILED")).to_be_visible()
    expect(checks.get_by_role("row", name="repository passed")).to_be_visible()
    screenshot(page, "exchange-denied")

    # The agent's page lists its policy and both exchanges.
    page.goto(f"{base}/admin/agents/agent/{agent.pk}/change/")
    expect(page.locator("#trust_policies-group")).to_be_visible()
    exchanges = page.locator(".field-recent_exchanges tbody tr")
    expect(exchanges).to_have_count(2)
    screenshot(page, "agent-page")


def test_static_files_served(live_service):
    for path in (
        "/static/admin/css/base.css",
        "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js",
    ):
        response = requests.get(f"{live_service.url}{path}", timeout=10)
        assert response.status_code == 200, path


def test_swagger_ui_renders(page, live_service, screenshot):
    page.goto(f"{live_service.url}/api/docs")

    expect(page.locator(".swagger-ui .title")).to_contain_text("SentryAgent API")
    expect(page.locator(".opblock-summary-path").first).to_be_visible()
    expect(page.get_by_text("/oidc/token", exact=True)).to_be_visible()
    screenshot(page, "api-docs")
