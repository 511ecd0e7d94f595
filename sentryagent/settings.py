"""SentryAgent settings.

Every environment variable is read once here, with django-environ. A ``.env``
file in the project root is read first, for development. App code reads
``django.conf.settings`` at call time and never reads the environment itself.
"""

from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


def _require_url(variable: str, value: str, example: str) -> str:
    """Return ``value`` if it is an https URL, or http on a loopback host."""
    parts = urlsplit(value)
    is_loopback = parts.hostname in LOOPBACK_HOSTS
    if parts.scheme == "https" or (parts.scheme == "http" and is_loopback):
        if parts.hostname and not parts.query and not parts.fragment:
            return value
    raise ImproperlyConfigured(
        f"{variable}={value!r} is not a valid issuer URL. Use an https URL with no "
        f"query or fragment, such as {example!r}. Plain http is allowed only on "
        "127.0.0.1, localhost and ::1."
    )


DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set it to a long random string, such as the "
            "output of: python3 -c 'import secrets; print(secrets.token_urlsafe(50))'"
            ". Only development (DEBUG=true) runs without one."
        )
    SECRET_KEY = "development-only-insecure-secret-key"

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "agents",
    "policies",
    "oidc_exchange",
]

MIDDLEWARE = [
    "sentryagent.request_ids.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Serves what 'manage.py collectstatic' put in STATIC_ROOT (the admin's and
    # Swagger UI's files) under gunicorn.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "sentryagent.database_errors.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "sentryagent.urls"
WSGI_APPLICATION = "sentryagent.wsgi.application"

# Paths have no trailing slash and must work exactly as written.
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
# Keep connections open between requests (seconds), since opening one costs
# more than a whole exchange's queries; checked before each reuse.
DATABASES["default"].setdefault(
    "CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=60)
)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several gunicorn workers write to one SQLite file: wait for the lock
    # instead of failing, and take it when a transaction starts.
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault("timeout", 20)  # s
    DATABASES["default"]["OPTIONS"].setdefault("transaction_mode", "IMMEDIATE")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {
    "default": env.cache("CACHE_URL", default="locmemcache://sentryagent"),
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": f"django.contrib.auth.password_validation.{name}"}
    for name in (
        "UserAttributeSimilarityValidator",
        "MinimumLengthValidator",
        "CommonPasswordValidator",
        "NumericPasswordValidator",
    )
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

LOGIN_URL = "/api-auth/login/"
# Where the browsable API's login page redirects when no ?next= is given.
LOGIN_REDIRECT_URL = "/agents"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "agents.authentication.TenantTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["agents.permissions.IsTenantMember"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "agents.errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # Requests to /oidc/token and /oidc/agents per client address.
    "DEFAULT_THROTTLE_RATES": {
        "oidc": env.str("SENTRYAGENT_RATE_LIMIT", default="600/min"),
    },
    # Proxies in front of the service whose X-Forwarded-For is trusted; with 0
    # the client address is REMOTE_ADDR, which a client cannot forge.
    "NUM_PROXIES": env.int("SENTRYAGENT_NUM_PROXIES", default=0),
}

# The OpenAPI document at /api/schema and Swagger UI at /api/docs. Both are
# public. Swagger UI's files come from drf-spectacular-sidecar, not a CDN.
SPECTACULAR_SETTINGS = {
    "TITLE": "SentryAgent API",
    "DESCRIPTION": (
        "Agents and trust policies of a tenant, and the token exchange that "
        "turns a GitHub Actions OIDC token into a short-lived agent access token."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "AgentStatusEnum": "agents.models.Agent.Status",
    },
    # Separate request components leave out read-only fields and give fields
    # that reject blank strings a minLength of 1.
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "sentryagent.openapi.add_tenant_error_responses",
    ],
}

# Tenant API tokens: knox stores only a SHA-512 digest and shows the token once.
REST_KNOX = {
    "AUTH_HEADER_PREFIX": "Token",
    "TOKEN_TTL": None,  # each token gets its own expiry from create_api_token
}

# Password given to the admin user that 'manage.py create_tenant' creates;
# when empty, the command generates one and prints it.
SENTRYAGENT_ADMIN_PASSWORD = env.str("SENTRYAGENT_ADMIN_PASSWORD", default="")

# Access tokens that SentryAgent issues.
SENTRYAGENT_ISSUER = _require_url(
    "SENTRYAGENT_ISSUER",
    env.str("SENTRYAGENT_ISSUER", default="http://127.0.0.1:8000"),
    example="https://sentryagent.example.com",
).rstrip("/")
SENTRYAGENT_TOKEN_LIFETIME = env.int("SENTRYAGENT_TOKEN_LIFETIME", default=900)  # s
if not 60 <= SENTRYAGENT_TOKEN_LIFETIME <= 3600:
    raise ImproperlyConfigured(
        f"SENTRYAGENT_TOKEN_LIFETIME={SENTRYAGENT_TOKEN_LIFETIME!r} is out of range. "
        "Set a number of seconds from 60 to 3600, such as 900."
    )
