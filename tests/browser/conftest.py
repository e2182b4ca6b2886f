"""Browser tests: Debian's chromium driven by Playwright against a real `kolam serve` on 127.0.0.1.

Nothing downloads a browser: Playwright launches the chromium at KOLAM_TEST_CHROMIUM (default
/usr/bin/chromium; `apt-get install chromium`). Without it these tests are skipped, unless
KOLAM_TEST_REQUIRE_BROWSER=1 (CI), which makes that an error. Each pytest worker runs one server on SQLite
in a temporary folder; each test makes its own organization, so tests never see each other's data.
Screenshots go to KOLAM_TEST_ARTIFACTS (default test-artifacts/ in the repository).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from kolam.settings import Settings
from kolam.store.db import Database, create_database
from kolam.store.tables import Organization
from tests.factories import Factory, Person

CHROMIUM = os.environ.get("KOLAM_TEST_CHROMIUM", "/usr/bin/chromium")
REQUIRE_BROWSER = os.environ.get("KOLAM_TEST_REQUIRE_BROWSER") == "1"
ARTIFACTS = Path(os.environ.get("KOLAM_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts"))
PASSWORD = "password123"  # what tests.factories gives every person
# Flags that keep chromium from calling out (this machine has no network but the registries).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]

pytestmark = pytest.mark.browser


@dataclass
class LiveServer:
    url: str
    db: Database
    settings: Settings
    factory: Factory
    log: Path

    def org(self) -> Organization:
        return self.factory.org()

    def person(self, org: Organization, role: str = "annotator", skills: tuple[str, ...] = ()) -> Person:
        return self.factory.person(org, role, skills)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A real `kolam serve` (uvicorn, job consumer inside) on a free port, SQLite and blobs in a temp folder."""
    data_dir = tmp_path_factory.mktemp("live")
    port = _free_port()
    env = {**os.environ, "KOLAM_DATA_DIR": str(data_dir), "KOLAM_PORT": str(port), "KOLAM_LOG_LEVEL": "warning"}
    # the queue order stays the import's: a cold start re-ordering it mid-test would change who gets what
    env["KOLAM_PRELABEL_ON_IMPORT"] = "false"
    env.pop("KOLAM_DATABASE_URL", None)
    log = data_dir / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(Path(sys.executable).with_name("kolam")), "serve"], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/api/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"kolam serve did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        settings = Settings(data_dir=data_dir)
        db = create_database(settings.effective_database_url)
        yield LiveServer(url=url, db=db, settings=settings, factory=Factory(db, settings), log=log)
        db.dispose()
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        message = f"no chromium at {CHROMIUM} (apt-get install chromium, or set KOLAM_TEST_CHROMIUM)"
        if REQUIRE_BROWSER:
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def context(browser, live_server: LiveServer) -> Iterator[object]:  # type: ignore[no-untyped-def]
    """A fresh browser profile (no cookies, caches, IndexedDB or service worker) per test."""
    ctx = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 800})
    ctx.set_default_timeout(15_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context):  # type: ignore[no-untyped-def]
    p = context.new_page()
    errors: list[str] = []
    p.on("pageerror", lambda exc: errors.append(str(exc)))
    p.js_errors = errors  # tests may assert there were none
    return p


def sign_in(page, person: Person, org: Organization) -> None:  # type: ignore[no-untyped-def]
    """Sign in through the login page, with the keyboard only."""
    page.goto("/#/login")
    page.get_by_label("E-mail").fill(person.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Organization").fill(org.slug)
    page.keyboard.press("Enter")
    page.wait_for_function("location.hash !== '#/login'")


def screenshot(page, name: str) -> Path:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
