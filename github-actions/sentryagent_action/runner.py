"""Output to the GitHub Actions runner: the log, masks, outputs and the summary.

Workflow commands and log lines go to standard output and are flushed at
once, so that a mask reaches the runner before any line that contains it.
"""

from __future__ import annotations

import os
import sys
import traceback
import uuid
from collections.abc import Callable, Mapping
from typing import NoReturn

from sentryagent_action import messages
from sentryagent_action.commands import command, neutralise, register_secret
from sentryagent_action.messages import Failure, docs_link

# Shown before every annotation title, so the log shows which tool failed.
TITLE_PREFIX = "SentryAgent: "


def configure_output() -> None:
    """Make standard output UTF-8, whatever the runner's locale."""
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None:
        reconfigure(encoding="utf-8", errors="replace")


def emit(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def add_mask(secret: str) -> None:
    """Ask the runner to replace the secret with *** in the log from now on.

    The secret is also removed from every message this run prints.
    """
    if secret:
        register_secret(secret)
        emit(command("add-mask", secret))


def info(message: str) -> None:
    """Print a plain log line whose text cannot start a workflow command."""
    for line in neutralise(message).split("\n"):
        emit(line)


def write_outputs(outputs: Mapping[str, str], environ: Mapping[str, str]) -> None:
    """Append step outputs to the GITHUB_OUTPUT file in its heredoc format.

    Each value is framed by a random delimiter that it does not contain, so a
    value cannot end its frame early and set other outputs. Raises
    ActionFailed if the file cannot be written.
    """
    path = environ["GITHUB_OUTPUT"]
    frames = []
    for name, value in outputs.items():
        delimiter = f"ghadelimiter_{uuid.uuid4()}"
        while delimiter in value:
            delimiter = f"ghadelimiter_{uuid.uuid4()}"
        frames.append(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
    try:
        with open(path, "a", encoding="utf-8", newline="\n") as output_file:
            output_file.write("".join(frames))
    except OSError as error:
        failure = messages.OUTPUT_WRITE_FAILED.render(
            path=path, error=error.strerror or error
        )
        raise messages.ActionFailed(failure) from None


def append_summary(markdown: str, environ: Mapping[str, str]) -> None:
    """Append Markdown to the job summary, or print a warning if that fails."""
    path = environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        return
    try:
        with open(path, "a", encoding="utf-8", newline="\n") as summary_file:
            summary_file.write(markdown)
    except OSError as error:
        emit(command("warning", f"Cannot write the job summary {path}: {error}"))


def fenced(text: str) -> str:
    """Return text as a Markdown code block that nothing inside can close."""
    longest = 0
    run = 0
    for character in text:
        run = run + 1 if character == "`" else 0
        longest = max(longest, run)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"


def die(
    failure: Failure, action: str, environ: Mapping[str, str] = os.environ
) -> NoReturn:
    """Report the failure as an error annotation and in the summary, then exit 1.

    The annotation carries the cause, the fix and a link to the troubleshooting
    page. The summary shows the same text in a code block, so that text from
    the server cannot add Markdown or HTML to it.
    """
    link = docs_link(failure.anchor, environ)
    text = f"{failure.cause}\n\nHow to fix it: {failure.fix}\n\nSee {link}"
    emit(command("error", text, title=TITLE_PREFIX + failure.title))
    append_summary(f"### {action}: {failure.title}\n\n{fenced(text)}\n\n", environ)
    raise SystemExit(1)


def die_of_bug(
    error: Exception, action: str, environ: Mapping[str, str] = os.environ
) -> NoReturn:
    """Report an unexpected exception: its traceback on stderr, then die()."""
    traceback.print_exc()
    failure = messages.INTERNAL_ERROR.render(error=f"{type(error).__name__}: {error}")
    die(failure, action, environ)


def run_action(
    action: str,
    step: Callable[[Mapping[str, str]], None],
    environ: Mapping[str, str],
) -> int:
    """Run an action's step and turn every failure into an annotation.

    Returns 0 on success; ``die`` and ``die_of_bug`` exit with status 1.
    """
    configure_output()
    try:
        step(environ)
    except messages.ActionFailed as failed:
        die(failed.failure, action, environ)
    except Exception as error:  # noqa: BLE001 (a bug still gets an annotation)
        die_of_bug(error, action, environ)
    return 0
