"""Every setting the application reads, in one place.

Settings come from the environment (prefix `RESEARCH_`), which wins, and from one `.env` file: the one named
by `--env-file PATH` or RESEARCH_ENV_FILE, else the `.env` of the deep-research checkout when the command runs
in it (a developer's), else `.env` in the user's config directory (`user_env_file`). Never a `.env` that
merely sits in the working directory: that directory may be someone else's (a cloned repository, a shared
folder), and a `.env` there could send the keys from the shell to their server or the runs to their
database. The file read is `Settings.env_file`, shown by `deep-research config`. Provider API keys keep each SDK's own variable names (`ANTHROPIC_API_KEY`, `GOOGLE_API_KEY`, ...), and this
is the only module that reads them; they are held as `SecretStr` so they are never printed by accident.
"""

from __future__ import annotations

import os
import re
import tomllib
from functools import cache
from pathlib import Path
from typing import Annotated, Literal

import platformdirs
from dotenv import dotenv_values
from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from .domains import normalize_domains
from .schema import ModelPrice, OutputMode, ReportLength

SearchBackendName = Literal["auto", "builtin", "duckduckgo", "tavily", "searxng", "corpus"]

APP_NAME = "deep-research"
EXECUTOR_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
"""What an executor id may look like (it also names lock files)."""


def default_data_dir() -> Path:
    """The per-user directory that holds the default database and the search indexes."""
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


ENV_FILE_VARIABLE = "RESEARCH_ENV_FILE"
"""Names the `.env` file to read; `--env-file PATH` sets it, so the workers and the UI a command starts
read the same file."""
_SOURCE_ROOT = Path(__file__).resolve().parents[1]
_REDIRECTING = re.compile(r"(_URL|_ENDPOINT)$|^RESEARCH_DATA_DIR$", re.IGNORECASE)
"""Variables that decide where requests and runs go: base URLs, endpoints, the database and its directory."""


def user_env_file() -> Path:
    """The `.env` file in the user's config directory (~/.config/deep-research/.env on Linux)."""
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / ".env"


