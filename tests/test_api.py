"""The HTTP API (`deep-research serve`), used as a program uses it: httpx and an SSE client against a live
server on 127.0.0.1, a worker subprocess running the runs offline.

One worker and one API server (with a bearer token) serve the whole module; each test starts its own runs.
"""

from __future__ import annotations

import io
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from docx import Document
from pypdf import PdfReader
from typer.testing import CliRunner, Result

from research_agent.api import create_app
from research_agent.api.feed import StatusFeed, _Followed
from research_agent.cli import app
from research_agent.client import ResearchClient
from research_agent.database import executor_is_busy
from research_agent.naming import analyze_workflow_id
from research_agent.schema import AnalysisOutcome, Phase, ReportTextChunk, ResearchStatus
from research_agent.settings import get_settings

from ._api_server import TOKEN, ApiServer, Followed, auth, follow_to_end, read_events, served_api
from ._process import QUESTIONS, kill_all, poll, settings_from_env, spawn, start_worker
from ._ui_server import free_port

pytestmark = pytest.mark.slow  # a worker and the API in subprocesses


@pytest.fixture(scope="module")
def api_env(tmp_path_factory: pytest.TempPathFactory, index_dir: Path) -> dict[str, str]:
    root = tmp_path_factory.mktemp("api")
    return {
        "RESEARCH_ENV_FILE": "/dev/null",
        "RESEARCH_DATA_DIR": str(root / "data"),
        "RESEARCH_INDEX_DIR": str(index_dir),
        "RESEARCH_DATABASE_URL": f"sqlite:///{root / 'api.sqlite'}",
        "RESEARCH_OFFLINE": "true",
        "RESEARCH_OFFLINE_DELAY": "0.02",
        "RESEARCH_QUEUE_POLL_INTERVAL": "0.05",
        "RESEARCH_API_TOKEN": TOKEN,
    }


