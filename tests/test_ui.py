"""The Streamlit pages, driven with Streamlit's `AppTest` against real databases and a real worker."""

from __future__ import annotations

import base64
import os
import pickle
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from research_agent.client import ResearchClient
from research_agent.database import executor_id_of
from research_agent.options import resolve_options
from research_agent.runtime import worker
from research_agent.schema import PageRead, Phase, ResearchStatus, Source
from research_agent.settings import Settings, get_settings
from research_agent.supervisor import SupervisorSnapshot, WorkerState, state_file

from ._markdown import markdown_dangers
from ._process import awaiting, make_settings, wait_until

# the Streamlit pages through AppTest, with a worker: left out of `make test-fast`
pytestmark = pytest.mark.slow

APP = str(Path(__file__).parents[1] / "ui" / "app.py")
QUESTION = "Compare the economies of Chile and Peru"
SUBMIT = "FormSubmitter:new-research-Start research"


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ui.sqlite'}"


@pytest.fixture
def client(settings: Settings) -> Iterator[ResearchClient]:
    with ResearchClient(settings) as research_client:
        yield research_client


@pytest.fixture(scope="module")
def completed(tmp_path_factory: pytest.TempPathFactory, index_dir: Path) -> Iterator[tuple[str, str]]:
    """(database URL, run id) of one finished offline run, shared by the read-only page tests."""
    url = f"sqlite:///{tmp_path_factory.mktemp('ui-done') / 'done.sqlite'}"
    settings = make_settings(
        database_url=url, index_dir=index_dir, data_dir=tmp_path_factory.mktemp("ui-data")
    )
    with worker(settings), ResearchClient(settings) as client:
        options, _ = resolve_options(settings, offline=True)
        run_id = client.submit(QUESTION, options, run_id="done-1")
        final = client.wait(run_id, timeout=120)
        assert final.phase is Phase.COMPLETED, final.error
        client._client.retrieve_workflow(run_id).get_result()
    yield url, run_id


def show_the_ui(monkeypatch: pytest.MonkeyPatch, **variables: str) -> None:
    """Give the UI these RESEARCH_* variables (by setting name): it reads its settings from the environment,
    as `deep-research ui` does, so this is where a test's database and settings reach it."""
    for name, value in variables.items():
        monkeypatch.setenv(f"RESEARCH_{name.upper()}", value)
    get_settings.cache_clear()


