"""The API's endpoints over runs: submit, read, list and control them, as the CLI's commands do.

Each endpoint is a thin call into `ResearchClient` (the same client the CLI and the UI use, so a run
started here is the run `deep-research show` prints), with the client's `InputError`s turned into 4xx
answers: an unknown run is 404, a request the run's state does not allow (finish a completed run) 409,
input that can never work 422.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path, Query, Request, Response

from ..client import ResearchClient, UnreadableRunError
from ..exports import MEDIA_TYPES, ExportError, ExportFormat, file_name, render_export
from ..options import (
    InputError,
    RunNotFoundError,
    validate_instructions,
    validate_model_name,
    validate_run_id,
)
from ..schema import Phase, ResearchReport, ResearchStatus, RunSummary
from ..settings import Settings
from .bodies import Approval, NewRun, Rewrite, SubmitRun, SubmittedRun
from .errors import ApiError, ErrorBody
from .feed import StatusFeed

MAX_LISTED_RUNS = 1000


@dataclass
class ApiState:
    """What the endpoints share, made when the app starts: the settings, the client and the feed."""

    settings: Settings
    client: ResearchClient
    feed: StatusFeed


def state_of(request: Request) -> ApiState:
    state: ApiState = request.app.state.api
    return state


def client_of(request: Request) -> ResearchClient:
    return state_of(request).client


Client = Annotated[ResearchClient, Depends(client_of)]


def checked_run_id(run_id: Annotated[str, Path(description="The run's id.", max_length=200)]) -> str:
    try:
        return validate_run_id(run_id)
    except InputError as error:
        raise ApiError(400, str(error), code="invalid_run_id") from None


RunId = Annotated[str, Depends(checked_run_id)]
ERRORS: dict[int | str, dict[str, object]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in (
        (400, "A malformed run id."),
        (401, "No bearer token, or a wrong one."),
        (404, "No run with this id."),
        (409, "The run's state does not allow this now (the message says what does)."),
        (413, "The body is over the size limit."),
        (422, "The body or the query is invalid (the message names the field and the fix)."),
    )
}


@contextmanager
def answering(run_id: str | None = None, state_errors: bool = True) -> Iterator[None]:
    """Turn the client's errors into API errors: no run `run_id` is 404, `InputError` a conflict with the
    run's state (409) when `state_errors`, else input that cannot work (422)."""
    try:
        yield
    except RunNotFoundError as error:
        message = f"no run with id {run_id!r}; GET /runs lists the runs" if run_id else str(error)
        raise ApiError(404, message) from None
    except UnreadableRunError as error:
        raise ApiError(409, str(error), code="unreadable_run") from None
    except InputError as error:
        raise ApiError(409 if state_errors else 422, str(error)) from None


def events_path(run_id: str) -> str:
    return f"/runs/{run_id}/events"


router = APIRouter(prefix="/runs", tags=["runs"], responses=ERRORS)


@router.post(
    "",
    status_code=201,
    responses={200: {"model": SubmittedRun, "description": "A run with this id existed: nothing started."}},
)
def submit(request: Request, body: SubmitRun, response: Response) -> SubmittedRun:
    """Start a run, or, given the `run_id` of an existing run of the same question, return that run.

    Submitting twice with the same `run_id` never starts a second run, so a client can retry a submit
    whose answer it lost. The same id with another question or other options is a conflict (409).
    """
    state = state_of(request)
    with answering(state_errors=False):
        question, options, reason = body.resolve(state.settings)
    client = state.client
    if body.run_id is not None:
        try:
            existing = client.status(body.run_id)
        except RunNotFoundError:
            existing = None
        if existing is not None:
            if existing.question != question or existing.options != options:
                raise ApiError(
                    409,
                    f"run id {body.run_id!r} already names a run of another question or other options; "
                    "choose another run_id, or send the same request again to get that run",
                )
            response.status_code = 200
            return SubmittedRun(
                run_id=existing.run_id, created=False, events=events_path(existing.run_id), status=existing
            )
    with answering(state_errors=False):
        run_id = client.submit(question, options, body.run_id)
        status = client.status(run_id)
    response.headers["Location"] = f"/runs/{run_id}"
    return SubmittedRun(
        run_id=run_id, created=True, offline_reason=reason, events=events_path(run_id), status=status
    )


