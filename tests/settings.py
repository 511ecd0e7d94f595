"""Settings for the test suite: the project's settings with test-only values."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production")

from sentryagent.settings import *  # noqa: F403
from sentryagent.settings import BASE_DIR, DATABASES

# Tests that start gunicorn share the test database with it, so SQLite's test
# database is a file rather than Django's default in-memory database. The
# file is named after the process, so that test runs in the same checkout at
# the same time do not delete each other's database.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {
        "NAME": str(BASE_DIR / f".pytest-db.sqlite3-{os.getpid()}")
    }

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
