"""The MCP server (`deep-research mcp`): research as tools an AI assistant calls.

Assistants (Claude Desktop, IDEs, agent frameworks) reach tools through the Model Context Protocol. This
module offers a run as such a tool, `deep_research`, built on the official SDK's `MCPServer`, beside
`run_status`, `read_report` and `list_runs`. It is a client like the CLI and the UI: it submits runs with
`ResearchClient` and follows their `status` events in the database, so a run belongs to the workers, not to
the tool call. An assistant that disconnects (or whose call times out) loses nothing: the run goes on, and
the run id, given in the first progress notification and in every answer, finds its report later.

The tools are async and reach the (blocking) client on worker threads, so one slow database read never
holds up another session. Over stdio the SDK diverts file descriptor 1 while it serves, so nothing but the
protocol reaches stdout; everything meant for people goes to `echo` (stderr). Over HTTP a bearer token
(RESEARCH_MCP_TOKEN) is required to listen anywhere but loopback.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from types import FrameType
from typing import Annotated, Any, Literal, NoReturn, TypeVar

import anyio
import anyio.to_thread
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations
from pydantic import BaseModel, Field

from . import __version__
from ._mcp_http import http_token, serve_http
from ._mcp_progress import ProgressTracker, error_text, progress_line, report_text, searches_done
from .client import ResearchClient
from .database import executor_id_of, executor_is_busy
from .options import InputError, RunNotFoundError, RunRequest, validate_run_id
from .schema import Phase, ReportLength, ResearchOptions, ResearchStatus, RunSummary, without_controls
from .settings import SearchBackendName, Settings
from .supervisor import WorkerSupervisor

Transport = Literal["stdio", "http"]
Depth = Literal["quick", "standard", "deep"]
DEFAULT_PORT = 8765
POLL_INTERVAL = 0.25
"""Seconds between two reads of a followed run's status: a progress notification is at most this late."""
_DEPTHS: dict[Depth, tuple[int, int] | None] = {
    "quick": (2, 0),
    "standard": None,
    "deep": (10, 4),
}
"""Searches in the plan and extra searches the analyst may run, per depth; None: the settings' values."""
_INSTRUCTIONS = (
    "deep-research plans web or document searches for a question, runs them in parallel and writes a report "
    "whose every [n] citation was checked against what the searches returned. Call deep_research with the "
    "question; it reports progress and returns the cited report. Runs are durable: if the call ends early, "
    "the run goes on, and read_report with the run id (given in the first progress message and in every "
    "answer) returns the report once it is done. list_runs shows recent runs."
)
T = TypeVar("T")
logger = logging.getLogger(__name__)


class RunProgress(BaseModel):
    """Where a run is, as `run_status` answers."""

    run_id: str
    question: str
    phase: Phase
    searches_done: int = Field(description="Searches that ended (done, failed or skipped).")
    searches_total: int = Field(description="Searches planned so far, extra searches included.")
    message: str = Field(description="The same one line a progress notification carries.")
    report_ready: bool = Field(description="True when read_report returns the report.")
    error: str | None = None


DEEP_ROUNDS = 2
"""Rounds of searching a `deep` research has at least: a second round searches for what the first lacked."""


def with_depth(options: ResearchOptions, depth: Depth) -> ResearchOptions:
    """`options` with the number of searches `depth` asks for (and, for `deep`, a round of follow-ups)."""
    searches = _DEPTHS[depth]
    if searches is None:
        return options
    update: dict[str, int] = {"max_searches": searches[0], "max_extra_searches": searches[1]}
    if depth == "deep":
        update["depth"] = max(options.depth, DEEP_ROUNDS)
    return options.model_copy(update=update)


# --- the tools ---------------------------------------------------------------------------------------------


RunId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=100,
        description="A run id: from deep_research's first progress message or answer, or from list_runs.",
    ),
]
_READ_ONLY = ToolAnnotations(read_only_hint=True, open_world_hint=False)


