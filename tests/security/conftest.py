"""The browser fixtures of tests/e2e, for the browser checks of the pages this area adds."""

from tests.e2e.conftest import (  # noqa: F401 - fixtures, used by name
    browser,
    live_server_port,
    login,
    org_url,
    page,
    screenshot,
)
