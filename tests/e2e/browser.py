"""Browser fixtures for the end-to-end suite: Playwright's sync API driving Debian's Chromium.

- ``browser``: one headless Chromium for the session (Playwright's own browser download is not used).
- ``auth_state``: signs in once through Airflow's real login form; every test reuses the cookies.
- ``page``: a fresh browser context per test, signed in, with ``base_url`` set to the api-server.
- ``shots``: ``shots("step")`` saves a full-page screenshot to ``<artifacts>/screenshots``.

Every test that used ``page`` gets a ``browser screenshots`` section in its report listing the screenshots it
took (shown for failures, and for passes with ``-rP``; also recorded as ``record_property`` entries for
JUnit XML). When a test fails, a last screenshot is taken at the moment of failure, the page's console errors
are attached, and a Playwright trace is saved to ``<artifacts>/traces`` (open it with
``playwright show-trace``).

The module also holds small helpers for Airflow 3's React UI (Chakra UI, Zag.js widgets).
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Locator,
    Page,
    Playwright,
    Response,
    Route,
    StorageState,
    ViewportSize,
    expect,
    sync_playwright,
)

from .stack import ADMIN_USER, VIEWER_USER, AirflowStack

CHROMIUM = Path("/usr/bin/chromium")
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
VIEWPORT: ViewportSize = {"width": 1400, "height": 900}
ACTION_TIMEOUT_MS = 20_000
EXPECT_TIMEOUT_MS = 15_000

_SHOTS = pytest.StashKey["Shots"]()


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_")


class Shots:
    """Numbered screenshots of one test: ``<test>-01-<step>.png``, ``<test>-02-<step>.png``..."""

    def __init__(self, page: Page, folder: Path, test_name: str, record: Callable[[str, object], None]):
        self.page = page
        self.folder = folder
        self.prefix = _safe(test_name)
        self.record = record
        self.paths: list[Path] = []
        self.console_errors: list[str] = []
        self.trace: Path | None = None
        folder.mkdir(parents=True, exist_ok=True)
        # Left by an earlier run of the same test.
        for stale in [*folder.glob(f"{self.prefix}-*.png"), folder.parent / "traces" / f"{self.prefix}.zip"]:
            stale.unlink(missing_ok=True)

    def __call__(self, step: str) -> Path:
        path = self.folder / f"{self.prefix}-{len(self.paths) + 1:02d}-{_safe(step)}.png"
        self.page.screenshot(path=path, full_page=True)
        self.paths.append(path)
        self.record(f"screenshot {len(self.paths):02d}", str(path))
        print(f"screenshot: {path}")
        return path

    def report_section(self) -> str:
        lines = [str(p) for p in self.paths]
        if self.trace is not None:
            lines.append(f"trace: {self.trace}  (playwright show-trace {self.trace})")
        if self.console_errors:
            lines += ["browser console errors:", *(f"  {e}" for e in self.console_errors)]
        return "\n".join(lines)


class _BrowserReports:
    """Plugin registered by the ``browser`` fixture: a failure screenshot and a report section per test.

    ``pytest_runtest_makereport`` runs before fixtures are torn down, so the page is still open.
    """

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        report = yield
        shots = item.stash.get(_SHOTS, None)
        if shots is None or report.when == "teardown":
            return report
        if report.failed:
            shots.trace = shots.folder.parent / "traces" / f"{shots.prefix}.zip"
            try:
                shots(f"FAILED-{report.when}")
            except Exception as exc:  # the page or browser may be what broke
                shots.console_errors.append(f"(no failure screenshot: {exc})")
        if report.when == "call" or report.failed:
            report.sections.append(("browser screenshots", shots.report_section()))
        return report


@pytest.fixture(name="playwright", scope="session")
def playwright_fixture() -> Iterator[Playwright]:
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(name="browser", scope="session")
def browser_fixture(playwright: Playwright, request: pytest.FixtureRequest) -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (scripts/e2e-system-deps.sh)")
    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    plugin = _BrowserReports()
    request.config.pluginmanager.register(plugin, "wfcancel-e2e-browser-reports")
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    try:
        yield browser
    finally:
        browser.close()
        request.config.pluginmanager.unregister(plugin)


def _new_context(browser: Browser, stack: AirflowStack, **kwargs: Any) -> BrowserContext:
    context = browser.new_context(base_url=stack.base_url, viewport=VIEWPORT, **kwargs)
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    return context


def signed_in_state(
    browser: Browser, stack: AirflowStack, artifacts: Path, user: str, password: str
) -> StorageState:
    """Sign in through the SimpleAuthManager login form; returns the storage state (the JWT cookie)."""
    context = _new_context(browser, stack)
    page = context.new_page()
    try:
        page.goto("/")
        expect(page).to_have_url(re.compile(r"/auth/login"))  # the SPA sends anonymous users to the form
        page.get_by_label("Username").fill(user)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("link", name="Dags")).to_be_visible()
        expect(page).not_to_have_url(re.compile(r"/auth/login"))
        return context.storage_state()
    except Exception:
        path = artifacts / "screenshots" / f"session-login-{user}-FAILED.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=path, full_page=True)
        print(f"screenshot: {path}")
        raise
    finally:
        context.close()


@pytest.fixture(name="auth_state", scope="session")
def auth_state_fixture(browser: Browser, stack: AirflowStack, artifacts: Path) -> StorageState:
    """Signed in once as the admin; every test's ``page`` reuses the cookies."""
    return signed_in_state(browser, stack, artifacts, ADMIN_USER, stack.admin_password)


