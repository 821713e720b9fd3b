"""Streamlit server CPU per open browser tab, on a finished run's page and on a live run's page.

`deep-research ui` is served on a free port with its supervised worker (offline models paced at
`PACING` s a request, so a run can be watched). N headless Chromium tabs (Debian's Chromium, driven by
Playwright) open the run page; the CPU time of the Streamlit server process (read from /proc, the
supervisor and the worker are other processes) over a window is set beside the same window with no tab
open. The figure is the difference, per tab, as a share of one core: what each open tab costs the server.
The same tabs are measured while the run is live and once it has finished. A tab also has to keep up: how
long a finished search takes to show in every tab, and how long the worker panel takes to show a SIGKILL
of the worker once the supervisor has written it down. Each tab is its own browser window (a hidden tab's
timers and rendering are throttled by the browser). `--full` measures the same with
RESEARCH_UI_PUSH_UPDATES=false first: every tab polling each second, as before ui/live_updates.py.
"""

from __future__ import annotations

import os
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from _common import Figure, console, quick, report
from playwright.sync_api import Browser, Page, sync_playwright

from research_agent.client import ResearchClient
from research_agent.options import resolve_options
from research_agent.schema import ResearchStatus, SearchState
from research_agent.settings import Settings, default_data_dir
from research_agent.supervisor import WorkerState, read_snapshot, wait_for_state
from tests._process import settings_from_env
from tests._ui_server import served_ui

CHROMIUM = Path(os.environ.get("RESEARCH_TEST_CHROMIUM", "/usr/bin/chromium"))
PACING = 2.0
"""Seconds each offline model request takes: a live run of 5 searches, one at a time, lasts about 25 s."""
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of process `pid` (its threads included), from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def streamlit_pid(parent: int) -> int:
    """The Streamlit server: the child of `deep-research ui` whose command line runs streamlit."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat.rpartition(")")[2].split()[1]) == parent and b"streamlit" in command:
            return int(entry.name)
    raise RuntimeError(f"no streamlit process under {parent}")


def ui_pid(url: str) -> int:
    """The `deep-research ui` process serving `url` (the one listening on its port)."""
    port = url.rpartition(":")[2]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"ui" in command and b"--port" in command and port.encode() in command:
                return int(entry.name)
    raise RuntimeError(f"no `deep-research ui` on port {port}")


def cpu_share(pid: int, seconds: float) -> float:
    """Share of one core process `pid` used over the next `seconds`."""
    start_cpu, start = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return (cpu_seconds(pid) - start_cpu) / (time.monotonic() - start)


def open_tabs(browser: Browser, url: str, count: int, ready: str) -> list[Page]:
    """`count` tabs on `url`, each returned once it shows `ready`."""
    pages = []
    for _ in range(count):
        page = browser.new_context(viewport={"width": 1400, "height": 1800}).new_page()
        page.goto(url)
        page.get_by_text(ready).first.wait_for(timeout=60_000)
        pages.append(page)
    return pages


def wait_all(pages: list[Page], text: str, timeout: float) -> float:
    """Seconds until every tab shows `text` (polled by Playwright in the browser)."""
    start = time.monotonic()
    for page in pages:
        page.get_by_text(text).first.wait_for(timeout=max(1.0, timeout - (time.monotonic() - start)) * 1000)
    return time.monotonic() - start


def poll_until(reached: Callable[[], bool], timeout: float) -> float:
    """`time.monotonic()` when `reached()` first holds (checked every 10 ms)."""
    deadline = time.monotonic() + timeout
    while not reached():
        if time.monotonic() > deadline:
            raise TimeoutError(f"nothing changed in {timeout:g} s")
        time.sleep(0.01)
    return time.monotonic()


def measure(
    server: int, window: float, rounds: int, scenario: Callable[[], None] | None = None
) -> list[float]:
    """`rounds` windows of the server's CPU share; `scenario` runs before each."""
    shares = []
    for _ in range(rounds):
        if scenario:
            scenario()
        shares.append(cpu_share(server, window))
    return shares


def main() -> None:
    if not CHROMIUM.exists():
        console.print(f"[yellow]no Chromium at {CHROMIUM}; skipping ui_tabs[/]")
        return
    figures: list[Figure] = []
    # `--full`: before (every tab polls each second, RESEARCH_UI_PUSH_UPDATES=false) beside after.
    for push in [False, True] if "--full" in sys.argv else [True]:
        figures += scenario(push, tabs=3, window=5.0 if quick() else 10.0)
    report("ui_tabs", figures)


