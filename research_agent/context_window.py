"""Fitting the analyst's material into a small model's context window.

A local model runs with the context its server was started with (Ollama's `num_ctx`, vLLM's
`--max-model-len`, llama.cpp's `-c`): a request longer than that fails with a "context length exceeded"
error, or is silently cut from the front. With `ResearchOptions.analyst_context_tokens` set, the analyst's
research material is cut to fit before it is sent, least relevant first:

1. every source's later passages, deepest first (a page's passages are ranked best first), from the
   highest-numbered source back (sources are numbered in plan order, the plan's most important search first);
2. then the sources' first passages, the same way, so every source keeps one while it can;
3. then whole sources, highest number first.

The context is shared out as: the instructions and tool definitions (estimated from their text, plus
`FRAMING_TOKENS`), a quarter for the analyst's answers (the report, its tool calls), an eighth for the
extra searches' results (each cut the same way to its share), and the rest for the material. What was left
out is named in a note at the end of the report.

Tokens are estimated, not counted: each server has its own tokenizer, and none is at hand. The estimate
is one token per `BYTES_PER_TOKEN` bytes of UTF-8, which overstates English prose, JSON and code (about
four characters a token with the Llama 3, Qwen 2.5, Gemma and GPT tokenizers) and so errs on the safe side.
It is a pure function of the recorded search outcomes, so an analysis replayed after a crash builds the
same prompt.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .prompts import ANALYST_INSTRUCTIONS, analyst_prompt
from .schema import NumberedSource, ReportDraft, ResearchOptions, ResearchPlan, SearchOutcome

BYTES_PER_TOKEN = 3
ANSWER_SHARE = 4
"""One part in ANSWER_SHARE of the context is kept for the analyst's answers."""
EXTRA_SHARE = 8
"""One part in EXTRA_SHARE is kept for the extra searches' results (when the run allows any)."""
FRAMING_TOKENS = 250
"""The `extra_search` tool definition, the output instructions around the schema, the chat template."""
_DROPPED = -1


