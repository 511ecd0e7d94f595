"""The actions' inputs and tuning settings, read from the environment.

A composite action's run step gets no ``INPUT_*`` variables, so action.yml
maps each input to a SENTRYAGENT_* variable in the step's ``env:``.
"""

from __future__ import annotations

import ipaddress
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass

from sentryagent_action import messages
from sentryagent_action.messages import ActionFailed

DEFAULT_REQUEST_TIMEOUT = 15.0  # s, for each HTTP request
DEFAULT_DEADLINE = 120.0  # s, for all the requests of one run
DEFAULT_MAX_ATTEMPTS = 4  # tries of one request, the first included
LOOPBACK_NAMES = ("localhost",)  # host names; the addresses are checked as IPs

_UUID = re.compile(
    r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE
)


@dataclass(frozen=True)
class Settings:
    """Limits on the time the action spends on the network."""

    request_timeout: float  # s
    deadline: float  # s
    max_attempts: int


def read_required(environ: Mapping[str, str], variable: str, input_name: str) -> str:
    value = environ.get(variable, "").strip()
    if not value:
        raise ActionFailed(messages.MISSING_INPUT.render(input=input_name))
    return value


def read_optional(environ: Mapping[str, str], variable: str) -> str:
    return environ.get(variable, "").strip()


def read_api_url(environ: Mapping[str, str]) -> str:
    """Return the api-url input without a trailing slash, or raise ActionFailed.

    The URL must be https, or plain http on a loopback host, and carry no
    credentials, query or fragment.
    """
    raw = read_required(environ, "SENTRYAGENT_API_URL", "api-url")
    try:
        parts = urllib.parse.urlsplit(raw)
        hostname = parts.hostname
        parts.port  # noqa: B018 (raises ValueError on a malformed port)
    except ValueError:
        raise ActionFailed(messages.API_URL_INVALID.render(value=raw)) from None
    if parts.scheme not in ("http", "https") or not hostname:
        raise ActionFailed(messages.API_URL_INVALID.render(value=raw))
    if parts.username is not None or parts.password is not None:
        raise ActionFailed(messages.API_URL_HAS_CREDENTIALS.render())
    if parts.query or parts.fragment or raw.rstrip().endswith(("?", "#")):
        raise ActionFailed(messages.API_URL_HAS_QUERY.render(value=raw))
    if parts.scheme == "http" and not is_loopback(hostname):
        raise ActionFailed(messages.API_URL_NOT_HTTPS.render(value=raw))
    return raw.rstrip("/")


def is_loopback(hostname: str) -> bool:
    """Return whether the host is 127.0.0.1, ::1 or localhost.

    Only these exact hosts are exempt from https, as on the service, and not
    the rest of 127.0.0.0/8.
    """
    if hostname.lower() in LOOPBACK_NAMES:
        return True
    try:
        address = ipaddress.ip_address(hostname)
    except ValueError:
        return False
    return address in (ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1"))


def read_agent_id(environ: Mapping[str, str]) -> str:
    """Return the agent-id input in lower case, or raise ActionFailed."""
    value = read_required(environ, "SENTRYAGENT_AGENT_ID", "agent-id")
    if not _UUID.match(value):
        raise ActionFailed(messages.AGENT_ID_INVALID.render(value=value))
    return value.lower()


def read_settings(environ: Mapping[str, str]) -> Settings:
    """Read the optional tuning variables that a step may set in ``env:``."""
    return Settings(
        request_timeout=read_seconds(
            environ, "SENTRYAGENT_REQUEST_TIMEOUT", DEFAULT_REQUEST_TIMEOUT
        ),
        deadline=read_seconds(environ, "SENTRYAGENT_DEADLINE", DEFAULT_DEADLINE),
        max_attempts=read_count(
            environ, "SENTRYAGENT_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS
        ),
    )


def read_seconds(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not 0 < value <= 3600:
        raise ActionFailed(
            messages.SETTING_INVALID.render(
                name=name,
                value=raw,
                expected="a number of seconds above 0 and up to 3600",
                default=f"{default:g}",
            )
        )
    return value


def read_count(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= 10:
        raise ActionFailed(
            messages.SETTING_INVALID.render(
                name=name,
                value=raw,
                expected="a whole number from 1 to 10",
                default=str(default),
            )
        )
    return int(raw)
