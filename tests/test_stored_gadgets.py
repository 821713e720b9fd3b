"""A database row that names code to run is refused, never run: by `list`, `show`, `fork`, the UI and a worker.

DBOS pickles what a run stores and used to unpickle it with `pickle.loads`, so whoever could write the
database could run code in every process that read a run. Each test plants the classic gadget (a pickle
whose `__reduce__` is `os.system`) where DBOS keeps a run's status event, a step's output or a workflow's
input, then reads the run as a user would; the gadget's command would create a marker file.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import pickle
import sqlite3
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic_ai.messages import ModelResponse, TextPart, ToolCallPart
from pydantic_ai.usage import RequestUsage
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from research_agent import unpickling
from research_agent.cli import app as cli_app
from research_agent.client import ResearchClient
from research_agent.options import resolve_options
from research_agent.runtime import worker
from research_agent.schema import Phase, ResearchOptions, ResearchStatus, SearchState
from research_agent.search.backends import SearchHit
from research_agent.settings import Settings, get_settings

from ._process import poll

QUESTION = "Compare the economies of Chile and Peru"
UI = Path(__file__).resolve().parents[1] / "ui" / "app.py"


class Gadget:
    """What an attacker stores: unpickling it calls `os.system`, which creates `marker`."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return os.system, (f"touch {self.marker}",)


class Called:
    """Unpickling it calls `target` with `args`: the gadgets other than `os.system`."""

    def __init__(self, target: Any, *args: Any) -> None:
        self.target = target
        self.args = args

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return self.target, self.args


def planted(marker: Path) -> str:
    """The gadget as DBOS stores a `py_pickle` value (base64 text)."""
    return base64.b64encode(pickle.dumps(Gadget(marker))).decode()


# --- the unpickler -------------------------------------------------------------------------------------


def test_what_a_run_stores_reads_back_unchanged():
    values: list[Any] = [
        ResearchStatus(
            run_id="r", question="q?", options=ResearchOptions(), phase=Phase.SEARCHING, error="x"
        ),
        ModelResponse(
            parts=[TextPart("hi"), ToolCallPart("search", {"query": "chile"}, tool_call_id="c1")],
            usage=RequestUsage(input_tokens=3, output_tokens=5),
            timestamp=dt.datetime(2026, 12, 5, tzinfo=dt.UTC),
        ),
        SearchHit(title="t", url="https://example.org", snippet="s"),
        {"set": {1, 2}, "frozen": frozenset({"a"}), "decimal": Decimal("1.5"), "state": SearchState.DONE},
        (dt.date(2026, 1, 2), dt.timedelta(seconds=3), bytearray(b"ab")),
    ]
    for value in values:
        assert unpickling.loads(pickle.dumps(value)) == value
    # Errors a failed step stores, from the standard library and from the libraries runs use.
    for error in (ValueError("bad"), TimeoutError("slow"), httpx.ConnectError("refused")):
        back = unpickling.loads(pickle.dumps(error))
        assert type(back) is type(error) and back.args == error.args
    refused = unpickling.RefusedRecord("os", "system", "not a module whose values a run stores")
    back = unpickling.loads(pickle.dumps(refused))
    assert isinstance(back, unpickling.RefusedRecord) and str(back) == str(refused)


@pytest.mark.parametrize(
    ("gadget", "named"),
    [
        (Gadget(Path("/tmp/never")), f"{os.system.__module__}.system"),
        (Called(eval, "1 + 1"), "builtins.eval"),
        (Called(getattr, dt.datetime, "now"), "builtins.getattr"),
        (Called(__import__("subprocess").Popen, ["true"]), "subprocess.Popen"),
        (Called(__import__("functools").partial, print), "functools.partial"),
        (Called(unpickling.loads, b""), "research_agent.unpickling.loads"),
        (Called(ResearchClient, None), "research_agent.client.ResearchClient"),
        (Called(get_settings), "research_agent.settings.get_settings"),
    ],
)
def test_code_is_refused_and_named(gadget: object, named: str):
    with pytest.raises(
        unpickling.RefusedRecord, match=f"refused to load {named} from the database"
    ) as caught:
        unpickling.loads(pickle.dumps(gadget))
    assert "docs/operations.md" in str(caught.value)


