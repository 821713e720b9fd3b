"""Download one page under a `FetchPolicy`: guarded, bounded in time and size, its type and text checked.

Redirects are followed here, one hop at a time, so that every hop goes through the guard; each request
goes to an address the guard returned for that hop (with the real Host header and TLS server name), so
the name is never resolved a second time. The body is streamed and cut at `max_bytes`, the whole page at
`deadline`, each wait for bytes at `read_timeout`: a huge, endless or slow-drip page costs at most those.
No cookies, credentials or proxy settings from the environment take part: the request goes straight
from this machine to the checked address, and a proxy would make that check meaningless.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from functools import lru_cache

import httpx

from ._charset import decode_text
from ._types import HTML_TYPES, PDF_TYPE, FetchedPage, FetchPolicy, PageError, PageFailed, PageRefused
from .guard import CheckedUrl, UrlRefused, check_url

_REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
_SHOWN_URL_CHARS = 100
_MAX_ADDRESSES = 3
"""Addresses tried per hop when connecting fails (a host with a dead IPv6 route still answers on IPv4)."""


@lru_cache(maxsize=1)
def ssl_context() -> ssl.SSLContext:
    # Loading the CA bundle takes milliseconds; one context serves every page.
    return httpx.create_ssl_context()


def shown_url(url: str | httpx.URL) -> str:
    """A URL as quoted in a reason: the server chose it, so it is cut short."""
    text = str(url)
    return text if len(text) <= _SHOWN_URL_CHARS else text[: _SHOWN_URL_CHARS - 1] + "…"


def _content_type(header: str) -> tuple[str, str | None]:
    """The media type (lower case) and the charset parameter of a Content-Type header."""
    mime, *params = header.split(";")
    charset = None
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip("'\"") or None
    return mime.strip().lower(), charset


def _request(checked: CheckedUrl, address: str, policy: FetchPolicy) -> httpx.Request:
    extensions: dict[str, object] = {
        "timeout": httpx.Timeout(policy.read_timeout, connect=policy.connect_timeout).as_dict(),
        # The certificate is checked against the host name, not the address we connect to.
        "sni_hostname": checked.host,
    }
    headers = {
        "Host": checked.url.netloc.decode("ascii"),
        "User-Agent": policy.user_agent,
        "Accept": ", ".join(sorted(policy.content_types)),
        "Accept-Encoding": "gzip, deflate",
    }
    return httpx.Request("GET", checked.url.copy_with(host=address), headers=headers, extensions=extensions)


async def _send(
    transport: httpx.AsyncBaseTransport, checked: CheckedUrl, policy: FetchPolicy
) -> httpx.Response:
    *others, last = checked.addresses[:_MAX_ADDRESSES]
    for address in others:
        try:
            return await _send_to(transport, checked, str(address), policy)
        except (httpx.ConnectError, httpx.ConnectTimeout):
            continue
    return await _send_to(transport, checked, str(last), policy)


async def _send_to(
    transport: httpx.AsyncBaseTransport, checked: CheckedUrl, address: str, policy: FetchPolicy
) -> httpx.Response:
    request = _request(checked, address, policy)
    response = await transport.handle_async_request(request)
    response.request = request
    return response


@asynccontextmanager
async def _exchange(
    checked: CheckedUrl, policy: FetchPolicy, transport: httpx.AsyncBaseTransport | None
) -> AsyncIterator[httpx.Response]:
    """One request and its streamed response, closed (with a transport of our own) on the way out."""
    async with AsyncExitStack() as stack:
        if transport is None:
            # A fresh connection pool per hop: a pooled TLS connection to the same address, opened for
            # another host name, would otherwise carry this request under that name's certificate.
            transport = await stack.enter_async_context(
                httpx.AsyncHTTPTransport(verify=ssl_context(), retries=0)
            )
        response = await _send(transport, checked, policy)
        stack.push_async_callback(response.aclose)
        yield response


async def _read_capped(response: httpx.Response, cap: int) -> tuple[bytes, bool]:
    """At most `cap` bytes of the (content-decoded) body, and whether there was more."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        room = cap - size
        if len(chunk) > room:
            chunks.append(chunk[:room])
            return b"".join(chunks), True
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks), False


