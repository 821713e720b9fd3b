"""Turning what a person asks for into a run: the question checked, the options resolved.

The CLI, the UI (and any other client) build one `RunRequest` from their own input and call
`resolve_options`; bad input raises `InputError` with one message saying what to change, before anything
is stored. Nothing here touches the database or the engine.
"""

from __future__ import annotations

import hashlib
import re
import sys
import unicodedata
from pathlib import Path

from pydantic import BaseModel, Field

from .catalog import corpus_choices
from .domains import normalize_domains
from .naming import CHILD_SUFFIX
from .pricing import run_prices
from .providers import (
    OFFLINE,
    ModelConfigError,
    check_online_models,
    offline_reason,
    supports_native_web_search,
)
from .schema import MAX_BREADTH, MAX_DEPTH, ReportLength, ResearchOptions, byte_size, without_controls
from .settings import SearchBackendName, Settings

_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$")
MAX_USER_FILE_BYTES = 1_000_000
"""Default largest file a person names (a batch of questions): ten thousand questions and more."""
MAX_INSTRUCTIONS_CHARS = 4000
"""Longest analysis instructions (an edited plan's, a rewrite's): what fits a prompt, not a document."""
MAX_MODEL_NAME_CHARS = 200


class InputError(Exception):
    """Bad input from the user (question, id, option); the message says what to change."""


class RunNotFoundError(InputError):
    """No run has this id."""


def read_user_file(
    path: Path, expected: str, error: type[Exception] = InputError, limit: int = MAX_USER_FILE_BYTES
) -> str:
    """The UTF-8 text of a file a person named (`-`: standard input), or `error` saying what is wrong with
    it and what was `expected` instead (e.g. "a text file with one question a line").

    No more than `limit` bytes are read: a file named by mistake (a log, `/dev/zero`) is refused, not
    read until memory runs out."""
    too_big = f"{path} is over the limit of {byte_size(limit)}; give {expected}"
    try:
        if str(path) == "-":
            text = sys.stdin.read(limit + 1)
            if len(text.encode()) > limit:
                raise error(too_big)
            return text
        with path.open("rb") as file:
            data = file.read(limit + 1)
        if len(data) > limit:
            raise error(too_big)
        return data.decode("utf-8")
    except FileNotFoundError:
        raise error(f"no such file: {path}; give {expected}") from None
    except IsADirectoryError:
        raise error(f"{path} is a directory; give {expected}") from None
    except PermissionError:
        raise error(f"{path} cannot be read (permission denied); give {expected}") from None
    except UnicodeDecodeError:
        raise error(f"{path} is not UTF-8 text; save it as UTF-8 ({expected})") from None


def validate_instructions(instructions: str) -> str:
    """New analysis instructions (`rewrite --instructions`) without control characters and surrounding
    space, or `InputError` when empty or longer than `MAX_INSTRUCTIONS_CHARS`."""
    cleaned = without_controls(instructions).strip()
    if not cleaned:
        raise InputError("--instructions is empty; give the analyst something to do, or leave it out")
    if len(cleaned) > MAX_INSTRUCTIONS_CHARS:
        raise InputError(
            f"--instructions are {len(cleaned)} characters long, over the limit of {MAX_INSTRUCTIONS_CHARS}; "
            "shorten them"
        )
    return cleaned


def validate_model_name(model: str, flag: str) -> str:
    """A provider:model name given as `flag`, or `InputError` if it cannot be one (empty, far too long)."""
    if not model.strip() or len(model) > MAX_MODEL_NAME_CHARS or without_controls(model) != model:
        raise InputError(
            f"{flag} must be provider:model in at most {MAX_MODEL_NAME_CHARS} characters, "
            "e.g. anthropic:claude-sonnet-5-5"
        )
    return model.strip()


def validate_question(question: str, settings: Settings) -> str:
    """The question with control characters removed and whitespace tidied, or `InputError`."""
    cleaned = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in question)
    cleaned = " ".join(cleaned.split())
    if len(cleaned) < settings.min_question_chars:
        raise InputError(
            'the question is empty; ask something, e.g. deep-research run "Compare the economies of Chile and Peru"'
            if not cleaned
            else f"the question is too short ({len(cleaned)} characters); write at least {settings.min_question_chars}"
        )
    if len(cleaned) > settings.max_question_chars:
        raise InputError(
            f"the question is {len(cleaned)} characters long, over the limit of {settings.max_question_chars}; "
            "shorten it or raise RESEARCH_MAX_QUESTION_CHARS"
        )
    return cleaned


