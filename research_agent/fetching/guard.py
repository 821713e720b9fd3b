"""SSRF protection: which URLs a research run may make this machine fetch.

The URLs come from search results and model output, so they are attacker-controlled: a page can ask for
`http://169.254.169.254/` (cloud credentials), `http://localhost:5432/` or an intranet host, directly or
through a redirect. `check_url` allows http and https only, no credentials in the URL, a host that a
browser and httpx read alike (`weburls`: a backslash or a percent-escape cannot point them at two
different hosts), and resolves the host once, refusing it when any of its addresses is not public. The
caller then connects to an address it returned (`CheckedUrl.addresses`), never resolving the name again, so a DNS answer that changes between
the check and the connection (DNS rebinding) cannot slip a private address in. Every redirect hop goes
through `check_url` again.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass

import httpx

from ..weburls import UnsafeUrl, web_url
from ._types import PageFailed, PageRefused

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_METADATA_ADDRESSES = frozenset(
    {
        ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, OpenStack, DigitalOcean...
        ipaddress.ip_address("169.254.170.2"),  # AWS ECS task credentials
        ipaddress.ip_address("fd00:ec2::254"),  # AWS over IPv6
        ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
    }
)
_METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata.goog", "metadata"})
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_SCHEMES = frozenset({"http", "https"})
_METADATA = "a cloud metadata address"


class UrlRefused(PageRefused):
    """The guard's refusal: the URL's scheme, credentials or address."""


@dataclass(frozen=True)
class CheckedUrl:
    """A URL the guard allowed, with the addresses its host resolved to (connect to these, in order)."""

    url: httpx.URL
    host: str
    """The host name as sent (IDNA-encoded): the Host header and the TLS server name."""
    addresses: tuple[IPAddress, ...]


def forbidden_reason(address: IPAddress) -> str | None:
    """Why a research run may not connect to `address` ("a loopback address"), or None if it may."""
    if address in _METADATA_ADDRESSES:
        return _METADATA
    if isinstance(address, ipaddress.IPv6Address):
        # An IPv6 address that carries an IPv4 one reaches that IPv4 host: judge the IPv4 address.
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            inner = forbidden_reason(embedded)
            return f"{inner} ({embedded} inside IPv6)" if inner else None
    if address.is_loopback:
        return "a loopback address"
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if address in _CGNAT:
        return "a shared (CGNAT) address"
    if address.is_private:
        return "a private address"
    if address.is_reserved:
        return "a reserved address"
    if not address.is_global:
        return "not a public address"
    return None


def _same_host(ours: str, browsers: str) -> bool:
    """Whether httpx's host and a browser's name one place: the same name, or the same address however
    it is spelled (a browser writes `2130706433` or `0x7f.1` as 127.0.0.1, and the resolver agrees)."""
    if ours == browsers:
        return True
    try:
        address = ipaddress.ip_address(browsers.strip("[]"))
    except ValueError:
        return False
    try:
        return ipaddress.ip_address(ours) == address
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(ours)) == address
    except OSError:
        return False


def _parse(url: str | httpx.URL) -> httpx.URL:
    """The URL as httpx will request it, once a browser's reading of it (`weburls`) agrees on where it
    goes: a URL the two parsers send to different hosts or ports is refused, whichever one is right."""
    try:
        browsers = web_url(str(url))
    except UnsafeUrl as unsafe:
        raise UrlRefused(str(unsafe)) from None
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as error:
        raise UrlRefused(f"not a valid URL ({error})") from None
    if parsed.scheme not in _SCHEMES:
        shown = f"{parsed.scheme}:" if parsed.scheme else "a relative URL"
        raise UrlRefused(f"{shown} is not http or https")
    if not parsed.raw_host:
        raise UrlRefused("the URL has no host")
    host = parsed.raw_host.decode("ascii").lower()
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    if not _same_host(host, browsers.host) or port != browsers.port:
        raise UrlRefused(
            f"the URL's host is ambiguous: {browsers.host}:{browsers.port} to a browser, {host}:{port} here"
        )
    if parsed.userinfo:
        raise UrlRefused("the URL carries a user name or password")
    return parsed


async def _resolve(host: str, port: int) -> tuple[IPAddress, ...]:
    """The host's addresses, from a thread: getaddrinfo blocks, and a slow resolver must not stall the loop."""
    try:
        infos = await asyncio.to_thread(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise PageFailed(f"could not resolve {host} ({error})") from None
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        # An IPv6 sockaddr may carry a zone ("fe80::1%eth0"); the address is what is judged.
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise PageFailed(f"could not resolve {host} (no addresses)")
    return tuple(addresses)


async def check_url(
    url: str | httpx.URL, *, allow_private: bool, trusted_hosts: frozenset[str] = frozenset()
) -> CheckedUrl:
    """The URL and the addresses to connect to, or `UrlRefused` saying why not.

    `allow_private` lets any address through (a user reading their intranet); `trusted_hosts` lets the
    named hosts through wherever they resolve (endpoints the user configured). Cloud metadata addresses
    are refused even with `allow_private`: nothing a research run reads lives there, and a page that
    sends the reader there is after the machine's credentials. A trusted host may still resolve to one.
    """
    parsed = _parse(url)
    host = parsed.raw_host.decode("ascii").lower()
    trusted = host.rstrip(".") in {name.lower().rstrip(".") for name in trusted_hosts}
    if not trusted and host.rstrip(".") in _METADATA_HOSTS:
        raise UrlRefused(f"{host} is {_METADATA}")
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses: tuple[IPAddress, ...] = (literal,)
    else:
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        addresses = await _resolve(host, port)
    if not trusted:
        for address in addresses:
            reason = forbidden_reason(address)
            if reason is None or (allow_private and not reason.startswith(_METADATA)):
                continue
            # One forbidden address is enough: a name that also resolves to a public one is still a way in.
            shown = host if literal is not None else f"{host} resolves to {address}, which"
            raise UrlRefused(f"{shown} is {reason}")
    return CheckedUrl(url=parsed, host=host, addresses=addresses)