def estimate_tokens(text: str) -> int:
    """A cautious token count of `text`: one token per `BYTES_PER_TOKEN` bytes of UTF-8, rounded up."""
    return -(-len(text.encode("utf-8")) // BYTES_PER_TOKEN)


class ContextTooSmallError(Exception):
    """Even with every source left out, the analyst's material does not fit its context window."""


@dataclass(frozen=True)
class LeftOut:
    """What was cut from the material to fit: passages (those of dropped sources included), and the
    numbers of the sources dropped whole."""

    passages: int = 0
    sources: tuple[int, ...] = ()

    def __add__(self, other: LeftOut) -> LeftOut:
        return LeftOut(self.passages + other.passages, self.sources + other.sources)

    def __bool__(self) -> bool:
        return bool(self.passages or self.sources)


@dataclass(frozen=True)
class FittedSources:
    sources: list[NumberedSource]
    left_out: LeftOut


@dataclass(frozen=True)
class AnalystMaterial:
    """The analyst's prompt, fitted to its context window when one is set."""

    prompt: str
    context_tokens: int | None = None
    extra_result_tokens: int | None = None
    """The most tokens each extra search's results may take (None: no limit)."""
    left_out: LeftOut = field(default_factory=LeftOut)
    passages: int = 0
    sources: int = 0
    """How many passages and sources the material had before it was cut."""

    def note(self, extra_left_out: LeftOut = LeftOut()) -> str | None:
        """One closing line for the report naming what the analyst never saw; None when nothing was cut.

        Source numbers are written without brackets: the citation check would read `[n]` as a citation."""
        if not (self.left_out or extra_left_out):
            return None
        parts = []
        if self.left_out.passages:
            parts.append(f"{self.left_out.passages} of {self.passages} passages")
        if self.left_out.sources:
            numbers = ", ".join(str(n) for n in self.left_out.sources)
            parts.append(f"{len(self.left_out.sources)} of {self.sources} sources (numbers {numbers})")
        extra = [
            f"{count} {noun}"
            for count, noun in (
                (extra_left_out.passages, "passages"),
                (len(extra_left_out.sources), "sources"),
            )
            if count
        ]
        if extra:
            parts.append(f"{' and '.join(extra)} of the extra searches' results")
        return (
            f"_To fit the analyst model's context window of {self.context_tokens:,} tokens "
            f"(RESEARCH_ANALYST_CONTEXT_TOKENS), it was not shown {' and '.join(parts)}._"
        )


def _cuts(sources: Iterable[NumberedSource]) -> list[tuple[int, int]]:
    """(source number, passages it keeps after this cut, or _DROPPED), least relevant first."""
    latest_first = sorted(sources, key=lambda source: -source.number)
    deepest = max((len(source.passages) for source in latest_first), default=0)
    cuts = [
        (source.number, keep)
        for keep in range(deepest - 1, 0, -1)
        for source in latest_first
        if len(source.passages) > keep
    ]
    cuts += [(source.number, 0) for source in latest_first if source.passages]
    cuts += [(source.number, _DROPPED) for source in latest_first]
    return cuts


def _after(
    sources: dict[int, NumberedSource], cuts: list[tuple[int, int]]
) -> tuple[dict[int, NumberedSource], LeftOut]:
    """The sources (by number) once `cuts` are made, and what the cuts left out."""
    keep = dict(cuts)  # a source's later cuts keep less, so its last one counts
    kept: dict[int, NumberedSource] = {}
    dropped: list[int] = []
    passages = 0
    for number, source in sources.items():
        count = keep.get(number, len(source.passages))
        if count == _DROPPED:
            dropped.append(number)
            passages += len(source.passages)
            continue
        passages += len(source.passages) - count
        kept[number] = (
            source
            if count == len(source.passages)
            else source.model_copy(update={"passages": source.passages[:count]})
        )
    return kept, LeftOut(passages, tuple(sorted(dropped)))


def _fewest_cuts(cuts: int, fits: Callable[[int], bool]) -> int | None:
    """The fewest of the `cuts` (made in order) after which `fits`; None when all of them are not enough.

    What is left only shrinks as cuts are made, so a binary search finds it in a few prompt builds."""
    if not fits(cuts):
        return None
    low, high = 0, cuts
    while low < high:
        middle = (low + high) // 2
        if fits(middle):
            high = middle
        else:
            low = middle + 1
    return low


def _fixed_tokens() -> int:
    """The analyst's instructions and report schema, sent with every request, and their framing."""
    schema = json.dumps(ReportDraft.model_json_schema())
    return estimate_tokens(ANALYST_INSTRUCTIONS) + estimate_tokens(schema) + FRAMING_TOKENS


def fit_analyst_material(
    question: str,
    plan: ResearchPlan,
    outcomes: list[SearchOutcome],
    numbered: dict[str, NumberedSource],
    corpus: str,
    options: ResearchOptions,
    task: str = "report",
) -> AnalystMaterial:
    """The analyst's prompt over `outcomes` (`task`: the report, or a long report's outline), cut to fit
    `options.analyst_context_tokens` when it is set.

    Raises `ContextTooSmallError` when even the question, the plan and the searches' summaries do not fit."""
    context = options.analyst_context_tokens
    if context is None:
        return AnalystMaterial(analyst_prompt(question, plan, outcomes, numbered, corpus, task))
    extras = options.max_extra_searches
    extra_room = context // EXTRA_SHARE if extras else 0
    room = context - context // ANSWER_SHARE - extra_room - _fixed_tokens()
    by_number = {source.number: source for source in numbered.values()}
    cuts = _cuts(by_number.values())

    def prompt_after(made: int) -> tuple[str, LeftOut]:
        kept, left_out = _after(by_number, cuts[:made])
        shown = {key: kept[source.number] for key, source in numbered.items() if source.number in kept}
        return analyst_prompt(question, plan, outcomes, shown, corpus, task), left_out

    made = _fewest_cuts(len(cuts), lambda made: estimate_tokens(prompt_after(made)[0]) <= room)
    if made is None:
        bare = estimate_tokens(prompt_after(len(cuts))[0]) + _fixed_tokens()
        # The smallest context whose share for the material holds the bare prompt, in whole thousands.
        shares = 1 - 1 / ANSWER_SHARE - (1 / EXTRA_SHARE if extras else 0)
        needed = -(-int(bare / shares) // 1024) * 1024
        raise ContextTooSmallError(
            f"RESEARCH_ANALYST_CONTEXT_TOKENS={context} is too small for this run: the question, the plan "
            f"and the searches' summaries alone need a context of about {needed} tokens; raise it if the "
            "model's server allows, or plan fewer searches (RESEARCH_MAX_SEARCHES)"
        )
    prompt, left_out = prompt_after(made)
    return AnalystMaterial(
        prompt,
        context_tokens=context,
        extra_result_tokens=extra_room // extras if extras else None,
        left_out=left_out,
        passages=sum(len(source.passages) for source in by_number.values()),
        sources=len(by_number),
    )


def fit_sources(sources: list[NumberedSource], tokens: int) -> FittedSources:
    """`sources` (an extra search's results) cut the same way to at most `tokens` as JSON; none at all
    when even one does not fit."""
    by_number = {source.number: source for source in sources}
    cuts = _cuts(by_number.values())

    def size(made: int) -> int:
        kept, _ = _after(by_number, cuts[:made])
        return estimate_tokens(json.dumps([s.model_dump(exclude_none=True) for s in kept.values()]))

    made = _fewest_cuts(len(cuts), lambda made: size(made) <= tokens)
    kept, left_out = _after(by_number, cuts[: len(cuts) if made is None else made])
    return FittedSources(list(kept.values()), left_out)
