"""Built-in web search becomes checkable (issue 18): what the provider's own search returned, read from a real
pydantic-ai run, Gemini's redirect links resolved through the fetching guard, and a model's sources matched.

The runs are real: `GoogleModel`, `AnthropicModel`, `OpenAIResponsesModel` and `OpenAIChatModel`, built the
way the project builds them where it does (`models.build_model`), talk HTTP to local stand-ins
(tests/_provider_standins.py) that answer in each provider's wire format, shaped on pydantic-ai's recorded
cassettes. The agent is configured as `agents.web_searcher` is (SearchFindings output, `WebSearchTool`), so
each model picks the same output mode it picks in a run: prompted JSON text for Gemini 2.5, an output tool
call for Gemini 3, Anthropic and OpenAI Responses.
"""

from __future__ import annotations

import asyncio
import json
import pickle
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from openai import AsyncOpenAI
from pydantic import SecretStr
from pydantic_ai import Agent
from pydantic_ai.capabilities import NativeTool
from pydantic_ai.messages import ModelMessage
from pydantic_ai.models import Model
from pydantic_ai.models.openai import OpenAIResponsesModel
from pydantic_ai.native_tools import WebSearchTool
from pydantic_ai.providers.openai import OpenAIProvider

from research_agent.fetching import FetchPolicy
from research_agent.models import build_model
from research_agent.prompts import WEB_SEARCHER_INSTRUCTIONS
from research_agent.schema import SearchFindings, Source
from research_agent.search.native import (
    NativeResult,
    match_source,
    native_results,
    normalize_url,
    resolve_redirects,
)
from research_agent.settings import Settings
from tests._provider_standins import (
    Canned,
    RecordedRequest,
    StandIn,
    anthropic_cited_text,
    anthropic_message,
    anthropic_reply,
    anthropic_web_search,
    gemini_grounding,
    gemini_reply,
    gemini_response,
    json_reply,
    openai_chat_completion,
    openai_cited_message,
    openai_function_call,
    openai_response,
    openai_web_search_call,
    redirect_reply,
)

VERTEX = "https://vertexaisearch.cloud.google.com/grounding-api-redirect/"
WIDGET = "https://www.google.com/search?q=weather+in+San Francisco, CA,+US"
WEATHER_GOV = "https://forecast.weather.gov/MapClick.php?lat=37.7771&lon=-122.4196"
WUNDERGROUND = "https://www.wunderground.com/weather/us/ca/san-francisco"
ACCUWEATHER = "https://www.accuweather.com/en/us/san-francisco/94103/weather-forecast/347629"
INVENTED = "https://www.sf-weather-blog.example/today"
GOV_KEY, WU_KEY = "AUZIYQF_uqo2G5Goeww8iF1L_dYa2sqWGhzu", "AUZIYQFywixFZicmDjijfhfLNw8ya7XdqWR3"
"""The ends of the two redirect links of the recorded San Francisco answer."""


def _search_agent() -> Agent[None, SearchFindings]:
    """Configured as `agents.web_searcher` (without its DBOS durability, which these runs do not need)."""
    return Agent(
        output_type=SearchFindings,
        instructions=WEB_SEARCHER_INSTRUCTIONS,
        capabilities=[NativeTool(WebSearchTool())],
    )


def _run(model: Model, **kwargs: Any) -> tuple[SearchFindings, list[ModelMessage]]:
    result = asyncio.run(_search_agent().run("Weather in San Francisco today", model=model, **kwargs))
    return result.output, result.all_messages()


def _findings(*urls: str) -> dict[str, Any]:
    return {
        "query": "San Francisco weather today",
        "summary": "Mild and partly cloudy, around 69°F.",
        "sources": [{"title": f"Source {n}", "url": url, "snippet": "69°F"} for n, url in enumerate(urls, 1)],
    }


def _matches(findings: SearchFindings, results: list[NativeResult]) -> list[str | None]:
    """For each source the model named, the URL of the result it matched (None: never returned)."""
    return [(m.url if (m := match_source(s.url or s.title, results)) else None) for s in findings.sources]


@pytest.fixture
def api() -> Iterator[StandIn]:
    with StandIn() as standin:
        yield standin
        assert standin.pending == 0, "a queued reply was never asked for"


# --- Gemini ---------------------------------------------------------------------------------------------


