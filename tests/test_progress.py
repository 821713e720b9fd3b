"""What `run` and `show` print of a web search's pages: how many were read, and why any was not."""

from __future__ import annotations

import io

from rich.console import Console

from research_agent.cli import ProgressPrinter
from research_agent.schema import PageRead, Phase, ResearchStatus, SearchProgress, SearchState


def test_a_searchs_pages_are_listed_with_the_reason_any_was_not_read() -> None:
    pages = [
        PageRead(url="https://tides.example.org/a", status="fetched", passages=["Lit in 1841."]),
        PageRead(url="http://10.0.0.1/admin", status="refused", reason="10.0.0.1 is a private address"),
        PageRead(
            url="https://slow.example.org/[red]x[/red]", status="failed", reason="took longer than 20 s"
        ),
    ]
    search = SearchProgress(
        index=1, query="first lit", state=SearchState.DONE, source_count=1, pages=pages, unreturned=2
    )
    status = ResearchStatus(run_id="r", question="When?", phase=Phase.SEARCHING, searches=[search])
    buffer = io.StringIO()
    ProgressPrinter(Console(file=buffer, width=200, highlight=False))(status)
    printed = buffer.getvalue()
    assert "read 1 of 3 pages" in printed
    assert "refused http://10.0.0.1/admin: 10.0.0.1 is a private address" in printed
    assert "failed https://slow.example.org/[red]x[/red]: took longer than 20 s" in printed  # markup shown
    assert "dropped 2 sources the search never returned" in printed
