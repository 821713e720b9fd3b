"""What a provider's own web search returned during an agent run, and whether a source the model names is one.

With the `builtin` backend the search runs inside the provider (pydantic-ai's `WebSearchTool`), so there is
no search tool of ours whose results we keep. The provider still reports what its search returned, and
pydantic-ai keeps that in the run's messages: a `NativeToolReturnPart` (tool `web_search`) per search, and
`citations` on the answer's `TextPart`s. `native_results` reads both into `NativeResult`s, whatever the
provider:

- Gemini: the grounding chunks (`web.uri`, `web.title`, on Vertex `web.domain`) become the return's
  content; the uri is a vertexaisearch redirect link and the title the page's domain, not its title.
  Grounding supports become citations anchored on the model's own sentences (`claims`), never on the
  page's words, so Gemini gives no snippet.
- Anthropic: `web_search_tool_result` blocks (url, title, page_age; the page text only encrypted), and
  `web_search_result_location` citations whose `cited_text` is the page's own text: the snippet.
- OpenAI Responses: `web_search_call` sources (only when the request includes
  `web_search_call.action.sources`: model setting `openai_include_web_search_sources`) and `url_citation`
  annotations (url, title; urls carry `?utm_source=openai`). Chat Completions (search-preview models,
  OpenRouter): `url_citation` annotations only, with the page text OpenRouter adds as `content`.

A Gemini redirect link says nothing checkable about the page it stands for until it is resolved:
`resolve_redirects` asks each link where it goes (one guarded request, the Location header read, the body
never) and keeps the target when the guard allows it. A link that cannot be resolved (unreachable, slow,
pointing at a private or metadata address) stays, matched by its domain only. `match_source` then says
which result a source the model names is: the same URL (normalised), else a redirect's target, else (an
unresolved redirect) the domain. A source that matches nothing was never returned by the search.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field
from pydantic_ai.messages import (
    ContentCitationAnchor,
    ModelMessage,
    ModelResponse,
    NativeToolReturnPart,
    TextPart,
    WebCitationSource,
)
from pydantic_ai.native_tools import WebSearchTool

from ..domains import normalize_domain
from ..fetching import CheckedUrl, FetchPolicy, PageError, PageFailed, UrlRefused, check_url
from ..fetching.fetch import shown_url, ssl_context
from ..schema import SearchFindings, Source
from ..weburls import web_host

GEMINI_REDIRECT_PREFIXES: tuple[str, ...] = (
    "https://vertexaisearch.cloud.google.com/grounding-api-redirect/",
)
"""URL prefixes of the links Gemini's grounding gives instead of the pages' own URLs."""

SNIPPET_CHARS = 2000
"""Most characters of provider text kept as one result's snippet (its cited excerpts joined)."""

_EXCERPT_JOIN = " … "
_ELLIPSIS = re.compile(r"^(?:\.\.\.|…)\s*|\s*(?:\.\.\.|…)$")
_SPACE = re.compile(r"\s+")
_REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
_MAX_ADDRESSES = 3


class NativeResult(BaseModel):
    """One page a provider's built-in web search returned, as the provider reported it."""

    model_config = ConfigDict(frozen=True)

    provider: str
    """pydantic-ai's provider name: `google`, `anthropic`, `openai`..."""
    url: str
    """As the provider gave it: for Gemini a redirect link (`redirect`)."""
    title: str = ""
    """The page's title; for Gemini its domain."""
    domain: str = ""
    """The page's domain (lower case, no `www.`); for a redirect link the domain Gemini names, else the
    URL's host. Empty when the provider named none."""
    snippet: str = ""
    """The page's own text the provider gave (Anthropic's cited text, OpenRouter's content), cited excerpts
    joined by " … "; empty when it gave none (Gemini, OpenAI)."""
    redirect: bool = False
    """`url` is a Gemini redirect link, not the page's URL."""
    resolved_url: str | None = None
    """Where the redirect link leads, once `resolve_redirects` has asked it; None until then or if it could
    not tell."""
    note: str = ""
    """Why a redirect link was not resolved, one short line."""
    listed: bool = False
    """The search's own return listed it (a `web_search` return part)."""
    cited: bool = False
    """The answer cited it (citations on the model's text)."""
    claims: list[str] = Field(default_factory=list)
    """The model's sentences the provider says this page supports (Gemini's grounding supports, Anthropic's
    cited blocks): the model's words, not the page's, so never evidence of what the page says."""

    @property
    def page_url(self) -> str:
        """The page's own URL when known: the resolved target of a redirect link, else `url`."""
        return self.resolved_url or self.url

    def as_source(self) -> Source:
        """This result as a raw search result (`SearchOutcome.returned`)."""
        return Source(
            title=self.title or self.domain or self.page_url, url=self.page_url, snippet=self.snippet
        )