def build_server(
    client: ResearchClient, settings: Settings, poll_interval: float = POLL_INTERVAL
) -> MCPServer[Any]:
    """The MCP server with its four tools, submitting and reading runs through `client`."""
    server: MCPServer[Any] = MCPServer(
        "deep-research",
        title="deep-research",
        instructions=_INSTRUCTIONS,
        version=__version__,
        log_level="WARNING",
    )

    async def call(function: Callable[..., T], *args: Any) -> T:
        """`function(*args)` on a worker thread, its input errors made tool errors the assistant can act on."""
        try:
            return await anyio.to_thread.run_sync(function, *args)
        except RunNotFoundError:
            raise ToolError(
                f"no run with id {args[0]!r}; list_runs shows the runs"  # an id checked by validate_run_id
            ) from None
        except InputError as error:
            raise ToolError(str(error)) from None

    async def status_of(run_id: str) -> ResearchStatus:
        try:
            validate_run_id(run_id)
        except InputError as error:
            raise ToolError(str(error)) from None
        return await call(client.status, run_id)

    @server.tool(
        annotations=ToolAnnotations(
            title="Deep research", read_only_hint=False, idempotent_hint=True, open_world_hint=True
        )
    )
    async def deep_research(
        question: Annotated[str, Field(description="What to research, in a sentence or two.")],
        ctx: Context,
        depth: Annotated[
            Depth,
            Field(
                description="quick: 2 searches; standard: the configured number (5 unless changed); "
                "deep: 10 searches, then a second round searching for what they lacked, and up to 4 "
                "extra ones while writing."
            ),
        ] = "standard",
        run_id: Annotated[
            str | None,
            Field(
                max_length=100,
                description="Your own id for the run (letters, digits, - _ . :). Calling again with the "
                "same id attaches to that run instead of starting a second one. Default: generated.",
            ),
        ] = None,
        corpus: Annotated[
            str | None,
            Field(
                max_length=100,
                description="Collection for corpus search: auto (chosen by the question), factbook, "
                "pydoc or one the user indexed.",
            ),
        ] = None,
        search_backend: Annotated[
            SearchBackendName | None, Field(description="Where searches go; default: the configured one.")
        ] = None,
        allow_domains: Annotated[
            list[str] | None,
            Field(max_length=100, description="Keep web results only from these domains (e.g. who.int)."),
        ] = None,
        deny_domains: Annotated[
            list[str] | None, Field(max_length=100, description="Drop web results from these domains.")
        ] = None,
        max_requests: Annotated[
            int | None, Field(ge=1, description="Most model requests the run may make.")
        ] = None,
        max_tokens: Annotated[int | None, Field(ge=1, description="Most tokens the run may use.")] = None,
        max_cost: Annotated[
            float | None, Field(gt=0, description="Most US dollars the run's model requests may cost.")
        ] = None,
        deadline: Annotated[
            float | None,
            Field(gt=0, description="Seconds the run may take; it then ends with a partial report."),
        ] = None,
        offline: Annotated[
            bool | None,
            Field(description="True: built-in offline models over local documents. Default: configured."),
        ] = None,
        report: Annotated[
            ReportLength | None,
            Field(
                description="'long': the report is outlined, then written section by section, each from "
                "its own sources. Default: configured (standard)."
            ),
        ] = None,
        wait_seconds: Annotated[
            float | None,
            Field(
                ge=0,
                le=86_400,
                description="Return after this many seconds even if the run is unfinished (it goes on; "
                "read_report fetches the report later). 0: submit and return the run id. Default: wait "
                "until the report is written.",
            ),
        ] = None,
    ) -> str:
        """Research a question: plan searches, run them in parallel, and return a report in markdown
        whose [n] citations are checked against numbered sources with links and quoted passages.

        Sends progress notifications (planning, searches done of total, writing) while it runs. The run
        is durable: if this call is cut off, the run goes on, and read_report with the run id from the
        first progress message returns the report when it is done.
        """
        request = RunRequest(
            question=question,
            offline=offline,
            search_backend=search_backend,
            corpus=corpus,
            allow_domains=allow_domains,
            deny_domains=deny_domains,
            max_requests=max_requests,
            max_tokens=max_tokens,
            max_cost=max_cost,
            deadline=deadline,
            run_id=run_id,
            report=report,
        )
        try:
            cleaned, options, _ = request.resolve(settings)
        except InputError as error:
            raise ToolError(str(error)) from None
        submitted = await call(client.submit, cleaned, with_depth(options, depth), run_id)
        come_back = f"read_report with run_id {submitted!r} returns its report later"
        await ctx.report_progress(0, 100, f"run {submitted}: submitted; if this call ends early, {come_back}")
        try:
            status = await _follow(lambda: call(client.status, submitted), ctx, poll_interval, wait_seconds)
        except ToolError:
            raise
        except Exception as error:  # the database went away while following: the run itself is unharmed
            logger.warning("following run %s failed", submitted, exc_info=True)
            raise ToolError(
                f"run {submitted}: its status could not be read ({type(error).__name__}); the run goes on "
                f"where the workers are: {come_back}"
            ) from None
        if status.phase is Phase.COMPLETED:
            return report_text(status)
        if status.phase.finished:
            raise ToolError(f"{progress_line(status)}; nothing to report")
        return f"{progress_line(status)}. The run goes on without this call: {come_back}."

    @server.tool(annotations=_READ_ONLY)
    async def run_status(run_id: RunId) -> RunProgress:
        """Where a run is: its phase, searches done of planned, and whether its report is ready."""
        status = await status_of(run_id)
        done, total = searches_done(status)
        return RunProgress(
            run_id=status.run_id,
            question=without_controls(status.question),
            phase=status.phase,
            searches_done=done,
            searches_total=total,
            message=progress_line(status),
            report_ready=status.phase is Phase.COMPLETED and status.report is not None,
            error=error_text(status) if status.error else None,
        )

    @server.tool(annotations=_READ_ONLY)
    async def read_report(run_id: RunId) -> str:
        """The cited report of a finished run, in markdown with numbered sources; an error naming the
        run's phase while it is still running, or why it ended without one."""
        status = await status_of(run_id)
        if status.phase is Phase.COMPLETED:
            return report_text(status)
        if status.phase.finished:
            raise ToolError(f"{progress_line(status)}; it has no report")
        raise ToolError(
            f"{progress_line(status)}; it has no report yet: call read_report again later "
            "(run_status shows its progress)"
        )

    @server.tool(annotations=_READ_ONLY)
    async def list_runs(
        limit: Annotated[int, Field(ge=1, le=200, description="How many of the newest runs.")] = 20,
        phase: Annotated[Phase | None, Field(description="Only runs in this phase.")] = None,
    ) -> list[RunSummary]:
        """The newest runs, newest first: run id, question, phase and when each was created and updated."""
        runs = await call(client.list_runs, limit, phase)
        return [run.model_copy(update={"question": without_controls(run.question)}) for run in runs]

    return server


