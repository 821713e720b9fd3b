"""A worker killed with SIGKILL while it reads a web page: the pages read before are never fetched again,
the one cut off is read again, and the run finishes with its report grounded in the pages.

The local web holds one page's request unanswered, so the kill lands in the middle of reading it (no
timing guesswork); the pages before it were read and recorded as steps by then, one after another.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from research_agent.client import ResearchClient
from research_agent.localweb import LocalWeb
from research_agent.options import resolve_options
from research_agent.schema import Phase

from ._process import kill, poll, read_executions, settings_from_env, start_worker

pytestmark = pytest.mark.crash
QUESTION = "When was the Skerrow Point lighthouse first lit?"
HELD = "/skerrow-light/lens.html"
"""A page the run reads after others (the search ranks it third)."""


@pytest.fixture
def web() -> Iterator[LocalWeb]:
    with LocalWeb() as local:
        yield local


def test_a_kill_mid_fetch_reads_no_recorded_page_twice(
    crash_env: dict[str, str], tmp_path: Path, workers: list[subprocess.Popen[str]], web: LocalWeb
) -> None:
    env = {
        **crash_env,
        "RESEARCH_SEARCH_BACKEND": "searxng",
        "RESEARCH_SEARXNG_URL": web.url,
        "RESEARCH_ALLOW_PRIVATE_URLS": "true",
    }
    settings = settings_from_env(env)
    web.hold(HELD)
    first = start_worker(env, tmp_path)
    workers.append(first)
    with ResearchClient(settings) as client:
        options, _ = resolve_options(settings)
        run_id = client.submit(QUESTION, options, run_id="crash-pages")
        poll(lambda: web.requests_to(HELD) == 1, 120, "the worker to start reading the held page")
        # What the local web served before the kill: the search and the pages read (and recorded) so far.
        read_before = {path for path in web.request_counts() if path not in ("/search", HELD)}
        kill(first)
        web.release()
        workers.append(start_worker(env, tmp_path))
        status = client.wait(run_id, timeout=120)

    assert status.phase is Phase.COMPLETED and status.report is not None
    assert read_before, "pages were read and recorded before the kill"
    for path in read_before:
        assert web.requests_to(path) == 1, f"{path} was read before the kill and fetched again"
    assert web.requests_to(HELD) == 2, "the page cut off mid-read is read again"
    ends = [e for e in read_executions(env) if e["kind"] == "page" and e["stage"] == "end"]
    assert len(ends) == len({e["url"] for e in ends}), "a recorded page step ran to its end twice"
    assert "1841" in status.report.body
    assert status.citations is not None and status.citations.clean and status.citations.against_pages
