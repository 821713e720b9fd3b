"""The JSON bodies the HTTP API takes and returns, beside the shared models of `schema`.

A new run's body is the `RunRequest` the CLI's flags and the UI's form also become, so the three can never
accept different options; here it refuses unknown fields, so a misspelt option is an error instead of a
run without it.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from ..options import RunRequest
from ..schema import ResearchPlan, ResearchStatus


class SubmitRun(RunRequest):
    """A new run: the question and every option `deep-research run` takes (null: the server's setting)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"question": "Compare the economies of Chile and Peru", "run_id": "chile-peru"}]
        },
    )


class SubmittedRun(BaseModel):
    """The answer to a submit: the run, whether this request created it, and where to follow it."""

    run_id: str
    created: bool = Field(description="False when a run with this id already existed (nothing was started).")
    offline_reason: str | None = Field(
        default=None, description="Why the run went offline when offline was not asked for explicitly."
    )
    events: str = Field(description="Path of the run's progress stream (server-sent events).")
    status: ResearchStatus


class NewRun(BaseModel):
    """A run made from another one (retry, rewrite)."""

    run_id: str
    from_run: str
    events: str


class Approval(BaseModel):
    """Approve a plan as it is (no body, or `plan` null) or run an edited plan instead."""

    model_config = ConfigDict(extra="forbid")
    plan: ResearchPlan | None = None


class Rewrite(BaseModel):
    """A new report from a completed run's search results: another analyst model, other instructions."""

    model_config = ConfigDict(extra="forbid")
    analyst_model: str | None = Field(default=None, examples=["anthropic:claude-sonnet-5-5"])
    instructions: str | None = Field(default=None, examples=["Focus on trade"])


class Health(BaseModel):
    status: str = "ok"
    version: str
    worker_alive: bool = Field(description="Whether some worker will pick up queued runs.")