@pytest.fixture(scope="module")
def api(api_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    root = tmp_path_factory.mktemp("api-server")
    worker = start_worker(api_env, root)
    try:
        with served_api(api_env, root) as server:
            yield server
    finally:
        kill_all([worker])


@pytest.fixture
def http(api: ApiServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api.url, headers=auth(), timeout=30) as client:
        yield client


def submit(http: httpx.Client, run_id: str, question: str = QUESTIONS[0], **options: Any) -> dict[str, Any]:
    answer = http.post("/runs", json={"question": question, "run_id": run_id, **options})
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


def assert_error(answer: httpx.Response, status: int, code: str, *words: str) -> None:
    """`answer` is an error in the API's one shape, with `status`, `code` and a message holding `words`."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert list(body) == ["error"] and sorted(body["error"]) == ["code", "message"], body
    assert body["error"]["code"] == code, body
    for word in words:
        assert word in body["error"]["message"], body


def assert_every_event_once(followed: Followed) -> None:
    """Status events numbered 1, 2, ... N with no gap and no repeat, N the final status's number."""
    assert followed.end is not None
    assert followed.ids == list(range(1, len(followed.ids) + 1)), followed.ids
    assert followed.ids[-1] == followed.end["sequence"]
    assert [status["sequence"] for _, status in followed.statuses] == followed.ids


def test_submit_follow_the_events_and_read_the_report(
    http: httpx.Client, api: ApiServer, api_env: dict[str, str]
) -> None:
    submitted = submit(http, "api-follow")
    assert submitted["created"] is True and submitted["events"] == "/runs/api-follow/events"
    assert submitted["status"]["options"]["offline"] is True

    followed = follow_to_end(api.url, "api-follow")
    assert followed.connections == 1
    assert_every_event_once(followed)
    phases = [status["phase"] for _, status in followed.statuses]
    assert phases[0] == "PLANNING" and "SEARCHING" in phases and phases[-1] == "COMPLETED"
    assert followed.end is not None and followed.end["phase"] == "COMPLETED"

    report = http.get("/runs/api-follow/report").json()
    assert report["body"] == followed.end["report"]["body"] and report["sources"]
    assert http.get("/runs/api-follow").json()["phase"] == "COMPLETED"
    listed = http.get("/runs", params={"phase": "COMPLETED", "limit": 100}).json()
    assert "api-follow" in [run["run_id"] for run in listed]

    # The stream is the run's record in the database: it equals what the workflow published, step by step.
    with ResearchClient(settings_from_env(api_env)) as client:
        published = client.published_statuses({"api-follow": -1})
        pieces = client.report_text({"api-follow": -1})
        draft: AnalysisOutcome = client._client.retrieve_workflow(
            analyze_workflow_id("api-follow")
        ).get_result()
    assert [status.sequence for _, _, status in published if status] == followed.ids

    # The report's text came in pieces while the analyst wrote it: the draft, before its citations were
    # numbered for the report; ids say how far both kinds of event have come.
    assert len(followed.texts) == len(pieces) > 1
    assert [number for number, _ in followed.texts] == list(range(1, len(pieces) + 1))
    assert followed.report_text == draft.report.body
    assert followed.last_id == f"{followed.ids[-1]}.{len(pieces)}"
    analyzing = phases.index("ANALYZING")
    assert followed.events_before_text == analyzing + 1 and phases[-1] == "COMPLETED"


def test_a_client_that_reconnects_with_last_event_id_misses_nothing_and_gets_nothing_twice(
    http: httpx.Client, api: ApiServer
) -> None:
    submit(http, "api-reconnect", QUESTIONS[1])
    followed = read_events(api.url, "api-reconnect", Followed(), limit=2)  # then the connection drops
    assert followed.ids == [1, 2] and followed.end is None

    follow_to_end(api.url, "api-reconnect", followed=followed)  # sends Last-Event-ID: 2
    assert followed.connections == 2
    assert_every_event_once(followed)

    # ?after=N is the same offset in the URL; a client that has everything of an ended run gets 204.
    later = read_events(api.url, "api-reconnect", Followed(), headers={}, limit=None)
    assert later.ids == followed.ids
    tail = http.get("/runs/api-reconnect/events", params={"after": followed.ids[-2]})
    pieces = len(followed.texts)
    assert [line for line in tail.text.splitlines() if line.startswith("id:")] == [
        *(f"id: {followed.ids[-2]}.{piece}" for piece in range(1, pieces + 1)),  # ?after=N: all the text
        f"id: {followed.ids[-1]}.{pieces}",
    ]
    assert "event: end" in tail.text
    done = http.get("/runs/api-reconnect/events", headers={"Last-Event-ID": followed.last_id or ""})
    assert done.status_code == 204

    # Reconnecting in the middle of the report's text ("N.T") gets the pieces after T, then the statuses
    # after N: together with what came before, the same text.
    assert len(followed.texts) >= 2 and followed.last_id == f"{followed.ids[-1]}.{len(followed.texts)}"
    analyzing = followed.ids[-2]
    resumed = read_events(api.url, "api-reconnect", Followed(last_id=f"{analyzing}.1"), limit=None)
    assert [number for number, _ in resumed.texts] == list(range(2, len(followed.texts) + 1))
    assert resumed.ids == [followed.ids[-1]]
    assert [chunk for _, chunk in followed.texts[:1] + resumed.texts] == [c for _, c in followed.texts]
    assert_error(
        http.get("/runs/api-reconnect/events", headers={"Last-Event-ID": "three"}),
        400,
        "bad_request",
        "N or N.T",
    )


def test_submit_is_idempotent_by_run_id(http: httpx.Client) -> None:
    first = submit(http, "api-same", QUESTIONS[2])
    again = http.post("/runs", json={"question": QUESTIONS[2], "run_id": "api-same"})
    assert again.status_code == 200, again.text
    assert again.json()["created"] is False and again.json()["run_id"] == first["run_id"]
    assert_error(
        http.post("/runs", json={"question": QUESTIONS[3], "run_id": "api-same"}),
        409,
        "conflict",
        "another question",
        "choose another run_id",
    )
    listed = http.get("/runs", params={"limit": 1000}).json()
    assert [run["run_id"] for run in listed].count("api-same") == 1


def test_a_token_is_required_and_checked(api: ApiServer) -> None:
    with httpx.Client(base_url=api.url, timeout=30) as anonymous:
        missing = anonymous.get("/runs")
        assert_error(missing, 401, "unauthorized", "Authorization: Bearer")
        assert missing.headers["www-authenticate"] == "Bearer"
        assert_error(anonymous.get("/runs/x/events"), 401, "unauthorized")
        wrong = anonymous.get("/runs", headers=auth("not-the-token-at-all"))
        assert_error(wrong, 401, "unauthorized", "wrong")
        assert anonymous.get("/runs", headers=auth()).status_code == 200
        # The health check and the schema are open; the schema shows every endpoint and the bearer scheme.
        assert anonymous.get("/health").json()["worker_alive"] is True
        schema = anonymous.get("/openapi.json").json()
        assert {"/runs", "/runs/{run_id}", "/runs/{run_id}/events", "/runs/{run_id}/approve"} <= set(
            schema["paths"]
        )
        assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
        assert anonymous.get("/docs").status_code == 200


def test_bodies_over_the_limit_are_refused_whether_declared_or_streamed(http: httpx.Client) -> None:
    huge = b'{"question": "' + b"a" * 300_000 + b'"}'
    declared = http.post("/runs", content=huge, headers={"content-type": "application/json"})
    assert_error(declared, 413, "payload_too_large", "262,144 bytes")

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(huge), 16_384):
            yield huge[start : start + 16_384]

    streamed = http.post("/runs", content=chunks(), headers={"content-type": "application/json"})
    assert "content-length" not in streamed.request.headers
    assert_error(streamed, 413, "payload_too_large")
    assert_error(http.post("/runs/x/cancel", content=huge), 413, "payload_too_large")


