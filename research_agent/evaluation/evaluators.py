"""pydantic-evals evaluators of a finished run: retrieval, facts, citations, relevance of what is cited, plan,
honesty, a lead answer, length, judge.

Each one reads the run's final `ResearchStatus` (the task's output) and the case's `Expectations`. All but
`ReportJudge` are deterministic, so a score moves only when the pipeline does. An evaluator with nothing
to judge for a case (no expected sources, an answerable question for `HonestNotFound`) returns no result,
so averages are taken over the cases it applies to.
"""

from __future__ import annotations

import re
from abc import abstractmethod
from collections.abc import Awaitable
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic_evals.evaluators import EvaluationReason, Evaluator, EvaluatorContext, EvaluatorOutput

from ..schema import ResearchReport, ResearchStatus
from ._text import (
    claims,
    computed_from,
    declares_not_found,
    lead_paragraph,
    location_matches,
    normalize,
    numbers,
    quantities,
    retrieved_sources,
    sentences,
    words,
)
from .expectations import Expectations

if TYPE_CHECKING:
    from pydantic_ai.models import Model

Context = EvaluatorContext[str, ResearchStatus, Expectations]
_SECTION = re.compile(r"^#{1,6} ", re.MULTILINE)
_NOTHING: dict[str, EvaluationReason] = {}


def _alternatives(expected: str | list[str]) -> list[str]:
    return [expected] if isinstance(expected, str) else expected


def _listed(items: list[str], limit: int = 4) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


@dataclass(repr=False)
class RunEvaluator(Evaluator[str, ResearchStatus, Expectations]):
    """An evaluator of a finished run, reported under a fixed snake_case name."""

    evaluation_name: ClassVar[str]

    def get_default_evaluation_name(self) -> str:
        return self.evaluation_name

    @abstractmethod
    def evaluate(self, ctx: Context) -> EvaluatorOutput | Awaitable[EvaluatorOutput]:
        """Judge one case's run."""


@dataclass(repr=False)
class SourceRecall(RunEvaluator):
    """Share of the expected sources among the first `k` the searches retrieved (one ranked list: every
    search's best hit, then every search's second best, ...)."""

    k: int = 10
    evaluation_name = "source_recall"

    def get_default_evaluation_name(self) -> str:
        return f"source_recall@{self.k}"

    def evaluate(self, ctx: Context) -> EvaluatorOutput:
        expected = ctx.metadata.sources if ctx.metadata else []
        if not expected:
            return _NOTHING
        top = [source.link or source.title for source in retrieved_sources(ctx.output)[: self.k]]
        missing = [
            e if isinstance(e, str) else " / ".join(e)
            for e in expected
            if not any(location_matches(loc, alt) for loc in top for alt in _alternatives(e))
        ]
        reason = f"not in the top {self.k}: {_listed(missing)}" if missing else None
        return EvaluationReason(value=1 - len(missing) / len(expected), reason=reason)


def _report_text(report: ResearchReport | None) -> str:
    return f"{report.title}\n{report.body}" if report else ""


@dataclass(repr=False)
class FactRecall(RunEvaluator):
    """Share of the expected facts the report states (case, spacing, quotes and markup ignored)."""

    evaluation_name = "fact_recall"

    def evaluate(self, ctx: Context) -> EvaluatorOutput:
        facts = ctx.metadata.facts if ctx.metadata else []
        if not facts:
            return _NOTHING
        text = normalize(_report_text(ctx.output.report))
        missing = [
            fact if isinstance(fact, str) else " / ".join(fact)
            for fact in facts
            if not any(normalize(alt) in text for alt in _alternatives(fact))
        ]
        reason = f"missing: {_listed(missing)}" if missing else None
        return EvaluationReason(value=1 - len(missing) / len(facts), reason=reason)


