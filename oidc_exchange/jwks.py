"""GitHub's public keys: fetched, cached and turned into key objects.

Keys come only from the configured issuer's discovery document
(``{issuer}/.well-known/openid-configuration``, then its ``jwks_uri``), or from
``GITHUB_OIDC_JWKS_FILE``. Nothing in a token's header (``jku``, ``x5u``,
``jwk``, ``x5c``) is ever used to find a key.

The fetched JWKS is kept in Django's cache, so several processes share it. A
fetch that fails or returns no usable key never replaces cached keys.
"""

import hashlib
import json
import logging
import time
from pathlib import Path
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.cache import cache
from jose import jwk
from jose.backends.base import Key

from oidc_exchange.errors import KeysUnavailable, UnknownKeyId

logger = logging.getLogger(__name__)

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
# After a failed first fetch, requests wait this long before fetching again,
# so an outage of the issuer does not make every request wait for a timeout.
FAILED_FETCH_BACKOFF = 5  # s

# Key objects built from JWKs, per process, so no request parses a key.
_key_objects: dict[tuple[str, str, str], Key] = {}


class FetchFailed(Exception):
    pass


def get_verification_key(issuer: str, kid: str) -> Key:
    """Return the issuer's public key with this kid.

    Raises UnknownKeyId when the issuer has no such key, even after a refresh,
    and KeysUnavailable when no keys of the issuer can be had at all.
    """
    if settings.GITHUB_OIDC_JWKS_FILE:
        try:
            keys = _keys_from_file(settings.GITHUB_OIDC_JWKS_FILE)
        except (OSError, ValueError, AttributeError) as error:
            logger.error(
                "jwks file unreadable path=%s error=%s: %s",
                settings.GITHUB_OIDC_JWKS_FILE,
                type(error).__name__,
                error,
            )
            raise _keys_unavailable(issuer) from error
    else:
        keys = _cached_keys(issuer, kid)
    for key in keys:
        if key["kid"] == kid:
            return _key_object(key)
    raise UnknownKeyId(
        f"The token's key id {kid!r} is not among the issuer's published keys. "
        "Request a new token from GitHub; if this persists, the issuer may have "
        "rotated its keys."
    )


def _cached_keys(issuer: str, kid: str) -> list[dict]:
    cache_key = "sentryagent:jwks:" + hashlib.sha256(issuer.encode()).hexdigest()
    entry = cache.get(cache_key)

    if entry is None:
        # Concurrent first requests each fetch; after a failure, requests
        # fail fast until the backoff ends.
        failed_key = cache_key + ":failed"
        if cache.get(failed_key):
            raise _keys_unavailable(issuer)
        entry = _refresh(issuer, cache_key)
        if entry is None:
            cache.set(failed_key, 1, FAILED_FETCH_BACKOFF)
            raise _keys_unavailable(issuer)
        return entry["keys"]

    is_stale = time.time() - entry["fetched_at"] > settings.GITHUB_OIDC_JWKS_MAX_AGE
    is_unknown_kid = all(key["kid"] != kid for key in entry["keys"])
    if is_stale or is_unknown_kid:
        # At most one refresh per cooldown window, across processes.
        cooldown_key = cache_key + ":cooldown"
        if cache.add(cooldown_key, 1, settings.GITHUB_OIDC_REFRESH_COOLDOWN):
            entry = _refresh(issuer, cache_key) or entry
    return entry["keys"]


def _refresh(issuer: str, cache_key: str) -> dict | None:
    """Fetch the issuer's keys and cache them; return None when the fetch fails."""
    try:
        keys = fetch_issuer_keys(issuer)
    except FetchFailed as error:
        logger.warning("jwks fetch failed issuer=%s error=%s", issuer, error)
        return None
    entry = {"fetched_at": time.time(), "keys": keys}
    cache.set(cache_key, entry, settings.GITHUB_OIDC_JWKS_STALE_AGE)
    logger.info("jwks fetched issuer=%s keys=%d", issuer, len(keys))
    return entry