def validate_run_id(run_id: str) -> str:
    if not _RUN_ID.match(run_id) or CHILD_SUFFIX.search(run_id):
        raise InputError(
            f"invalid run id {run_id!r}: use up to 100 letters, digits, '-', '_', '.' or ':' "
            "(and no child suffix such as -plan)"
        )
    return run_id


def batch_run_id(question: str) -> str:
    """The deterministic run id of a batch question, so submitting a file twice starts nothing twice."""
    return "q-" + hashlib.sha256(question.encode()).hexdigest()[:16]


def _domains(given: list[str] | None, default: list[str]) -> list[str]:
    """A run's domain list: the one given (validated), else the setting's."""
    if given is None:
        return default
    try:
        return normalize_domains(given)
    except ValueError as error:
        raise InputError(f"{error}; give domains like example.org") from None


def _goes_offline(settings: Settings, asked: bool | None) -> tuple[bool, str | None]:
    """Whether the run goes offline and why: asked for, or (unset) a key the models need is missing."""
    wanted = asked if asked is not None else settings.offline
    if wanted is None:
        try:
            reason = offline_reason(settings)
        except ModelConfigError as error:  # a model string no provider serves: what to change, not a crash
            raise InputError(str(error)) from error
        return reason is not None, reason
    return wanted, "asked for" if wanted else None


def _search_backend(settings: Settings, backend: str, offline: bool) -> str:
    """The search backend a run uses (`auto` resolved), or `InputError` naming what it still needs."""
    if backend == "auto":
        backend = "builtin" if not offline and supports_native_web_search(settings.search_model) else "corpus"
    if backend == "builtin" and offline:
        raise InputError(
            "the builtin search backend needs a real search model; use --search-backend corpus offline"
        )
    if backend == "corpus" and settings.corpus not in corpus_choices(settings.indexes):
        raise InputError(
            f"no collection named {settings.corpus!r}; create it with: deep-research index PATH --name {settings.corpus}"
        )
    if backend == "searxng" and not settings.searxng_url:
        raise InputError(
            "the searxng search backend needs RESEARCH_SEARXNG_URL (e.g. http://localhost:8080); "
            "set it or choose another backend"
        )
    if backend == "tavily" and not settings.secret("tavily_api_key"):
        raise InputError("the tavily search backend needs TAVILY_API_KEY; set it or choose another backend")
    return backend