# Algorithm of new signing keys: RS256 or ES256. Existing keys keep theirs.
SENTRYAGENT_SIGNING_ALGORITHM = env.str(
    "SENTRYAGENT_SIGNING_ALGORITHM", default="RS256"
)
if SENTRYAGENT_SIGNING_ALGORITHM not in ("RS256", "ES256"):
    raise ImproperlyConfigured(
        f"SENTRYAGENT_SIGNING_ALGORITHM={SENTRYAGENT_SIGNING_ALGORITHM!r} is not "
        "supported. Set RS256 or ES256."
    )

# GitHub's OIDC tokens that SentryAgent accepts.
GITHUB_OIDC_ISSUERS = [
    _require_url(
        "GITHUB_OIDC_ISSUER",
        issuer,
        example="https://token.actions.githubusercontent.com",
    )
    for issuer in env.list(
        "GITHUB_OIDC_ISSUER", default=["https://token.actions.githubusercontent.com"]
    )
]
GITHUB_OIDC_AUDIENCE = env.str("GITHUB_OIDC_AUDIENCE", default=SENTRYAGENT_ISSUER)
if GITHUB_OIDC_AUDIENCE.startswith("https://github.com/") or not GITHUB_OIDC_AUDIENCE:
    # GitHub gives tokens the owner's URL as audience by default, so tokens a
    # workflow requests for any other service would be accepted here too.
    raise ImproperlyConfigured(
        f"GITHUB_OIDC_AUDIENCE={GITHUB_OIDC_AUDIENCE!r} is GitHub's default "
        "audience or empty. Use an audience that names this service, such as "
        "its public URL (the default, SENTRYAGENT_ISSUER)."
    )
GITHUB_OIDC_JWKS_FILE = env.str("GITHUB_OIDC_JWKS_FILE", default="") or None
GITHUB_OIDC_HTTP_TIMEOUT = (2.0, 3.0)  # s, connect and read, per request
GITHUB_OIDC_JWKS_MAX_AGE = 3600  # s, after which cached keys are fetched again
GITHUB_OIDC_JWKS_STALE_AGE = 7 * 24 * 3600  # s, cached keys kept when fetches fail
GITHUB_OIDC_REFRESH_COOLDOWN = 60  # s, between refreshes caused by unknown kids
GITHUB_OIDC_LEEWAY = 60  # s, allowed clock skew on exp, nbf and iat
# NOTE: GitHub does not document the lifetime of its tokens. Every sample seen
# was valid for 300 s; the cap leaves room for longer ones.
GITHUB_OIDC_MAX_LIFETIME = 3600  # s
GITHUB_OIDC_MAX_TOKEN_BYTES = 8 * 1024
SENTRYAGENT_MAX_BODY_BYTES = 16 * 1024

# Logs: one JSON object per line, unless SENTRYAGENT_LOG_FORMAT=plain or
# DEBUG is on. Every line carries the request id.
SENTRYAGENT_LOG_FORMAT = env.str(
    "SENTRYAGENT_LOG_FORMAT", default="plain" if DEBUG else "json"
)
if SENTRYAGENT_LOG_FORMAT not in ("json", "plain"):
    raise ImproperlyConfigured(
        f"SENTRYAGENT_LOG_FORMAT={SENTRYAGENT_LOG_FORMAT!r} is not supported. Set "
        "json or plain."
    )
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "sentryagent.request_ids.RequestIdFilter"},
    },
    "formatters": {
        "plain": {
            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s",
        },
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level"},
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": SENTRYAGENT_LOG_FORMAT,
            "filters": ["request_id"],
        },
    },
    "root": {"handlers": ["console"], "level": "INFO"},
    "loggers": {
        "django.request": {"level": "ERROR"},
    },
}

# Deployments served over https: secure cookies, HSTS and a redirect to https.
# They are on when SENTRYAGENT_ISSUER, the public URL, is https. The health
# endpoints stay reachable over http for load balancers.
SERVES_HTTPS = SENTRYAGENT_ISSUER.startswith("https://")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=SERVES_HTTPS)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SESSION_COOKIE_SECURE = SERVES_HTTPS
CSRF_COOKIE_SECURE = SERVES_HTTPS
SECURE_HSTS_SECONDS = env.int(
    "SECURE_HSTS_SECONDS", default=31_536_000 if SERVES_HTTPS else 0
)  # s
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool(
    "SECURE_HSTS_INCLUDE_SUBDOMAINS", default=SERVES_HTTPS
)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=SERVES_HTTPS)
X_FRAME_OPTIONS = "DENY"
# Behind a TLS-terminating proxy, trust its X-Forwarded-Proto to tell https.
if REST_FRAMEWORK["NUM_PROXIES"] > 0:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