def test_bad_input_gets_one_error_shape_naming_the_fix(http: httpx.Client) -> None:
    assert_error(http.get("/runs/no-such-run"), 404, "not_found", "'no-such-run'", "GET /runs")
    assert_error(http.get("/runs/bad id!"), 400, "invalid_run_id", "letters, digits")
    assert_error(http.get("/runs/x-plan"), 400, "invalid_run_id", "child suffix")
    assert_error(
        http.post("/runs", json={"question": "why " * 600}),
        422,
        "invalid_input",
        "over the limit of 2000",
        "shorten it",
    )
    assert_error(http.post("/runs", json={"question": ""}), 422, "invalid_input", "the question is empty")
    assert_error(
        http.post("/runs", json={"question": QUESTIONS[0], "ofline": True}),
        422,
        "invalid_input",
        "body.ofline",
        "/docs",
    )
    assert_error(
        http.post("/runs", json={"question": QUESTIONS[0], "max_requests": 0}),
        422,
        "invalid_input",
        "--max-requests must be above 0",
    )
    assert_error(
        http.post("/runs", content=b"{not json", headers={"content-type": "application/json"}),
        422,
        "invalid_input",
    )
    assert_error(http.get("/runs", params={"limit": 0}), 422, "invalid_input", "query.limit")
    assert_error(http.get("/nowhere"), 404, "not_found", "/docs")
    assert_error(http.delete("/runs"), 405, "method_not_allowed")
    assert_error(http.post("/runs/no-such-run/cancel"), 404, "not_found")
    assert_error(http.get("/runs/no-such-run/events"), 404, "not_found")