def scenario(push: bool, tabs: int, window: float) -> list[Figure]:
    """A UI server with `RESEARCH_UI_PUSH_UPDATES=push`: its CPU with no tab, then `tabs` tabs on a live
    run, the same tabs once it has finished, and how fast they show a change."""
    mode = "push" if push else "poll (before)"
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        env = {
            "RESEARCH_ENV_FILE": os.devnull,
            "RESEARCH_DATA_DIR": str(root / "data"),
            "RESEARCH_INDEX_DIR": os.environ.get("RESEARCH_INDEX_DIR", str(default_data_dir() / "indexes")),
            "RESEARCH_DATABASE_URL": f"sqlite:///{root / 'ui.sqlite'}",
            "RESEARCH_OFFLINE": "true",
            "RESEARCH_OFFLINE_DELAY": str(PACING),
            "RESEARCH_SEARCH_CONCURRENCY": "1",  # one search at a time: a long live run
            "RESEARCH_UI_PUSH_UPDATES": str(push).lower(),
            "RESEARCH_LOG_LEVEL": "ERROR",
        }
        settings = settings_from_env(env)
        with served_ui(env, root) as url, ResearchClient(settings) as client:
            wait_for_state(settings, WorkerState.RUNNING, timeout=90)
            server = streamlit_pid(ui_pid(url))
            baseline = min(measure(server, window, 1))
            figures = [Figure(f"{mode}: server CPU, no tab open", "% of a core", [100 * baseline])]
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
                )
                try:
                    # The server's first session imports pandas, altair and the rest: not a tab's cost.
                    for page in open_tabs(browser, f"{url}/history", 1, "History"):
                        page.close()
                    options, _ = resolve_options(settings)
                    run_id = client.submit(
                        "Compare the economies of Chile and Peru",
                        options.model_copy(update={"max_searches": 10}),
                    )
                    pages = open_tabs(browser, f"{url}/run?run={run_id}", tabs, "Plan ·")
                    figures += _live(mode, client, server, pages, run_id, window, baseline)
                    wait_all(pages, "Sources", timeout=300)  # the same tabs, now on a finished run
                    time.sleep(5)  # the last full renders settle
                    shares = measure(server, window, 1 if quick() else 2)
                    figures.append(_per_tab(f"{mode}: finished run", shares, baseline, tabs, "≤1 % a tab"))
                    figures.append(_worker_panel(mode, settings, pages))
                finally:
                    browser.close()
    return figures


def _worker_panel(mode: str, settings: Settings, pages: list[Page]) -> Figure:
    """SIGKILL the supervised worker: how long from the supervisor's state file saying so to every tab's
    worker panel showing it."""
    snapshot = read_snapshot(settings)
    assert snapshot is not None and snapshot.worker_pid
    os.kill(snapshot.worker_pid, signal.SIGKILL)
    changed = poll_until(lambda: (read_snapshot(settings) or snapshot).restarts >= 1, 60)
    wait_all(pages, "1 restart", timeout=60)
    return Figure(
        f"{mode}: worker panel, state file changed → shown in all {len(pages)} tabs",
        "s",
        [time.monotonic() - changed],
        target="≤1 s",
    )


def _live(
    mode: str,
    client: ResearchClient,
    server: int,
    pages: list[Page],
    run_id: str,
    window: float,
    baseline: float,
) -> list[Figure]:
    """CPU a tab on the live run's page, then how long a finished search takes to show in every tab."""
    started = client.status(run_id).created_at
    time.sleep(5)  # the tabs' first full renders settle: a page load is not what a tab costs while open
    shares = measure(server, window, 1)
    status = client.status(run_id)
    console.print(f"live run after the window: {status.phase.value}, {len(status.searches)} searches")
    if status.phase.finished:
        console.print("[yellow]the live run ended inside the window: the figure mixes both[/]")
    figures = [_per_tab(f"{mode}: live run", shares, baseline, len(pages), "≤5 % a tab")]
    latencies: list[float] = []
    while not status.phase.finished and len(latencies) < 3:
        at = poll_until(partial(_moved_on, client, run_id, _done(status)), 120)
        status = client.status(run_id)
        if status.phase.finished or not status.searches:
            break
        wait_all(pages, f"{_done(status)} / {len(status.searches)}", timeout=30)
        latencies.append(time.monotonic() - at)
    if latencies:
        figures.append(
            Figure(
                f"{mode}: live run, search done → shown in all {len(pages)} tabs",
                "s",
                latencies,
                target="≤1 s",
            )
        )
    status = client.wait(run_id, timeout=300)
    if started and status.updated_at:
        console.print(f"the live run took {(status.updated_at - started).total_seconds():.0f} s")
    return figures


def _moved_on(client: ResearchClient, run_id: str, done: int) -> bool:
    status = client.status(run_id)
    return status.phase.finished or _done(status) != done


def _done(status: ResearchStatus) -> int:
    return sum(search.state is SearchState.DONE for search in status.searches)


def _per_tab(what: str, shares: list[float], baseline: float, tabs: int, target: str) -> Figure:
    base = baseline
    return Figure(
        f"{what}: server CPU a tab ({tabs} tabs, minus no-tab)",
        "% of a core",
        [100 * max(0.0, s - base) / tabs for s in shares],
        target=target,
        extra={"tabs": tabs, "baseline": base},
    )


if __name__ == "__main__":
    main()