def normalize_url(url: str) -> str:
    """`url` in the form two mentions of one page share: scheme and host in lower case, default port,
    fragment, trailing slash and `utm_*` parameters dropped. Anything that is not an absolute URL is
    returned stripped."""
    text = url.strip()
    parts = urlsplit(text)
    if not parts.scheme or not parts.netloc:
        return text
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is not None and (scheme, port) not in (("http", 80), ("https", 443)):
        netloc += f":{port}"
    if parts.username or parts.password:
        netloc = f"{parts.netloc.rpartition('@')[0]}@{netloc}"
    query = "&".join(
        pair
        for pair in parts.query.split("&")
        if pair and not pair.split("=", 1)[0].lower().startswith("utm_")
    )
    return urlunsplit((scheme, netloc, parts.path.rstrip("/"), query, ""))


def _host(url: str) -> str:
    """The host a browser would open for `url` (no `www.`), empty for what is not a plain http(s) URL:
    a model's `https://evil.example\\@www.bbc.com/` names evil.example, not bbc.com."""
    return (web_host(url) or "").removeprefix("www.")


def _as_domain(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        return ""
    try:
        return normalize_domain(value)
    except ValueError:
        return ""


def _excerpt(text: str) -> str:
    """A provider excerpt as page text: whitespace collapsed, the ellipses marking where it was cut dropped
    (Anthropic's `cited_text` ends "F..." when cut), so that it stays a substring of the page."""
    flat = _SPACE.sub(" ", text).strip()
    while (trimmed := _ELLIPSIS.sub("", flat).strip()) != flat:
        flat = trimmed
    return flat


@dataclass
class _Collected:
    provider: str
    url: str
    redirect: bool
    title: str = ""
    domain: str = ""
    excerpts: list[str] = field(default_factory=list)
    claims: list[str] = field(default_factory=list)
    listed: bool = False
    cited: bool = False

    def result(self) -> NativeResult:
        snippet = ""
        for excerpt in self.excerpts:
            joined = f"{snippet}{_EXCERPT_JOIN}{excerpt}" if snippet else excerpt
            if len(joined) > SNIPPET_CHARS:
                break
            snippet = joined
        domain = self.domain or ("" if self.redirect else _as_domain(self.url) or _host(self.url))
        return NativeResult(
            provider=self.provider,
            url=self.url,
            title=self.title,
            domain=domain,
            snippet=snippet,
            redirect=self.redirect,
            listed=self.listed,
            cited=self.cited,
            claims=self.claims,
        )


class _Collector:
    """Results in the order first seen, one per normalised URL, each mention adding what it knows."""

    def __init__(self, redirect_prefixes: Sequence[str]) -> None:
        self._redirect_prefixes = tuple(redirect_prefixes)
        self._by_url: dict[str, _Collected] = {}

    def add(
        self,
        provider: str,
        url: object,
        *,
        title: object = None,
        domain: object = None,
        excerpts: Iterable[str] = (),
        claim: str = "",
        listed: bool = False,
        cited: bool = False,
    ) -> None:
        if not isinstance(url, str) or not url.strip():
            return
        url = url.strip()
        key = normalize_url(url)
        redirect = url.startswith(self._redirect_prefixes)
        collected = self._by_url.setdefault(key, _Collected(provider=provider, url=url, redirect=redirect))
        if isinstance(title, str) and title.strip() and not collected.title:
            collected.title = " ".join(title.split())
        # Vertex names the domain; the Gemini API puts it in the title of a redirect link.
        named = _as_domain(domain) or (_as_domain(title) if redirect else "")
        if named and not collected.domain:
            collected.domain = named
        for excerpt in excerpts:
            text = _excerpt(excerpt)
            if text and text not in collected.excerpts:
                collected.excerpts.append(text)
        claim = " ".join(claim.split())
        if claim and claim not in collected.claims:
            collected.claims.append(claim)
        collected.listed |= listed
        collected.cited |= cited

    def results(self) -> list[NativeResult]:
        return [collected.result() for collected in self._by_url.values()]


def _returned_items(content: object) -> list[dict[str, Any]]:
    """The result entries of a `web_search` return part's content, in any provider's shape: a list of
    results (Gemini before 3: `{uri, title, domain}`; Anthropic: `{type: web_search_result, url, title,
    page_age}`), or a dict with `sources` (OpenAI: `{status, sources: [{type: url, url}]}`; Gemini 3: the
    tool response with the grounding chunks added as `sources`). An error result has none."""
    if isinstance(content, dict):
        content = content.get("sources")
    if not isinstance(content, list):
        return []
    return [item for item in content if isinstance(item, dict)]


def native_results(
    messages: Sequence[ModelMessage], *, redirect_prefixes: Sequence[str] = GEMINI_REDIRECT_PREFIXES
) -> list[NativeResult]:
    """Every page the provider's built-in web search returned in these messages (`result.all_messages()`),
    one per URL (normalised), in the order first seen: listed by a `web_search` return, cited by the answer,
    or both. `redirect_prefixes` tells redirect links from pages' URLs (tests point it at a local server).
    """
    collector = _Collector(redirect_prefixes)
    for message in messages:
        if not isinstance(message, ModelResponse):
            continue
        for part in message.parts:
            provider = getattr(part, "provider_name", None) or message.provider_name or ""
            if isinstance(part, NativeToolReturnPart):
                if part.tool_name != WebSearchTool.kind or part.outcome != "success":
                    continue
                for item in _returned_items(part.content):
                    collector.add(
                        provider,
                        item.get("url") or item.get("uri"),
                        title=item.get("title"),
                        domain=item.get("domain"),
                        listed=True,
                    )
            elif isinstance(part, TextPart):
                for citation in part.citations or []:
                    anchor = citation.anchor
                    claim = (
                        part.content[anchor.start : anchor.end]
                        if isinstance(anchor, ContentCitationAnchor)
                        else ""
                    )
                    for source in citation.sources:
                        if isinstance(source, WebCitationSource):
                            collector.add(
                                provider,
                                source.url,
                                title=source.title,
                                excerpts=source.excerpts,
                                claim=claim,
                                cited=True,
                            )
    return collector.results()


# --- resolving redirect links ---------------------------------------------------------------------------


class _NotResolved(Exception):
    """The link answered, but not with a redirect we can use."""


async def _location(
    checked: CheckedUrl, address: str, policy: FetchPolicy, transport: httpx.AsyncBaseTransport
) -> tuple[int, str | None]:
    """The status and Location of a GET to the checked address (the Host header and TLS name the host's);
    the body is never read."""
    request = httpx.Request(
        "GET",
        checked.url.copy_with(host=address),
        headers={
            "Host": checked.url.netloc.decode("ascii"),
            "User-Agent": policy.user_agent,
            "Accept": "*/*",
        },
        extensions={
            "timeout": httpx.Timeout(policy.read_timeout, connect=policy.connect_timeout).as_dict(),
            "sni_hostname": checked.host,
        },
    )
    response = await transport.handle_async_request(request)
    try:
        return response.status_code, response.headers.get("location")
    finally:
        await response.aclose()


async def _ask(
    checked: CheckedUrl, policy: FetchPolicy, transport: httpx.AsyncBaseTransport
) -> tuple[int, str | None]:
    *others, last = checked.addresses[:_MAX_ADDRESSES]
    for address in others:
        try:
            return await _location(checked, str(address), policy, transport)
        except (httpx.ConnectError, httpx.ConnectTimeout):
            continue
    return await _location(checked, str(last), policy, transport)


async def redirect_target(
    link: str, policy: FetchPolicy, *, transport: httpx.AsyncBaseTransport | None = None
) -> str:
    """Where the redirect link `link` leads: its Location, both checked by the guard.

    Raises `UrlRefused` when the guard refuses the link or its target (a private, loopback or metadata
    address, a scheme other than http(s)), `PageError` when the link's host cannot be resolved, and
    `httpx.HTTPError` on a network failure. A target whose host does not resolve is kept: it is never
    connected to here, and the Location is what the search returned.
    """
    checked = await check_url(link, allow_private=policy.allow_private, trusted_hosts=policy.trusted_hosts)
    if transport is None:
        # A fresh pool per link, as in fetching: a pooled TLS connection must not carry another host's name.
        async with httpx.AsyncHTTPTransport(verify=ssl_context(), retries=0) as own:
            status, location = await _ask(checked, policy, own)
    else:
        status, location = await _ask(checked, policy, transport)
    if status not in _REDIRECT_CODES:
        raise _NotResolved(f"HTTP {status}, not a redirect")
    if not location:
        raise _NotResolved(f"HTTP {status} without a Location")
    try:
        target = checked.url.join(location)
    except httpx.InvalidURL as error:
        raise _NotResolved(f"a redirect to an invalid URL ({error})") from None
    try:
        await check_url(target, allow_private=policy.allow_private, trusted_hosts=policy.trusted_hosts)
    except UrlRefused as refusal:
        raise UrlRefused(f"redirect to {shown_url(target)}: {refusal.reason}") from None
    except PageFailed:
        pass  # the target's host does not resolve from here: nothing private is reached by naming it
    return str(target)


async def resolve_redirects(
    results: Sequence[NativeResult],
    policy: FetchPolicy,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    timeout: float | None = None,
    concurrency: int = 8,
) -> list[NativeResult]:
    """`results` with each unresolved redirect link asked where it leads (`resolved_url`), or told why not
    (`note`), in the same order; other results unchanged. Never raises for a link.

    A pure function of its inputs for a DBOS step to record: `policy` says which addresses the guard allows
    (`allow_private`, `trusted_hosts`) and bounds each request; each link gets `timeout` seconds (default
    the policy's connect plus read timeout, at most its deadline), `concurrency` links at a time.
    """
    limit = (
        timeout if timeout is not None else min(policy.deadline, policy.connect_timeout + policy.read_timeout)
    )
    gate = asyncio.Semaphore(concurrency)

    async def resolve(result: NativeResult) -> NativeResult:
        if not result.redirect or result.resolved_url:
            return result
        async with gate:
            try:
                async with asyncio.timeout(limit):
                    target = await redirect_target(result.url, policy, transport=transport)
            except TimeoutError:
                note = f"no answer within {limit:g} s"
            except (PageError, _NotResolved) as error:
                note = str(error)  # a guard's refusal reads "refused: <why>"
            except httpx.HTTPError as error:
                note = " ".join(f"{type(error).__name__}: {error}".split())[:300]
            else:
                return result.model_copy(update={"resolved_url": target, "note": ""})
        return result.model_copy(update={"note": note})

    return list(await asyncio.gather(*(resolve(result) for result in results)))


# --- matching the model's sources -----------------------------------------------------------------------


def _within(host: str, domain: str) -> bool:
    return host == domain or host.endswith("." + domain)


def _title_key(text: str) -> str:
    return " ".join(text.split()).casefold()


def match_source(source: str, results: Sequence[NativeResult]) -> NativeResult | None:
    """The result a source the model names (by URL, or by title when it gave no URL) is, or None: the
    search never returned it.

    A URL matches a result with the same URL (both normalised: `normalize_url`), else a redirect whose
    resolved target is that URL, else an unresolved redirect whose domain the URL's host is or is under.
    A resolved redirect matches by its target only: its domain is no longer evidence enough. A title
    matches a result with the same title (case and spacing aside); Gemini's titles are domains.
    """
    text = source.strip()
    if not text:
        return None
    parts = urlsplit(text)
    if not (parts.scheme and parts.netloc):
        wanted = _title_key(text)
        return next(
            (result for result in results if result.title and _title_key(result.title) == wanted), None
        )
    key = normalize_url(text)
    for result in results:
        if normalize_url(result.url) == key:
            return result
    for result in results:
        if result.resolved_url and normalize_url(result.resolved_url) == key:
            return result
    host = _host(text)
    for result in results:
        if result.redirect and not result.resolved_url and result.domain and _within(host, result.domain):
            return result
    return None


def grounded_in_results(
    findings: SearchFindings, results: Sequence[NativeResult]
) -> tuple[SearchFindings, list[Source], int]:
    """The findings held to what the provider's search returned: each source the model names matched to a
    result (its raw form collected as the search's returned results), those matching none dropped and
    counted.

    A matched source takes the result's address, so the check compares like with like; one matched only by
    the domain of a redirect link that could not be resolved keeps the model's own address (the link says
    nothing a reader could open), with the result's title and snippet.
    """
    kept: list[Source] = []
    returned: dict[str, Source] = {}
    dropped = 0
    for source in findings.sources:
        match = match_source(source.url or source.title, results)
        if match is None:
            dropped += 1
            continue
        by_domain_only = match.redirect and not match.resolved_url
        raw = match.as_source()
        if by_domain_only and source.url:
            raw = raw.model_copy(update={"url": source.url})
        returned.setdefault(raw.key, raw)
        kept.append(raw)
    return findings.model_copy(update={"sources": kept}), list(returned.values()), dropped
