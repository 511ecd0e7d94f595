"""HTTP requests with timeouts, an overall deadline, retries and no redirects.

Every request goes through one urllib opener whose redirect handler follows
nothing, because the requests carry tokens: a redirect would send them to a
host that the workflow did not name.
"""

from __future__ import annotations

import email.utils
import http.client
import json
import random
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message

from sentryagent_action import messages, runner
from sentryagent_action.messages import Failure

MAX_BODY_BYTES = 1024 * 1024  # a larger response is cut, and then fails to parse
READ_CHUNK_BYTES = 64 * 1024
FIRST_BACKOFF = 1.0  # s, doubled after each retry
MAX_BACKOFF = 8.0  # s
MAX_RETRY_AFTER = 60.0  # s, beyond which a Retry-After ends the retries
RETRY_STATUSES = frozenset({429}) | frozenset(range(500, 600))


class DeadlineExceeded(Exception):
    """The overall deadline passed before the request could be sent."""


class TransportError(Exception):
    """A request that got no HTTP response: a timeout or a connection failure."""

    def __init__(self, method: str, url: str, timed_out: bool, detail: str) -> None:
        super().__init__(detail)
        self.method = method
        self.url = url
        self.timed_out = timed_out
        self.detail = detail
        self.attempts = 1

    def failure(self) -> Failure:
        """Return the timeout or connection failure to report for this error."""
        template = messages.TIMED_OUT if self.timed_out else messages.CONNECTION_FAILED
        return template.render(
            method=self.method,
            url=self.url,
            detail=self.detail,
            attempts=messages.count_attempts(self.attempts),
            host=urllib.parse.urlsplit(self.url).hostname or self.url,
        )


@dataclass(frozen=True)
class Response:
    """An HTTP response of any status, 3xx to 5xx included, read in full."""

    method: str
    url: str
    status: int
    headers: Message
    body: bytes

    def json(self) -> object:
        """Return the parsed JSON body, or None if it is not JSON."""
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


@dataclass
class Deadline:
    """The time left for all the requests of one action run."""

    seconds: float
    clock: Callable[[], float] = time.monotonic
    started: float = field(default=0.0)

    def __post_init__(self) -> None:
        self.started = self.clock()

    def remaining(self) -> float:
        return self.seconds - (self.clock() - self.started)

    def timeout(self, request_timeout: float) -> float:
        """Return the timeout for the next request, or raise DeadlineExceeded."""
        remaining = self.remaining()
        if remaining <= 0:
            raise DeadlineExceeded(f"the overall deadline of {self.seconds:g} s passed")
        return min(request_timeout, remaining)


class RejectRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect handler that follows nothing, so a 3xx becomes an HTTPError."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_OPENER = urllib.request.build_opener(RejectRedirects)


def send(request: urllib.request.Request, timeout: float) -> Response:
    """Send one request and read its response, or raise TransportError.

    NOTE: urllib applies the timeout to each socket operation, not to the
    whole exchange, so a server that trickles bytes can take longer. The
    caller's deadline is checked again before each retry.
    """
    method = request.get_method()
    url = request.full_url
    try:
        with _OPENER.open(request, timeout=timeout) as reply:
            return Response(method, url, reply.status, reply.headers, read_body(reply))
    except urllib.error.HTTPError as error:
        body = read_body(error) if error.fp is not None else b""
        return Response(method, url, error.code, error.headers, body)
    except urllib.error.URLError as error:
        reason = error.reason
        timed_out = isinstance(reason, (socket.timeout, TimeoutError))
        detail = f"timed out after {timeout:g} s" if timed_out else str(reason)
        raise TransportError(method, url, timed_out, detail) from None
    except (socket.timeout, TimeoutError):
        raise TransportError(
            method, url, True, f"timed out after {timeout:g} s"
        ) from None
    except (http.client.HTTPException, OSError) as error:
        detail = f"{type(error).__name__}: {error}".rstrip(": ")
        raise TransportError(method, url, False, detail) from None


def read_body(reply: http.client.HTTPResponse | urllib.error.HTTPError) -> bytes:
    chunks = []
    size = 0
    while size < MAX_BODY_BYTES:
        chunk = reply.read(min(READ_CHUNK_BYTES, MAX_BODY_BYTES - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


@dataclass(frozen=True)
class RetryPolicy:
    """How long one request may take and how often it is tried."""

    request_timeout: float  # s, per request
    max_attempts: int


@dataclass(frozen=True)
class Outcome:
    """The last response of a request that may have been retried."""

    response: Response
    attempts: int


def send_with_retries(
    build_request: Callable[[], urllib.request.Request],
    policy: RetryPolicy,
    deadline: Deadline,
    sleep: Callable[[float], None] = time.sleep,
) -> Outcome:
    """Send a request, retrying on connection errors, timeouts, 429 and 5xx.

    ``build_request`` is called for every attempt, so a request that carries a
    GitHub token gets a fresh one each time. Backoff doubles from
    FIRST_BACKOFF up to MAX_BACKOFF, with jitter. A retried response with a
    Retry-After header waits that long instead, and ends the retries if that
    is over MAX_RETRY_AFTER or past the deadline. Other statuses return at
    once. Raises TransportError, with ``attempts`` set, when the last attempt
    got no response.
    """
    attempt = 0
    while True:
        attempt += 1
        request = build_request()
        try:
            timeout = deadline.timeout(policy.request_timeout)
        except DeadlineExceeded as error:
            failure = TransportError(
                request.get_method(), request.full_url, True, str(error)
            )
            failure.attempts = attempt
            raise failure from None
        is_last = attempt >= policy.max_attempts
        try:
            response = send(request, timeout)
        except TransportError as error:
            error.attempts = attempt
            delay = backoff(attempt)
            if is_last or delay >= deadline.remaining():
                raise
            reason = error.detail
        else:
            if response.status not in RETRY_STATUSES or is_last:
                return Outcome(response, attempt)
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            delay = backoff(attempt) if retry_after is None else retry_after
            if delay > MAX_RETRY_AFTER or delay >= deadline.remaining():
                return Outcome(response, attempt)
            reason = f"HTTP {response.status}"
        runner.info(
            f"{request.get_method()} {request.full_url} failed ({reason}); retrying "
            f"in {delay:.1f} s (attempt {attempt + 1} of {policy.max_attempts})."
        )
        sleep(delay)


def backoff(attempt: int) -> float:
    """Return the delay before the retry that follows attempt ``attempt``."""
    delay = min(FIRST_BACKOFF * 2 ** (attempt - 1), MAX_BACKOFF)
    return delay * random.uniform(0.75, 1.0)  # noqa: S311 (jitter, not a secret)


def parse_retry_after(value: str | None) -> float | None:
    """Return the seconds a Retry-After header requests, or None if unusable.

    The header contains either a number of seconds or an HTTP date (RFC 9110,
    section 10.2.3).
    """
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment is None or moment.tzinfo is None:
        return None
    return max(0.0, moment.timestamp() - time.time())