async def _follow(
    read: Callable[[], Awaitable[ResearchStatus]],
    ctx: Context,
    poll_interval: float,
    wait_seconds: float | None,
) -> ResearchStatus:
    """Read the run's status until it ends (or `wait_seconds` pass), sending each change as progress.

    Cancelled when the client goes away: the run itself is the workers' and goes on."""
    tracker = ProgressTracker()
    with anyio.move_on_after(float("inf") if wait_seconds is None else wait_seconds):
        while True:
            status = await read()
            update = tracker.update(status)
            if update is not None:
                await ctx.report_progress(update[0], 100, update[1])
            if status.phase.finished:
                return status
            await anyio.sleep(poll_interval)
    return await read()


# --- serving -----------------------------------------------------------------------------------------------


def start_worker(settings: Settings, echo: Callable[[str], None]) -> WorkerSupervisor | None:
    """A supervised worker, as `deep-research ui` starts one, unless a worker already runs for this
    executor (then None: its runs go there)."""
    if executor_is_busy(settings):
        echo(f"a worker for executor {executor_id_of(settings)} is already running; the MCP server uses it")
        return None
    supervisor = WorkerSupervisor(settings, echo=lambda line: echo(f"worker │ {without_controls(line)}"))
    supervisor.start()
    return supervisor


def serve(
    settings: Settings,
    *,
    transport: Transport = "stdio",
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    worker: bool = True,
    echo: Callable[[str], None],
) -> None:
    """Serve the tools over `transport` until the client goes (stdio) or the process is stopped, with a
    supervised worker unless `worker` is False or one already runs. Blocks."""
    token = http_token(settings, host) if transport == "http" else None
    with ResearchClient(settings) as client:
        server = build_server(client, settings)
        supervisor = start_worker(settings, echo) if worker else None
        if not worker:
            echo("no worker started (--no-worker): runs wait in the queue for `deep-research worker`")
        for stop_signal in (signal.SIGTERM, signal.SIGINT):
            signal.signal(stop_signal, _exit)
        signalled = False
        try:
            if transport == "stdio":
                echo("MCP server on stdio; it stops when the client closes the connection")
                try:
                    anyio.run(server.run_stdio_async)
                except SystemExit:
                    signalled = True
            else:
                serve_http(server, host, port, token, echo)
        finally:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not cut the hand-back short
            if supervisor is not None:
                supervisor.stop()
    if signalled:
        # Stopped while the client still holds stdin open: the SDK's thread reading it is blocked in a read
        # no signal interrupts, and Python would wait for that thread before exiting. All is cleaned up.
        sys.stderr.flush()
        os._exit(0)


def _exit(signal_number: int, frame: FrameType | None) -> NoReturn:
    """SIGTERM and Ctrl-C end the server as a closed connection does: through `serve`'s cleanup, which
    stops the worker. (uvicorn catches them while it serves, shuts down, then raises them again, here.)"""
    raise SystemExit(0)
