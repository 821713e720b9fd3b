"""The `deep-research` command.

People-facing output (progress, tables of state, errors) goes to stderr with colour; what programs consume
(the report, `--json`) goes to stdout. Exit codes: 0 success, 1 the run failed or was cancelled, 2 bad
usage or input (one line on stderr naming the fix, no traceback unless --debug).

Questions, documents, web pages, model output and errors naming what someone typed are not ours: each is
printed through `_shown` (or with markup off, through `without_controls`), so a `[/bold]` in it is text, not
a Rich tag that breaks the command, and an escape sequence in it never reaches the terminal.
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import typing
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer
from pydantic import SecretStr, ValidationError
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from typer.core import TyperGroup

from . import __version__
from .catalog import CorpusError, list_collections
from .client import ForkPoint, ResearchClient, new_run_id
from .controls import PlanEditError, read_plan_file
from .database import (
    ExecutorBusyError,
    RuntimeConfigError,
    check_database,
    executor_id_of,
    executor_is_busy,
    redacted_url,
)
from .exports import ExportFormat, render_export
from .exports.files import STDOUT, export_format, export_path, write_export
from .naming import is_child_workflow, trace_url
from .options import (
    InputError,
    RunRequest,
    read_user_file,
    resolve_options,
    validate_question,
    validate_run_id,
)
from .providers import ModelConfigError
from .schema import (
    Phase,
    ReportLength,
    ResearchOptions,
    ResearchStatus,
    SearchProgress,
    SearchState,
    byte_size,
    citation_summary,
    format_usd,
    without_controls,
)
from .settings import (
    ENV_FILE_VARIABLE,
    SearchBackendName,
    Settings,
    env_file_warning,
    get_settings,
    settings_error,
    user_env_file,
)
from .supervisor import WorkerSupervisor
from .trace_store import describe as describe_trace_store
from .trace_terminal import load_trace, trace_json, trace_tree

if TYPE_CHECKING:
    from .evaluation.runner import Report
    from .runtime import WorkerInfo


@typing.runtime_checkable
class _ShowsAMessage(typing.Protocol):
    """What typer's usage errors offer: their message formatted for people, and a way to show it."""

    def format_message(self) -> str: ...

    def show(self) -> None: ...


class _OneLineUsageErrors(TyperGroup):
    """Usage errors (an unknown option, a missing argument, a bad value) as one line and exit code 2, like
    every other error of this command, instead of typer's framed panel."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        try:
            code = super().main(*args, **{**kwargs, "standalone_mode": False})
        except typer.Abort:
            sys.exit(130)
        except typer.TyperException as error:  # typer's own (vendored) click errors all derive from it
            if type(error).__name__ == "NoArgsIsHelpError" and isinstance(error, _ShowsAMessage):
                error.show()  # a bare `deep-research`: the help, as a usage error
                sys.exit(2)
            context = getattr(error, "ctx", None)
            message = error.format_message() if isinstance(error, _ShowsAMessage) else str(error)
            hint = f"; see {context.command_path} --help" if context is not None else ""
            message = " ".join(message.split()).rstrip(".")
            err.print(f"[bold red]error:[/] {_shown(message[:1].lower() + message[1:])}{_shown(hint)}")
            sys.exit(getattr(error, "exit_code", 2))
        sys.exit(code if isinstance(code, int) else 0)


app = typer.Typer(
    name="deep-research",
    cls=_OneLineUsageErrors,
    help="Crash-proof multi-agent research: plan, search in parallel, write a cited report.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)
out = Console(highlight=False, soft_wrap=True, emoji=False)
_debug = False

F = TypeVar("F", bound=Callable[..., Any])
_USER_ERRORS = (InputError, RuntimeConfigError, CorpusError, ModelConfigError, PlanEditError)


def _shown(value: object) -> str:
    """`value` as text for a Rich print with markup: its own markup escaped, its control characters dropped.

    For anything this program did not write itself: questions, documents, titles, reports, model output,
    and errors that quote what someone typed."""
    return escape(without_controls(str(value)))


_JSON_UNSAFE = {code: f"\\u{code:04x}" for code in range(0x7F, 0xA0)}
"""DEL and the C1 controls (0x9b starts an escape sequence in many terminals): JSON escapes the other
control characters itself, and these are only ever found inside its strings, where `\\u` spells them."""


def _print_json(text: str) -> None:
    """JSON on stdout, with no raw control character in it."""
    out.print(text.translate(_JSON_UNSAFE), markup=False)


def fail(message: str, code: int = 2) -> NoReturn:
    """One line on stderr (the message printed as text, whatever it quotes) and exit `code`."""
    err.print(f"[bold red]error:[/] {_shown(message)}")
    raise typer.Exit(code)


def _settings() -> Settings:
    try:
        settings = get_settings()
    except ValidationError as error:
        fail(settings_error(error))
    warning = env_file_warning(settings)
    if warning is not None and warning not in _warned:
        _warned.add(warning)
        err.print(warning, markup=False)
    return settings


_warned: set[str] = set()


def handles_errors(command: F) -> F:
    """Turn the errors a user can fix into one line on stderr and exit code 2."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except _USER_ERRORS as error:
            if _debug:
                raise
            fail(str(error))

    return wrapper  # type: ignore[return-value]


@app.callback(invoke_without_command=True)
def _root(
    context: typer.Context,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show tracebacks instead of one-line errors.")
    ] = False,
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
    env_file: Annotated[
        Path | None,
        typer.Option(
            "--env-file",
            metavar="PATH",
            help="Read settings from this .env file (default: .env in the deep-research checkout when run "
            f"there, else {user_env_file()}; a .env in another working directory is never read).",
        ),
    ] = None,
) -> None:
    global _debug
    _debug = debug
    if env_file is not None:  # through the environment, so the workers and the UI started here read it too
        os.environ[ENV_FILE_VARIABLE] = str(env_file.expanduser().resolve())
        get_settings.cache_clear()
    if version:
        out.print(__version__)
        raise typer.Exit()
    if context.invoked_subcommand is None:  # options but no command, e.g. `deep-research --debug`
        fail("no command given; see deep-research --help")


# --- progress ------------------------------------------------------------------------------------------


def _spending(status: ResearchStatus) -> str:
    """What the run has cost so far, against its cap when it has one; nothing for a free offline run."""
    spent = format_usd(status.usage.cost)
    if status.options.max_cost is not None:
        return f" · {spent} of {format_usd(status.options.max_cost)}"
    return "" if status.options.offline or not status.options.model_prices else f" · {spent}"


