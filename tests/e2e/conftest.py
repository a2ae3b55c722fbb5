"""Browser tests: a live server thread and Debian's Chromium driven by Playwright.

Use ``fresh_org`` for committed data (the server thread has its own connection), then
``org_url(fresh_org)`` for its base URL. Screenshots go to ``artifacts/screenshots/``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.db import connections
from django.test.testcases import LiveServerThread

CHROMIUM = "/usr/bin/chromium"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21aa"]
BLOCKING = ("serious", "critical")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


@pytest.fixture(scope="session")
def live_server_port(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        # Static files from the source folders (finders), as `make run` serves them: never
        # a stale copy that `make serve`'s collectstatic left in STATIC_ROOT.
        thread = LiveServerThread("127.0.0.1", StaticFilesHandler, port=0)
        thread.daemon = True
        thread.start()
        thread.is_ready.wait()
        if thread.error:
            raise thread.error
        yield thread.port
        thread.terminate()


@pytest.fixture
def org_url(live_server_port):
    def url(tenant, path: str = "/") -> str:
        return f"http://{tenant.slug}.localhost:{live_server_port}{path}"

    return url


@pytest.fixture(scope="session")
def browser():
    """Chromium for the session. Make runs the browser tests in a pytest process of their own.

    Playwright's sync API keeps an event loop running in this thread, and Django refuses
    database calls from a thread with a running loop unless told they are safe here: the
    loop is Playwright's, never the code under test's (the live server is another thread).
    """
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if previous is None:
            del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="session", autouse=True)
def _end_stray_sessions(django_db_setup, django_db_blocker):
    """Before the test database is dropped, end the sessions that threads of this run left
    open on it (the live server's, greenlets' of Playwright): DROP DATABASE refuses while
    any is connected ("being accessed by other users")."""
    yield
    with django_db_blocker.unblock(), connections["default"].cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    connections.close_all()


@pytest.fixture(autouse=True)
def _close_connections_after_each_test():
    """Close this test's database connections once its fixtures are torn down.

    Playwright switches greenlets, and each greenlet has a context of its own, so a fixture
    torn down after a browser test can get a connection of its own that nothing else would
    close before the test database is dropped. Autouse: set up first, torn down last.
    """
    yield
    connections.close_all()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def screenshot():
    """``screenshot(page, "approvals-queue")`` saves artifacts/screenshots/<name>.png."""

    def take(page, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def login(org_url):
    """``login(page, tenant, username, password)`` signs in through the real login form."""

    def sign_in(page, tenant, username: str, password: str = "pw-for-tests") -> None:
        page.goto(org_url(tenant, "/login/"))
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")

    return sign_in


def axe_blocking(page) -> list[tuple[str, str, list]]:
    """The serious and critical axe-core (WCAG 2.1 A/AA) violations on the whole page, as
    (rule, impact, first targets): the one check every browser test applies, with no
    exceptions. axe-core is the copy bundled in ``axe-playwright-python`` (nothing fetched)."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": AXE_TAGS}})
    return [
        (violation["id"], violation["impact"], [node["target"] for node in violation["nodes"][:3]])
        for violation in results.response["violations"]
        if violation["impact"] in BLOCKING
    ]