def test_a_program_module_is_never_imported():
    # `research_agent.__main__` runs the CLI when imported: naming it must not import it.
    # Written with pickle's opcodes: GLOBAL module\nname\n, EMPTY_TUPLE, REDUCE (call it), STOP.
    data = b"cresearch_agent.__main__\nmain\n)R."
    with pytest.raises(unpickling.RefusedRecord, match="a program"):
        unpickling.loads(data)


# --- planted in a real run's database ------------------------------------------------------------------


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory, index_dir: Path) -> Path:
    """A SQLite database holding one completed offline run, 'done'."""
    root = tmp_path_factory.mktemp("finished")
    settings = Settings(
        database_url=f"sqlite:///{root / 'runs.sqlite'}",
        data_dir=root / "data",
        index_dir=index_dir,
        offline=True,
        queue_poll_interval=0.05,
    )
    with worker(settings), ResearchClient(settings) as client:
        options, _ = resolve_options(settings)
        final = client.wait(client.submit(QUESTION, options, run_id="done"), timeout=120)
    assert final.phase is Phase.COMPLETED, final.error
    return root / "runs.sqlite"


@pytest.fixture
def database(finished_run: Path, tmp_path: Path) -> Path:
    """A copy of the finished run's database for one test to plant into."""
    copy = tmp_path / "runs.sqlite"
    with sqlite3.connect(finished_run) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    return copy


@pytest.fixture
def settings_for(isolated_env: dict[str, str], index_dir: Path) -> Any:
    def make(database: Path) -> Settings:
        return Settings(
            database_url=f"sqlite:///{database}",
            data_dir=database.parent / "data",
            index_dir=index_dir,
            offline=True,
            queue_poll_interval=0.05,
        )

    return make