class ProgressPrinter:
    """Prints each new thing a run's successive statuses reveal, one line at a time, on stderr."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.phase: Phase | None = None
        self.plan_shown = False
        self.searches: dict[int, SearchState] = {}
        self.rounds_shown = 1
        self.rounds_ended = False

    def __call__(self, status: ResearchStatus) -> None:
        # Early phases are announced before what they produce, later ones after the searches they close.
        early = status.phase in (Phase.QUEUED, Phase.PLANNING, Phase.SEARCHING)
        if early:
            self._phase(status)
        self._plan(status)
        self._searches(status)
        self._rounds(status)
        if not early:
            self._phase(status)

    def _rounds(self, status: ResearchStatus) -> None:
        """Each round after the first as it starts (the gaps it searches for), and why the rounds ended."""
        for round_ in status.rounds[self.rounds_shown :]:
            self.rounds_shown = round_.number
            self.console.print(
                f"[bold cyan]Round {round_.number}[/]: {len(round_.queries)} follow-up searches for "
                + "; ".join(_shown(gap) for gap in round_.gaps)
            )
        if status.rounds_ended and not self.rounds_ended and status.options.depth > 1:
            self.rounds_ended = True
            self.console.print(f"[dim]Rounds ended: {_shown(status.rounds_ended)}[/]")

    def _phase(self, status: ResearchStatus) -> None:
        if status.phase == self.phase:
            return
        self.phase = status.phase
        if status.phase is Phase.AWAITING_APPROVAL:
            self._plan(status)
            deadline = ""
            if status.review_deadline:
                deadline = f" (decided by {status.options.review_timeout_action} at "
                deadline += f"{status.review_deadline.astimezone():%H:%M:%S})"
            self.console.print(
                f"[bold yellow]Awaiting approval[/] of the plan{deadline}: deep-research approve "
                f"{_shown(status.run_id)} [--plan-file edited.json] or deep-research reject {_shown(status.run_id)}"
            )
            return
        if not status.phase.finished:
            self.console.print(f"[bold cyan]{status.phase.value.title()}[/]…{_spending(status)}")
            return
        usage = status.usage
        colour = {"COMPLETED": "green", "FAILED": "red"}.get(status.phase.value, "yellow")
        took = ""
        if status.created_at and status.updated_at:
            took = f" in {(status.updated_at - status.created_at).total_seconds():.1f} s"
        self.console.print(
            f"[bold {colour}]{status.phase.value.title()}[/]{took} · {usage.requests} model requests · "
            f"{usage.total_tokens:,} tokens{_spending(status)}"
        )
        if status.citations is not None:
            self.console.print(without_controls(citation_summary(status.citations)), markup=False)
        if status.stopped_early:
            self.console.print(f"[yellow]partial report[/]: {_shown(status.stopped_early)}")
        if status.error:
            self.console.print(f"[red]{_shown(status.error)}[/]")

    def _plan(self, status: ResearchStatus) -> None:
        if not status.plan or self.plan_shown:
            return
        self.plan_shown = True
        self.console.print(f"Plan: {len(status.plan.search_steps)} searches")
        for i, step in enumerate(status.plan.search_steps, start=1):
            self.console.print(f"  {i}. [bold]{_shown(step.query)}[/] [dim]— {_shown(step.rationale)}[/]")

    def _pages(self, search: SearchProgress) -> None:
        """The pages a web search read: how many, and why any was not."""
        if not search.pages:
            return
        read = sum(page.status == "fetched" for page in search.pages)
        self.console.print(f"      [dim]read {read} of {len(search.pages)} pages[/]")
        for page in search.pages:
            if page.status != "fetched":
                self.console.print(
                    f"      [yellow]{page.status}[/] {_shown(page.url)}: {_shown(page.reason)}"
                )
        if search.unreturned:
            self.console.print(
                f"      [yellow]dropped[/] {search.unreturned} sources the search never returned"
            )

    def _searches(self, status: ResearchStatus) -> None:
        for search in status.searches:
            if (
                search.state in (SearchState.PENDING, SearchState.RUNNING)
                or self.searches.get(search.index) == search.state
            ):
                continue
            self.searches[search.index] = search.state
            label = "extra search" if search.extra else "search"
            if search.state == SearchState.DONE:
                took = ""
                if search.started_at and search.finished_at:
                    took = f" · {(search.finished_at - search.started_at).total_seconds():.1f} s"
                self.console.print(
                    f"  [green]✓[/] {label} {search.index}: {_shown(search.query)} · {search.source_count} sources{took}"
                )
                self._pages(search)
            elif search.state == SearchState.SKIPPED:
                self.console.print(
                    f"  [yellow]–[/] {label} {search.index}: {_shown(search.query)} · {_shown(search.error)}"
                )
            else:
                self.console.print(
                    f"  [red]✗[/] {label} {search.index}: {_shown(search.query)} · {_shown(search.error)}"
                )


def _print_result(status: ResearchStatus, as_json: bool) -> None:
    if as_json:
        _print_json(status.model_dump_json(indent=2))
    elif status.report:
        out.print(without_controls(status.report.to_markdown()), markup=False, end="")


def _exit_code(status: ResearchStatus) -> int:
    return 0 if status.phase == Phase.COMPLETED else 1


@contextmanager
def _client(settings: Settings) -> Iterator[ResearchClient]:
    client = ResearchClient(settings)
    try:
        yield client
    finally:
        client.close()


# --- commands ------------------------------------------------------------------------------------------

OfflineOption = Annotated[
    bool, typer.Option("--offline", help="Use the built-in offline models and local corpus.")
]
AllowDomainOption = Annotated[
    list[str] | None,
    typer.Option("--allow-domain", help="Keep web results only from this domain (repeatable)."),
]
DenyDomainOption = Annotated[
    list[str] | None, typer.Option("--deny-domain", help="Drop web results from this domain (repeatable).")
]
SearchBackendOption = Annotated[
    SearchBackendName | None, typer.Option("--search-backend", help="Override RESEARCH_SEARCH_BACKEND.")
]
MaxRequestsOption = Annotated[
    int | None,
    typer.Option(
        "--max-requests", help="Most model requests the run may make (default RESEARCH_MAX_REQUESTS)."
    ),
]
MaxCostOption = Annotated[
    float | None,
    typer.Option(
        "--max-cost",
        help="Most US dollars the run's model requests may cost; it then ends with a partial report "
        "(RESEARCH_MAX_COST; RESEARCH_MODEL_PRICES prices local models).",
    ),
]
MaxTokensOption = Annotated[
    int | None,
    typer.Option("--max-tokens", help="Most tokens the run may use (default RESEARCH_MAX_TOKENS)."),
]
DeadlineOption = Annotated[
    float | None,
    typer.Option(
        "--deadline", help="Seconds the run may take; it then ends with a partial report (RESEARCH_DEADLINE)."
    ),
]
CorpusOption = Annotated[
    str | None,
    typer.Option(
        "--corpus",
        help="Collection for corpus search: auto (chosen by the question), factbook, pydoc or yours.",
    ),
]


ReportOption = Annotated[
    ReportLength | None,
    typer.Option(
        "--report",
        help="standard, or long: outlined, then written section by section from each section's own "
        "sources (RESEARCH_REPORT).",
    ),
]
DepthOption = Annotated[
    int | None,
    typer.Option(
        "--depth",
        help="Rounds of searching: after the first, a reflection names what the findings lack and the run "
        "searches for it, stopping early when nothing is (1-5; RESEARCH_DEPTH, default 1).",
    ),
]
BreadthOption = Annotated[
    int | None,
    typer.Option(
        "--breadth", help="Most follow-up searches per round after the first (1-10; RESEARCH_BREADTH)."
    ),
]
ReviewPlanOption = Annotated[
    bool,
    typer.Option(
        "--review-plan", help="Wait after planning until the plan is approved (deep-research approve ID)."
    ),
]

_RUN_OPTIONS: dict[str, tuple[Any, Any]] = {
    "offline": (OfflineOption, False),
    "search_backend": (SearchBackendOption, None),
    "corpus": (CorpusOption, None),
    "allow_domain": (AllowDomainOption, None),
    "deny_domain": (DenyDomainOption, None),
    "review_plan": (ReviewPlanOption, False),
    "max_requests": (MaxRequestsOption, None),
    "max_tokens": (MaxTokensOption, None),
    "max_cost": (MaxCostOption, None),
    "deadline": (DeadlineOption, None),
    "depth": (DepthOption, None),
    "breadth": (BreadthOption, None),
    "report": (ReportOption, None),
}
"""The options of a new run, shared by every command that starts runs: name -> (annotation, default)."""


def run_options(command: F) -> F:
    """Give `command` the options every run-starting command takes, handed to it as one `RunRequest`
    (parameter `request`, question left empty), so `run` and `submit` can never drift apart."""
    signature = inspect.signature(command)
    hints = typing.get_type_hints(command, include_extras=True)
    own = [p.replace(annotation=hints[p.name]) for p in signature.parameters.values() if p.name != "request"]
    shared = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default)
        for name, (annotation, default) in _RUN_OPTIONS.items()
    ]

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        chosen = {name: kwargs.pop(name) for name in _RUN_OPTIONS}
        request = RunRequest(
            question="",
            offline=True if chosen["offline"] else None,
            search_backend=chosen["search_backend"],
            corpus=chosen["corpus"],
            allow_domains=chosen["allow_domain"],
            deny_domains=chosen["deny_domain"],
            review_plan=chosen["review_plan"],
            max_requests=chosen["max_requests"],
            max_tokens=chosen["max_tokens"],
            max_cost=chosen["max_cost"],
            deadline=chosen["deadline"],
            depth=chosen["depth"],
            breadth=chosen["breadth"],
            report=chosen["report"],
        )
        return command(*args, request=request, **kwargs)

    wrapper.__annotations__ = {
        **{p.name: p.annotation for p in [*own, *shared]},
        "return": hints.get("return"),
    }
    wrapper.__signature__ = signature.replace(parameters=[*own, *shared])  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


@app.command()
@handles_errors
@run_options
def run(
    question: Annotated[str, typer.Argument(help="What to research.")],
    run_id: Annotated[
        str | None, typer.Option("--id", help="Run id (default: generated). Reusing one attaches to it.")
    ] = None,
    no_wait: Annotated[
        bool, typer.Option("--no-wait", help="Submit and print the run id without waiting.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the final status as JSON instead of the report.")
    ] = False,
    *,
    request: RunRequest,
) -> None:
    """Research QUESTION and print a cited report.

    Example: deep-research run "Compare the economies of Chile and Peru" --offline
    """
    request = request.model_copy(update={"question": question, "run_id": run_id})
    settings = request.settings(_settings())
    question, options, reason = request.resolve(settings)
    if options.offline:
        err.print(
            f"[yellow]offline mode[/] ({_shown(reason)}): built-in models, {options.search_backend} search"
            + (f" over '{_shown(options.corpus)}'" if options.search_backend == "corpus" else "")
        )
    else:
        err.print(
            f"[green]online mode[/]: planner {_shown(options.planner_model)}, search "
            f"{_shown(options.search_model)} ({options.search_backend}), analyst {_shown(options.analyst_model)}"
        )
    with _client(settings) as client:
        served = client.any_worker_alive()  # any worker of this database, whatever its executor id
    if served:
        _submit_and_follow(settings, question, options, run_id, no_wait, as_json, in_process=False)
        return
    from .runtime import worker  # with no worker running, this command is one: it loads the engine

    try:
        # Not a worker for others: it runs this research only, and leaves the queued runs to workers.
        with worker(settings, shared=False):
            err.print("[dim]no worker running: executing in this process[/]")
            _submit_and_follow(settings, question, options, run_id, no_wait, as_json, in_process=True)
    except ExecutorBusyError:
        _submit_and_follow(settings, question, options, run_id, no_wait, as_json, in_process=False)


def _submit_and_follow(
    settings: Settings,
    question: str,
    options: ResearchOptions,
    run_id: str | None,
    no_wait: bool,
    as_json: bool,
    in_process: bool,
) -> None:
    with _client(settings) as client:
        if in_process:
            from .runtime import start_here  # this process is the run's worker (see `run`)

            question = validate_question(question, settings)
            run_id = validate_run_id(run_id) if run_id else new_run_id()
            start_here(run_id, question, options)
        else:
            run_id = client.submit(question, options, run_id)
        err.print(f"run [bold]{_shown(run_id)}[/]")
        if no_wait and not in_process:
            out.print(run_id)
            return
        if no_wait:
            err.print(
                "[dim]no worker is running, so this command runs it now; it stays resumable if stopped[/]"
            )
        _follow(client, run_id, as_json)


def _follow(client: ResearchClient, run_id: str, as_json: bool) -> NoReturn:
    """Show the run's progress until it ends, print its report (or status), exit 0 only if it completed."""
    try:
        status = client.wait(run_id, on_update=ProgressPrinter(err))
    except KeyboardInterrupt:
        err.print(
            f"\n[yellow]interrupted[/]: run {run_id} is saved; it continues when a worker starts "
            "(deep-research worker) or with: deep-research resume " + run_id
        )
        raise typer.Exit(130) from None
    _print_result(status, as_json)
    raise typer.Exit(_exit_code(status))


