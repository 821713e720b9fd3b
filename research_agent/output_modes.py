"""How each role's model gives its structured answer, and one clear line when it cannot.

Small local models (served by Ollama, vLLM or llama.cpp) are often weak at tool calling: asked for a tool
call they answer in words, or call it with broken arguments. So each role's output mode is a setting
(`RESEARCH_PLANNER_OUTPUT_MODE`, `_SEARCH_`, `_ANALYST_`) recorded in the run's options:

- `tool` (the default): pydantic-ai's own choice, a tool call for most models. pydantic-ai itself falls
  back to prompted output where a provider cannot combine an output tool with its built-in web search
  (Gemini before 3), as it did before modes existed, and asks Claude models that think by default (Sonnet
  5.5, the default planner and analyst) for native JSON-schema output, since a forced tool call would stop
  them thinking. tests/test_protocols.py proves each of these paths on the wire.
- `native`: pydantic-ai's `NativeOutput`, the server's JSON-schema response format (OpenAI's
  `response_format`, which vLLM, llama.cpp and Ollama also take).
- `prompted`: pydantic-ai's `PromptedOutput`, the schema in the instructions and the JSON read from the text.

pydantic-ai refuses a run-time output type on an agent that has output validators, so agents.py builds one
agent per role and mode. The `tool` agent keeps the role's own name (the step names of runs recorded
before modes existed); the others are `role_mode`. A recovered run reads its mode from its options, so it
replays with the same agent and the same step names.

When the answer never takes the required shape (pydantic-ai's output retries used up), `NamesOutputFailure`
turns pydantic-ai's `UnexpectedModelBehavior` into `OutputStructureError`: one line naming the role, the
model, the mode and what to try instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from pydantic_ai import NativeOutput, PromptedOutput, RunContext
from pydantic_ai.capabilities import AbstractCapability
from pydantic_ai.exceptions import ContentFilterError, UnexpectedModelBehavior
from pydantic_ai.output import OutputSpec
from pydantic_ai.run import AgentRunResult

from .schema import OutputMode

T = TypeVar("T")

OUTPUT_MODES: tuple[OutputMode, ...] = ("tool", "native", "prompted")
Role = Literal["planner", "search", "analyst"]
_ANSWERS: dict[Role, str] = {"planner": "plan", "search": "findings", "analyst": "report"}
_INSTEAD: dict[OutputMode, str] = {
    "tool": "prompted (or native)",
    "native": "prompted",
    "prompted": "native (if the server takes a JSON schema)",
}


def output_spec(output_type: type[T], mode: OutputMode) -> OutputSpec[T]:
    """What an agent of `mode` is given as its `output_type`."""
    if mode == "native":
        return NativeOutput(output_type)
    if mode == "prompted":
        return PromptedOutput(output_type)
    return output_type


def agent_name(name: str, mode: OutputMode) -> str:
    """The agent's name, which names its DBOS steps: the plain name for `tool`, as before modes existed."""
    return name if mode == "tool" else f"{name}_{mode}"


def mode_setting(role: Role) -> str:
    """The environment variable that sets `role`'s output mode."""
    return f"RESEARCH_{role.upper()}_OUTPUT_MODE"


class OutputStructureError(Exception):
    """A model did not give its answer in the required structure, retries included; the message says what
    to try. Stored with the failed workflow, so it takes its message as its only argument."""


def structure_failure(role: Role, model: str, mode: OutputMode, cause: str) -> str:
    """The one line a run (or a search) fails with when its model cannot produce the structure."""
    return (
        f"the {role} model {model} gave no valid {_ANSWERS[role]} with output mode {mode} ({cause}); "
        f"try {mode_setting(role)}={_INSTEAD[mode]}, or a stronger model"
    )


def _model_id(ctx: RunContext[Any]) -> str:
    model = ctx.model
    return f"{model.system}:{model.model_name}" if model.system else model.model_name


@dataclass
class NamesOutputFailure(AbstractCapability[Any]):
    """Turns "output retries exhausted" into `OutputStructureError` naming the role, model, mode and fix."""

    role: Role
    mode: OutputMode

    async def on_run_error(self, ctx: RunContext[Any], *, error: BaseException) -> AgentRunResult[Any]:
        # Retries exhausted on the output, or on a tool the model kept calling wrongly; a garbled response
        # is a failed model step instead (retried by DBOS), and a content filter is no question of shape.
        if (
            isinstance(error, UnexpectedModelBehavior)
            and not isinstance(error, ContentFilterError)
            and "retries" in error.message
        ):
            cause = error.message.split(". ")[0]
            raise OutputStructureError(
                structure_failure(self.role, _model_id(ctx), self.mode, cause)
            ) from error
        raise error

    @classmethod
    def get_serialization_name(cls) -> str | None:
        return None