@pytest.fixture(name="viewer_state", scope="session")
def viewer_state_fixture(browser: Browser, stack: AirflowStack, artifacts: Path) -> StorageState:
    """Signed in once as the read-only viewer (``viewer_page``)."""
    return signed_in_state(browser, stack, artifacts, VIEWER_USER, stack.viewer_password)


@pytest.fixture(name="page")
def page_fixture(
    browser: Browser,
    auth_state: StorageState,
    stack: AirflowStack,
    artifacts: Path,
    request: pytest.FixtureRequest,
    record_property: Callable[[str, object], None],
) -> Iterator[Page]:
    yield from _page(browser, auth_state, stack, artifacts, request, record_property)


@pytest.fixture(name="viewer_page")
def viewer_page_fixture(
    browser: Browser,
    viewer_state: StorageState,
    stack: AirflowStack,
    artifacts: Path,
    request: pytest.FixtureRequest,
    record_property: Callable[[str, object], None],
) -> Iterator[Page]:
    """Like ``page``, signed in as the viewer (use one of the two per test: ``shots`` follows it)."""
    yield from _page(browser, viewer_state, stack, artifacts, request, record_property)


def _page(
    browser: Browser,
    state: StorageState,
    stack: AirflowStack,
    artifacts: Path,
    request: pytest.FixtureRequest,
    record_property: Callable[[str, object], None],
) -> Iterator[Page]:
    context = _new_context(browser, stack, storage_state=state)
    context.tracing.start(snapshots=True)
    page = context.new_page()
    shots = Shots(page, artifacts / "screenshots", request.node.name, record_property)
    page.on("pageerror", lambda exc: shots.console_errors.append(f"pageerror: {exc}"))
    page.on("console", lambda msg: shots.console_errors.append(msg.text) if msg.type == "error" else None)
    request.node.stash[_SHOTS] = shots
    try:
        yield page
    finally:
        if shots.trace is not None:  # set when the test failed
            shots.trace.parent.mkdir(parents=True, exist_ok=True)
            context.tracing.stop(path=shots.trace)
            print(f"trace: {shots.trace}")
        else:
            context.tracing.stop()
        context.close()


@pytest.fixture(name="shots")
def shots_fixture(request: pytest.FixtureRequest) -> Shots:
    shots: Shots = request.node.stash[_SHOTS]
    return shots


# --- Airflow UI helpers -------------------------------------------------------------------------------------


