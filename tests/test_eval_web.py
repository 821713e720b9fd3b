"""The web slice of the evaluation, on a few of the local web's facts: pages read, facts found, every
citation's passage in the cited page's article, no boilerplate read (the whole slice: `deep-research eval
--web`, figures in evals/README.md)."""

from __future__ import annotations

import pytest

from research_agent.evaluation import web
from research_agent.localweb import default_site
from research_agent.settings import Settings

pytestmark = pytest.mark.slow  # a slice of the web evaluation as real runs: left out of `make test-fast`

SUBSET = {"tram-stops", "line4-cost", "light-first-lit", "light-steps", "heat-aw9-weight", "lib-licence"}
"""One or two facts of each site, HTML and PDF pages."""


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_subset_of_the_web_slice_meets_its_targets(settings: Settings) -> None:
    figures = web.run_web_slice(settings, only=SUBSET)
    assert {case.fact for case in figures.cases} == SUBSET
    assert [case.question for case in figures.cases if not case.answered] == []
    assert figures.citation_precision == 1.0
    assert figures.boilerplate == 0
    assert all(case.pages_read for case in figures.cases)


def test_a_passage_that_is_not_the_pages_article_counts_as_boilerplate() -> None:
    site = default_site()
    page = site.page("/skerrow-light/")
    assert page is not None
    article = web._flat(f"{page.title} {page.text}")
    assert web._is_article(page.text.split("\n\n")[0], article)
    assert not web._is_article("We use cookies to improve your experience. Accept all cookies", article)