@dataclass(repr=False)
class CitationPrecision(RunEvaluator):
    """Share of citations that resolve to a retrieved source whose text supports the cited claim.

    A claim is the text before a citation group (a table cell's, with its row's label). It is supported
    when at least `min_overlap` of its content words, and every number it states, occur in the cited
    sources' titles and snippets, and each cited source shares a word with it. A number the sources do not
    hold is accepted only when it is computed from two of theirs: the difference or the ratio of a
    comparison ("higher by $14,500, about 1.9 times"). Citations the workflow's own check removed count as
    failures.
    """

    evaluation_name = "citation_precision"

    min_overlap: float = 0.5

    def evaluate(self, ctx: Context) -> EvaluatorOutput:
        status = ctx.output
        report = status.report
        if report is None:
            return _NOTHING
        retrieved = {source.key for source in retrieved_sources(status)}
        by_number = {source.number: source for source in report.sources}
        total, supported, problems = 0, 0, list[str]()
        for claim in claims(report.body):
            cited = [by_number.get(n) for n in claim.cited]
            resolved = [s for s in cited if s is not None and s.key in retrieved]
            source_words = [words(f"{s.title} {s.snippet}") for s in resolved]
            known_words = set().union(*source_words)
            known_numbers = set().union(*(numbers(f"{s.title} {s.snippet}") for s in resolved))
            known_figures = [v for s in resolved for v in quantities(f"{s.title} {s.snippet}").values()]
            claim_words = words(claim.text)
            overlap = len(claim_words & known_words) / len(claim_words) if claim_words else 0.0
            stated = quantities(claim.text)
            unsupported_numbers = sorted(
                n
                for n in numbers(claim.text) - known_numbers
                if not computed_from(stated.get(n, float(n)), known_figures)
            )
            for number, source in zip(claim.cited, cited, strict=True):
                total += 1
                if source is None or source.key not in retrieved:
                    problems.append(f"[{number}] is not a retrieved source")
                elif overlap < self.min_overlap or unsupported_numbers:
                    what = (
                        f"numbers {unsupported_numbers}" if unsupported_numbers else f"{overlap:.0%} overlap"
                    )
                    problems.append(f"[{number}] does not support '{claim.text[:60]}' ({what})")
                elif not claim_words & words(f"{source.title} {source.snippet}"):
                    problems.append(f"[{number}] shares no word with '{claim.text[:60]}'")
                else:
                    supported += 1
        removed = status.citations.removed if status.citations else []
        total += len(removed)
        problems += [f"[{n}] removed by the workflow's citation check" for n in removed]
        if not total:
            return _NOTHING
        return EvaluationReason(value=supported / total, reason="; ".join(problems[:4]) or None)


def _sections(body: str) -> list[str]:
    bounds = sorted({0, len(body), *(match.start() for match in _SECTION.finditer(body))})
    return [body[a:b] for a, b in pairwise(bounds) if body[a:b].strip()]


@dataclass(repr=False)
class SourceRelevance(RunEvaluator):
    """Share of the report's cited sources that bear on the question's entity and aspect: their location
    is (or lies inside) one of the case's `relevant` places, which default to its expected `sources`."""

    evaluation_name = "source_relevance"

    def evaluate(self, ctx: Context) -> EvaluatorOutput:
        report = ctx.output.report
        if report is None or ctx.metadata is None:
            return _NOTHING
        places = [alt for place in ctx.metadata.relevant_places for alt in _alternatives(place)]
        cited = set(report.cited_numbers())
        sources = [source for source in report.sources if source.number in cited]
        if not sources or not places:
            return _NOTHING
        off = [s.title for s in sources if not any(location_matches(s.link or s.title, p) for p in places)]
        reason = f"not about the question: {_listed(off)}" if off else None
        return EvaluationReason(value=1 - len(off) / len(sources), reason=reason)


@dataclass(repr=False)
class LeadAnswer(RunEvaluator):
    """On an answerable question the report opens with a cited answer: a first paragraph, before any
    heading, list or table, of at most `max_sentences` sentences with at least one citation (an assertion;
    unanswerable cases: no result)."""

    evaluation_name = "lead_answer"

    max_sentences: int = 2

    def evaluate(self, ctx: Context) -> EvaluatorOutput:
        if ctx.metadata is None or not ctx.metadata.answerable:
            return _NOTHING
        report = ctx.output.report
        lead = lead_paragraph(report.body) if report else ""
        count = len(sentences(lead))
        if not lead:
            return EvaluationReason(value=False, reason="the report does not open with an answer")
        if not claims(lead):
            return EvaluationReason(value=False, reason="the opening paragraph cites no source")
        if count > self.max_sentences:
            return EvaluationReason(value=False, reason=f"the opening paragraph has {count} sentences")
        return EvaluationReason(value=True)