@pytest.fixture(autouse=True)
def ui_database(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The UI is shown the test's database (the one `settings` holds)."""
    show_the_ui(monkeypatch, database_url=database_url)


def app(**query: str) -> AppTest:
    test = AppTest.from_file(APP, default_timeout=60)
    for name, value in query.items():
        test.query_params[name] = value
    return test


def page(test: AppTest, path: str, **query: str) -> AppTest:
    """Open one of the app's pages (as a link or a bookmark would)."""
    test.run()
    for name, value in query.items():
        test.query_params[name] = value
    return test.switch_page(path).run()


def texts(test: AppTest) -> str:
    parts = [e.value for kind in ("markdown", "caption", "info", "warning", "error", "success", "title")
             for e in getattr(test, kind)]  # fmt: skip
    return "\n".join(str(p) for p in parts)


# --- new research ----------------------------------------------------------------------------------------


def test_the_new_research_page_shows_the_mode_the_database_and_the_form(settings: Settings):
    test = app().run()
    assert not test.exception
    assert "**Offline mode**" in test.info[0].value and "ui.sqlite" in test.info[0].value
    assert test.text_area[0].label == "Question"
    assert test.slider[0].value == settings.max_searches
    assert [r.value for r in test.radio] == ["Offline (built-in models)"]
    assert "not running" in texts(test)  # no worker holds the lock


def test_the_banner_shows_what_doctor_finds_broken(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "localhost:4318")  # no scheme: not an address
    test = app().run()
    assert not test.exception
    (problem,) = test.error
    assert "**traces: otlp**" in problem.value
    assert "http://localhost:4318" in _unescaped(problem.value)
    assert "**Offline mode**" in test.info[0].value  # the mode is still shown


def test_an_unknown_model_provider_is_shown_in_the_banner_and_the_form_still_opens(
    monkeypatch: pytest.MonkeyPatch,
):
    show_the_ui(monkeypatch, planner_model="foo:bar")  # RESEARCH_OFFLINE left at its default (auto)
    test = app().run()
    assert not test.exception
    (problem,) = test.error
    assert "**models: planner**" in problem.value
    assert "unknown model provider 'foo'" in _unescaped(problem.value)
    assert "fix: set RESEARCH_PLANNER_MODEL to provider:model" in _unescaped(problem.value)
    assert "Settings need attention" in test.warning[0].value
    assert test.text_area[0].label == "Question"
    assert [r.value for r in test.radio] == ["Offline (built-in models)"]


@pytest.mark.parametrize(
    ("question", "message"),
    [("", "the question is empty"), ("   \n\t", "the question is empty"), ("x" * 2001, "over the limit")],
)
def test_a_bad_question_gets_a_clear_message_and_stores_nothing(
    client: ResearchClient, question: str, message: str
):
    test = app().run()
    test.text_area[0].input(question)
    test.button(key=SUBMIT).click().run()
    assert not test.exception
    assert message in test.error[0].value
    assert "run" not in test.query_params
    assert client.list_runs() == []


def test_domain_lists_are_checked_and_stored_with_the_run(client: ResearchClient):
    test = app().run()
    test.text_area[0].input(QUESTION)
    test.text_input[0].input("who int")
    test.button(key=SUBMIT).click().run()
    assert "'who int' is not a domain name" in test.error[0].value and client.list_runs() == []
    test.text_input[0].input("https://www.who.int, data.un.org")
    test.text_input[1].input("example.com")
    test.button(key=SUBMIT).click().run()
    options = client.status(test.query_params["run"]).options
    assert options.allow_domains == ["who.int", "data.un.org"] and options.deny_domains == ["example.com"]


def test_submitting_opens_the_run_page_which_says_no_worker_is_running(client: ResearchClient):
    test = app().run()
    test.text_area[0].input(QUESTION)
    test.slider[0].set_value(3)
    test.button(key=SUBMIT).click().run()
    assert not test.exception
    run_id = test.query_params["run"]
    assert test.title[0].value == QUESTION
    assert "**Queued**" in test.markdown[0].value
    assert "no worker is running" in test.warning[0].value
    stored = client.status(run_id)
    assert stored.phase is Phase.QUEUED and stored.options.max_searches == 3 and stored.options.offline


def test_cancel_and_resume_a_queued_run(client: ResearchClient, settings: Settings):
    options, _ = resolve_options(settings, offline=True)
    run_id = client.submit(QUESTION, options)
    test = page(app(), "views/run.py", run=run_id)
    test.button(key="cancel").click().run()
    assert client.status(run_id).phase is Phase.CANCELLED
    assert "**Cancelled**" in test.markdown[0].value
    test.button(key="resume").click().run()
    assert client.status(run_id).phase is Phase.QUEUED


def test_review_edit_and_approve_the_plan_on_the_run_page(settings: Settings):
    with worker(settings), ResearchClient(settings) as client:
        test = app().run()
        test.text_area[0].input(QUESTION)
        test.checkbox[0].check()
        test.button(key=SUBMIT).click().run()
        run_id = test.query_params["run"]
        assert client.status(run_id).options.review_plan
        waiting = wait_until(client, run_id, awaiting)
        assert waiting.plan is not None
        test = page(app(), "views/run.py", run=run_id)
        assert not test.exception
        assert "awaits your approval" in texts(test)
        searches = next(t for t in test.text_area if t.label.startswith("Searches, one a line"))
        assert searches.value is not None
        lines = searches.value.splitlines()
        assert len(lines) == len(waiting.plan.search_steps)
        searches.input("\n".join([lines[0], "Peru exports | added in the UI"]))
        test.button(key="FormSubmitter:plan-review-Approve").click().run()
        assert not test.exception
        final = client.wait(run_id, timeout=120)
    assert final.phase is Phase.COMPLETED and final.plan_review == "edited"
    assert final.plan is not None
    assert [s.query for s in final.plan.search_steps] == [waiting.plan.search_steps[0].query, "Peru exports"]
    test = page(app(), "views/run.py", run=run_id)
    assert "Plan edited before searching." in texts(test)


# --- run page ----------------------------------------------------------------------------------------------


@pytest.fixture
def done_settings(
    completed: tuple[str, str], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    """Settings on the finished run's database, which the UI is shown too."""
    show_the_ui(monkeypatch, database_url=completed[0])
    return settings.model_copy(update={"database_url": completed[0]})


def test_a_completed_run_shows_plan_cards_report_citations_usage_and_timeline(
    completed: tuple[str, str], done_settings: Settings
):
    test = page(app(), "views/run.py", run=completed[1])
    assert not test.exception
    body = texts(test)
    assert test.title[0].value == QUESTION
    assert (
        "**Completed**" in test.markdown[0].value
        and ":material/check_circle:] Analyzing" in test.markdown[0].value
    )
    assert body.count("**Search ") == 4 and "done · 5 sources" in body
    assert "Real GDP per capita" in body  # a plan step and a card
    report = next(m.value for m in test.markdown if "(#source-1)" in m.value)
    assert "[[1]](#source-1)" in report  # the citation as a link to its source (written back by mdformat)
    # The lead answer is set apart above the comparison table and the detail.
    assert any("Answer" in c.value for c in test.caption)
    assert report.startswith("Chile's real GDP") and "is higher than Peru's" in report
    assert any(re.match(r"\|\s*\| Chile \| Peru \|", m.value) for m in test.markdown)  # the table, whole
    anchors = "".join(str(h.proto.body) for h in test.get("html"))
    assert 'id="source-1"' in anchors and "factbook:ci/Economy" in anchors
    metrics = {m.label: m.value for m in test.metric}
    assert metrics["Searches done"] == "4 / 4" and metrics["Model requests"] == "10"
    assert metrics["Cost"] == "free"
    assert "checked against what the searches returned" in test.success[0].value
    downloads = [(b.proto.label, b.proto.help) for b in test.get("download_button")]
    assert [label for label, _ in downloads] == ["Download report (.md)", "PDF", "Word"]
    assert "PDF" in downloads[1][1] and "Word" in downloads[2][1]  # files built on click: test_browser.py
    chart, _ = test.get("vega_lite_chart")  # the timeline, then the trace panel's waterfall
    assert '"field": "lane"' in chart.proto.spec and '"x2"' in chart.proto.spec
    assert test.button(key="cancel").disabled and test.button(key="resume").disabled


def test_fork_from_the_analysis_opens_the_new_run(completed: tuple[str, str], done_settings: Settings):
    test = page(app(), "views/run.py", run=completed[1])
    test.button(key="fork").click().run()
    assert not test.exception
    new_id = test.query_params["run"]
    assert new_id != completed[1]
    with ResearchClient(done_settings) as client:
        assert client.status(new_id).question == QUESTION


@pytest.mark.parametrize(
    ("run_id", "title", "message"),
    [
        ("no-such-run", "No such run", "no run with id 'no-such-run'"),
        ("bad id!", "No such run", "invalid run id"),
    ],
)
def test_an_unknown_or_malformed_run_id_gets_a_clear_page(
    settings: Settings, run_id: str, title: str, message: str
):
    test = page(app(), "views/run.py", run=run_id)
    assert not test.exception
    assert test.title[0].value == title
    assert message in test.error[0].value


def test_the_run_page_without_an_id_points_to_the_history(settings: Settings):
    test = page(app(), "views/run.py")
    assert not test.exception
    assert "No run chosen" in test.info[-1].value


# --- history -----------------------------------------------------------------------------------------------


def test_history_lists_runs_and_filters_by_status(completed: tuple[str, str], done_settings: Settings):
    with ResearchClient(done_settings) as client:
        options, _ = resolve_options(done_settings, offline=True)
        queued = client.submit("What is the capital of Peru?", options)
        test = page(app(), "views/history.py")
        assert not test.exception
        frame = test.dataframe[0].value
        assert set(frame["run id"]) >= {completed[1], queued}
        assert frame.iloc[0]["run id"] == queued  # newest first
        assert list(frame.columns) == ["question", "status", "duration (s)", "created", "run id"]
        test.multiselect[0].set_value(["COMPLETED"]).run()
        assert set(test.dataframe[0].value["status"]) == {"COMPLETED"}
        test.selectbox(key="open-run-id").set_value(completed[1]).run()
        assert test.query_params["run"] == completed[1] and test.title[0].value == QUESTION
        client.cancel(queued)


def test_history_of_an_empty_database(settings: Settings):
    test = page(app(), "views/history.py")
    assert not test.exception
    assert "No runs yet." in test.info[-1].value


# --- faults ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["postgresql://postgres@127.0.0.1:1/nowhere", "mysql://localhost/db"],
    ids=["unreachable", "unsupported"],
)
def test_a_bad_database_gets_an_error_page_not_a_traceback(monkeypatch: pytest.MonkeyPatch, url: str):
    show_the_ui(monkeypatch, database_url=url)
    test = app().run()
    assert not test.exception
    assert "The database is unreachable" in test.error[0].value
    assert "RESEARCH_DATABASE_URL" in _unescaped(test.error[0].value)


def _unescaped(markdown: str) -> str:
    """What Markdown escaped with backslashes reads as (the UI escapes every sign in an error's text)."""
    return re.sub(r"\\(.)", r"\1", markdown)


def test_invalid_settings_get_an_error_page(monkeypatch: pytest.MonkeyPatch):
    show_the_ui(monkeypatch, max_searches="many")
    test = app().run()
    assert not test.exception
    assert "RESEARCH_MAX_SEARCHES" in _unescaped(test.error[0].value)


def test_the_worker_panel_counts_other_workers_on_a_shared_database(settings: Settings):
    # Several workers on one database (as on Postgres): none is this install's, yet runs will be picked up.
    with worker(settings, "other-1"), ResearchClient(settings) as research_client:
        options, _ = resolve_options(settings, offline=True)
        research_client.wait(research_client.submit(QUESTION, options, run_id="elsewhere"), timeout=120)
        test = app().run()
        assert not test.exception
        assert "1 worker on this database: other-1" in texts(test)


def test_the_worker_panel_shows_a_supervised_worker_and_crashes_it(settings: Settings):
    # Stand-ins: this test process plays the supervisor and a sleeping child plays the worker (its command
    # line ends as a worker's does: the crash button kills nothing else).
    victim = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(120)", "-m", "research_agent", "worker"]
    )
    path = state_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    snapshot = SupervisorSnapshot(
        supervisor_pid=os.getpid(), executor_id=executor_id_of(settings), worker_pid=victim.pid,
        state=WorkerState.RUNNING, restarts=2,
    )  # fmt: skip
    path.write_text(snapshot.model_dump_json())
    try:
        test = app().run()
        assert "running" in texts(test) and "2 restarts" in texts(test)
        test.button(key="crash-worker").click().run()
        assert victim.poll() is None, "one click crashed the worker"
        assert "SIGKILL" in texts(test)  # what the confirmation asks
        test.button(key="crash-worker-keep").click().run()
        assert victim.poll() is None and not [b for b in test.button if b.key == "crash-worker-confirm"]
        test.button(key="crash-worker").click().run()
        test.button(key="crash-worker-confirm").click().run()
        assert victim.wait(10) == -9
        assert "Sent SIGKILL" in test.toast[0].value
    finally:
        victim.kill()
        path.unlink()