def test_plan_review_and_the_controls_of_a_run(http: httpx.Client, api: ApiServer) -> None:
    submit(http, "api-review", QUESTIONS[4], review_plan=True)
    waiting = read_events(api.url, "api-review", Followed(), limit=2)
    assert waiting.statuses[-1][1]["phase"] == "AWAITING_APPROVAL"
    assert_error(http.post("/runs/api-review/finish"), 409, "conflict", "not searching")
    plan = waiting.statuses[-1][1]["plan"]
    plan["search_steps"] = plan["search_steps"][:1]
    plan["search_steps"][0]["query"] = "Brazil exports and trade partners"
    approved = http.post("/runs/api-review/approve", json={"plan": plan})
    assert approved.status_code == 200, approved.text
    followed = follow_to_end(api.url, "api-review", followed=waiting)
    assert_every_event_once(followed)
    assert followed.end is not None and followed.end["phase"] == "COMPLETED"
    assert followed.end["plan_review"] == "edited" and len(followed.end["searches"]) == 1
    assert_error(http.post("/runs/api-review/approve"), 409, "conflict", "not awaiting approval")

    submit(http, "api-reject", QUESTIONS[5], review_plan=True)
    read_events(api.url, "api-reject", Followed(), limit=2)
    assert http.post("/runs/api-reject/reject").status_code == 200
    assert follow_to_end(api.url, "api-reject").end["phase"] == "CANCELLED"  # type: ignore[index]

    # Cancel a run waiting for its review, then resume it: the stream of the resumed run goes on.
    submit(http, "api-cancel", QUESTIONS[6], review_plan=True)
    before = read_events(api.url, "api-cancel", Followed(), limit=2)
    assert http.post("/runs/api-cancel/cancel").json()["phase"] == "CANCELLED"
    cancelled = follow_to_end(api.url, "api-cancel", followed=before)
    assert cancelled.no_content  # it had every status already, and the run has ended
    assert http.post("/runs/api-cancel/resume").status_code == 200
    poll(
        lambda: http.get("/runs/api-cancel").json()["phase"],
        timeout=30,
        what="the resumed run to await approval again",
        holds=lambda phase: phase == "AWAITING_APPROVAL",
    )
    assert http.post("/runs/api-cancel/approve").status_code == 200
    resumed = follow_to_end(api.url, "api-cancel", followed=Followed(statuses=before.statuses))
    assert resumed.end is not None and resumed.end["phase"] == "COMPLETED"
    assert len(set(resumed.ids)) == len(resumed.ids) and resumed.ids == sorted(resumed.ids)

    # Retry needs a failed or skipped search; rewrite writes a new report from the same searches.
    assert_error(http.post("/runs/api-review/retry"), 409, "conflict", "no failed or skipped search")
    rewritten = http.post("/runs/api-review/rewrite", json={"instructions": "Be brief"})
    assert rewritten.status_code == 201, rewritten.text
    new_id = rewritten.json()["run_id"]
    assert rewritten.json()["events"] == f"/runs/{new_id}/events"
    assert follow_to_end(api.url, new_id).end["rewrite"]["original_run_id"] == "api-review"  # type: ignore[index]
    assert_error(
        http.post("/runs/api-review/rewrite", json={"instructions": "  "}), 422, "invalid_input", "empty"
    )
    assert_error(http.post("/runs/api-review/report"), 405, "method_not_allowed")


def test_the_report_of_an_unfinished_run_is_a_clear_conflict(http: httpx.Client, api: ApiServer) -> None:
    submit(http, "api-early", QUESTIONS[7], review_plan=True)
    read_events(api.url, "api-early", Followed(), limit=2)
    assert_error(http.get("/runs/api-early/report"), 409, "no_report", "AWAITING_APPROVAL", "/events")
    http.post("/runs/api-early/reject")