@app.command("worker")
@handles_errors
def worker_command(
    executor_id: Annotated[
        str | None, typer.Option("--executor-id", help="Executor identity (default RESEARCH_EXECUTOR_ID).")
    ] = None,
) -> None:
    """Run a worker: recover this executor's unfinished runs, then execute queued runs until stopped.

    Example: deep-research worker --executor-id worker-1
    """
    from .runtime import worker  # this command is the worker process: it loads the engine

    settings = _settings()
    stop = threading.Event()
    with worker(settings, executor_id, drain_seconds=settings.shutdown_grace) as info:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        if settings.faults_enabled:
            err.print(
                f"[bold yellow]fault injection is on[/] ({settings.fault_summary()}): for tests and drills only"
            )
        err.print(
            f"worker [bold]{_shown(info.executor_id)}[/] (v{info.version}) on {_shown(redacted_url(info.database))} "
            f"· queues research (≤{settings.worker_concurrency} here), search (≤{settings.search_concurrency} "
            f"at once, ≤{settings.search_rate_limit} per {settings.search_rate_period:g} s, all workers) "
            "· Ctrl-C to stop",
        )
        threading.Thread(
            target=_preload_indexes, args=(settings, info.executor_id), name="preload-indexes", daemon=True
        ).start()
        stop.wait()
        err.print(
            f"worker stopping: running work has {settings.shutdown_grace:g} s to finish, no new work starts"
        )
    _report_hand_back(info)


