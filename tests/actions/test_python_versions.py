"""The actions' code runs on every Python a runner may have, from 3.9 on."""

import ast
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.actions.harness import ACTIONS_CODE_DIR, Reply, run_script
from tests.actions.test_failures import AGENT, AGENT_ID

MINIMUM = (3, 9)


@pytest.mark.parametrize(
    "path",
    sorted(ACTIONS_CODE_DIR.rglob("*.py")),
    ids=lambda path: path.name,
)
def test_syntax_of_minimum_python(path):
    ast.parse(path.read_text(), filename=str(path), feature_version=MINIMUM)


def find_interpreter(name: str) -> str | None:
    """Return the path of an interpreter on PATH or among pyenv's versions.

    pyenv's shims run only the versions that pyenv has selected, so its
    versions folder is searched directly.
    """
    pyenv_root = Path(os.environ.get("PYENV_ROOT", "~/.pyenv")).expanduser()
    candidates = [
        shutil.which(name),
        *sorted(pyenv_root.glob(f"versions/*/bin/{name}")),
    ]
    for candidate in candidates:
        if candidate is None:
            continue
        result = subprocess.run(
            [str(candidate), "-c", "import sys; print(sys.executable)"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if result.returncode == 0 and result.stdout.strip():
            return result.stdout.strip()
    return None


@pytest.mark.parametrize(
    "name", ["python3.9", "python3.10", "python3.12", "python3.13"]
)
def test_register_on_python(name, stub_service, token_endpoint, tmp_path):
    interpreter = find_interpreter(name)
    if interpreter is None:
        pytest.skip(f"{name} is not installed")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    os.symlink(interpreter, bin_dir / "python3")
    stub_service.script("/oidc/agents", Reply(201, AGENT))

    run = run_script(
        "register-agent",
        tmp_path / "run",
        token_endpoint,
        PATH=f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin",
        SENTRYAGENT_API_URL=stub_service.url,
        SENTRYAGENT_AGENT_NAME="release-bot",
    )

    assert run.returncode == 0, run.stdout + run.stderr
    assert run.outputs == {"agent-id": AGENT_ID, "created": "true"}