def test_serve_refuses_to_expose_the_api_without_a_strong_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In process, as the console script runs it: the refusal comes before any socket is served."""

    def serve(*args: str, token: str | None = None) -> Result:
        if token is not None:
            monkeypatch.setenv("RESEARCH_API_TOKEN", token)
        monkeypatch.setenv("RESEARCH_DATABASE_URL", f"sqlite:///{tmp_path / 'x.sqlite'}")
        get_settings.cache_clear()
        return CliRunner().invoke(app, ["serve", "--port", str(free_port()), "--no-worker", *args])

    exposed = serve("--host", "0.0.0.0")
    assert exposed.exit_code == 2, exposed.output
    assert "needs RESEARCH_API_TOKEN" in exposed.stderr and "serve on 127.0.0.1" in exposed.stderr
    weak = serve(token="short")
    assert weak.exit_code == 2 and "at least 16" in weak.stderr


def test_without_a_token_only_loopback_names_are_answered(
    tmp_path: Path, isolated_env: dict[str, str]
) -> None:
    """No token: a request addressed to another name (a page whose DNS now points here) is refused."""
    settings = settings_from_env(
        {**isolated_env, "RESEARCH_DATABASE_URL": f"sqlite:///{tmp_path / 'o.sqlite'}"}
    )
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="error")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        poll(lambda: server.started, timeout=30, what="the in-process API to start")
        url = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{url}/runs").json() == []
        assert httpx.get(f"http://localhost:{port}/runs").status_code == 200
        rebound = httpx.get(f"{url}/runs", headers={"Host": f"attacker.example:{port}"})
        assert_error(rebound, 403, "forbidden", "RESEARCH_API_TOKEN")
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def test_the_server_stops_its_worker_when_it_stops(api_env: dict[str, str], tmp_path: Path) -> None:
    """`serve` without --no-worker supervises a worker, and stops it on SIGTERM (no worker is left behind)."""
    env = {
        **api_env,
        "RESEARCH_DATABASE_URL": f"sqlite:///{tmp_path / 'own.sqlite'}",
        "RESEARCH_DATA_DIR": str(tmp_path),
    }
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        process = spawn(["serve", "--port", str(port)], env, tmp_path, stdout=out, stderr=subprocess.STDOUT)
    try:
        poll(
            lambda: _health(port),
            timeout=60,
            what="the API and its worker",
            holds=lambda answer: answer is not None and answer["worker_alive"],
        )
        poll(lambda: "worker │ worker " in log.read_text(), timeout=60, what="the worker to be ready")
        process.terminate()
        assert process.wait(timeout=60) == 0, log.read_text()
        assert "worker stopped" in log.read_text()
        assert not executor_is_busy(settings_from_env(env))  # no worker holds the executor any more
    finally:
        kill_all([process])


def _health(port: int) -> dict[str, Any] | None:
    try:
        answer: dict[str, Any] = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).json()
        return answer
    except httpx.TransportError:
        return None


def test_a_finished_run_exports_as_markdown_pdf_and_word(http: httpx.Client, api: ApiServer) -> None:
    submit(http, "api-export", QUESTIONS[8])
    end = follow_to_end(api.url, "api-export").end
    assert end is not None and end["phase"] == "COMPLETED"
    source = end["report"]["sources"][0]["title"]

    markdown = http.get("/runs/api-export/export", params={"format": "md"})
    assert markdown.headers["content-type"].startswith("text/markdown")
    assert end["report"]["body"].splitlines()[0] in markdown.text and source in markdown.text

    pdf = http.get("/runs/api-export/export", params={"format": "pdf"})
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"] == 'attachment; filename="research-api-export.pdf"'
    pages = PdfReader(io.BytesIO(pdf.content)).pages
    text = " ".join(" ".join(page.extract_text().split()) for page in pages)
    assert QUESTIONS[8] in text and " ".join(source.split()) in text

    word = http.get("/runs/api-export/export", params={"format": "docx"})
    paragraphs = "\n".join(p.text for p in Document(io.BytesIO(word.content)).paragraphs)
    assert QUESTIONS[8] in paragraphs and source in paragraphs

    assert_error(
        http.get("/runs/api-export/export", params={"format": "odt"}), 422, "invalid_input", "query.format"
    )
    submit(http, "api-export-early", QUESTIONS[9], review_plan=True)
    read_events(api.url, "api-export-early", Followed(), limit=2)
    assert_error(http.get("/runs/api-export-early/export"), 409, "no_report")
    http.post("/runs/api-export-early/reject")


class _OneTick:
    """A client whose one read holds a run's ANALYZING and COMPLETED statuses together, its workflow not yet
    ended (a slow tick, a fast analyst), and the text the analyst wrote between them."""

    def finished(self, run_ids: list[str]) -> list[str]:
        return []

    def published_statuses(self, after: dict[str, int]) -> list[tuple[str, int, ResearchStatus | None]]:
        return [
            ("r", step, ResearchStatus(run_id="r", question="q", phase=phase, sequence=sequence))
            for step, sequence, phase in (
                (3, 1, Phase.SEARCHING),
                (8, 2, Phase.ANALYZING),
                (9, 3, Phase.COMPLETED),
            )
        ]

    def report_text(self, after: dict[str, int]) -> list[tuple[str, int, ReportTextChunk | None]]:
        return [("r", 0, ReportTextChunk(attempt="a", at=0, text="The report."))] if "r" in after else []


def test_text_read_in_the_same_tick_as_the_final_status_comes_before_it() -> None:
    feed = StatusFeed(_OneTick())  # type: ignore[arg-type]
    runs = {"r": _Followed()}
    feed._apply(runs, feed._read(runs))
    kinds = [type(event).__name__ for event in runs["r"].events]
    assert kinds == ["StatusEvent", "StatusEvent", "TextEvent", "StatusEvent"]