@pytest.fixture
def marker(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "gadget-ran"
    yield path
    assert not path.exists(), "the planted gadget ran"


def plant(database: Path, table: str, column: str, where: str, value: str) -> None:
    with sqlite3.connect(database) as connection:
        changed = connection.execute(f"UPDATE {table} SET {column} = ? WHERE {where}", (value,)).rowcount
    assert changed, f"nothing to plant into: {table} where {where}"


def invoke(monkeypatch: pytest.MonkeyPatch, database: Path, *args: str) -> Any:
    monkeypatch.setenv("RESEARCH_DATABASE_URL", f"sqlite:///{database}")
    get_settings.cache_clear()
    return CliRunner().invoke(cli_app, list(args))


def test_a_planted_status_event_shows_the_run_as_unreadable(
    database: Path, marker: Path, monkeypatch: pytest.MonkeyPatch
):
    plant(database, "workflow_events", "value", "workflow_uuid = 'done' AND key = 'status'", planted(marker))

    listed = invoke(monkeypatch, database, "list", "--json")
    assert listed.exit_code == 0, listed.output
    assert '"phase": "FAILED"' in listed.stdout and "done" in listed.stdout

    shown = invoke(monkeypatch, database, "show", "done")
    assert "Traceback" not in shown.output, shown.output
    assert "cannot be read safely" in shown.stderr and f"{os.system.__module__}.system" in shown.stderr


def test_fork_refuses_a_run_with_a_planted_step_output(
    database: Path, marker: Path, monkeypatch: pytest.MonkeyPatch
):
    plant(
        database,
        "operation_outputs",
        "output",
        "workflow_uuid = 'done' AND function_id = (SELECT MIN(function_id) FROM operation_outputs "
        "WHERE workflow_uuid = 'done' AND serialization = 'py_pickle' AND output IS NOT NULL)",
        planted(marker),
    )
    forked = invoke(monkeypatch, database, "fork", "done", "--from", "analyze")
    assert forked.exit_code == 2, forked.output
    assert "Traceback" not in forked.output
    assert "was not forked" in forked.stderr and "done step" in forked.stderr


def test_a_worker_refuses_a_planted_workflow_input(database: Path, marker: Path, settings_for: Any):
    settings = settings_for(database)
    with ResearchClient(settings) as client:
        options, _ = resolve_options(settings)
        client.submit("What is the capital of Chile?", options, run_id="queued")
    plant(database, "workflow_input", "inputs", "workflow_uuid = 'queued'", planted(marker))
    with worker(settings), ResearchClient(settings) as client:
        final = poll(
            lambda: client.status("queued"),
            timeout=60,
            what="the worker to refuse the run",
            holds=lambda s: s.phase.finished,
        )
        assert client.status("done").phase is Phase.COMPLETED  # the other run is untouched
    assert final.phase is Phase.FAILED and "refused to load" in (final.error or "")


def test_the_ui_shows_a_planted_run_as_unreadable(
    database: Path, marker: Path, monkeypatch: pytest.MonkeyPatch
):
    plant(database, "workflow_events", "value", "workflow_uuid = 'done' AND key = 'status'", planted(marker))
    monkeypatch.setenv("RESEARCH_DATABASE_URL", f"sqlite:///{database}")
    get_settings.cache_clear()
    history = AppTest.from_file(str(UI), default_timeout=60)
    history.run()
    history.switch_page("views/history.py").run()
    assert not history.exception, history.exception
    run = AppTest.from_file(str(UI), default_timeout=60)
    run.run()
    run.query_params["run"] = "done"
    run.switch_page("views/run.py").run()
    assert not run.exception, run.exception
    shown = " ".join(str(e.value) for e in [*run.error, *run.warning, *run.markdown, *run.caption])
    assert "cannot be read safely" in shown, shown


# --- who can open the files ------------------------------------------------------------------------------


def test_the_database_and_its_directory_are_owner_only(finished_run: Path, tmp_path: Path):
    # The fixture's run went through a worker and a client: the database, the executor's name and lock
    # files, in a directory they created; SQLite makes the WAL and shared memory while a connection is open.
    data = finished_run.parent
    with sqlite3.connect(finished_run) as connection:
        connection.execute("CREATE TABLE IF NOT EXISTS touched (x)")
        files = [path for path in data.rglob("*") if path.is_file()]
        modes = {str(p.relative_to(data)): oct(p.stat().st_mode & 0o777) for p in files}
    assert {p.name for p in files} >= {"runs.sqlite", "runs.sqlite-wal", "runs.sqlite-shm", "executor-name"}
    assert set(modes.values()) == {"0o600"}, modes
    assert oct((data / "data").stat().st_mode & 0o777) == "0o700"
    # A database in a new directory makes it owner-only; an existing directory keeps its permissions.
    from research_agent.database import check_database

    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    check_database(Settings(database_url=f"sqlite:///{shared / 'new' / 'deeper' / 'runs.sqlite'}"))
    assert oct(shared.stat().st_mode & 0o777) == "0o755"
    assert oct((shared / "new").stat().st_mode & 0o777) == "0o700"
    assert oct((shared / "new" / "deeper" / "runs.sqlite").stat().st_mode & 0o777) == "0o600"


def test_every_value_a_real_run_stored_reads_back(finished_run: Path, settings_for: Any):
    # The allow-list is not narrower than what a run writes: every row of the finished run is read.
    from research_agent._dbos import refused_rows

    with ResearchClient(settings_for(finished_run)) as client:
        workflows = client._client.list_workflows(load_input=False, load_output=False)
        assert len(workflows) > 5
        assert refused_rows(client._client, [w.workflow_id for w in workflows]) == []