def field_group(scope: Locator, label: str) -> Locator:
    """The form field (Chakra ``Field.Root``, role ``group``) whose label reads ``label`` (``*`` if required).

    Needed for fields drawn from a JSON schema (DAG params, ``conn-fields``): their ``<label for>`` does not
    always point at the input, so ``get_by_label`` cannot find them.
    """
    text = re.compile(rf"^\s*{re.escape(label)}\s*\*?\s*$")
    return scope.get_by_role("group").filter(has=scope.page.locator("label").filter(has_text=text))


def open_section(scope: Locator, title: str) -> Locator:
    """Expand the accordion section ``title`` (if collapsed) and return its content.

    Found through the trigger's ``aria-controls``: the content's ``aria-labelledby`` does not name it when the
    title has a space ("Extra Fields"), as the generated id then has one too.
    """
    trigger = scope.get_by_role("button", name=title, exact=True)
    if trigger.get_attribute("aria-expanded") != "true":
        trigger.click()
    expect(trigger).to_have_attribute("aria-expanded", "true")
    content = scope.locator(f'[id="{trigger.get_attribute("aria-controls")}"]')
    expect(content).to_be_visible()
    return content


def toast(page: Page, title: str, text: str | None = None) -> Locator:
    """The first toast notification (role ``status``) with this title (and ``text``, if given).

    The first: while the SPA changes route a toast can briefly be rendered twice (same id, two elements).
    """
    found = page.get_by_role("status").filter(has_text=title)
    return (found if text is None else found.filter(has_text=text)).first


def connection_row(page: Page, conn_id: str) -> Locator:
    return page.get_by_role("row").filter(has=page.get_by_role("cell", name=conn_id, exact=True))


def choose_connection_type(dialog: Locator, hook_name: str) -> None:
    """Pick a type in the Add/Edit Connection dialog's react-select combobox."""
    dialog.get_by_role("combobox", name="Connection Type").click()
    dialog.page.get_by_role("option", name=hook_name, exact=True).click()


TEST_CONNECTION_PATH = "/api/v2/connections/test"
PORTLESS_TEST_BUG = "apache/airflow#73298"


def _port_0_means_no_port(route: Route) -> None:
    body = route.request.post_data_json
    if isinstance(body, dict) and body.get("port") == 0:
        body["port"] = None
    route.continue_(post_data=json.dumps(body))


def _is_portless_test_bug(response: Response) -> bool:
    """Airflow 3.3.x's list-page Test button sends ``port: Number(null)``, i.e. 0, for a connection without a
    port; the API compares that with the stored NULL, sees "a different destination" and answers 400.
    Fixed upstream in the API by PR #73298 (0 counts as no port)."""
    if response.status != 400:
        return False
    body = response.request.post_data_json or {}
    return body.get("port") == 0 and "differs from the stored connection" in response.text()


def click_test_connection(page: Page, conn_id: str, shots: Shots) -> Response:
    """Press the Test button of ``conn_id`` on the Connections list page; returns the API's answer.

    If the press hits the Airflow 3.3 port-0 bug (and nothing else), that is asserted as it shows (a "Bad
    Request" toast), warned about, and the request is retried with the upstream fix applied on the wire
    (``port: 0`` sent as ``null``, which is what the fixed API makes of it), so the rest of the test still
    checks what the provider's hook reports through the UI.
    """
    button = connection_row(page, conn_id).get_by_role("button", name="Test Connection")
    with page.expect_response(lambda r: r.url.endswith(TEST_CONNECTION_PATH)) as answer:
        button.click()
    response = answer.value
    if _is_portless_test_bug(response):
        expect(toast(page, "Test Connection Failed", "Bad Request")).to_be_visible()
        shots(f"test-button-{conn_id}-airflow-port-0-bug")
        warnings.warn(
            f"Airflow's Test button rejects the port-less connection {conn_id!r} (400 'host or port differs', "
            f"{PORTLESS_TEST_BUG}); retried with port 0 sent as null",
            stacklevel=2,
        )
        page.route(f"**{TEST_CONNECTION_PATH}", _port_0_means_no_port)
        with page.expect_response(lambda r: r.url.endswith(TEST_CONNECTION_PATH)) as answer:
            button.click()
        response = answer.value
    return response