def test_a_run_with_the_configured_models_starts_only_once_confirmed(
    client: ResearchClient, monkeypatch: pytest.MonkeyPatch
):
    # Online models cost money: a click on a page someone else built must not be enough to spend it.
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-anthropic-key")
    monkeypatch.setenv("GOOGLE_API_KEY", "test-google-key")
    show_the_ui(monkeypatch, search_backend="corpus")
    test = app().run()
    assert test.radio[0].value == "Configured models"
    test.text_area[0].input(QUESTION)
    test.button(key=SUBMIT).click().run()
    assert not test.exception
    assert client.list_runs() == [] and "run" not in test.query_params
    asked = texts(test)
    assert "may cost money" in asked and "anthropic:claude-sonnet-5-5" in asked
    test.button(key="online-cancel").click().run()
    assert client.list_runs() == [] and not [b for b in test.button if b.key == "online-confirm"]
    test.button(key=SUBMIT).click().run()
    test.button(key="online-confirm").click().run()
    assert not test.exception
    stored = client.status(test.query_params["run"])
    assert stored.question == QUESTION and not stored.options.offline


# --- run controls ------------------------------------------------------------------------------------------


def test_budget_and_deadline_fields_are_stored_with_the_run(client: ResearchClient):
    test = app().run()
    test.text_area[0].input(QUESTION)
    requests, _tokens, cost, deadline = test.number_input
    requests.set_value(12)
    cost.set_value(0.25)
    deadline.set_value(90.0)
    test.button(key=SUBMIT).click().run()
    options = client.status(test.query_params["run"]).options
    assert (options.max_requests, options.max_tokens, options.deadline) == (12, None, 90.0)
    assert (options.max_cost, options.model_prices["offline"].input_per_mtok) == (0.25, 0)