async def _read(response: httpx.Response, url: str, policy: FetchPolicy, trail: list[str]) -> FetchedPage:
    code = response.status_code
    if not 200 <= code < 300:
        raise PageFailed(f"HTTP {code} {response.reason_phrase}".rstrip())
    mime, charset = _content_type(response.headers.get("content-type", ""))
    if mime not in policy.content_types:
        raise PageRefused(f"content type {mime or '(none given)'} is not one we read")
    declared = response.headers.get("content-length", "")
    if mime == PDF_TYPE and declared.isdigit() and int(declared) > policy.max_bytes:
        raise PageRefused(f"a PDF of {int(declared):,} bytes is over the {policy.max_bytes:,}-byte limit")
    body, truncated = await _read_capped(response, policy.max_bytes)
    if truncated and mime == PDF_TYPE:
        # Half a PDF has no cross-reference table: nothing to extract.
        raise PageRefused(f"a PDF over the {policy.max_bytes:,}-byte limit")
    text = None if mime == PDF_TYPE else decode_text(body, charset, html=mime in HTML_TYPES)
    return FetchedPage(
        url=url,
        final_url=trail[-1],
        status_code=code,
        content_type=mime,
        body=body,
        text=text,
        truncated=truncated,
        redirects=tuple(trail[1:]),
    )


async def _follow(
    url: str, policy: FetchPolicy, transport: httpx.AsyncBaseTransport | None, trail: list[str]
) -> FetchedPage:
    target: str | httpx.URL = url
    for hop in range(policy.max_redirects + 1):
        try:
            checked = await check_url(
                target, allow_private=policy.allow_private, trusted_hosts=policy.trusted_hosts
            )
        except UrlRefused as refusal:
            if hop == 0:
                raise
            raise UrlRefused(f"redirect to {shown_url(target)}: {refusal.reason}") from None
        here = str(checked.url.copy_with(fragment=None))
        if here in trail:
            raise PageRefused(f"redirect loop back to {shown_url(here)}")
        trail.append(here)
        async with _exchange(checked, policy, transport) as response:
            if response.status_code not in _REDIRECT_CODES:
                return await _read(response, url, policy, trail)
            location = response.headers.get("location")
            if not location:
                raise PageFailed(f"HTTP {response.status_code} redirect without a Location")
            try:
                target = checked.url.join(location)
            except httpx.InvalidURL as error:
                raise PageRefused(f"redirect to an invalid URL ({error})") from None
    raise PageRefused(f"more than {policy.max_redirects} redirects")


def _network_failure(error: httpx.HTTPError, policy: FetchPolicy) -> PageFailed:
    if isinstance(error, httpx.ConnectTimeout):
        return PageFailed(f"could not connect within {policy.connect_timeout:g} s")
    if isinstance(error, httpx.ReadTimeout):
        return PageFailed(f"the server sent nothing for {policy.read_timeout:g} s")
    if isinstance(error, httpx.ConnectError):
        return PageFailed(f"could not connect ({error})")
    return PageFailed(f"{type(error).__name__}: {error}")


async def fetch_page(
    url: str, *, policy: FetchPolicy, transport: httpx.AsyncBaseTransport | None = None
) -> FetchedPage:
    """The page at `url` (after redirects), or `PageRefused` / `PageFailed` saying why not.

    `transport` replaces the network (tests pass an `httpx.MockTransport`); requests reach it already
    aimed at the checked address, with the Host header naming the host.
    """
    trail: list[str] = []
    try:
        async with asyncio.timeout(policy.deadline):
            return await _follow(url, policy, transport, trail)
    except TimeoutError:
        error: PageError = PageFailed(f"the page took longer than its {policy.deadline:g} s deadline")
    except httpx.HTTPError as network:
        error = _network_failure(network, policy)
    except PageError as page_error:
        error = page_error
    error.final_url = error.final_url or (trail[-1] if trail else "")
    raise error