def resolve_options(
    settings: Settings,
    *,
    offline: bool | None = None,
    search_backend: SearchBackendName | None = None,
    allow_domains: list[str] | None = None,
    deny_domains: list[str] | None = None,
    review_plan: bool = False,
    max_requests: int | None = None,
    max_tokens: int | None = None,
    deadline: float | None = None,
    max_cost: float | None = None,
    depth: int | None = None,
    breadth: int | None = None,
) -> tuple[ResearchOptions, str | None]:
    """The options of a new run and, when offline was chosen automatically, why.

    Offline is used when asked for, or (unset) when a key the configured models need is missing.
    `review_plan` makes the run wait for approval of its plan (RESEARCH_REVIEW_TIMEOUT bounds the wait).
    The budget (`max_requests`, `max_tokens`, `max_cost`), `deadline`, `depth` (rounds of searching) and
    `breadth` (follow-up searches a round) default to the settings of the same names. The models' prices are fixed here, with the run: a cost budget needs a price for each model.
    """
    for name, value in (
        ("--max-requests", max_requests),
        ("--max-tokens", max_tokens),
        ("--deadline", deadline),
        ("--max-cost", max_cost),
    ):
        if value is not None and value <= 0:
            raise InputError(f"{name} must be above 0 (got {value:g}); leave it out for no limit")
    for name, value, most in (("--depth", depth, MAX_DEPTH), ("--breadth", breadth, MAX_BREADTH)):
        if value is not None and not 1 <= value <= most:
            raise InputError(f"{name} must be from 1 to {most} (got {value}); leave it out for the setting's")
    wanted, reason = _goes_offline(settings, offline)
    backend = _search_backend(settings, search_backend or settings.search_backend, wanted)
    if not wanted:
        try:
            check_online_models(
                settings, [settings.planner_model, settings.search_model, settings.analyst_model]
            )
        except ModelConfigError as error:
            raise InputError(str(error)) from error
    planner, searcher, analyst = models = (
        [OFFLINE] * 3 if wanted else [settings.planner_model, settings.search_model, settings.analyst_model]
    )
    prices = run_prices(models, settings.model_prices)
    cost_cap = max_cost if max_cost is not None else settings.max_cost
    unpriced = [model for model in dict.fromkeys(models) if model not in prices]
    if cost_cap is not None and unpriced:
        raise InputError(
            f"--max-cost needs the price of {unpriced[0]}, which genai-prices does not list; set it in "
            f'RESEARCH_MODEL_PRICES, e.g. {{"{unpriced[0]}": {{"input_per_mtok": 0, "output_per_mtok": 0}}}} '
            "(US dollars per million tokens)"
        )
    options = ResearchOptions(
        offline=wanted,
        planner_model=planner,
        search_model=searcher,
        analyst_model=analyst,
        search_backend=backend,
        corpus=settings.corpus,
        max_searches=settings.max_searches,
        max_results=settings.max_results,
        max_extra_searches=settings.max_extra_searches,
        read_pages=settings.read_pages,
        allow_domains=_domains(allow_domains, settings.search_allow_domains),
        deny_domains=_domains(deny_domains, settings.search_deny_domains),
        review_plan=review_plan,
        review_timeout=settings.review_timeout,
        review_timeout_action=settings.review_timeout_action,
        max_requests=max_requests if max_requests is not None else settings.max_requests,
        max_tokens=max_tokens if max_tokens is not None else settings.max_tokens,
        max_cost=cost_cap,
        model_prices=prices,
        deadline=deadline if deadline is not None else settings.deadline,
        finish_grace=settings.finish_grace,
        planner_output_mode=settings.planner_output_mode,
        search_output_mode=settings.search_output_mode,
        analyst_output_mode=settings.analyst_output_mode,
        analyst_context_tokens=settings.analyst_context_tokens,
        report=settings.report,
        depth=depth if depth is not None else settings.depth,
        breadth=breadth if breadth is not None else settings.breadth,
        stream_report=settings.stream_report,
    )
    return options, reason


class RunRequest(BaseModel):
    """A run as a person asks for it, before validation: what the CLI's flags, the UI's form and the API's
    body all become. `None` means "the setting's value"."""

    question: str
    offline: bool | None = None
    search_backend: SearchBackendName | None = None
    corpus: str | None = Field(default=None, description="The collection to search; None: RESEARCH_CORPUS.")
    allow_domains: list[str] | None = None
    deny_domains: list[str] | None = None
    review_plan: bool = False
    max_requests: int | None = None
    max_tokens: int | None = None
    deadline: float | None = None
    max_cost: float | None = Field(default=None, description="US dollars; None: RESEARCH_MAX_COST.")
    depth: int | None = Field(default=None, description="Rounds of searching; None: RESEARCH_DEPTH.")
    breadth: int | None = Field(
        default=None, description="Most follow-up searches per round; None: RESEARCH_BREADTH."
    )
    run_id: str | None = Field(default=None, description="Chosen by the client; generated when None.")
    report: ReportLength | None = Field(
        default=None,
        description="standard or long (outlined, written section by section); None: RESEARCH_REPORT.",
    )

    def resolve(self, settings: Settings) -> tuple[str, ResearchOptions, str | None]:
        """The cleaned question, the run's options and, when offline was chosen automatically, why.

        Raises `InputError` naming the first thing to change."""
        settings = self.settings(settings)
        question = validate_question(self.question, settings)
        if self.run_id is not None:
            validate_run_id(self.run_id)
        options, reason = resolve_options(
            settings,
            offline=self.offline,
            search_backend=self.search_backend,
            allow_domains=self.allow_domains,
            deny_domains=self.deny_domains,
            review_plan=self.review_plan,
            max_requests=self.max_requests,
            max_tokens=self.max_tokens,
            deadline=self.deadline,
            max_cost=self.max_cost,
            depth=self.depth,
            breadth=self.breadth,
        )
        return question, options, reason

    def settings(self, settings: Settings) -> Settings:
        """`settings` with this request's corpus (checked against the known collections later) and report
        length applied."""
        if self.report is not None:
            settings = settings.model_copy(update={"report": self.report})
        return settings.model_copy(update={"corpus": self.corpus}) if self.corpus else settings