def test_rounds_and_breadth_are_stored_with_the_run(client: ResearchClient):
    test = app().run()
    test.text_area[0].input(QUESTION)
    rounds = next(s for s in test.slider if s.label.startswith("Rounds of searching"))
    breadth = next(s for s in test.slider if s.label.startswith("Follow-up searches per round"))
    rounds.set_value(3)
    breadth.set_value(2)
    test.button(key=SUBMIT).click().run()
    options = client.status(test.query_params["run"]).options
    assert (options.depth, options.breadth) == (3, 2)


def test_finish_now_on_a_searching_run(settings: Settings):
    paced = settings.model_copy(update={"search_concurrency": 1, "offline_delay": 0.3})
    with worker(paced), ResearchClient(paced) as client:
        options, _ = resolve_options(paced, offline=True)
        run_id = client.submit(QUESTION, options)
        wait_until(client, run_id, lambda s: s.phase is Phase.SEARCHING)
        test = page(app(), "views/run.py", run=run_id)
        test.button(key="finish").click().run()
        assert not test.exception
        final = client.wait(run_id, timeout=120)
    assert final.stopped_early == "finish requested"
    test = page(app(), "views/run.py", run=run_id)
    body = texts(test)
    assert "Partial report: finish requested." in body and "skipped" in body
    assert test.button(key="retry-4")  # the last search was skipped: its card offers a retry
    assert not [b for b in test.button if b.key == "finish"]  # no longer searching