@router.get("")
def list_runs(
    client: Client,
    limit: Annotated[
        int, Query(ge=1, le=MAX_LISTED_RUNS, description="Most runs listed, newest first.")
    ] = 20,
    phase: Annotated[Phase | None, Query(description="Only runs in this phase.")] = None,
) -> list[RunSummary]:
    """The newest runs, newest first."""
    return client.list_runs(limit=limit, phase=phase)


@router.get("/{run_id}")
def get_run(run_id: RunId, client: Client) -> ResearchStatus:
    """The run's status: phase, plan, searches, usage and, once it is written, the report."""
    with answering(run_id):
        return client.status(run_id)


@router.get("/{run_id}/report")
def get_report(run_id: RunId, client: Client) -> ResearchReport:
    """The run's report with its numbered sources; 409 while it is not written yet."""
    with answering(run_id):
        status = client.status(run_id)
    if status.report is None:
        raise ApiError(
            409,
            f"run {run_id} is {status.phase.value} and has no report"
            + ("" if status.phase.finished else f"; follow {events_path(run_id)} until it completes"),
            code="no_report",
        )
    return status.report


@router.post("/{run_id}/cancel")
def cancel(run_id: RunId, client: Client) -> ResearchStatus:
    """Cancel the run and its searches; `resume` continues it later."""
    with answering(run_id):
        return client.cancel(run_id)


@router.post("/{run_id}/resume")
def resume(run_id: RunId, client: Client) -> ResearchStatus:
    """Resume a cancelled or failed run from its last completed step."""
    with answering(run_id):
        return client.resume(run_id)


@router.post("/{run_id}/finish")
def finish(run_id: RunId, client: Client) -> ResearchStatus:
    """Stop searching and write the report from what was found (skipped searches are named in it)."""
    with answering(run_id):
        return client.finish(run_id)


@router.post("/{run_id}/approve")
def approve(run_id: RunId, client: Client, body: Annotated[Approval | None, Body()] = None) -> ResearchStatus:
    """Approve the plan of a run submitted with `review_plan`, as it is or as edited in `plan`."""
    with answering(run_id):
        return client.approve(run_id, body.plan if body else None)


@router.post("/{run_id}/reject")
def reject(run_id: RunId, client: Client) -> ResearchStatus:
    """Reject the plan of a run awaiting approval: it ends CANCELLED without searching."""
    with answering(run_id):
        return client.reject(run_id)


@router.post("/{run_id}/retry", status_code=201)
def retry(run_id: RunId, client: Client) -> NewRun:
    """A new run that reruns only the failed or skipped searches of a completed run, then its analysis."""
    with answering(run_id):
        new_id = client.retry(run_id)
    return NewRun(run_id=new_id, from_run=run_id, events=events_path(new_id))


@router.post("/{run_id}/rewrite", status_code=201)
def rewrite(run_id: RunId, client: Client, body: Annotated[Rewrite | None, Body()] = None) -> NewRun:
    """A new run whose report is written again from a completed run's searches (no search runs again)."""
    body = body or Rewrite()
    with answering(state_errors=False):
        instructions = validate_instructions(body.instructions) if body.instructions is not None else None
        model = validate_model_name(body.analyst_model, "analyst_model") if body.analyst_model else None
    with answering(run_id):
        new_id = client.rewrite(run_id, analyst_model=model, instructions=instructions)
    return NewRun(run_id=new_id, from_run=run_id, events=events_path(new_id))


@router.get(
    "/{run_id}/export",
    response_class=Response,
    responses={200: {"content": {media: {} for media in MEDIA_TYPES.values()}, "description": "The file."}},
)
def export(
    run_id: RunId,
    client: Client,
    fmt: Annotated[ExportFormat, Query(alias="format", description="md, pdf or docx.")] = "md",
) -> Response:
    """The run's report as a file: title, report, numbered sources with links and quotes, the run's facts."""
    with answering(run_id):
        status = client.status(run_id)
    try:
        data = render_export(status, fmt)
    except ExportError as error:
        raise ApiError(409, str(error), code="no_report") from None
    disposition = f'attachment; filename="{file_name(status, fmt)}"'
    return Response(data, media_type=MEDIA_TYPES[fmt], headers={"Content-Disposition": disposition})