@dataclass(repr=False)
class PlanCoverage(RunEvaluator):
    """Share of plan steps the report reflects: it cites a source that step's search returned, or one of
    its sections holds at least half of the step query's words."""

    evaluation_name = "plan_coverage"

    def evaluate(self, ctx: Context) -> EvaluatorOutput:
        status = ctx.output
        report = status.report
        if status.plan is None or not status.plan.search_steps or report is None:
            return _NOTHING
        cited = set(report.cited_numbers())
        cited_keys = {source.key for source in report.sources if source.number in cited}
        section_words = [words(section) for section in _sections(report.body)]
        searches = {search.index: search for search in status.searches if not search.extra}
        missed = []
        for index, step in enumerate(status.plan.search_steps, start=1):
            search = searches.get(index)
            returned = {source.key for source in search.sources} if search else set()
            query = words(step.query)
            in_a_section = bool(query) and any(len(query & ws) >= len(query) / 2 for ws in section_words)
            if not (returned & cited_keys or in_a_section):
                missed.append(step.query)
        steps = len(status.plan.search_steps)
        reason = f"not reflected: {_listed(missed)}" if missed else None
        return EvaluationReason(value=1 - len(missed) / steps, reason=reason)


@dataclass(repr=False)
class HonestNotFound(RunEvaluator):
    """On a question the corpus cannot answer, the report says so (an assertion; other cases: no result)."""

    evaluation_name = "honest_not_found"

    def evaluate(self, ctx: Context) -> EvaluatorOutput:
        if ctx.metadata is None or ctx.metadata.answerable:
            return _NOTHING
        said = declares_not_found(_report_text(ctx.output.report))
        reason = None if said else "the report does not say that the material lacks the answer"
        return EvaluationReason(value=said, reason=reason)


@dataclass(repr=False)
class ReportLength(RunEvaluator):
    """The report's body has between `min_words` and `max_words` words (a case may set its own bounds).

    It catches an empty or a runaway report; a one-sentence cited answer ("Norway's coastline is 25,148 km
    [1].") is a whole report.
    """

    evaluation_name = "report_length"

    min_words: int = 5
    max_words: int = 800

    def evaluate(self, ctx: Context) -> EvaluatorOutput:
        report = ctx.output.report
        count = len(report.body.split()) if report else 0
        low = (
            ctx.metadata.min_words if ctx.metadata and ctx.metadata.min_words is not None else self.min_words
        )
        high = (
            ctx.metadata.max_words if ctx.metadata and ctx.metadata.max_words is not None else self.max_words
        )
        return EvaluationReason(value=low <= count <= high, reason=f"{count} words (bounds {low}–{high})")


JUDGE_RUBRIC = (
    "The output is a research report answering the input question. It passes if it answers the question "
    "correctly and completely from its cited sources, says plainly what its sources do not cover instead "
    "of guessing, and stays on the question. Score from 0 (useless or wrong) to 1 (complete and correct)."
)


@dataclass(repr=False)
class ReportJudge(RunEvaluator):
    """An LLM's grade of the report against the question (`JUDGE_RUBRIC`); only built when a judge model
    can be used (see `runner.judge_evaluators`)."""

    evaluation_name = "judge"

    model: Model | str
    rubric: str = JUDGE_RUBRIC

    async def evaluate(self, ctx: Context) -> EvaluatorOutput:
        from pydantic_evals.evaluators.llm_as_a_judge import judge_input_output

        report = ctx.output.report
        if report is None:
            return _NOTHING
        grading = await judge_input_output(ctx.inputs, report.to_markdown(), self.rubric, self.model)
        return {
            "judge": EvaluationReason(value=grading.score, reason=grading.reason),
            "judge_pass": EvaluationReason(value=grading.pass_, reason=grading.reason),
        }

    def build_serialization_arguments(self) -> dict[str, Any]:
        arguments = super().build_serialization_arguments()
        model = arguments.get("model")
        if model is not None and not isinstance(model, str):
            arguments["model"] = f"{model.system}:{model.model_name}"  # results files hold no objects
        return arguments


DATASET_EVALUATORS: tuple[type[Evaluator[str, ResearchStatus, Expectations]], ...] = (
    SourceRecall,
    FactRecall,
    CitationPrecision,
    SourceRelevance,
    PlanCoverage,
    HonestNotFound,
    LeadAnswer,
    ReportLength,
)
"""The deterministic evaluators a dataset file may name."""