def _gemini_grounded_answer(
    redirects: str = VERTEX, *, model_version: str = "gemini-2.5-flash"
) -> dict[str, Any]:
    """Gemini 2.5's prompted JSON answer, grounded like the recorded San Francisco weather answer: the
    weather widget (a google.com link titled with its subject) and two redirect links titled with domains."""
    text = json.dumps(ensure_ascii=False, obj=_findings(WEATHER_GOV, WUNDERGROUND, INVENTED))
    grounding = gemini_grounding(
        text,
        chunks=[
            (WIDGET, "Weather information for San Francisco, CA, US"),
            (f"{redirects}{GOV_KEY}", "weather.gov"),
            (f"{redirects}{WU_KEY}", "wunderground.com"),
        ],
        supports=[('"summary": "Mild and partly cloudy, around 69°F."', [0, 1]), ('"snippet": "69°F"', [2])],
        queries=["weather in San Francisco today"],
    )
    return gemini_response(text, grounding=grounding, model_version=model_version)


def _gemini_model(api: StandIn, monkeypatch: pytest.MonkeyPatch, name: str = "gemini-2.5-flash") -> Model:
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", api.url)  # google-genai's own override, as a proxy would set
    return build_model(f"google-gla:{name}", Settings(google_api_key=SecretStr("test-key")))


