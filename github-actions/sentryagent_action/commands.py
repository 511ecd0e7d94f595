"""Workflow command syntax: escaping and neutralising text for the runner.

The runner treats a line of standard output as a workflow command when it
starts with ``::`` after leading whitespace, for example ``::add-mask::VALUE``.
In a command's data it decodes ``%25``, ``%0D`` and ``%0A``; in a property
value it also decodes ``%3A`` and ``%2C``.
"""

from __future__ import annotations

import re

# Text from the server, from a token or from the workflow is cut to this many
# characters, so that a misbehaving server cannot flood the log.
MAX_TEXT_LENGTH = 2000

# Control characters other than line feed and tab. A carriage return would end
# a line for the runner, and escape sequences would drive a raw log's terminal.
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")

# Secrets that this run has masked, which neutralise() replaces with ***.
_SECRETS: set[str] = set()


def register_secret(secret: str) -> None:
    """Remember a secret, so that neutralise() removes it from any text."""
    if secret:
        _SECRETS.add(secret)


def escape_data(value: str) -> str:
    """Escape the data part of a workflow command, after its second ``::``."""
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    """Escape a property value of a workflow command, such as ``title=``."""
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def neutralise(text: str, max_length: int = MAX_TEXT_LENGTH) -> str:
    """Return text that is safe to print on its own lines of the log.

    Registered secrets become ``***`` before anything else, so that cutting
    the text cannot leave part of a secret that the runner's mask would miss.
    Control characters become spaces, the text is cut to ``max_length``
    characters, and a ``::`` that would start a line (after whitespace, as the
    runner strips it) is broken into ``: :``, so no line of the result is a
    workflow command.
    """
    for secret in sorted(_SECRETS, key=len, reverse=True):
        text = text.replace(secret, "***")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL_CHARACTERS.sub(" ", text)
    if len(text) > max_length:
        text = text[: max_length - 3] + "..."
    lines = []
    for line in text.split("\n"):
        stripped = line.lstrip()
        if stripped.startswith("::"):
            indent = line[: len(line) - len(stripped)]
            line = indent + ": :" + stripped[2:]
        lines.append(line)
    return "\n".join(lines)


def command(name: str, data: str, **properties: str) -> str:
    """Format one workflow command line, escaping its properties and data."""
    rendered = ",".join(
        f"{key}={escape_property(value)}" for key, value in properties.items()
    )
    separator = " " if rendered else ""
    return f"::{name}{separator}{rendered}::{escape_data(data)}"
