"""The actions' READMEs and portal pages agree with action.yml and the service."""

import re

import pytest

from oidc_exchange import errors
from tests.actions.harness import ACTION_DIRS, PROJECT_DIR, load_action

DOCS_DIR = PROJECT_DIR / "docs"
PAGES = {
    action: [ACTION_DIRS[action] / "README.md", DOCS_DIR / "actions" / f"{action}.md"]
    for action in ACTION_DIRS
}
CASES = [(action, page) for action, pages in PAGES.items() for page in pages]
CASE_IDS = [f"{action}-{page.name}" for action, page in CASES]


def table_rows(markdown: str, heading: str) -> list[list[str]]:
    """Return the cells of the table under a ``## heading``, header row excluded."""
    section = re.search(rf"^## {heading}\n(.*?)(?=^## |\Z)", markdown, re.S | re.M)
    assert section, f"no '## {heading}' section"
    rows = []
    for line in section.group(1).splitlines():
        if not line.startswith("|"):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        rows.append(cells)
    assert len(rows) >= 2, f"no table under '## {heading}'"
    return rows[2:]


def unquote(cell: str) -> str:
    return cell.strip("`")


@pytest.mark.parametrize(("action", "page"), CASES, ids=CASE_IDS)
def test_inputs_table_matches_action(action, page):
    declared = load_action(action)["inputs"]

    rows = table_rows(page.read_text(), "Inputs")

    documented = {
        unquote(name): (required, default) for name, required, default, _ in rows
    }
    expected = {
        name: (
            "yes" if spec.get("required") else "no",
            "" if "default" not in spec else f'`"{spec["default"]}"`',
        )
        for name, spec in declared.items()
    }
    assert documented == expected


@pytest.mark.parametrize(("action", "page"), CASES, ids=CASE_IDS)
def test_outputs_table_matches_action(action, page):
    declared = load_action(action)["outputs"]

    rows = table_rows(page.read_text(), "Outputs")

    assert [unquote(row[0]) for row in rows] == list(declared)


@pytest.mark.parametrize("action", sorted(ACTION_DIRS))
def test_readme_has_required_sections(action):
    readme = (ACTION_DIRS[action] / "README.md").read_text()

    for heading in ("Prerequisites", "Inputs", "Outputs", "Example", "Troubleshooting"):
        assert f"\n## {heading}\n" in readme
    assert "id-token: write" in readme
    assert "/admin/policies/trustpolicy/add/" in readme
    assert "POST https://sentryagent.example.com/oidc/trust-policies" in readme
    assert "../../../docs/actions/" in readme


def test_readme_example_registers_then_issues():
    readme = (ACTION_DIRS["register-agent"] / "README.md").read_text()
    example = re.search(r"## Example\n.*?```yaml\n(.*?)```", readme, re.S).group(1)

    register = example.index("/register-agent@")
    issue = example.index("/issue-token@")
    assert register < issue
    assert "agent-id: ${{ steps.agent.outputs.agent-id }}" in example


def reason_codes() -> dict[str, int]:
    """Return every reason code the service sends, with its status."""
    codes = {}
    pending = [errors.ExchangeError]
    while pending:
        error_class = pending.pop()
        pending.extend(error_class.__subclasses__())
        codes[error_class.reason] = error_class.status_code
    # Base classes whose own reason code no response carries.
    for generic in ("invalid_request", "invalid_grant", "conflict"):
        codes.pop(generic, None)
    return codes


def test_exchange_api_lists_every_reason_code():
    page = (DOCS_DIR / "exchange-api.md").read_text()
    documented = {
        reason: int(status)
        for status, reason in re.findall(
            r"^\| (\d{3}) \| `[a-z_]+` \| `([a-z_]+)` \|", page, re.M
        )
    }

    assert documented == reason_codes()