def _preload_indexes(settings: Settings, executor_id: str) -> None:
    """Load the collections this worker's runs search by default, in the background, so that the first
    question after an install does not wait for their indexes to be built (a few seconds, once).

    A worker that starts with work waiting skips it (runs it recovers, which DBOS puts back on their queue,
    or runs queued while no worker ran): those runs load what they search, and loading alongside them would
    only delay them (by 0.7 s in bench/recovery.py).
    """
    from dbos import DBOS

    def waiting(**where: Any) -> bool:
        return bool(DBOS.list_workflows(limit=1, load_input=False, load_output=False, **where))

    try:
        if waiting(status="ENQUEUED") or waiting(status="PENDING", executor_id=executor_id):
            return
    except Exception:  # the database went away just now: the worker's own log says so, once
        return
    try:
        options, _ = resolve_options(settings)
    except InputError:
        return  # a run with these settings is refused with the reason; nothing to load
    if options.search_backend != "corpus":
        return
    from .corpus import preload_collections  # runs in the worker process, beside the engine

    started = time.monotonic()
    try:
        names = preload_collections(options.corpus, settings.indexes)
    except CorpusError as error:
        err.print(f"[yellow]search index not loaded:[/] {_shown(error)}")
        return
    err.print(f"search indexes ready: {', '.join(names)} ({time.monotonic() - started:.1f} s)")


def _report_hand_back(info: WorkerInfo) -> None:
    """Say what a stopped worker left for the next one."""
    if info.hand_back_error is not None:
        err.print(
            f"[yellow]worker stopped[/]; its unfinished runs resume when it starts again "
            f"(handing them to other workers failed: {_shown(info.hand_back_error)})"
        )
        return
    handed = info.handed_back
    runs = [w for w in handed if not is_child_workflow(w)]
    if handed:
        err.print(
            f"worker stopped; handed {len(runs)} unfinished runs ({len(handed)} workflows) back to the queue, "
            "where the next worker resumes each from its last completed step"
        )
    else:
        err.print("worker stopped; no unfinished work")


def _read_questions(path: Path) -> list[str]:
    """The questions of a batch file: one a line, blank lines and `#` comments skipped, each validated."""
    text = read_user_file(path, "a text file with one question a line")
    settings = _settings()
    questions = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            questions.append(validate_question(line, settings))
        except InputError as error:
            raise InputError(f"{path}, line {number}: {error}") from None
    if not questions:
        raise InputError(f"{path} holds no questions; write one question a line")
    return questions


@app.command()
@handles_errors
@run_options
def submit(
    question: Annotated[str | None, typer.Argument(help="One question (or use --file).")] = None,
    file: Annotated[
        Path | None, typer.Option("--file", "-f", help="Text file with one question a line ('-': stdin).")
    ] = None,
    no_wait: Annotated[
        bool, typer.Option("--no-wait", help="Queue and print the run ids; don't wait.")
    ] = False,
    *,
    request: RunRequest,
) -> None:
    """Queue research for the workers: one QUESTION, or a batch from --file, shown with a progress bar.

    A batch question's run id is derived from the question, so submitting the same file again starts
    nothing twice. Batch runs queue behind interactive ones (`run`, the web UI).

    Example: deep-research submit --file questions.txt
    """
    if (question is None) == (file is None):
        raise InputError("give either a QUESTION or --file QUESTIONS.txt (one question a line)")
    settings = request.settings(_settings())
    questions = _read_questions(file) if file is not None else [question or ""]
    _, options, reason = request.model_copy(update={"question": questions[0] if questions else ""}).resolve(
        settings
    )
    with _client(settings) as client:
        if file is None:
            entries = [client.submit(questions[0], options)]
            err.print(f"queued run [bold]{_shown(entries[0])}[/]")
        else:
            batch = client.submit_batch(questions, options)
            entries = [entry.run_id for entry in batch]
            new = sum(entry.new for entry in batch)
            err.print(
                f"{len(batch)} questions: [bold]{new}[/] queued, {len(batch) - new} already submitted"
                + (f" · offline ({_shown(reason)})" if options.offline else "")
            )
        if not client.any_worker_alive():
            err.print(
                "[yellow]no worker is running[/]: the runs wait in the queue until one starts (deep-research worker)"
            )
        if no_wait:
            for run_id in entries:
                out.print(run_id)
            return
        phases = _follow_batch(client, entries)
    failed = {run_id: phase for run_id, phase in phases.items() if phase != Phase.COMPLETED}
    err.print(f"{len(phases) - len(failed)} of {len(phases)} runs completed")
    for run_id, phase in failed.items():
        err.print(f"  [red]{phase.value}[/] {_shown(run_id)} (deep-research show {_shown(run_id)})")
    raise typer.Exit(1 if failed else 0)


