"""Untrusted URLs, read the way a browser reads them.

Search results, model output and redirects hand this program URLs an attacker may have written, and URL
parsers disagree on the odd ones. Python's `urllib` reads `https://127.0.0.1:8690\\@www.who.int/x` as a
user name at www.who.int; a browser, following the WHATWG URL standard, treats the backslash as a slash and
opens 127.0.0.1:8690. A domain check that reads a URL one way while the person clicking it (or the page
reader) reads it another checks nothing. So every judgement of an untrusted URL starts here, from the
WHATWG reading: pydantic-core's `Url`, which is the Rust `url` crate, the parser Servo and Firefox share.

A URL a run may keep is http or https, has a host, and carries no user name or password (`user@host`
spelled to look like `host`, or a credential leaked into a link); anything else is refused with the reason.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from pydantic_core import Url, ValidationError

WEB_SCHEMES = frozenset({"http", "https"})

_REASONS = {
    "relative URL without a base": "a relative URL is not http or https",
    "empty host": "the URL has no host",
}


class UnsafeUrl(ValueError):
    """Why a URL is not one a run may keep or open (one short phrase, e.g. "file: is not http or https")."""


@dataclass(frozen=True)
class WebUrl:
    """An http(s) URL as a browser reads it."""

    url: str
    """Serialised as the browser would request it (`\\` turned into `/`, the host in lower-case ASCII)."""
    scheme: str
    host: str
    """Lower case, IDNA (punycode) for names; an IPv6 address in brackets, IPv4 in dotted decimal."""
    port: int


def web_url(text: str) -> WebUrl:
    """`text` read as a browser reads it, or `UnsafeUrl` saying why a run may not keep or open it."""
    try:
        parsed = Url(text)
    except ValidationError as error:
        detail = str((error.errors()[0].get("ctx") or {}).get("error", "unreadable"))
        raise UnsafeUrl(_REASONS.get(detail, f"not a valid URL ({detail})")) from None
    if parsed.scheme not in WEB_SCHEMES:
        raise UnsafeUrl(f"{parsed.scheme}: is not http or https")
    if parsed.username or parsed.password:
        raise UnsafeUrl("the URL carries a user name or password")
    if not parsed.host or parsed.port is None:
        raise UnsafeUrl("the URL has no host")
    return WebUrl(url=str(parsed), scheme=parsed.scheme, host=parsed.host, port=parsed.port)


def web_host(text: str) -> str | None:
    """The host a browser would open for `text`, without a trailing dot, or None when `text` is not a URL a
    run may keep (see `web_url`)."""
    try:
        return web_url(text).host.rstrip(".")
    except UnsafeUrl:
        return None


def is_loopback(host: str) -> bool:
    """Whether a server's `host` (a name or an address, IPv6 with or without brackets) is this machine only."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False