def test_retry_and_rewrite_open_new_runs_linked_to_the_original(settings: Settings):
    with worker(settings), ResearchClient(settings) as client:
        options, _ = resolve_options(settings, offline=True, max_requests=10)  # too little: searches fail
        run_id = client.submit(QUESTION, options)
        first = client.wait(run_id, timeout=120)
        assert any(s.state.value == "failed" for s in first.searches)
        test = page(app(), "views/run.py", run=run_id)
        test.button(key="retry-1").click().run()
        assert not test.exception
        retried = test.query_params["run"]
        assert retried != run_id and client.status(retried).forked_from == run_id
        client.wait(retried, timeout=120)

        test = page(app(), "views/run.py", run=retried)
        instructions = next(t for t in test.text_area if t.label == "Analysis instructions")
        instructions.input("Only growth.")
        test.button(key="FormSubmitter:rewrite-Rewrite report").click().run()
        assert not test.exception
        rewritten = test.query_params["run"]
        final = wait_until(client, rewritten, lambda s: s.rewrite is not None, timeout=120)
        client.wait(rewritten, timeout=120)
    assert final.rewrite is not None and final.rewrite.instructions == "Only growth."
    test = page(app(), "views/run.py", run=rewritten)
    links = [link.proto.label for link in test.get("page_link")]
    assert any(label.startswith(f"Rewrite of run {retried}") for label in links)
    test = page(app(), "views/run.py", run=run_id)
    assert f"Run {retried} was made from this one" in [link.proto.label for link in test.get("page_link")]