def _follow_batch(client: ResearchClient, run_ids: list[str]) -> dict[str, Phase]:
    """Show a progress bar until every run has finished; returns each run's final phase."""
    phases: dict[str, Phase] = {}
    columns = (
        SpinnerColumn(),
        TextColumn("researching"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    try:
        with Progress(*columns, console=err, transient=False) as progress:
            task = progress.add_task("runs", total=len(run_ids))
            while True:
                phases.update(client.finished([r for r in run_ids if r not in phases]))
                progress.update(task, completed=len(phases))
                if len(phases) == len(run_ids):
                    return phases
                time.sleep(0.5)
    except KeyboardInterrupt:
        err.print(
            "[yellow]stopped watching[/]: the runs stay queued and run on; see them with deep-research list"
        )
        raise typer.Exit(130) from None


@app.command()
@handles_errors
def workers(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List the executors that have run work on this database, whether each is alive, and its backlog.

    Example: deep-research workers
    """
    settings = _settings()
    with _client(settings) as client:
        executors = client.executors()
    if as_json:
        _print_json(json.dumps([e.model_dump(mode="json") for e in executors], indent=2))
        return
    if not executors:
        err.print("no executor has run anything on this database yet; start one with: deep-research worker")
        return
    mine = executor_id_of(settings)
    table = Table("executor", "state", "unfinished runs", "unfinished workflows", "completed", "last seen")
    for e in executors:
        state = "[green]alive[/]" if e.alive else ("[red]dead[/]" if e.pending_workflows else "stopped")
        seen = e.last_seen.astimezone().strftime("%Y-%m-%d %H:%M:%S") if e.last_seen else ""
        name = e.executor_id + (" (this install)" if e.executor_id == mine else "")
        runs = ", ".join(e.pending_runs[:3]) + (
            f" +{len(e.pending_runs) - 3}" if len(e.pending_runs) > 3 else ""
        )
        table.add_row(
            _shown(name),
            state,
            _shown(runs or "-"),
            str(e.pending_workflows),
            str(e.completed_workflows),
            seen,
        )
    out.print(table)
    if any(not e.alive and e.pending_workflows for e in executors):
        err.print(
            "a dead executor's runs resume when it restarts, or now with: deep-research recover EXECUTOR_ID"
        )


@app.command()
@handles_errors
def recover(executor_id: Annotated[str, typer.Argument(help="Executor id of a dead worker.")]) -> None:
    """Hand a dead worker's unfinished runs to the live workers (refused while that worker is alive).

    Example: deep-research recover worker-2
    """
    settings = _settings()
    with _client(settings) as client:
        result = client.recover(executor_id)
        alive = [e.executor_id for e in client.executors() if e.alive]
    if not result.workflows:
        err.print(f"executor {_shown(executor_id)} has no unfinished workflows of version {__version__}")
    else:
        err.print(
            f"recovered {len(result.runs)} runs ({result.workflows} workflows) of executor {_shown(executor_id)}"
            + (
                f"; live workers ({_shown(', '.join(alive))}) resume them now"
                if alive
                else "; start a worker to resume them"
            )
        )
        for run_id in result.runs:
            out.print(without_controls(run_id), markup=False)
    for version, count in result.other_versions.items():
        err.print(
            f"[yellow]{count} unfinished workflows of version {_shown(version)}[/]: "
            "only a worker of that version can resume them"
        )


@app.command("list")
@handles_errors
def list_command(
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="How many runs to show.")] = 20,
    phase: Annotated[Phase | None, typer.Option("--phase", help="Only runs in this phase.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List runs, newest first.

    Example: deep-research list --phase COMPLETED
    """
    with _client(_settings()) as client:
        runs = client.list_runs(limit=limit, phase=phase)
    if as_json:
        _print_json(json.dumps([r.model_dump(mode="json") for r in runs], indent=2))
        return
    if not runs:
        err.print('no runs yet; start one with: deep-research run "your question"')
        return
    table = Table("id", "phase", "created", "question")
    for r in runs:
        created = r.created_at.astimezone().strftime("%Y-%m-%d %H:%M:%S") if r.created_at else ""
        table.add_row(_shown(r.run_id), r.phase.value, created, _shown(r.question[:80]))
    out.print(table)


@app.command()
@handles_errors
def show(
    run_id: Annotated[str, typer.Argument(help="Run id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the status as JSON.")] = False,
) -> None:
    """Show a run's phase, plan, searches and report.

    Example: deep-research show 3f2a9c1b7d4e
    """
    settings = _settings()
    with _client(settings) as client:
        status = client.status(run_id)
    if as_json:
        _print_result(status, as_json=True)
        return
    err.print(f"run [bold]{_shown(status.run_id)}[/]: {_shown(status.question)}")
    if status.trace_id:
        link = trace_url(settings.logfire_project_url, status.trace_id)
        shown_link = f" · {redacted_url(link)}" if link else ""
        err.print(without_controls(f"trace {status.trace_id}{shown_link}"), markup=False)
    if status.rewrite is not None:
        changed = [f"analyst {status.rewrite.analyst_model}"] if status.rewrite.analyst_model else []
        changed += ["new instructions"] if status.rewrite.instructions else []
        err.print(
            _shown(
                f"rewrite of {status.rewrite.original_run_id}"
                + (f" ({', '.join(changed)})" if changed else "")
            )
        )
    elif status.forked_from:
        err.print(f"forked from {_shown(status.forked_from)}")
    if status.forks:
        err.print(f"forks: {_shown(', '.join(status.forks))}")
    ProgressPrinter(err)(status)
    _print_result(status, as_json=False)


@app.command()
@handles_errors
def trace(
    run_id: Annotated[str, typer.Argument(help="Run id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the stored spans as JSON.")] = False,
    otlp: Annotated[bool, typer.Option("--otlp", help="Print the spans as OTLP/JSON.")] = False,
) -> None:
    """Show a run's trace from the local trace store: the span tree, durations, tokens, errors.

    Example: deep-research trace 3f2a9c1b7d4e --otlp > trace.json
    """
    settings = _settings()
    with _client(settings) as client:
        status = client.status(run_id)
    stored, tree = load_trace(settings, status)
    if as_json or otlp:
        _print_json(trace_json(stored, otlp=otlp))
        return
    out.print(trace_tree(tree, status, settings.logfire_project_url))


@app.command()
@handles_errors
def export(
    run_id: Annotated[str, typer.Argument(help="Run id.")],
    fmt: Annotated[
        ExportFormat | None,
        typer.Option("--format", "-f", help="pdf, docx or md (default: from -o's extension, else pdf)."),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="File or folder to write, '-' for stdout (default: research-ID.FORMAT)."
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite the file if it exists.")] = False,
) -> None:
    """Save a run's report as PDF, Word or Markdown: sources, quoted passages and the run's facts included.

    Example: deep-research export 3f2a9c1b7d4e --format pdf -o report.pdf
    """
    chosen = export_format(fmt, output)
    with _client(_settings()) as client:
        status = client.status(run_id)
    data = render_export(status, chosen)
    if output == STDOUT:
        if chosen != "md" and sys.stdout.isatty():
            fail(f"a {chosen} file is not for the terminal; write it with -o FILE or pipe it elsewhere")
        sys.stdout.buffer.write(data)
        return
    path = write_export(data, export_path(output, status, chosen), force)
    err.print(f"wrote {_shown(path)} ({byte_size(len(data))})")


@app.command()
@handles_errors
def cancel(run_id: Annotated[str, typer.Argument(help="Run id.")]) -> None:
    """Cancel a run (it can be resumed later).

    Example: deep-research cancel 3f2a9c1b7d4e
    """
    with _client(_settings()) as client:
        status = client.cancel(run_id)
    err.print(f"run {_shown(run_id)}: {status.phase.value}")


def _worker_hint(client: ResearchClient) -> str:
    """Tell the user when nothing will pick up the work they just queued."""
    return "" if client.any_worker_alive() else " (start a worker to run it: deep-research worker)"


@app.command()
@handles_errors
def resume(run_id: Annotated[str, typer.Argument(help="Run id.")]) -> None:
    """Resume a cancelled or failed run from its last completed step.

    Example: deep-research resume 3f2a9c1b7d4e
    """
    with _client(_settings()) as client:
        client.resume(run_id)
        err.print(f"run {_shown(run_id)} resumed{_worker_hint(client)}")


@app.command()
@handles_errors
def approve(
    run_id: Annotated[str, typer.Argument(help="Run id of a run awaiting approval.")],
    plan_file: Annotated[
        Path | None,
        typer.Option("--plan-file", help="JSON plan to run instead (edit the plan of `show ID --json`)."),
    ] = None,
) -> None:
    """Approve the plan of a run started with --review-plan, as it is or as edited in --plan-file.

    Example: deep-research show 3f2a9c1b7d4e --json | jq .plan > plan.json; deep-research approve 3f2a9c1b7d4e --plan-file plan.json
    """
    plan = read_plan_file(plan_file) if plan_file is not None else None
    with _client(_settings()) as client:
        client.approve(run_id, plan)
        what = f"edited plan ({len(plan.search_steps)} searches)" if plan else "plan"
        err.print(f"run {_shown(run_id)}: {what} approved; searching starts{_worker_hint(client) or ' now'}")


@app.command()
@handles_errors
def reject(run_id: Annotated[str, typer.Argument(help="Run id of a run awaiting approval.")]) -> None:
    """Reject the plan of a run started with --review-plan: it ends cancelled without searching.

    Example: deep-research reject 3f2a9c1b7d4e
    """
    with _client(_settings()) as client:
        client.reject(run_id)
        err.print(
            f"run {_shown(run_id)}: plan rejected; the run ends without searching{_worker_hint(client)}"
        )


@app.command()
@handles_errors
def fork(
    run_id: Annotated[str, typer.Argument(help="Run id.")],
    start: Annotated[
        ForkPoint, typer.Option("--from", help="Re-run from this phase; earlier work is reused.")
    ],
) -> None:
    """Start a new run that reuses a run's work up to a phase and redoes the rest.

    Example: deep-research fork 3f2a9c1b7d4e --from analyze
    """
    with _client(_settings()) as client:
        new_id = client.fork(run_id, start)
        err.print(f"forked {_shown(run_id)} from {start} as{_worker_hint(client)}:")
    out.print(new_id, markup=False)


WaitOption = Annotated[
    bool, typer.Option("--wait", help="Follow the new run and print its report, like `run`.")
]


def _announce(client: ResearchClient, what: str, new_id: str, wait: bool) -> None:
    """Print the id of a run just made from another (stdout), then follow it if asked."""
    err.print(f"{_shown(what)} as run [bold]{_shown(new_id)}[/]{_worker_hint(client)}")
    if wait:
        _follow(client, new_id, as_json=False)
    out.print(new_id, markup=False)


@app.command()
@handles_errors
def finish(run_id: Annotated[str, typer.Argument(help="Run id of a searching run.")]) -> None:
    """Stop searching now and write the report from what was found (skipped searches are named in it).

    Searches not yet started are skipped; running ones get RESEARCH_FINISH_GRACE seconds to end.
    Example: deep-research finish 3f2a9c1b7d4e
    """
    with _client(_settings()) as client:
        status = client.finish(run_id)
        done = sum(s.state is SearchState.DONE for s in status.searches)
        err.print(
            f"run {_shown(run_id)}: told to finish with {done} of {len(status.searches)} searches done; "
            f"the report follows{_worker_hint(client)}"
        )


@app.command()
@handles_errors
def retry(
    run_id: Annotated[str, typer.Argument(help="Run id of a completed run.")], wait: WaitOption = False
) -> None:
    """Rerun only the failed or skipped searches of a run, then its analysis, as a new run.

    The searches that succeeded are reused, not run again; the original run stays as it is.
    Example: deep-research retry 3f2a9c1b7d4e --wait
    """
    with _client(_settings()) as client:
        status = client.status(run_id)
        missing = sum(
            s.state in (SearchState.FAILED, SearchState.SKIPPED) for s in status.searches if not s.extra
        )
        new_id = client.retry(run_id)
        _announce(client, f"retrying {missing} searches of {run_id}", new_id, wait)


@app.command()
@handles_errors
def rewrite(
    run_id: Annotated[str, typer.Argument(help="Run id of a completed run.")],
    analyst_model: Annotated[
        str | None,
        typer.Option("--analyst-model", help="Model to write with, e.g. anthropic:claude-sonnet-5-5."),
    ] = None,
    instructions: Annotated[
        str | None, typer.Option("--instructions", help="New analysis instructions (replace the plan's).")
    ] = None,
    wait: WaitOption = False,
) -> None:
    """Write a new report from a run's search results, with another analyst model or instructions.

    No search runs again; the original run and its report stay. The new run links back to it.
    Example: deep-research rewrite 3f2a9c1b7d4e --instructions "Focus on trade" --wait
    """
    with _client(_settings()) as client:
        new_id = client.rewrite(run_id, analyst_model=analyst_model, instructions=instructions)
        _announce(client, f"rewriting the report of {run_id}", new_id, wait)


@app.command()
@handles_errors
def index(
    path: Annotated[Path, typer.Argument(help="Folder (or file) of .md, .txt or .html documents.")],
    name: Annotated[str, typer.Option("--name", help="Collection name to search with RESEARCH_CORPUS=NAME.")],
) -> None:
    """Index a folder of your own documents for the corpus search backend.

    Example: deep-research index ~/notes --name notes
    """
    from .corpus import index_folder  # building an index is the engine's work, done here in process

    settings = _settings()
    with err.status(f"indexing {_shown(path)}…"):
        collection = index_folder(
            path,
            name,
            settings.indexes,
            max_file_bytes=int(settings.index_max_file_mb * 1_000_000),
            max_total_bytes=int(settings.index_max_total_mb * 1_000_000),
        )
    files = collection.manifest.get("files", 0)
    skipped = collection.manifest.get("skipped", [])
    err.print(f"indexed {len(collection.passages)} passages from {files} files as [bold]{name}[/]")
    if skipped:
        err.print(f"[yellow]left out {len(skipped)} files:[/]")
        for note in skipped[:10]:
            err.print(f"  {_shown(note)}")
        if len(skipped) > 10:
            err.print(f"  and {len(skipped) - 10} more")
    err.print(f'search it with: RESEARCH_CORPUS={name} deep-research run "..." --offline')


@app.command("eval")
@handles_errors
def eval_command(
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            help="provider:model for planner, searcher and analyst, or 'offline' (default: as `run` chooses).",
        ),
    ] = None,
    cases: Annotated[
        str | None,
        typer.Option("--cases", help="Only cases whose name matches: wildcards (pydoc-*) or a substring."),
    ] = None,
    baseline: Annotated[
        Path | None, typer.Option("--baseline", help="A results file to compare with, per evaluator.")
    ] = None,
    dataset: Annotated[
        Path | None, typer.Option("--dataset", help="Dataset file (default: evals/dataset.yaml).")
    ] = None,
    results: Annotated[
        Path | None,
        typer.Option("--results", help="Directory for the results file (default: evals/results)."),
    ] = None,
    judge_model: Annotated[
        str | None,
        typer.Option(
            "--judge-model",
            help="Model of the LLM judge (default RESEARCH_JUDGE_MODEL; used if its key is set).",
        ),
    ] = None,
    corpus: CorpusOption = None,
    concurrency: Annotated[int, typer.Option("--concurrency", min=1, max=32, help="Cases run at once.")] = 4,
    web: Annotated[
        bool,
        typer.Option(
            "--web", help="The web slice instead: the local web's facts, read from its pages (offline)."
        ),
    ] = False,
    vary: Annotated[
        str | None,
        typer.Option(
            "--vary",
            help="Run the cases once per value of a run option and compare per case: depth=1,2,3 or "
            "report=standard,long.",
        ),
    ] = None,
    browsecomp: Annotated[
        Path | None,
        typer.Option(
            "--browsecomp",
            help="Score on BrowseComp-Plus instead: a folder in its layout (topics-qrels/, data/, "
            "corpus.jsonl); --cases N runs its first N queries.",
        ),
    ] = None,
) -> None:
    """Evaluate research quality: run the dataset's questions as real runs and score every report.

    Example: deep-research eval --model offline --cases 'pydoc-*' --baseline evals/results/OLD.json
    """
    from .evaluation import cases as eval_cases
    from .evaluation import runner

    settings = runner.evaluation_settings(RunRequest(question="", corpus=corpus).settings(_settings()))
    if web:
        _eval_web(settings)
    if browsecomp is not None:
        _eval_browsecomp(settings, browsecomp, model, cases)
    path = dataset or runner.DEFAULT_DATASET
    if not path.is_file():
        raise InputError(f"no dataset at {path}; pass --dataset FILE (YAML or JSON)")
    chosen = eval_cases.select_cases(eval_cases.load_dataset(path), cases)
    if not chosen.cases:
        raise InputError(f"no case of {path} matches --cases {cases!r}")
    before = runner.load_report(baseline) if baseline else None
    options = runner.evaluation_options(settings, model)
    judges, judge_note = runner.judge_evaluators(settings, judge_model or settings.judge_model)
    err.print(
        f"evaluating {len(chosen.cases)} cases · "
        + ("offline models" if options.offline else f"model {_shown(options.analyst_model)}")
        + f" · corpus {_shown(options.corpus)} · {_shown(judge_note)} · runs in {_shown(redacted_url(settings.database_url))}"
    )
    started = time.monotonic()
    if vary:
        _eval_variants(chosen, settings, options, vary, concurrency, results)
    report = runner.run_evaluation(
        chosen, settings, options, extra_evaluators=judges, concurrency=concurrency, progress=err.is_terminal
    )
    _report_evaluation(report, before, results or runner.EVALS_DIR / "results", time.monotonic() - started)


def _report_evaluation(report: Report, before: Report | None, results: Path, took: float) -> NoReturn:
    """An evaluation's tables, where its results went, and its failures; exit 1 when a case failed."""
    from .evaluation import figures, present, runner

    # Piped into a file, the table keeps room for its columns instead of rich's 80.
    table_console = out if out.is_terminal else Console(highlight=False, width=160)
    present.print_report(report, table_console, before)
    present.print_shortfalls(report, table_console)
    saved = runner.save_report(report, results)
    err.print(f"{len(report.cases)} cases in {took:.0f} s · results: {_shown(saved)}")
    for failure in report.failures:
        err.print(f"[red]case {_shown(failure.name)} failed:[/] {_shown(failure.error_message)}")
    missed = figures.missed_targets(report)
    if missed:
        err.print("below target: " + ", ".join(f"{name} {value:.3f}" for name, value in missed.items()))
    raise typer.Exit(1 if report.failures else 0)


def _eval_variants(
    chosen: Any,
    settings: Settings,
    options: ResearchOptions,
    vary: str,
    concurrency: int,
    results: Path | None,
) -> NoReturn:
    """`eval --vary OPTION=V1,V2`: the cases once per value, then one table comparing them per case."""
    from .evaluation import runner, variants

    option, chosen_options = variants.parse_vary(vary, options)
    labels = [str(getattr(o, option)) for o in chosen_options]
    stamp = time.strftime("%Y%m%dT%H%M%S")
    reports = []
    for label, variant in zip(labels, chosen_options, strict=True):
        err.print(f"{option}={_shown(label)}: {len(chosen.cases)} cases")
        report = runner.run_evaluation(
            chosen, settings, variant, concurrency=concurrency, label=f"{stamp}-{option}-{label}"
        )
        runner.save_report(report, results or runner.EVALS_DIR / "results")
        reports.append(report)
    table_console = out if out.is_terminal else Console(highlight=False, width=200)
    variants.print_variants(option, labels, reports, table_console)
    raise typer.Exit(1 if any(r.failures for r in reports) else 0)


def _eval_browsecomp(settings: Settings, folder: Path, model: str | None, cases: str | None) -> NoReturn:
    """`eval --browsecomp DIR`: index its collection, run its queries, print the figures per query."""
    from .corpus import CorpusError
    from .evaluation import browsecomp, runner

    limit = None
    if cases:
        if not cases.isdigit():
            raise InputError("with --browsecomp, --cases is how many queries to run (e.g. --cases 20)")
        limit = int(cases)
    data = browsecomp.load_browsecomp(folder)
    try:
        passages = browsecomp.index_browsecomp(data, settings.indexes)
    except CorpusError as error:
        raise InputError(str(error)) from None
    settings = settings.model_copy(update={"corpus": browsecomp.COLLECTION})
    options = runner.evaluation_options(settings, model)
    err.print(
        f"BrowseComp-Plus: {len(data.queries)} queries, {len(data.documents)} documents "
        f"({passages} passages) as corpus {browsecomp.COLLECTION}"
    )
    table = Table(
        "query", "answered", "evidence recall", "gold recall", "citation precision", "requests", "tokens"
    )

    def shown(value: float | bool | None) -> str:
        return (
            "-"
            if value is None
            else (("yes" if value else "no") if isinstance(value, bool) else f"{value:.2f}")
        )

    figures = browsecomp.run_browsecomp(data, settings, options, limit=limit)
    for s in figures.scores:
        table.add_row(
            _shown(s.query_id),
            shown(s.answered),
            shown(s.evidence_recall),
            shown(s.gold_recall),
            shown(s.citation_precision),
            str(s.requests),
            f"{s.tokens:,}",
        )
    means = [figures.mean(n) for n in ("answered", "evidence_recall", "gold_recall", "citation_precision")]
    table.add_row("average", *(shown(m) for m in means), "", "", style="bold")
    out.print(table)
    raise typer.Exit(0)


def _eval_web(settings: Settings) -> NoReturn:
    """`eval --web`: the web slice's figures as a table, exit 1 when one misses its target."""
    from .evaluation import web

    err.print(
        f"web slice: the local web's facts, offline models · runs in {_shown(redacted_url(settings.database_url))}"
    )
    figures = web.run_web_slice(
        settings,
        on_case=lambda case: err.print(
            f"  {'[green]✓[/]' if case.answered else '[red]✗[/]'} {_shown(case.question)} "
            f"[dim]({case.pages_read} pages, {case.citations} citations)[/]"
        ),
    )
    table = Table("figure", "value", "target", title="Web slice")
    for name, value, target, met in figures.rows():
        table.add_row(name, value if met else f"[red]{value}[/]", target)
    out.print(table)
    err.print(f"{len(figures.cases)} cases in {figures.seconds:.0f} s")
    raise typer.Exit(0 if all(met for *_, met in figures.rows()) else 1)


@app.command("ui")
@handles_errors
def ui_command(
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to serve the UI on.")] = 8501,
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on (0.0.0.0 to serve other machines).")
    ] = "localhost",
    no_worker: Annotated[
        bool, typer.Option("--no-worker", help="Don't start a worker; runs wait for one you start.")
    ] = False,
    allowed_host: Annotated[
        list[str] | None,
        typer.Option(
            "--allowed-host",
            help="Another name the UI is reached by (a proxy's, a LAN address); repeat for more. Browser "
            "sessions through any other name are refused.",
        ),
    ] = None,
) -> None:
    """Serve the web UI and, unless a worker is already running, a supervised worker.

    Example: deep-research ui --port 8502
    """
    settings = _settings()
    check_database(settings)
    _check_port(host, port)
    supervisor: WorkerSupervisor | None = None
    if no_worker:
        err.print(
            "[yellow]no worker started[/] (--no-worker): runs wait in the queue for `deep-research worker`"
        )
    elif executor_is_busy(settings):
        err.print(
            f"a worker for executor [bold]{_shown(executor_id_of(settings))}[/] is already running; the UI uses it"
        )
    else:
        supervisor = WorkerSupervisor(
            settings,
            echo=lambda line: err.print(f"worker │ {without_controls(line)}", markup=False, style="dim"),
        )
        supervisor.start()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    hosts = served_host_names(host, allowed_host or [])
    streamlit = subprocess.Popen(
        [
            sys.executable, "-m", "streamlit", "run", str(_ui_script()),
            "--server.port", str(port),
            "--server.address", host,
            "--server.headless", "true",
            "--server.fileWatcherType", "none",
            # Streamlit collects all of the process's garbage (gc.collect(2), ~0.12 s here: pandas, altair,
            # DBOS and pydantic-ai are a lot of objects) after every script run, and a fragment rerun is one:
            # that was two thirds of what an open tab on a live run cost. Python's own collector still runs.
            "--runner.postScriptGC", "false",
            "--browser.gatherUsageStats", "false",
            "--client.toolbarMode", "viewer",
            # Against other sites' pages (see ui/same_origin.py): only these Host names get a session
            # (DNS rebinding), cross-origin requests and forms are refused, and no agent API is served;
            # given here so that a Streamlit config file cannot loosen them.
            *(flag for name in hosts for flag in ("--server.allowedHosts", name)),
            "--server.enableCORS", "true",
            "--server.enableXsrfProtection", "true",
            "--server.enableAgentApi", "false",
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    err.print(f"UI at [bold]http://{_shown(host)}:{port}[/] · Ctrl-C to stop")
    if host in _ANY_ADDRESS:
        err.print(f"answering to {_shown(', '.join(hosts))} only; add others with --allowed-host NAME")
    try:
        while not stop.is_set() and streamlit.poll() is None:
            stop.wait(0.5)
    finally:
        if streamlit.poll() is None:
            streamlit.terminate()
            try:
                streamlit.wait(10)
            except subprocess.TimeoutExpired:
                streamlit.kill()
        if supervisor is not None:
            supervisor.stop()
    if not stop.is_set() and streamlit.returncode:
        fail(f"streamlit exited with code {streamlit.returncode}")
    err.print("UI stopped")


@app.command("serve")
@handles_errors
def serve_command(
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to serve the API on.")] = 8000,
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on (beyond loopback: RESEARCH_API_TOKEN).")
    ] = "127.0.0.1",
    no_worker: Annotated[
        bool, typer.Option("--no-worker", help="Don't start a worker; runs wait for one you start.")
    ] = False,
) -> None:
    """Serve the HTTP API (schema at /docs) and, unless a worker is already running, a supervised worker.

    Example: deep-research serve --port 8000
    """
    from .api import serve  # FastAPI and uvicorn load only for this command

    settings = _settings()
    _check_port(host, port)

    def worker_line(line: str) -> None:
        err.print(f"worker │ {without_controls(line)}", markup=False, style="dim")

    say = lambda line: err.print(line, markup=False)  # noqa: E731
    serve(settings, host, port, start_worker=not no_worker, say=say, worker_output=worker_line)


_ANY_ADDRESS = ("0.0.0.0", "::", "")
_LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


def served_host_names(host: str, extra: list[str]) -> list[str]:
    """The names a browser may reach the UI by: this machine's loopback names, the address it listens on
    (or, listening on every address, the machine's own names), and `extra`."""
    names = [*_LOOPBACK_NAMES]
    names += [socket.gethostname(), socket.getfqdn()] if host in _ANY_ADDRESS else [host]
    names += extra
    return list(dict.fromkeys(name.strip().strip("[]").lower() for name in names if name.strip()))


def _check_port(host: str, port: int) -> None:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            fail(f"cannot serve on {host}:{port} ({error.strerror}); pick another port with --port N")


def _ui_script() -> Path:
    spec = importlib.util.find_spec("ui")
    locations = list(spec.submodule_search_locations or []) if spec else []
    script = Path(locations[0]) / "app.py" if locations else None
    if script is None or not script.is_file():
        fail("the web UI files are missing; reinstall deep-research (make install)")
    return script


@app.command("mcp")
@handles_errors
def mcp_command(
    transport: Annotated[
        typing.Literal["stdio", "http"],
        typer.Option(
            "--transport", help="stdio (an assistant starts this command) or http (streamable HTTP)."
        ),
    ] = "stdio",
    host: Annotated[
        str, typer.Option("--host", help="http: address to listen on (beyond loopback: RESEARCH_MCP_TOKEN).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="http: port to listen on.")] = 8765,
    no_worker: Annotated[
        bool, typer.Option("--no-worker", help="Don't start a worker; runs wait for one you start.")
    ] = False,
) -> None:
    """Serve deep-research to AI assistants over MCP: tools deep_research, run_status, read_report, list_runs.

    Example: deep-research mcp --transport http --port 8765
    """
    from .mcp_server import serve  # the MCP SDK loads only for this command

    settings = _settings()
    check_database(settings)
    if transport == "http":
        _check_port(host, port)
    echo = lambda line: err.print(without_controls(line), markup=False, style="dim")  # noqa: E731
    serve(settings, transport=transport, host=host, port=port, worker=not no_worker, echo=echo)


@app.command()
@handles_errors
def config(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Show the effective settings (secrets masked) and whether runs would be offline.

    Example: deep-research config
    """
    settings = _settings()
    values = {}
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            value = "set (hidden)" if value.get_secret_value() else None
        elif isinstance(value, str) and "://" in value:  # a base URL or endpoint may carry a password
            value = redacted_url(value)
        values[name] = str(value) if isinstance(value, Path) else value
    values["database_url"] = redacted_url(settings.database_url)
    options, reason = resolve_options(settings)
    values["effective_mode"] = f"offline ({reason})" if options.offline else "online"
    values["collections"] = list_collections(settings.indexes)
    values["trace_store_size"] = describe_trace_store(settings)
    if as_json:
        _print_json(json.dumps(values, indent=2, default=str))
        return
    table = Table("setting", "value")
    for name, value in values.items():
        table.add_row(name, ("none" if name == "env_file" else "") if value is None else _shown(value))
    out.print(table)


@app.command()
@handles_errors
def doctor(
    online: Annotated[
        bool,
        typer.Option("--online", help="Also call each configured service once (a models list, one search)."),
    ] = False,
    timeout: Annotated[
        float, typer.Option("--timeout", min=0.1, max=120, help="Seconds per online call.")
    ] = 10.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Check the database, each role's model and key, the search backend and the trace destination.

    Nothing leaves this machine unless --online is given. Exits 1 when something configured is broken.

    Example: deep-research doctor --online
    """
    from .doctor import Outcome, diagnose, failed

    checks = diagnose(_settings(), online=online, timeout=timeout)
    if as_json:
        _print_json(json.dumps([check.to_json() for check in checks], indent=2))
    else:
        marks = {Outcome.OK: "[green]ok[/]  ", Outcome.WARN: "[yellow]warn[/]", Outcome.FAIL: "[red]FAIL[/]"}
        width = max((len(f"{check.area}: {check.name}") for check in checks), default=0)
        for check in checks:
            part = f"{check.area}: {check.name}".ljust(width)
            out.print(f"{marks.get(check.outcome, '[dim]skip[/]')}  {escape(part)}  {escape(check.detail)}")
            if check.fix:
                out.print(f"      {' ' * width}  [bold]fix:[/] {escape(check.fix)}")
        counts = {outcome: sum(c.outcome is outcome for c in checks) for outcome in Outcome}
        out.print(
            f"{counts[Outcome.FAIL]} broken, {counts[Outcome.WARN]} to look at, {counts[Outcome.OK]} fine"
            + ("" if online else " (offline checks; --online also calls each service once)")
        )
    if failed(checks):
        raise typer.Exit(1)


def main() -> None:
    """Console-script entry point."""
    os.environ.setdefault("LOGFIRE_IGNORE_NO_CONFIG", "1")
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
