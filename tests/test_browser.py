"""End to end in a real browser: `deep-research ui` served on a free port, driven with Debian's Chromium.

Screenshots and the measured times go to tests/artifacts/ (git-ignored).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, sync_playwright

from research_agent.settings import Settings
from research_agent.supervisor import WorkerState, read_snapshot, wait_for_state
from tests._process import poll, settings_from_env, spawn, stop
from tests.conftest import cannot_run

CHROMIUM = Path(os.environ.get("RESEARCH_TEST_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(__file__).parent / "artifacts"
QUESTION = "Compare the economies of Chile and Peru"

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def chromium() -> Path:
    """Debian's Chromium; without it the test is skipped, or fails where browser tests must run."""
    if not CHROMIUM.exists():
        cannot_run("browser", f"no Chromium at {CHROMIUM}: apt-get install -y chromium")
    return CHROMIUM


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def ui_env(isolated_env: dict[str, str]) -> dict[str, str]:
    """What `deep-research ui` runs with: offline, with a 1 s pacing so a run can be watched."""
    return {**isolated_env, "RESEARCH_OFFLINE_DELAY": "1"}


@pytest.fixture
def ui_settings(ui_env: dict[str, str]) -> Settings:
    """The settings the UI and its supervisor read (where the supervisor's state file is)."""
    return settings_from_env(ui_env)


@pytest.fixture
def ui_url(ui_env: dict[str, str], ui_settings: Settings, tmp_path: Path) -> Iterator[str]:
    """`deep-research ui` with its supervised worker."""
    port = _free_port()
    log_path = tmp_path / "ui.log"
    log = log_path.open("w")
    process = spawn(["ui", "--port", str(port)], ui_env, tmp_path, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://localhost:{port}"

    def healthy() -> bool:
        assert process.poll() is None, log_path.read_text()
        try:
            return httpx.get(f"{url}/_stcore/health", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    try:
        try:
            poll(healthy, timeout=90, what="the UI to come up", interval=0.1)
        except AssertionError as error:
            raise AssertionError(f"{error}:\n{log_path.read_text()}") from None
        wait_for_state(ui_settings, WorkerState.RUNNING, timeout=90)
        yield url
    finally:
        stop(process, timeout=30)
        log.close()
    assert process.returncode == 0, log_path.read_text()
    assert read_snapshot(ui_settings) is None, "the supervisor stopped its worker"


@pytest.fixture
def browser_page() -> Iterator[Page]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            yield browser.new_page(viewport={"width": 1400, "height": 2600})
        finally:
            browser.close()


def _record(name: str, **figures: float) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / "browser-timings.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    data[name] = {k: round(v, 2) for k, v in figures.items()}
    path.write_text(json.dumps(data, indent=2))


def _screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.mouse.move(700, 5)  # no tooltip over the picture
    page.screenshot(path=str(ARTIFACTS / name))


def _submit(page: Page, url: str) -> float:
    page.goto(url)
    question = page.get_by_role("textbox", name="Question")
    question.wait_for(timeout=60_000)
    question.fill(QUESTION)
    page.get_by_role("button", name="Start research").click()
    started = time.monotonic()
    page.wait_for_url("**/run?run=*", timeout=30_000)
    return started


def _wait_for_report(page: Page) -> None:
    page.wait_for_selector('a[href^="#source-"]', timeout=120_000)
    page.locator('[data-testid="stMarkdownContainer"]').get_by_text("Completed").first.wait_for(
        timeout=30_000
    )


def test_a_question_completes_in_the_browser(ui_url: str, browser_page: Page) -> None:
    page = browser_page
    started = _submit(page, ui_url)
    page.get_by_text("Search 1", exact=True).first.wait_for(timeout=60_000)
    first_card = time.monotonic() - started
    _wait_for_report(page)
    completed = time.monotonic() - started

    assert page.get_by_role("heading", name="Chile", exact=True).is_visible()
    citation = page.locator('a[href="#source-1"]').first
    assert citation.inner_text() == "[1]"
    citation.click()
    page.wait_for_url("**#source-1")
    # The page renders once more when the run ends; wait for the anchor rather than catch it mid-render.
    page.locator("#source-1").wait_for(state="visible", timeout=15_000)
    assert page.get_by_role("button", name="Download report (.md)").is_visible()
    _screenshot(page, "browser-report.png")
    _record("completes", first_search_card_s=first_card, completed_s=completed)


def test_crashing_the_worker_mid_run_does_not_stop_the_run(
    ui_url: str, ui_settings: Settings, browser_page: Page
) -> None:
    page = browser_page
    started = _submit(page, ui_url)
    page.get_by_text("Search 1", exact=True).first.wait_for(timeout=60_000)
    sidebar = page.locator('[data-testid="stSidebar"]')
    page.get_by_role("button", name="Crash the worker").click()
    crashed = time.monotonic() - started
    sidebar.get_by_text("restart", exact=False).first.wait_for(timeout=30_000)
    _screenshot(page, "browser-crashed.png")
    _wait_for_report(page)
    completed = time.monotonic() - started
    snapshot = read_snapshot(ui_settings)
    assert snapshot is not None and snapshot.restarts == 1
    _screenshot(page, "browser-recovered.png")
    _record("crash", crashed_at_s=crashed, completed_s=completed)
