"""Domain allow and deny lists: parsing, matching, and enforcement on what a real run's searches return."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from research_agent.client import ResearchClient
from research_agent.domains import domain_allowed, normalize_domain, normalize_domains
from research_agent.options import InputError, resolve_options
from research_agent.runtime import worker
from research_agent.schema import Phase, SearchOutcome
from research_agent.search import step as search_step_module
from research_agent.search.backends import SearchHit
from research_agent.settings import Settings

from ._web_stub import stub_backend


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("Example.ORG", "example.org"),
        ("https://www.who.int/news", "who.int"),
        (" docs.python.org ", "docs.python.org"),
        ("münchen.de", "xn--mnchen-3ya.de"),
        ("https://WWW.Who.Int./", "who.int"),
    ],
)
def test_domains_are_normalized(given: str, expected: str):
    assert normalize_domain(given) == expected


@pytest.mark.parametrize(
    "bad",
    ["not a domain", "localhost", "http://", "exa mple.org", "127.0.0.1", "https://127.0.0.1:8690\\@who.int"],
)
def test_a_bad_domain_is_refused(bad: str):
    with pytest.raises(ValueError, match="is not a domain name"):
        normalize_domain(bad)


def test_matching_takes_subdomains_and_deny_wins():
    assert domain_allowed("https://data.who.int/x", ["who.int"], [])
    assert not domain_allowed("https://notwho.int/x", ["who.int"], [])
    assert not domain_allowed("https://spam.example.com/a", [], ["example.com"])
    assert not domain_allowed("https://who.int/a", ["who.int"], ["who.int"])
    assert domain_allowed(None, ["who.int"], [])  # corpus results have no URL


# Each URL as a browser reads it (the WHATWG URL standard): the host it would open decides.
TRICKY_URLS = [  # url, allow, deny, kept
    ("https://127.0.0.1:8690\\@www.who.int/x", ["who.int"], [], False),  # `\` ends the host: 127.0.0.1
    ("https://evil.example\\@www.who.int/x", [], ["evil.example"], False),  # ... and evil.example is denied
    ("https://evil.example\\.who.int/", ["who.int"], [], False),
    ("https:\\\\evil.example\\www.who.int", ["who.int"], [], False),
    ("https://user:pw@www.who.int/x", ["who.int"], [], False),  # a user name or password: never kept
    ("https://www.who.int@evil.example/", ["who.int"], [], False),
    ("https://evil.example#@www.who.int/", ["who.int"], [], False),
    ("https://evil.example?@www.who.int/", ["who.int"], [], False),
    ("https://www.who.int/@evil.example", ["who.int"], [], True),  # `@` in the path is just a path
    ("https://www.who.int/@evil.example", [], ["evil.example"], True),
    ("HTTPS://WWW.WHO.INT/x", ["who.int"], [], True),
    ("https://www.who.int./x", ["who.int"], [], True),  # a trailing dot is the same host
    ("https://who.int.evil.example/", ["who.int"], [], False),
    ("https://www.who.int:8443/x", ["who.int"], [], True),
    ("https://www.who.int:99999/x", ["who.int"], [], False),  # no such port: not a URL
    ("https://xn--mnchen-3ya.de/", ["münchen.de"], [], True),  # IDN lists and URLs compare as punycode
    ("https://www.münchen.de/", ["xn--mnchen-3ya.de"], [], True),
    ("https://münchen.de/", [], ["münchen.de"], False),
    ("https://ｗｗｗ.who.int/", ["who.int"], [], True),  # full-width letters: the browser opens who.int
    ("javascript:alert(1)//www.who.int", [], [], False),  # not http(s): dropped even without lists
    ("javascript://www.who.int/%0aalert(1)", ["who.int"], [], False),
    ("file:///etc/passwd", [], [], False),
    ("ftp://www.who.int/x", ["who.int"], [], False),
    ("//www.who.int/x", ["who.int"], [], False),  # relative: no scheme to judge
    ("https://user@example.org/", [], [], False),
    ("https://example.org/", [], [], True),
]


@pytest.mark.parametrize(("url", "allow", "deny", "kept"), TRICKY_URLS)
def test_a_url_is_judged_by_the_host_a_browser_would_open(
    url: str, allow: list[str], deny: list[str], kept: bool
):
    assert domain_allowed(url, normalize_domains(allow), normalize_domains(deny)) is kept


def test_settings_and_run_options_take_comma_separated_lists(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("RESEARCH_SEARCH_DENY_DOMAINS", "example.com, www.Spam.org")
    settings = Settings()  # read from the environment, as the CLI and the UI read it
    assert settings.search_deny_domains == ["example.com", "spam.org"]
    options, _ = resolve_options(settings, offline=True)
    assert options.deny_domains == ["example.com", "spam.org"] and options.allow_domains == []
    options, _ = resolve_options(settings, offline=True, allow_domains=["who.int"], deny_domains=[])
    assert options.allow_domains == ["who.int"] and options.deny_domains == []
    with pytest.raises(InputError, match="'who int' is not a domain name"):
        resolve_options(settings, offline=True, allow_domains=["who int"])


@pytest.fixture
def web_client(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[ResearchClient]:
    monkeypatch.setattr(search_step_module, "backend_for", stub_backend)
    with worker(settings), ResearchClient(settings) as client:
        yield client


def test_a_run_keeps_only_allowed_web_results(web_client: ResearchClient, settings: Settings):
    options, _ = resolve_options(
        settings,
        offline=True,
        search_backend="duckduckgo",
        allow_domains=["who.int"],
        deny_domains=["example.com"],
    )
    final = web_client.wait(
        web_client.submit("Compare the economies of Chile and Peru", options), timeout=120
    )
    assert final.phase is Phase.COMPLETED, final.error
    urls = {source.url for search in final.searches for source in search.sources}
    assert urls == {"https://www.who.int/facts"}
    assert final.report is not None and {s.url for s in final.report.sources} <= urls
    # The raw results too (what citations are checked against): the search step itself dropped the rest.
    rows = web_client._client.list_workflows(workflow_id_prefix=f"{final.run_id}-", load_input=False)
    outcomes = [row.output for row in rows if isinstance(row.output, SearchOutcome)]
    assert len(outcomes) == len(final.searches)
    returned = {source.url for outcome in outcomes for source in outcome.returned}
    assert returned == {"https://www.who.int/facts"}


ALL_STUB_URLS = {"https://www.who.int/facts", "https://spam.example.com/x", "https://blog.other.net/y"}
STEP_CASES = [  # allow, deny, the urls kept of the stub's three
    ([], [], ALL_STUB_URLS),
    ([], ["example.com"], {"https://www.who.int/facts", "https://blog.other.net/y"}),
    (["who.int"], [], {"https://www.who.int/facts"}),
    (["who.int", "example.com"], ["spam.example.com"], {"https://www.who.int/facts"}),
    (["other.net"], ["other.net"], set()),
]


def test_the_search_step_returns_nothing_the_lists_exclude(web_client: ResearchClient):
    # Called as a plain function, outside any workflow: what it returns is what every later part sees.
    for allow, deny, kept in STEP_CASES:
        hits = asyncio.run(search_step_module.search_step("duckduckgo", "", "Peru", 10, allow, deny))
        assert {hit.url for hit in hits} == kept, (allow, deny)


class _HostileResults:
    """A search backend whose results' links are written to mislead."""

    name = "duckduckgo"

    async def search(self, query: str, max_results: int) -> list[SearchHit]:
        urls = [
            "javascript:alert(document.cookie)",
            "file:///etc/passwd",
            "https://someone:secret@www.who.int/",
            "https://www.who.int/facts",
        ]
        return [SearchHit(title=f"result {n}", url=url, snippet=query) for n, url in enumerate(urls)]


def test_the_search_step_drops_links_that_are_not_plain_web_addresses_without_lists_too(
    web_client: ResearchClient, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(search_step_module, "backend_for", lambda *args: _HostileResults())
    hits = asyncio.run(search_step_module.search_step("duckduckgo", "", "Peru", 10, [], []))
    assert [hit.url for hit in hits] == ["https://www.who.int/facts"]