# --- untrusted text (documents, models, search results) -----------------------------------------------------

PIXEL = "http://pixel.invalid"
HOSTILE_DOCUMENT = f"""# Skerrow lighthouse

The Skerrow lighthouse was first lit in 1841 ![beacon]({PIXEL}/beacon.png) and its lens came from Paris \
[the guide](javascript:alert(1)) <img src="{PIXEL}/raw.png">.

The keeper's cottage ![cottage]({PIXEL}/cottage.png) stands beside the lighthouse tower.
"""
HOSTILE_QUESTION = f"When was the Skerrow lighthouse first lit? ![q]({PIXEL}/question.png)"
HOSTILE = f"x ![img]({PIXEL}/h.png) [js](javascript:alert(1)) <img src={PIXEL}/h2.png> ![ref][px]\n\n[px]: {PIXEL}/r.png"
BREAKOUT_URL = f"https://example.org/a) ![p]({PIXEL}/breakout.png"


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """(database URL, run id) of an offline run over a folder whose document quotes remote images and a
    `javascript:` link: the offline analyst copies sentences of it into the report, as a model would."""
    from research_agent.corpus import index_folder

    root = tmp_path_factory.mktemp("ui-hostile")
    (root / "docs").mkdir()
    (root / "docs" / "skerrow.md").write_text(HOSTILE_DOCUMENT)
    index_folder(root / "docs", "hostile", root / "idx")
    url = f"sqlite:///{root / 'hostile.sqlite'}"
    settings = make_settings(
        database_url=url, index_dir=root / "idx", data_dir=root / "data", corpus="hostile", offline=True
    )
    with worker(settings), ResearchClient(settings) as client:
        options, _ = resolve_options(settings, offline=True, search_backend="corpus")
        final = client.wait(client.submit(HOSTILE_QUESTION, options, run_id="hostile-1"), timeout=120)
    assert final.phase is Phase.COMPLETED, final.error
    assert final.report is not None and f"{PIXEL}/beacon.png" in final.report.body  # the attack is real
    return url, "hostile-1"


def rendered_markdown(test: AppTest) -> dict[str, str]:
    """Every piece of Markdown the page handed Streamlit to render, by element kind and position."""
    kinds = (
        "markdown",
        "caption",
        "info",
        "warning",
        "error",
        "success",
        "title",
        "header",
        "subheader",
        "toast",
    )
    shown = {f"{kind}[{i}]": str(e.value) for kind in kinds for i, e in enumerate(getattr(test, kind))}
    shown |= {f"page_link[{i}]": link.proto.label for i, link in enumerate(test.get("page_link"))}
    shown |= {f"expander[{i}]": e.proto.label for i, e in enumerate(test.get("expandable"))}
    return shown


