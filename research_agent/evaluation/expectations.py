"""What an evaluation case expects of its run (the metadata of each case in the dataset)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

CaseKind = Literal["fact", "comparison", "list", "unanswerable", "paraphrase"]


class Expectations(BaseModel):
    """What a case's report must contain and which sources its searches should retrieve."""

    kind: CaseKind
    """Single fact, comparison of countries, "the main X of Y", not in the corpus, or in other words."""
    facts: list[str | list[str]] = Field(default_factory=list)
    """Each must appear in the report (case and spacing ignored); a list holds interchangeable spellings."""
    sources: list[str | list[str]] = Field(default_factory=list)
    """Corpus locations (document and section) the searches should retrieve; a location also matches the
    passages inside it (`factbook:ci/Economy` matches `factbook:ci/Economy/Exports`), and a list inside
    the list holds places that document the same thing (Python documents `with` in two topics)."""
    relevant: list[str | list[str]] = Field(default_factory=list)
    """Places (as in `sources`) whose passages bear on the question's entities and aspect, for the
    `SourceRelevance` evaluator: set it when more than the expected sources are on the question ("the
    economies of Chile and Peru": `factbook:ci/Economy`, `factbook:pe/Economy`); unset: `sources`."""
    min_words: int | None = None
    """Bounds on the report's length for this case; unset: the `ReportLength` evaluator's own."""
    max_words: int | None = None

    @property
    def answerable(self) -> bool:
        return self.kind != "unanswerable"

    @property
    def relevant_places(self) -> list[str | list[str]]:
        """`relevant`, or the expected `sources` when it is unset."""
        return self.relevant or self.sources
