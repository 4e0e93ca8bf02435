"""Browser tests: the pages in real headless Chromium (Debian's ``chromium``), driven by Playwright.

* ``live`` serves the app on a real loopback port with our real database and Redis; the test and the server share
  one container (and one ``ManualClock``), so a test can run the queued jobs (``live.drain()``) and move time.
* ``browser`` is Chromium started with the flags this closed network needs; ``new_page(phone=True)`` gives a
  phone-sized, touch page. Console errors (a CSP violation, a broken script) are collected on ``page.console_errors``.
* ``check_accessibility(page, name)`` runs the vendored axe-core (4.14.1, MPL-2.0) and fails on any serious or
  critical violation; ``screenshot(page, name)`` saves ``test-artifacts/screens/<name>.png`` (and, with
  ``POSTAL_BRIDGE_UPDATE_SCREENS=1``, ``docs/screens/<name>.png``).

Playwright's own browser download cannot run here: ``executable_path`` points at the system Chromium
(``POSTAL_BRIDGE_CHROMIUM`` overrides). Without it the tests skip locally — and fail under CI, where a skipped browser
test would hide a broken page.
"""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import drain, register_hanoi
from tests.fakes.server import LoopbackServer

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "screens"
DOCS_SCREENS = ROOT / "docs" / "screens"
AXE = Path(__file__).resolve().parent / "vendor" / "axe-4.14.1.min.js"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}


def chromium_path() -> str | None:
    explicit = os.environ.get("POSTAL_BRIDGE_CHROMIUM")
    if explicit:
        return explicit
    return shutil.which("chromium") or shutil.which("chromium-browser")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def playwright_browser() -> Iterator[Any]:
    path = chromium_path()
    if not path:
        message = "Chromium is not installed (apt-get install chromium); the browser tests need it"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_FLAGS)
        yield p, browser
        browser.close()


@pytest.fixture
def browser(playwright_browser):
    return playwright_browser[1]


@pytest.fixture
def launch_chromium(playwright_browser):
    """Another Chromium with extra flags (e.g. a fake camera fed from a file); closed after the test."""
    p = playwright_browser[0]
    launched = []

    def launch(extra: list[str]):
        b = p.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_FLAGS + extra)
        launched.append(b)
        return b

    yield launch
    for b in launched:
        b.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Live:
    """The app served on loopback for a browser, with what a test needs to drive it."""

    url: str
    container: Any
    clock: Any
    agency: Any
    contexts: list = field(default_factory=list)

    @property
    def deps(self):
        return self.container.deps

    def drain(self) -> int:
        return drain(self.container)

    def user(self, username: str, role: str, password: str = "mật khẩu thử nghiệm", **where: str):
        """Create a user (counter/admin of HCC-HN unless told otherwise) and return (username, password)."""
        from postal_bridge.services import accounts

        if role in ("counter", "admin") and "agency_code" not in where:
            where["agency_code"] = "HCC-HN"
        accounts.create_user(self.deps, username=username, role=role, password=password, **where)
        return username, password


@pytest.fixture
def live(tmp_path: Path, clean_db: str, redis_url: str, clock) -> Iterator[Live]:
    from postal_bridge import create_app
    from postal_bridge.bootstrap import build
    from postal_bridge.config import Settings
    from workers import runtime

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    settings = Settings.from_env(
        {},
        instance_dir=tmp_path / "instance",
        database_url=clean_db,
        redis_url=redis_url,
        allow_private_callbacks=True,
        sandbox_step_seconds=10.0,
        public_base_url=url,
        env="test",
        secret_key="browser-test-secret",
    )
    container = build(settings, clock=clock)
    runtime.install(container)
    agency = register_hanoi(container.deps)
    with LoopbackServer(create_app(container=container), port=port):
        yield Live(url=url, container=container, clock=clock, agency=agency)
    runtime.install(None)
    container.close()


@pytest.fixture
def new_page(browser, live: Live):
    """``new_page(phone=False, lang=None)``: a fresh browser context (own cookies) and page on the live app."""
    contexts = []

    def make(*, phone: bool = False, context_browser=None, permissions: list[str] | None = None):
        b = context_browser or browser
        options = dict(PHONE if phone else DESKTOP)
        options.update(locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh", base_url=live.url)
        if permissions:
            options["permissions"] = permissions
        context = b.new_context(**options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.console_errors = []  # type: ignore[attr-defined]
        page.on("console", lambda m: _console_error(page, m))
        page.on("pageerror", lambda e: page.console_errors.append(str(e)))
        return page

    yield make
    for c in contexts:
        c.close()


def _console_error(page, message) -> None:
    """Collect console errors, except the browser's note that the page itself answered 4xx (a form re-shown with
    its errors answers 422, a refused sign-in 401: that is the page working, not failing)."""
    if message.type != "error":
        return
    if message.text.startswith("Failed to load resource") and message.location.get("url") == page.url:
        return
    page.console_errors.append(message.text)


def sign_in(page, username: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(password)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_load_state()


def check_accessibility(page, name: str) -> list[dict]:
    """axe-core on the page as it is now: fail on serious or critical violations; return the minor ones."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;true")  # DevTools evaluate: not blocked by our CSP
    result = page.evaluate(
        "async (tags) => { const r = await axe.run(document, {runOnly: {type: 'tag', values: tags}});"
        " return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))})); }",
        AXE_TAGS,
    )
    serious = [v for v in result if v["impact"] in ("serious", "critical")]
    assert serious == [], f"{name}: accessibility violations: {serious}"
    return result


def screenshot(page, name: str, *, full_page: bool = True) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    if os.environ.get("POSTAL_BRIDGE_UPDATE_SCREENS") == "1":
        DOCS_SCREENS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOCS_SCREENS / f"{name}.png")
    return path
