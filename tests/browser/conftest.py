"""Playwright driving Debian's Chromium against SentryAgent under gunicorn.

One browser serves every test of this folder. Each test gets a fresh
context, so no cookies carry over. Playwright downloads no browser here: it launches
/usr/bin/chromium, which .ci/run installs.
"""

import os
from pathlib import Path

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.core.management import call_command
from playwright.sync_api import sync_playwright

from tests.conftest import PROJECT_DIR

CHROMIUM = "/usr/bin/chromium"
# Without the networking flags Chromium keeps calling Google's services,
# which fail on a closed network. Without --no-sandbox it cannot start as root.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 900}
PASSWORD = "correct-horse-battery"

_saved_screenshots: list[Path] = []


def pytest_collection_finish(session):
    """Collect static files before any test starts gunicorn.

    WhiteNoise reads STATIC_ROOT when gunicorn's workers start, and the
    session's gunicorn may be started by a test in another folder, so this
    cannot wait for the first browser test.
    """
    here = Path(__file__).parent
    if any(here in Path(item.path).parents for item in session.items):
        call_command("collectstatic", interactive=False, verbosity=0)


def pytest_terminal_summary(terminalreporter):
    if _saved_screenshots:
        terminalreporter.write_sep("-", "browser screenshots")
        terminalreporter.write_line(f"saved in {_saved_screenshots[0].parent}:")
        for path in _saved_screenshots:
            terminalreporter.write_line(f"  {path.name}")


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    directory = Path(
        os.environ.get("SENTRYAGENT_SCREENSHOT_DIR")
        or PROJECT_DIR / "artifacts" / "screenshots"
    )
    directory.mkdir(parents=True, exist_ok=True)
    return directory


@pytest.fixture
def screenshot(screenshot_dir):
    """Save the page's viewport as ``<name>.png`` in the screenshot folder."""

    def save(page, name: str) -> Path:
        path = screenshot_dir / f"{name}.png"
        page.screenshot(path=str(path))
        _saved_screenshots.append(path)
        return path

    return save


@pytest.fixture(scope="package")
def browser():
    """One Chromium for every test of this folder, closed when they are done.

    Playwright gives each launch a new, empty profile folder.
    """
    with pytest.MonkeyPatch.context() as patch:
        # Playwright's sync API keeps an asyncio loop marked as running on
        # this thread while the browser is open, and Django then raises
        # SynchronousOnlyOperation on ORM calls. No test here runs async code,
        # so the check can be waived until the browser is closed.
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
            )
            yield browser
            browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(10_000)  # ms per action
    page = context.new_page()
    yield page
    context.close()


def set_password_for_gunicorn(user, password: str = PASSWORD) -> None:
    """Give the user a password hash that the service under gunicorn accepts.

    The test settings hash with MD5 for speed, which the service's settings
    do not accept. A PBKDF2 hash with few iterations is accepted, and Django
    re-hashes it at the first login.
    """
    hasher = PBKDF2PasswordHasher()
    user.password = hasher.encode(password, hasher.salt(), iterations=1000)
    user.save(update_fields=["password"])