def assert_nothing_loads(test: AppTest) -> None:
    dangers = {
        where: found for where, text in rendered_markdown(test).items() if (found := markdown_dangers(text))
    }
    assert not dangers
    for html in test.get("html"):
        assert "<img" not in str(html.proto.body).lower()


def plant_status(database_url: str, status: ResearchStatus) -> None:
    """Store `status` as the run's status event, as a worker publishes it (DBOS pickles the event, base64):
    a run whose models and documents filled every text field with hostile Markdown."""
    path = database_url.removeprefix("sqlite:///")
    value = base64.b64encode(pickle.dumps(status.to_event())).decode()
    with sqlite3.connect(path) as connection:
        changed = connection.execute(
            "UPDATE workflow_events SET value = ? WHERE workflow_uuid = ? AND key = 'status'",
            (value, status.run_id),
        ).rowcount
    assert changed


def test_a_report_quoting_remote_images_and_script_links_shows_them_as_text(
    hostile_run: tuple[str, str], monkeypatch: pytest.MonkeyPatch
):
    show_the_ui(monkeypatch, database_url=hostile_run[0])
    test = page(app(), "views/run.py", run=hostile_run[1])
    assert not test.exception
    assert_nothing_loads(test)
    body = "\n".join(rendered_markdown(test).values())
    assert "first lit in 1841" in body and "beacon" in body  # the image's alt text stays, as text
    assert "the guide" in body


def test_every_text_a_run_stores_is_shown_without_loading_or_linking_anything(
    hostile_run: tuple[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    copy = tmp_path / "planted.sqlite"
    with (
        sqlite3.connect(hostile_run[0].removeprefix("sqlite:///")) as source,
        sqlite3.connect(copy) as target,
    ):
        source.backup(target)
    url = f"sqlite:///{copy}"
    with ResearchClient(make_settings(database_url=url)) as client:
        status = client.status(hostile_run[1])
    assert status.plan is not None and status.report is not None and status.searches
    sources = [
        Source(title=HOSTILE, url=BREAKOUT_URL),
        Source(title="script", url="javascript:alert(1)"),
        Source(title="data", url=f"data:text/html,<img src={PIXEL}/d.png>"),
    ]
    page_read = PageRead(
        url=BREAKOUT_URL, status="fetched", title=HOSTILE, reason=HOSTILE, passages=[HOSTILE]
    )
    searches = [
        status.searches[0].model_copy(
            update={
                "query": HOSTILE,
                "rationale": HOSTILE,
                "error": HOSTILE,
                "sources": sources,
                "pages": [page_read],
            }
        ),
        *status.searches[1:],
    ]
    plan = status.plan.model_copy(
        update={
            "search_steps": [s.model_copy(update={"rationale": HOSTILE}) for s in status.plan.search_steps],
            "analysis_instructions": HOSTILE,
        }
    )
    report = status.report.model_copy(
        update={
            "title": HOSTILE,
            "body": f"{HOSTILE} [1]\n\n| a | b |\n| --- | --- |\n| {HOSTILE.splitlines()[0]} | [1] |",
            "sources": [
                s.model_copy(update={"title": HOSTILE, "url": BREAKOUT_URL}) for s in status.report.sources
            ],
        }
    )
    plant_status(
        url,
        status.model_copy(
            update={
                "searches": searches,
                "plan": plan,
                "report": report,
                "error": HOSTILE,
                "stopped_early": HOSTILE,
                "trace_id": f"t` ![t]({PIXEL}/trace.png) `",
                "forked_from": "origin-run",
            }
        ),
    )
    show_the_ui(monkeypatch, database_url=url)
    test = page(app(), "views/run.py", run=hostile_run[1])
    assert not test.exception
    for expander in test.get("expandable"):
        expander.proto.expanded = True
    assert_nothing_loads(test)
    body = "\n".join(rendered_markdown(test).values())
    assert "Skerrow" in body and "[\\[1\\]](#source-1)" in body.replace("[[1]]", "[\\[1\\]]")
