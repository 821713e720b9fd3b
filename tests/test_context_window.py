"""Fitting the analyst's material to a context window (context_window.py), and the output-mode settings
as a person sets them: the cut order, its determinism, the closing note, the error when nothing fits, and
`deep-research config` showing the modes. The protocol-level runs are in tests/test_local_models.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from research_agent.context_window import (
    ContextTooSmallError,
    LeftOut,
    estimate_tokens,
    fit_analyst_material,
    fit_sources,
)
from research_agent.options import resolve_options
from research_agent.prompts import analyst_prompt, read_tag
from research_agent.schema import (
    NumberedSource,
    ResearchOptions,
    ResearchPlan,
    SearchFindings,
    SearchOutcome,
    SearchStep,
    Source,
)
from research_agent.settings import Settings, get_settings
from research_agent.workflows import number_sources

PLAN = ResearchPlan(
    search_steps=[SearchStep(query="Carrick Sound light", rationale="Its history.")],
    analysis_instructions="Say when it was first lit.",
)


def _passage(source: int, rank: int) -> str:
    return f"Source {source} passage {rank}: " + "The light was first lit in 1841 on the rock. " * 12


def _outcomes(sources: int = 4, passages: int = 3) -> list[SearchOutcome]:
    found = [
        Source(
            title=f"Page {n}",
            url=f"https://carrick.example/{n}",
            snippet="First lit in 1841.",
            passages=[_passage(n, rank) for rank in range(1, passages + 1)],
        )
        for n in range(1, sources + 1)
    ]
    findings = SearchFindings(query="Carrick Sound light", summary="It was first lit in 1841.", sources=found)
    return [SearchOutcome(index=1, query="Carrick Sound light", findings=findings)]


def _shown(prompt: str) -> dict[int, list[str]]:
    """The passages each source shows in an analyst prompt, by source number."""
    data = json.loads(read_tag(prompt, "research_data") or "")
    return {s["number"]: s["passages"] for search in data["searches"] for s in search.get("sources", [])}


def _fit(context: int | None, outcomes: list[SearchOutcome], extras: int = 0) -> tuple[str, str | None]:
    options = ResearchOptions(analyst_context_tokens=context, max_extra_searches=extras)
    material = fit_analyst_material("When?", PLAN, outcomes, number_sources(outcomes), "web", options)
    return material.prompt, material.note()


def test_tokens_are_estimated_cautiously_from_utf8_bytes() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("abcd") == 2  # 4 bytes: rounded up
    assert estimate_tokens("é" * 3) == 2  # 6 bytes
    # About four characters a token in English with current tokenizers: three bytes a token is more.
    sentence = "The light was first lit in 1841, after six years of building on the headland."
    assert estimate_tokens(sentence) > len(sentence) / 4


def test_without_a_context_size_nothing_is_cut() -> None:
    outcomes = _outcomes()
    prompt, note = _fit(None, outcomes)
    assert prompt == analyst_prompt("When?", PLAN, outcomes, number_sources(outcomes), "web")
    assert note is None


def test_later_passages_go_first_from_the_last_source_back_and_first_passages_stay() -> None:
    outcomes = _outcomes(sources=4, passages=3)
    seen = set()
    for context in range(2048, 12288, 64):
        prompt, note = _fit(context, outcomes)
        kept = [len(passages) for _, passages in sorted(_shown(prompt).items())]
        seen.add(tuple(kept))
        for number, passages in _shown(prompt).items():  # each source shows its best passages
            assert passages == [_passage(number, rank) for rank in range(1, len(passages) + 1)]
        # A level of passages goes whole, from the last source back, before the next one starts.
        assert kept == sorted(kept, reverse=True) and max(kept) - min(kept) <= 1, kept
        assert (note is None) == (kept == [3, 3, 3, 3])
    # Every step of the way was seen: third passages going, then second ones, then first ones.
    assert {(3, 3, 3, 2), (3, 2, 2, 2), (2, 2, 2, 1), (1, 1, 1, 1), (1, 1, 1, 0)} <= seen, sorted(seen)


def test_the_cut_is_the_same_every_time_and_fits_its_share() -> None:
    outcomes = _outcomes(sources=6, passages=3)
    first, note = _fit(5000, outcomes, extras=2)
    again, _ = _fit(5000, outcomes, extras=2)
    assert first == again
    assert note is not None and "[" not in note  # no [n]: the citation check would take it for a citation
    assert "RESEARCH_ANALYST_CONTEXT_TOKENS" in note and "of 18 passages" in note
    assert estimate_tokens(first) <= 5000 - 5000 // 4 - 5000 // 8


def test_whole_sources_go_last_and_are_named_in_the_note() -> None:
    outcomes = _outcomes(sources=60, passages=1)
    prompt, note = _fit(2048, outcomes)
    shown = _shown(prompt)
    assert note is not None and shown and not any(shown.values())  # every passage went before any source
    dropped = sorted(set(range(1, 61)) - set(shown))
    assert dropped and dropped == list(range(61 - len(dropped), 61))  # the highest numbers
    assert (
        f"60 of 60 passages and {len(dropped)} of 60 sources (numbers {', '.join(map(str, dropped))})" in note
    )


def test_a_window_too_small_for_the_summaries_says_how_large_it_must_be() -> None:
    outcome = _outcomes()[0]
    assert outcome.findings is not None
    long_summary = outcome.findings.model_copy(update={"summary": "It was first lit in 1841. " * 400})
    outcomes = [outcome.model_copy(update={"findings": long_summary})]
    with pytest.raises(
        ContextTooSmallError, match=r"RESEARCH_ANALYST_CONTEXT_TOKENS=2048 is too small"
    ) as error:
        _fit(2048, outcomes)
    needed = int(str(error.value).split("about ")[1].split(" tokens")[0])
    _, note = _fit(needed, outcomes)  # the size it names is enough
    assert note is not None


def test_an_extra_searchs_results_are_cut_to_their_share() -> None:
    sources = [
        NumberedSource(
            number=n, title=f"Page {n}", url=f"https://x.example/{n}", passages=[_passage(n, 1)] * 3
        )
        for n in range(1, 4)
    ]
    fitted = fit_sources(sources, 600)
    assert estimate_tokens(json.dumps([s.model_dump(exclude_none=True) for s in fitted.sources])) <= 600
    assert (
        fitted.left_out.passages > 0
        and [s.number for s in fitted.sources] == [1, 2, 3][: len(fitted.sources)]
    )
    assert fit_sources(sources, 100_000).left_out == LeftOut()


def test_output_modes_and_the_context_size_are_settings_recorded_with_the_run() -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        offline=True,
        planner_output_mode="native",
        search_output_mode="prompted",
        analyst_context_tokens=8192,
    )
    options, _ = resolve_options(settings)
    assert (options.planner_output_mode, options.search_output_mode, options.analyst_output_mode) == (
        "native",
        "prompted",
        "tool",
    )
    assert options.analyst_context_tokens == 8192
    with pytest.raises(ValueError, match="greater than or equal to 2048"):
        Settings(_env_file=None, analyst_context_tokens=512)  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="'tool', 'native' or 'prompted'"):
        Settings(_env_file=None, analyst_output_mode="json")  # type: ignore[call-arg,arg-type]


def test_config_shows_each_roles_output_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    from research_agent.cli import app

    monkeypatch.setenv("RESEARCH_ANALYST_OUTPUT_MODE", "prompted")
    monkeypatch.setenv("RESEARCH_ANALYST_CONTEXT_TOKENS", "8192")
    get_settings.cache_clear()
    shown = CliRunner().invoke(app, ["config", "--json"])
    assert shown.exit_code == 0, shown.output
    values = json.loads(shown.stdout)
    assert values["analyst_output_mode"] == "prompted" and values["planner_output_mode"] == "tool"
    assert values["analyst_context_tokens"] == 8192


def test_the_readmes_local_models_env_runs_online_with_its_modes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's copy-paste `.env` for a local server, read as the CLI reads a `.env` file."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    block = readme.split("**Local models (Ollama, vLLM, llama.cpp).**", 1)[1].split("```bash\n", 1)[1]
    env_file = Path("local.env")
    env_file.write_text(block.split("```", 1)[0], encoding="utf-8")
    monkeypatch.setenv("RESEARCH_ENV_FILE", str(env_file.resolve()))
    get_settings.cache_clear()

    options, offline_because = resolve_options(get_settings())
    assert not options.offline and offline_because is None  # a local server needs no key
    assert options.analyst_model == "openai:qwen2.5:7b-instruct" and options.search_backend == "duckduckgo"
    assert (options.planner_output_mode, options.search_output_mode, options.analyst_output_mode) == (
        "prompted",
        "tool",
        "prompted",
    )
    assert options.analyst_context_tokens == 8192