def project_checkout() -> Path | None:
    """The source checkout this code runs from (an editable install: its pyproject.toml names
    deep-research), or None for an installed package."""
    try:
        project = tomllib.loads((_SOURCE_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    return _SOURCE_ROOT if project.get("project", {}).get("name") == APP_NAME else None


def find_env_file() -> Path | None:
    """The `.env` file settings are read from: RESEARCH_ENV_FILE's (which need not exist: `Settings` then
    says so), else the checkout's when the working directory is the checkout, else the user's; None if
    none of these exists."""
    named = os.environ.get(ENV_FILE_VARIABLE, "").strip()
    if named:
        return Path(named).expanduser()
    checkout = project_checkout()
    try:
        here = Path.cwd().resolve()
    except OSError:  # the working directory was removed
        here = None
    if checkout is not None and here == checkout and (checkout / ".env").is_file():
        return checkout / ".env"
    user = user_env_file()
    return user if user.is_file() else None


def redirecting_entries(env_file: Path | None) -> list[str]:
    """The variables `env_file` sets that decide where requests and runs go (a base URL, an endpoint, the
    database or data directory), leaving out those the environment overrides; sorted, upper case."""
    if env_file is None or not env_file.is_file():
        return []
    overridden = {name.upper() for name in os.environ}
    named = {name.upper() for name in dotenv_values(env_file, encoding="utf-8")}
    return sorted(name for name in named - overridden if _REDIRECTING.search(name))


def env_file_warning(settings: Settings) -> str | None:
    """One line for stderr when the `.env` read sends requests or runs somewhere (names, never values:
    a URL may carry a password), else None."""
    names = redirecting_entries(settings.env_file)
    if not names:
        return None
    return (
        f"warning: {settings.env_file} sets {', '.join(names)}: requests or runs go where that file says; "
        "remove those lines unless you wrote them"
    )


class Settings(BaseSettings):
    """Effective configuration of workers, the CLI and the UI."""

    # No `.env` unless one is passed (`get_settings` passes the one `find_env_file` names).
    model_config = SettingsConfigDict(
        env_prefix="RESEARCH_", env_file=None, env_file_encoding="utf-8", extra="ignore"
    )

    env_file: Path | None = Field(
        default=None,
        description="The .env file these settings were read from: --env-file PATH or RESEARCH_ENV_FILE, else "
        ".env in the deep-research checkout when run there, else .env in the user config directory "
        f"({user_env_file()}); none when none of these exists. A .env in the working directory is never read.",
    )

    data_dir: Path = Field(
        default_factory=default_data_dir, description="Directory for the default SQLite database and indexes."
    )
    index_dir: Path | None = Field(
        default=None, description="Where built search indexes are cached (default: data_dir/indexes)."
    )
    index_max_file_mb: float = Field(
        default=5,
        gt=0,
        description="`deep-research index` leaves out (with a note) any file larger than this.",
    )
    index_max_total_mb: float = Field(
        default=25,
        gt=0,
        description="`deep-research index` refuses a folder with more document text than this (indexing "
        "takes about 15-20 times as much memory).",
    )
    database_url: str = Field(
        default="",
        description="DBOS system database: sqlite:///ABSOLUTE/PATH or postgresql://... "
        "(default: a SQLite file in data_dir, WAL mode).",
    )
    planner_model: str = Field(
        default="anthropic:claude-sonnet-5-5", description="provider:model that writes the research plan."
    )
    search_model: str = Field(
        default="google-gla:gemini-3.8-flash", description="provider:model that runs each search."
    )
    analyst_model: str = Field(
        default="anthropic:claude-sonnet-5-5", description="provider:model that writes the report."
    )
    planner_output_mode: OutputMode = Field(
        default="tool",
        description="How the planner's model gives its plan: tool (a tool call), native (the server's JSON "
        "schema response format) or prompted (JSON asked for in the instructions; for models weak at tools).",
    )
    search_output_mode: OutputMode = Field(
        default="tool", description="How the search model gives its findings: tool, native or prompted."
    )
    analyst_output_mode: OutputMode = Field(
        default="tool", description="How the analyst's model gives its report: tool, native or prompted."
    )
    analyst_context_tokens: int | None = Field(
        default=None,
        ge=2048,
        description="The analyst model's context window in tokens (Ollama's num_ctx, vLLM's --max-model-len, "
        "llama.cpp's -c): its material is trimmed to fit, least relevant passages first; unset: never trimmed.",
    )
    report: ReportLength = Field(
        default="standard",
        description="standard (the analyst writes the report in one answer) or long (it outlines the report, "
        "then each section is written in its own recorded step from only the sources the outline gives it).",
    )
    stream_report: bool = Field(
        default=True,
        description="Ask the analyst's model to stream, and publish the report's text as it is written (the "
        "HTTP API's report_text events); false for a local server that cannot stream tool calls.",
    )
    search_backend: SearchBackendName = Field(
        default="auto",
        description="auto (builtin with a key, corpus offline), builtin, duckduckgo, tavily, searxng or corpus.",
    )
    searxng_url: str | None = Field(
        default=None,
        description="Address of the SearXNG instance the searxng backend queries, e.g. http://localhost:8080 "
        "(`json` must be in its settings.yml's search.formats).",
    )
    tavily_url: str = Field(
        default="https://api.tavily.com",
        description="Base address of Tavily's API (change it only for a proxy or a stand-in).",
    )
    duckduckgo_url: str = Field(
        default="https://html.duckduckgo.com",
        description="Base address of DuckDuckGo's HTML search page, which the duckduckgo backend posts its "
        "form to at /html/ (change it only for a proxy or a stand-in).",
    )
    corpus: str = Field(
        default="auto",
        description="Collection the corpus backend searches: 'auto' (the bundled one each question fits best), "
        "'factbook', 'pydoc' (Python's own documentation) or a name given to `deep-research index`.",
    )
    offline: bool | None = Field(
        default=None,
        description="Use the built-in offline models and the local corpus. Unset: offline exactly when a "
        "needed API key is missing.",
    )
    offline_delay: float = Field(
        default=0.0, ge=0, le=60, description="Seconds each offline model request takes (pacing for demos)."
    )
    max_searches: int = Field(default=5, ge=1, le=20, description="Most search steps a plan may hold.")
    max_results: int = Field(default=5, ge=1, le=20, description="Sources kept per search.")
    depth: int = Field(
        default=1,
        ge=1,
        le=5,
        description="Rounds of searching: after the first, a reflection on the findings names what is still "
        "missing and the run searches for it, up to this many rounds (1: search the plan once; --depth).",
    )
    breadth: int = Field(
        default=4,
        ge=1,
        le=10,
        description="Most follow-up searches one round after the first runs (--breadth).",
    )
    max_extra_searches: int = Field(
        default=2, ge=0, le=10, description="Most extra searches the analyst may run per report."
    )
    read_pages: int = Field(
        default=4,
        ge=0,
        le=10,
        description="Web pages read after each web search (its best results); 0 researches from snippets only.",
    )
    passages_per_page: int = Field(default=3, ge=1, le=10, description="Passages kept of each page read.")
    page_timeout: float = Field(
        default=20.0, gt=0, le=120, description="Seconds one page may take to read, redirects included."
    )
    page_max_bytes: int = Field(
        default=2_000_000, ge=10_000, le=50_000_000, description="Bytes of a page read at most."
    )
    allow_private_urls: bool = Field(
        default=False,
        description="Read pages on loopback, private and link-local addresses (an intranet). Off, such "
        "pages are refused whoever names them, a search result or a model; the endpoints you configure "
        "(RESEARCH_SEARXNG_URL, model base URLs) are called as given, never through the page reader.",
    )
    search_allow_domains: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Web search keeps only results from these domains and their subdomains (comma-separated).",
    )
    search_deny_domains: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Web search drops results from these domains (comma-separated)."
    )
    review_timeout: float | None = Field(
        default=None,
        gt=0,
        description="Seconds a plan under review (--review-plan) waits for a decision; unset: no limit.",
    )
    review_timeout_action: Literal["approve", "cancel"] = Field(
        default="cancel", description="What happens to a plan still undecided when review_timeout passes."
    )
    max_requests: int | None = Field(
        default=None,
        ge=1,
        description="Most model requests one run may make; unset: no cap (--max-requests).",
    )
    max_tokens: int | None = Field(
        default=None, ge=1, description="Most tokens one run may use; unset: no cap (--max-tokens)."
    )
    max_cost: float | None = Field(
        default=None,
        gt=0,
        description="Most US dollars one run's model requests may cost; unset: no cap (--max-cost).",
    )
    model_prices: Annotated[dict[str, ModelPrice], NoDecode] = Field(
        default_factory=dict,
        description="Prices of models genai-prices does not list (local ones) or that you pay otherwise, as JSON: "
        '{"openai:llama3.2": {"input_per_mtok": 0, "output_per_mtok": 0}} (US dollars per million tokens).',
    )
    deadline: float | None = Field(
        default=None,
        gt=0,
        description="Seconds a run may take once started; it then ends with a partial report (--deadline).",
    )
    finish_grace: float = Field(
        default=10.0, ge=0, description="Seconds running searches may still take after `finish`."
    )
    min_question_chars: int = Field(default=3, ge=1, description="Shortest question accepted.")
    max_question_chars: int = Field(default=2000, ge=10, description="Longest question accepted.")
    executor_id: str | None = Field(
        default=None,
        pattern=EXECUTOR_ID_PATTERN,
        description="Identity of this worker; a dead worker's runs resume under the same id. "
        "Default: this host's name and a name kept in the data directory.",
    )
    worker_concurrency: int = Field(
        default=32,
        ge=1,
        description="Runs one worker executes at once. A run mostly waits for its models, so one worker holds "
        "many; 32 keep a worker near half a core with models answering in ~10 s (bench/concurrent_runs.py). "
        "Lower it for fast local models, add workers for more.",
    )
    search_concurrency: int = Field(
        default=8, ge=1, description="Searches running at once across all workers (the `search` queue)."
    )
    search_rate_limit: int = Field(
        default=30, ge=1, description="Most searches started per search_rate_period, across all workers."
    )
    search_rate_period: float = Field(default=1.0, gt=0, description="Seconds of the search rate window.")
    queue_poll_interval: float = Field(
        default=0.05,
        gt=0,
        le=10,
        description="Seconds between a worker's polls of its queues while it runs work (on SQLite, also how "
        "often an idle worker looks for a write to the database, without a query, and polls only then; "
        "idle, it polls every second): about the most a queued run or search waits for a free worker.",
    )
    shutdown_grace: float = Field(
        default=10.0,
        ge=0,
        le=300,
        description="Seconds a worker told to stop (SIGTERM, Ctrl-C) lets running work finish before it hands "
        "the rest back to the queue for the next worker.",
    )
    execution_log: Path | None = Field(
        default=None,
        description="If set, append one JSON line per real model request and search call (audits, tests).",
    )
    sqlite_synchronous: Literal["NORMAL", "FULL"] = Field(
        default="NORMAL",
        description="SQLite's synchronous setting for the worker (WAL mode). NORMAL: every commit survives a "
        "crash of the process, the last ones can be lost to a power cut or OS crash (their steps then run "
        "again). FULL: an fsync per commit, nothing committed is ever lost, each step is slower.",
    )
    # Fault injection (faults.py), for tests and drills: off unless a rate is set. Never in production.
    fault_rate_429: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="Drills: share of model requests and searches failing with HTTP 429.",
    )
    fault_rate_5xx: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="Drills: share of model requests and searches failing with 500/503.",
    )
    fault_rate_timeout: float = Field(
        default=0.0, ge=0, le=1, description="Drills: share of model requests and searches that time out."
    )
    fault_rate_malformed: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="Drills: share of model answers whose structured output is garbled.",
    )
    fault_retry_after: float = Field(
        default=0.2,
        ge=0,
        le=60,
        description="Drills: seconds half of the injected 429s ask to wait (Retry-After).",
    )
    fault_timeout_seconds: float = Field(
        default=0.2, ge=0, le=60, description="Drills: how long an injected timeout hangs before it fails."
    )
    fault_seed: int = Field(
        default=0, description="Drills: which calls fail (the same seed fails the same calls)."
    )
    ui_push_updates: bool = Field(
        default=True,
        description="The web UI reruns the worker panel and a live run's page when what they show changes "
        "(one shared poll for every open tab); false: every tab polls each second instead (costs ~5–15 % of a "
        "core a tab).",
    )
    log_level: str = Field(default="WARNING", description="Log level of DBOS and the application.")
    tracing: bool | None = Field(
        default=None,
        description="Trace runs (workflow, agent and model-request spans). Unset: exactly when spans have "
        "somewhere to go (LOGFIRE_TOKEN, OTEL_EXPORTER_OTLP_ENDPOINT or the local trace store), so an "
        "untraced worker pays nothing.",
    )
    trace_store: bool = Field(
        default=True,
        description="Keep every run's spans locally (a file beside a SQLite database, a table in a Postgres "
        "one) for `deep-research trace` and the run page; also when Logfire or an OTLP endpoint gets them.",
    )
    trace_store_max_spans: int = Field(
        default=5000,
        ge=10,
        description="Most spans kept per run; beyond it only workflow spans are kept and the rest counted.",
    )
    trace_store_max_runs: int = Field(
        default=300, ge=1, description="Runs whose spans the trace store keeps; the oldest go first."
    )
    trace_store_max_age_days: float = Field(
        default=30, gt=0, description="Days the trace store keeps a run's spans after its last one."
    )
    trace_content: bool = Field(
        default=True,
        description="Record prompts, completions and tool arguments in model-request and agent spans "
        "(Logfire, OTLP and the trace store); false keeps names, timings and token counts only.",
    )
    logfire_project_url: str | None = Field(
        default=None,
        description="Your Logfire project's URL (https://logfire-us.pydantic.dev/ORG/PROJECT); the UI and "
        "`deep-research show` then link each run to its trace.",
    )

    judge_model: str = Field(
        default="anthropic:claude-sonnet-5-5",
        description="provider:model of the LLM judge in `deep-research eval`; the judge runs only when this "
        "model's key is set (empty: never).",
    )

    anthropic_api_key: SecretStr | None = Field(default=None, validation_alias="ANTHROPIC_API_KEY")
    google_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("GOOGLE_API_KEY", "GEMINI_API_KEY")
    )
    openai_api_key: SecretStr | None = Field(default=None, validation_alias="OPENAI_API_KEY")
    openai_base_url: str | None = Field(default=None, validation_alias="OPENAI_BASE_URL")
    tavily_api_key: SecretStr | None = Field(default=None, validation_alias="TAVILY_API_KEY")
    logfire_token: SecretStr | None = Field(default=None, validation_alias="LOGFIRE_TOKEN")
    api_token: SecretStr | None = Field(
        default=None,
        description="Bearer token every request to `deep-research serve` must carry (Authorization: Bearer "
        "TOKEN); required to serve on an address other than loopback.",
    )
    mcp_token: SecretStr | None = Field(
        default=None,
        description="Bearer token every request to `deep-research mcp --transport http` must carry "
        "(Authorization: Bearer TOKEN); required to serve on an address other than loopback.",
    )

    @field_validator("search_allow_domains", "search_deny_domains", mode="before")
    @classmethod
    def _domain_list(cls, value: object) -> list[str]:
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, list | tuple):
            raise ValueError("expected a comma-separated list of domains, e.g. example.org,docs.python.org")
        return normalize_domains(str(item) for item in items)

    @field_validator("model_prices", mode="before")
    @classmethod
    def _price_table(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        import json

        try:
            return json.loads(value) if value.strip() else {}
        except json.JSONDecodeError:
            raise ValueError(
                'expected JSON such as {"openai:llama3.2": {"input_per_mtok": 0, "output_per_mtok": 0}}'
            ) from None

    @field_validator("env_file")
    @classmethod
    def _env_file_exists(cls, value: Path | None) -> Path | None:
        if value is not None and (not value.exists() or value.is_dir()):
            raise ValueError(
                f"no .env file at {value}; name an existing file with --env-file PATH or RESEARCH_ENV_FILE"
            )
        return value

    @field_validator("planner_model", "search_model", "analyst_model")
    @classmethod
    def _model_has_provider(cls, value: str) -> str:
        if ":" not in value or not all(part.strip() for part in value.split(":", 1)):
            raise ValueError(
                f"expected 'provider:model' (for example anthropic:claude-sonnet-5-5), got {value!r}"
            )
        return value.strip()

    @model_validator(mode="after")
    def _fault_rates_add_up(self) -> Settings:
        total = (
            self.fault_rate_429 + self.fault_rate_5xx + self.fault_rate_timeout + self.fault_rate_malformed
        )
        if total > 1:
            raise ValueError(
                f"the RESEARCH_FAULT_RATE_* shares add up to {total:g}; keep their sum at most 1"
            )
        return self

    @model_validator(mode="after")
    def _fill_defaults(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{(self.data_dir / 'research.sqlite').resolve()}"
        return self

    @property
    def indexes(self) -> Path:
        """The directory of cached search indexes."""
        return self.index_dir or self.data_dir / "indexes"

    @property
    def faults_enabled(self) -> bool:
        """Whether fault injection (faults.py) is on: some `RESEARCH_FAULT_RATE_*` is above zero."""
        return (
            self.fault_rate_429 + self.fault_rate_5xx + self.fault_rate_timeout + self.fault_rate_malformed
            > 0
        )

    def fault_summary(self) -> str:
        """The fault rates in force, e.g. '429 20%, 5xx 2%'."""
        rates = {
            "429": self.fault_rate_429,
            "5xx": self.fault_rate_5xx,
            "timeout": self.fault_rate_timeout,
            "malformed output": self.fault_rate_malformed,
        }
        return ", ".join(f"{name} {rate:.0%}" for name, rate in rates.items() if rate)

    def secret(self, name: str) -> str | None:
        """The plain value of a provider key (e.g. `'anthropic_api_key'`), or None when unset or empty."""
        value: SecretStr | None = getattr(self, name)
        plain = value.get_secret_value().strip() if value is not None else ""
        return plain or None


@cache
def get_settings() -> Settings:
    """Settings of this process, parsed once, with the `.env` file `find_env_file` names."""
    env_file = find_env_file()
    return Settings(_env_file=env_file, env_file=env_file)  # type: ignore[call-arg]  # pydantic-settings' own


def settings_error(error: ValidationError) -> str:
    """One line naming the setting that is wrong and why, for every front end (CLI, UI) to show."""
    first = error.errors()[0]
    name = "RESEARCH_" + str(first["loc"][0]).upper() if first["loc"] else "a setting"
    env_file = find_env_file()
    where = (
        f"the environment and {env_file}"
        if env_file is not None and env_file.is_file()
        else "the environment"
    )
    return f"{name}: {first['msg']} (check {where})"