def test_gemini_grounding_chunks_are_the_returned_results(
    api: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    api.queue(gemini_reply(_gemini_grounded_answer()))
    findings, messages = _run(_gemini_model(api, monkeypatch))

    request = api.requests[0]
    assert request.path == "/v1beta/models/gemini-2.5-flash:generateContent"
    assert request.json()["tools"] == [{"googleSearch": {}}]
    results = native_results(messages)
    assert [(r.url, r.title, r.domain, r.redirect, r.listed, r.cited, r.snippet) for r in results] == [
        (WIDGET, "Weather information for San Francisco, CA, US", "google.com", False, True, True, ""),
        (f"{VERTEX}{GOV_KEY}", "weather.gov", "weather.gov", True, True, True, ""),
        (f"{VERTEX}{WU_KEY}", "wunderground.com", "wunderground.com", True, True, True, ""),
    ]
    # Grounding supports name the model's own sentences, never the page's: claims, not snippets.
    assert results[1].claims == ['"summary": "Mild and partly cloudy, around 69°F."']
    assert results[2].claims == ['"snippet": "69°F"']
    assert {r.provider for r in results} == {"google"}
    # Unresolved redirects: matched by domain (a subdomain counts); the invented source by nothing.
    assert _matches(findings, results) == [results[1].url, results[2].url, None]


def test_gemini_3_tool_response_carries_the_sources(api: StandIn, monkeypatch: pytest.MonkeyPatch) -> None:
    """Gemini 3 sends its search as toolCall/toolResponse parts (shaped on the recorded Gemini 3 file search);
    pydantic-ai adds the grounding chunks to the return as `sources`, and the output comes as a tool call."""
    chunks = [
        (f"{VERTEX}AUZIYQElsvx97FT3Kr", "accuweather.com"),
        (f"{VERTEX}AUZIYQGlGJX9f12r", "weather.gov"),
    ]
    text = "San Francisco is mild today."
    parts: list[dict[str, Any]] = [
        {"thoughtSignature": "Ep8ECpwECAISlwQBDDnW", "toolCall": {"id": "j425u3dm", "toolType": "GOOGLE_SEARCH_WEB",
                                                                  "args": {"queries": ["San Francisco weather"]}}},
        {"thoughtSignature": "EtIGCs8GCAISygYBDDnW", "toolResponse": {"id": "j425u3dm", "toolType": "GOOGLE_SEARCH_WEB"}},
        {"text": text},
        {"functionCall": {"name": "final_result", "args": _findings(ACCUWEATHER, INVENTED), "id": "fc1"}},
    ]  # fmt: skip
    grounding = gemini_grounding(text, chunks, supports=[(text, [0, 1])], queries=["San Francisco weather"])
    api.queue(gemini_reply(gemini_response(parts, grounding=grounding, model_version="gemini-3-pro-preview")))

    findings, messages = _run(_gemini_model(api, monkeypatch, "gemini-3-pro-preview"))

    results = native_results(messages)
    assert [(r.url, r.domain, r.redirect, r.listed, r.cited) for r in results] == [
        (chunks[0][0], "accuweather.com", True, True, True),
        (chunks[1][0], "weather.gov", True, True, True),
    ]
    assert _matches(findings, results) == [chunks[0][0], None]


# --- Anthropic ------------------------------------------------------------------------------------------


def _anthropic_answer() -> dict[str, Any]:
    """Shaped on the recorded web search answers: one search with results, one that hit its limit, text that
    cites a result (its cited_text cut short with "..."), then the output tool call."""
    results = [
        {
            "url": ACCUWEATHER,
            "title": "San Francisco, CA Weather Forecast | AccuWeather",
            "page_age": "6 days ago",
        },
        {
            "url": "https://weather.com/weather/today/l/USCA0987:1:US",
            "title": "Weather Forecast | weather.com",
        },
        {"url": WUNDERGROUND, "title": "San Francisco, CA Weather Conditions | Weather Underground"},
    ]
    failed_search = {
        "content": {"error_code": "max_uses_exceeded", "type": "web_search_tool_result_error"},
        "tool_use_id": "srvtoolu_02",
        "type": "web_search_tool_result",
    }
    return anthropic_message(
        [
            *anthropic_web_search(
                "srvtoolu_01EoSNE7k4dUJyGatASCV5qs", "San Francisco weather today", results
            ),
            {
                "id": "srvtoolu_02",
                "input": {"query": "sf weather"},
                "name": "web_search",
                "type": "server_tool_use",
            },
            failed_search,
            anthropic_cited_text(
                "High: 78°F with partly cloudy skies",
                [
                    {
                        "url": WUNDERGROUND,
                        "title": results[2]["title"],
                        "cited_text": "TomorrowTue 09/16 High · 78 °F · 8% Precip. / 0.00 °in Partly cloudy skies. F...",
                    }
                ],
            ),
            {
                "id": "toolu_01",
                "input": _findings(WUNDERGROUND, ACCUWEATHER, INVENTED),
                "name": "final_result",
                "type": "tool_use",
            },
        ]
    )


@pytest.mark.parametrize("streamed", [True, False], ids=["streamed", "json"])
def test_anthropic_web_search_results_and_cited_text(
    api: StandIn, monkeypatch: pytest.MonkeyPatch, streamed: bool
) -> None:
    api.queue(anthropic_reply(_anthropic_answer()), path="/v1/messages")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", api.url)
    model = build_model("anthropic:claude-sonnet-4-6", Settings(anthropic_api_key=SecretStr("test-key")))
    # The model's default max_tokens makes the SDK stream; a small one lets it take a plain JSON answer.
    settings: dict[str, Any] = {} if streamed else {"max_tokens": 4096}

    findings, messages = _run(model, model_settings=settings)

    assert api.requests[0].wants_stream is streamed
    results = native_results(messages)
    assert [(r.url, r.domain, r.listed, r.cited, r.redirect) for r in results] == [
        (ACCUWEATHER, "accuweather.com", True, False, False),
        ("https://weather.com/weather/today/l/USCA0987:1:US", "weather.com", True, False, False),
        (WUNDERGROUND, "wunderground.com", True, True, False),
    ]
    assert results[0].title == "San Francisco, CA Weather Forecast | AccuWeather"
    # The cited text is the page's own: the snippet, without the "..." that marks where it was cut.
    assert (
        results[2].snippet == "TomorrowTue 09/16 High · 78 °F · 8% Precip. / 0.00 °in Partly cloudy skies. F"
    )
    assert results[2].claims == ["High: 78°F with partly cloudy skies"]
    assert _matches(findings, results) == [WUNDERGROUND, ACCUWEATHER, None]


# --- OpenAI ---------------------------------------------------------------------------------------------

CITED = "https://www.britannica.com/place/Mount-Columbia?utm_source=openai"
ALSO_FOUND = "https://en.wikipedia.org/wiki/Mount_Columbia_(Canada)"


@pytest.mark.parametrize("include_sources", [True, False])
def test_openai_responses_sources_and_url_citations(api: StandIn, include_sources: bool) -> None:
    """Shaped on the recorded Responses answers: a web_search_call (with `action.sources` only when asked
    for; an `api` source has no URL), a message citing a result with `url_citation` (`?utm_source=openai`
    added by OpenAI), and the output tool call."""
    search = openai_web_search_call("ws_057daac8", "tallest mountain in Alberta", [CITED, ALSO_FOUND])
    if include_sources:
        search["action"]["sources"].append({"type": "api", "name": "oai-weather"})
    else:
        del search["action"]["sources"]
    text = f"The tallest mountain in Alberta is **Mount Columbia**. ([britannica.com]({CITED}))"
    model_findings = _findings("https://www.britannica.com/place/Mount-Columbia/", ALSO_FOUND, INVENTED)
    api.queue(
        json_reply(
            openai_response(
                [
                    search,
                    openai_cited_message("msg_057daac8", text, [(CITED, "Mount Columbia | Britannica")]),
                    openai_function_call("final_result", model_findings),
                ]
            )
        ),
        path="/v1/responses",
    )
    client = AsyncOpenAI(api_key="test-key", base_url=f"{api.url}/v1", max_retries=0)
    model = OpenAIResponsesModel("gpt-5", provider=OpenAIProvider(openai_client=client))

    findings, messages = _run(model, model_settings={"openai_include_web_search_sources": include_sources})

    asked = "web_search_call.action.sources" in api.requests[0].json()["include"]
    assert asked is include_sources
    results = native_results(messages)
    if include_sources:
        assert [(r.url, r.listed, r.cited) for r in results] == [
            (CITED, True, True),
            (ALSO_FOUND, True, False),
        ]
        assert _matches(findings, results) == [CITED, ALSO_FOUND, None]
    else:
        # Without the sources only what the answer cites is known: the uncited result cannot be told from
        # an invented one, so the lead's run should ask for the sources.
        assert [(r.url, r.listed, r.cited) for r in results] == [(CITED, False, True)]
        assert _matches(findings, results) == [CITED, None, None]
    assert results[0].title == "Mount Columbia | Britannica"
    assert results[0].domain == "britannica.com"


def test_openai_chat_search_model_annotations(api: StandIn) -> None:
    """A search-preview model through Chat Completions (what `build_model` builds for `openai:`): only
    `url_citation` annotations, with the page text when the service adds it (OpenRouter's `content`)."""
    text = json.dumps(ensure_ascii=False, obj=_findings(ALSO_FOUND, INVENTED))
    annotations = [
        {"url": CITED, "title": "Mount Columbia | Britannica"},
        {"url": ALSO_FOUND, "title": "Mount Columbia (Canada)", "content": "...Mount Columbia is the highest point in Alberta..."},
    ]  # fmt: skip
    api.queue(json_reply(openai_chat_completion(text, annotations)), path="/v1/chat/completions")
    model = build_model(
        "openai:gpt-4o-search-preview",
        Settings(openai_api_key=SecretStr("k"), openai_base_url=f"{api.url}/v1"),
    )

    findings, messages = _run(model)

    assert "web_search_options" in api.requests[0].json()
    results = native_results(messages)
    assert [(r.url, r.cited, r.snippet) for r in results] == [
        (CITED, True, ""),
        (ALSO_FOUND, True, "Mount Columbia is the highest point in Alberta"),
    ]
    assert _matches(findings, results) == [ALSO_FOUND, None]


# --- matching -------------------------------------------------------------------------------------------


def _listed(url: str, title: str = "A page") -> NativeResult:
    return NativeResult(provider="anthropic", url=url, title=title, domain="example.org", listed=True)


def _gemini(domain: str, resolved: str | None = None) -> NativeResult:
    return NativeResult(
        provider="google",
        url=f"{VERTEX}AUZ{domain}",
        title=domain,
        domain=domain,
        redirect=True,
        resolved_url=resolved,
    )


@pytest.mark.parametrize(
    "named",
    [
        "https://docs.example.org/guide/intro",
        "HTTPS://Docs.Example.ORG/guide/intro",
        "https://docs.example.org/guide/intro/",
        "https://docs.example.org:443/guide/intro",
        "https://docs.example.org/guide/intro#setup",
        "https://docs.example.org/guide/intro?utm_source=openai",
        "https://docs.example.org/guide/intro?utm_source=openai&UTM_Medium=x",
        "  https://docs.example.org/guide/intro  ",
    ],
)
def test_a_url_matches_its_result_whatever_its_spelling(named: str) -> None:
    result = _listed("https://docs.example.org/guide/intro?utm_campaign=feed")
    assert match_source(named, [_listed("https://docs.example.org/other"), result]) is result


@pytest.mark.parametrize(
    "named",
    [
        "https://docs.example.org/guide/intro2",
        "https://docs.example.org/guide",
        "http://docs.example.org/guide/intro",
        "https://docs.example.org/guide/intro?page=2",
        "https://docs.example.org/Guide/intro",
        "https://example.org/guide/intro",
    ],
)
def test_another_page_of_a_listed_site_is_not_returned(named: str) -> None:
    """A listed result matches by its URL only: the model naming another page of the same site (or the
    same path elsewhere) names a page the search never returned."""
    assert match_source(named, [_listed("https://docs.example.org/guide/intro")]) is None


@pytest.mark.parametrize(
    ("named", "matched"),
    [
        ("https://www.bbc.com/news/world-123", "bbc.com"),
        ("https://bbc.com/", "bbc.com"),
        ("https://news.BBC.com/x", "bbc.com"),
        ("https://forecast.weather.gov/MapClick.php?lat=1", "weather.gov"),
        ("https://notbbc.com/news", None),
        ("https://bbc.com.evil.example/news", None),
        ("https://www.cnn.com/world", None),
        ("http://169.254.169.254/latest/meta-data/", None),
        # Read as a browser reads them: a backslash ends the host, a user name is refused, so is javascript:.
        ("https://evil.example\\@www.bbc.com/news", None),
        ("https://evil.example\\.bbc.com/news", None),
        ("https://someone@www.bbc.com/news", None),
        ("javascript://www.bbc.com/%0aalert(1)", None),
    ],
)
def test_an_unresolved_redirect_matches_by_domain(named: str, matched: str | None) -> None:
    results = [_gemini("bbc.com"), _gemini("weather.gov")]
    found = match_source(named, results)
    assert (found.domain if found else None) == matched


def test_a_resolved_redirect_matches_its_target_only() -> None:
    target = "https://www.bbc.com/news/world-123"
    result = _gemini("bbc.com", resolved=target)
    assert match_source("https://www.bbc.com/news/world-123/?utm_medium=x", [result]) is result
    assert match_source("https://www.bbc.com/news/another-story", [result]) is None
    assert match_source(result.url, [result]) is result  # the link itself still names it


def test_a_title_matches_a_result_titled_alike() -> None:
    results = [_listed("https://a.example.org/x", "Mount Columbia | Britannica"), _gemini("bbc.com")]
    assert match_source("mount columbia  |  britannica", results) is results[0]
    assert match_source("bbc.com", results) is results[1]
    assert match_source("Mount Columbia", results) is None
    assert match_source("", results) is None


def test_normalize_url() -> None:
    assert normalize_url("HTTP://Example.COM:80/a/b/?utm_source=x&q=1#frag") == "http://example.com/a/b?q=1"
    assert normalize_url("https://example.com") == normalize_url("https://example.com/")
    assert normalize_url("https://example.com:8443/") == "https://example.com:8443"
    assert normalize_url("not a url") == "not a url"


# --- resolving Gemini's redirect links ------------------------------------------------------------------

LINK_PATH = "/grounding-api-redirect/"


def _redirect_results(redirector: StandIn, host: str = "127.0.0.1") -> list[NativeResult]:
    """What a Gemini run reports when its redirect links point at the local redirector."""
    links = f"http://{host}:{redirector.port}{LINK_PATH}"
    with StandIn() as gemini:
        gemini.queue(gemini_reply(_gemini_grounded_answer(redirects=links)))
        with pytest.MonkeyPatch.context() as patch:
            _, messages = _run(_gemini_model(gemini, patch))
    results = native_results(messages, redirect_prefixes=[links])
    assert [r.redirect for r in results] == [False, True, True]
    return results


def _resolve(results: list[NativeResult], timeout: float | None = None, **policy: Any) -> list[NativeResult]:
    return asyncio.run(resolve_redirects(results, FetchPolicy(**policy), timeout=timeout))


def test_redirect_links_resolve_to_their_targets() -> None:
    targets = {GOV_KEY: WEATHER_GOV, WU_KEY: WUNDERGROUND}

    def redirect(request: RecordedRequest) -> Canned:
        return redirect_reply(targets[request.path.removeprefix(LINK_PATH)])

    with StandIn(default=redirect) as redirector:
        results = _redirect_results(redirector)
        resolved = _resolve(results, allow_private=True)

        assert sorted(r.path for r in redirector.requests) == sorted(LINK_PATH + key for key in targets)
        assert {r.method for r in redirector.requests} == {"GET"}
    assert resolved[0] == results[0]  # not a redirect: untouched
    assert [(r.resolved_url, r.note) for r in resolved[1:]] == [(WEATHER_GOV, ""), (WUNDERGROUND, "")]
    assert resolved[1].page_url == WEATHER_GOV
    assert resolved[1].as_source() == Source(title="weather.gov", url=WEATHER_GOV, snippet="")
    # Resolved, a redirect answers to its target only: another page of the same domain is not it.
    assert match_source(WEATHER_GOV, resolved) is resolved[1]
    assert match_source("https://www.weather.gov/mtr/", resolved) is None
    assert match_source("https://www.weather.gov/mtr/", results) is results[1]


def test_a_redirect_into_loopback_is_refused_and_kept_by_domain() -> None:
    """The redirector is reachable (a trusted host, as a public one would be) but sends the reader to this
    machine: the guard refuses the target, and the result stays matched by its domain only."""
    port: int  # the redirector's own, known once it listens
    with StandIn(default=lambda request: redirect_reply(f"http://127.0.0.1:{port}/admin")) as redirector:
        port = redirector.port
        results = _redirect_results(redirector, host="localhost")
        resolved = _resolve(results, allow_private=False, trusted_hosts=frozenset({"localhost"}))
        assert redirector.count(LINK_PATH) == 2  # asked, then refused on where it pointed
    for result in resolved[1:]:
        assert result.resolved_url is None
        assert result.note.startswith("refused: redirect to http://127.0.0.1:")
        assert "a loopback address" in result.note
    assert match_source(WUNDERGROUND, resolved) is resolved[2]


def test_a_redirect_into_cloud_metadata_is_refused_even_with_private_addresses_allowed() -> None:
    metadata = "http://169.254.169.254/latest/meta-data/iam/security-credentials/"
    with StandIn(default=redirect_reply(metadata)) as redirector:
        resolved = _resolve(_redirect_results(redirector), allow_private=True)
    assert [(r.resolved_url, "a cloud metadata address" in r.note) for r in resolved[1:]] == [
        (None, True)
    ] * 2
    assert match_source(metadata, resolved) is None
    assert match_source(WEATHER_GOV, resolved) is resolved[1]


def test_a_redirect_link_on_a_private_address_is_never_asked() -> None:
    with StandIn(default=redirect_reply(WEATHER_GOV)) as redirector:
        resolved = _resolve(_redirect_results(redirector), allow_private=False)
        assert redirector.count() == 0
    assert all(r.resolved_url is None and "a loopback address" in r.note for r in resolved[1:])


def test_links_that_do_not_redirect_stay_unresolved() -> None:
    """Not a redirect, a redirect without a Location, a link that never answers: each stays unresolved with
    why, matched by domain, and `resolve_redirects` returns in its time bound instead of raising."""
    released = threading.Event()

    def hang(request: RecordedRequest) -> Canned:
        released.wait(timeout=30)
        return redirect_reply(WUNDERGROUND)

    with StandIn() as redirector:
        redirector.queue(json_reply({"ok": True}), Canned(status=302), hang)
        results = _redirect_results(redirector)
        extra = results[2].model_copy(update={"url": f"{results[2].url}-again"})
        try:
            resolved = _resolve([*results, extra], allow_private=True, timeout=0.5)
        finally:
            released.set()
    notes = sorted(r.note for r in resolved[1:])
    assert notes == ["HTTP 200, not a redirect", "HTTP 302 without a Location", "no answer within 0.5 s"]
    assert all(r.resolved_url is None for r in resolved)
    assert match_source(WUNDERGROUND, resolved) is resolved[2]


def test_a_link_to_a_closed_port_stays_unresolved() -> None:
    with StandIn() as redirector:
        results = _redirect_results(redirector)
    # The redirector is stopped: its port now refuses connections.
    resolved = _resolve(results, allow_private=True)
    assert all(r.resolved_url is None and r.note.startswith("ConnectError") for r in resolved[1:])


def test_results_survive_a_step_record() -> None:
    """What `resolve_redirects` returns is what a DBOS step records: pickled, and JSON for the status."""
    result = _gemini("bbc.com", resolved="https://www.bbc.com/news/x").model_copy(
        update={"claims": ["a claim"]}
    )
    assert pickle.loads(pickle.dumps([result])) == [result]
    assert NativeResult.model_validate_json(result.model_dump_json()) == result
