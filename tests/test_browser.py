"""End to end in a real browser: `deep-research ui` served on a free port, driven with Debian's Chromium.

Screenshots and the measured times go to tests/artifacts/ (git-ignored).
"""

from __future__ import annotations

import io
import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import docx
import pytest
from playwright.sync_api import Page, sync_playwright
from pypdf import PdfReader

from research_agent.client import ResearchClient
from research_agent.options import resolve_options
from research_agent.settings import Settings
from research_agent.supervisor import WorkerState, read_snapshot, wait_for_state
from tests._process import cli, settings_from_env
from tests._ui_server import served_ui
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
    with served_ui(ui_env, tmp_path) as url:
        wait_for_state(ui_settings, WorkerState.RUNNING, timeout=90)
        yield url
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
    _downloads_hold_the_report(page)
    _record("completes", first_search_card_s=first_card, completed_s=completed)


def _downloads_hold_the_report(page: Page) -> None:
    """Each download button hands over its file, built when clicked (a deferred download)."""
    files: dict[str, bytes] = {}
    for label in ("Download report (.md)", "PDF", "Word"):
        with page.expect_download(timeout=30_000) as download:
            page.get_by_role("button", name=label).click()
        files[label] = Path(download.value.path()).read_bytes()
        assert download.value.suggested_filename.startswith("research-")
    assert files["Download report (.md)"].startswith(f"# {QUESTION}".encode())
    first_page = PdfReader(io.BytesIO(files["PDF"])).pages[0].extract_text()
    assert first_page.startswith(QUESTION) and "[1]" in first_page
    assert docx.Document(io.BytesIO(files["Word"])).paragraphs[0].text == QUESTION


def test_crashing_the_worker_mid_run_does_not_stop_the_run(
    ui_url: str, ui_settings: Settings, browser_page: Page
) -> None:
    page = browser_page
    started = _submit(page, ui_url)
    page.get_by_text("Search 1", exact=True).first.wait_for(timeout=60_000)
    sidebar = page.locator('[data-testid="stSidebar"]')
    page.get_by_role("button", name="Crash the worker").click()
    sidebar.get_by_role("button", name="Crash it").click()  # the button asks before it kills
    crashed = time.monotonic() - started
    sidebar.get_by_text("restart", exact=False).first.wait_for(timeout=30_000)
    _screenshot(page, "browser-crashed.png")
    _wait_for_report(page)
    completed = time.monotonic() - started
    snapshot = read_snapshot(ui_settings)
    assert snapshot is not None and snapshot.restarts == 1
    _screenshot(page, "browser-recovered.png")
    _record("crash", crashed_at_s=crashed, completed_s=completed)


def test_changes_made_elsewhere_reach_an_open_tab(
    ui_url: str, ui_settings: Settings, browser_page: Page
) -> None:
    """The UI pushes what changed (ui/live_updates.py) instead of every tab polling: a plan approved from
    a client and a worker killed from outside both show up in a tab nobody touches."""
    page = browser_page
    with ResearchClient(ui_settings) as client:
        options, _ = resolve_options(ui_settings)
        run_id = client.submit(QUESTION, options.model_copy(update={"review_plan": True, "max_searches": 2}))
        page.goto(f"{ui_url}/run?run={run_id}")
        page.get_by_text("The plan awaits your approval").wait_for(timeout=60_000)
        client.approve(run_id)
    _wait_for_report(page)  # searching, then the report, with no click in the tab
    snapshot = read_snapshot(ui_settings)
    assert snapshot is not None and snapshot.worker_pid is not None
    os.kill(snapshot.worker_pid, signal.SIGKILL)
    page.locator('[data-testid="stSidebar"]').get_by_text("1 restart").wait_for(timeout=60_000)


# --- untrusted text loads nothing ---------------------------------------------------------------------------


@pytest.fixture
def pixel_server() -> Iterator[tuple[str, list[str]]]:
    """A web server on this machine standing for an attacker's: (its address, the paths asked of it)."""
    asked: list[str] = []

    class Pixel(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/gif")
            self.end_headers()
            self.wfile.write(b"GIF89a\x01\x00\x01\x00\x00\x00\x00;")

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Pixel)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", asked
    finally:
        server.shutdown()
        server.server_close()


def test_a_report_quoting_a_remote_image_makes_the_browser_load_nothing(
    isolated_env: dict[str, str], tmp_path: Path, pixel_server: tuple[str, list[str]], browser_page: Page
) -> None:
    # A document of a folder corpus quotes a tracking pixel; the offline analyst copies the sentence into
    # the report, as a model might. Every viewer's browser would fetch it.
    pixel, asked = pixel_server
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "skerrow.md").write_text(
        "# Skerrow lighthouse\n\n"
        f"The Skerrow lighthouse was first lit in 1841 ![beacon]({pixel}/beacon.png) and its lens came from "
        f'Paris <img src="{pixel}/raw.png">.\n'
    )
    env = {**isolated_env, "RESEARCH_INDEX_DIR": str(tmp_path / "idx")}
    indexed = cli(["index", str(tmp_path / "docs"), "--name", "skerrow"], env, tmp_path)
    assert indexed.returncode == 0, indexed.stderr
    question = "When was the Skerrow lighthouse first lit?"
    ran = cli(["run", question, "--offline", "--corpus", "skerrow", "--id", "pixel"], env, tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert f"{pixel}/beacon.png" in ran.stdout  # the report carries the pixel

    with served_ui(env, tmp_path, "--no-worker") as url:
        page = browser_page
        page.goto(f"{url}/run?run=pixel")
        page.get_by_text("first lit in 1841").first.wait_for(timeout=60_000)
        page.locator("#source-1").wait_for(timeout=15_000)  # the whole report is on the page
        images = page.evaluate("() => [...document.images].map(image => image.src)")
        fetched = page.evaluate("() => performance.getEntriesByType('resource').map(entry => entry.name)")
        _screenshot(page, "browser-hostile-report.png")
    assert [src for src in images if src.startswith(pixel)] == []
    assert [name for name in fetched if name.startswith(pixel)] == []
    assert asked == []