def fetch_issuer_keys(issuer: str) -> list[dict]:
    """Fetch the issuer's discovery document, then its JWKS.

    Returns the usable RSA keys. Raises FetchFailed with the cause.
    """
    discovery = _get_json(issuer + "/.well-known/openid-configuration")
    if discovery.get("issuer") != issuer:
        raise FetchFailed(
            f"discovery document names issuer {discovery.get('issuer')!r}"
        )
    jwks_uri = discovery.get("jwks_uri")
    if not isinstance(jwks_uri, str) or not _is_allowed_url(jwks_uri):
        raise FetchFailed(f"discovery document has invalid jwks_uri {jwks_uri!r}")

    document = _get_json(jwks_uri)
    keys = document.get("keys")
    if not isinstance(keys, list):
        raise FetchFailed("JWKS has no 'keys' list")
    usable = [key for key in keys if _is_usable_key(key)]
    if not usable:
        raise FetchFailed("JWKS has no usable RSA key")
    return usable


def _get_json(url: str) -> dict:
    try:
        response = requests.get(
            url,
            timeout=settings.GITHUB_OIDC_HTTP_TIMEOUT,
            allow_redirects=False,
            headers={"Accept": "application/json"},
        )
    except requests.RequestException as error:
        raise FetchFailed(f"GET {url} failed: {type(error).__name__}") from error
    if response.status_code != 200:
        raise FetchFailed(f"GET {url} returned {response.status_code}")
    try:
        document = response.json()
    except ValueError as error:
        raise FetchFailed(f"GET {url} returned invalid JSON") from error
    if not isinstance(document, dict):
        raise FetchFailed(f"GET {url} returned JSON that is not an object")
    return document


def _is_allowed_url(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme == "https":
        return bool(parts.hostname)
    return parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS


def _is_usable_key(key: object) -> bool:
    return (
        isinstance(key, dict)
        and key.get("kty") == "RSA"
        and key.get("use", "sig") == "sig"
        and key.get("alg", "RS256") == "RS256"
        and isinstance(key.get("kid"), str)
        and isinstance(key.get("n"), str)
        and isinstance(key.get("e"), str)
    )


def _keys_from_file(path: str) -> list[dict]:
    """Read a JWKS file; it is read again only when it changes."""
    stat = Path(path).stat()
    return _parse_jwks_file(path, stat.st_mtime_ns, stat.st_size)


_jwks_file_cache: dict[tuple[str, int, int], list[dict]] = {}


def _parse_jwks_file(path: str, mtime_ns: int, size: int) -> list[dict]:
    """Return the usable keys of a JWKS file.

    Raises ValueError when the file is not a JWKS or has no usable RSA key,
    since such a file cannot verify any token.
    """
    cache_key = (path, mtime_ns, size)
    if cache_key not in _jwks_file_cache:
        document = json.loads(Path(path).read_text())
        keys = document.get("keys") if isinstance(document, dict) else None
        if not isinstance(keys, list):
            raise ValueError(f"{path} is not a JWKS: it has no 'keys' list")
        usable = [key for key in keys if _is_usable_key(key)]
        if not usable:
            raise ValueError(f"{path} has no usable RSA key")
        _jwks_file_cache.clear()
        _jwks_file_cache[cache_key] = usable
    return _jwks_file_cache[cache_key]


def _key_object(key: dict) -> Key:
    identity = (key["kid"], key["n"], key["e"])
    key_object = _key_objects.get(identity)
    if key_object is None:
        public = {"kty": "RSA", "kid": key["kid"], "n": key["n"], "e": key["e"]}
        key_object = jwk.construct(public, algorithm="RS256")
        _key_objects[identity] = key_object
    return key_object


def _keys_unavailable(issuer: str) -> KeysUnavailable:
    return KeysUnavailable(
        f"The public keys of issuer {issuer!r} cannot be fetched right now and "
        "none are cached. Retry in a few seconds."
    )
