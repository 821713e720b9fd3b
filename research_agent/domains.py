"""Domain allow and deny lists for web search results, enforced on what the searches return.

A result whose host is a listed domain or a subdomain of one matches it (`example.org` matches
`docs.example.org`). Denied domains always lose; with an allow list, only its domains are kept. Corpus
results have no URL and are never filtered.

A URL is judged by the host a browser would open for it (`weburls`), so a backslash or an `@` cannot make
one host pass for another; a URL that is not http(s), or that carries a user name or password, is never
kept, lists or not. Domains on the lists are compared in the same form: lower case, punycode, no `www.`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .weburls import web_host

_DOMAIN = re.compile(
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+([a-z]{2,63}|xn--[a-z0-9-]{1,59})$"
)


def normalize_domain(value: str) -> str:
    """`value` as a bare lower-case domain (scheme, `www.`, path and port dropped), or ValueError."""
    text = value.strip()
    host = (web_host(text if "://" in text else f"https://{text}") or "").removeprefix("www.")
    if not _DOMAIN.match(host):
        raise ValueError(f"{value!r} is not a domain name (expected something like example.org)")
    return host


def normalize_domains(values: Iterable[str]) -> list[str]:
    """Each value normalized, duplicates dropped, order kept."""
    return list(dict.fromkeys(normalize_domain(v) for v in values if v.strip()))


def _matches(host: str, domain: str) -> bool:
    return host == domain or host.endswith("." + domain)


def domain_allowed(url: str | None, allow: list[str], deny: list[str]) -> bool:
    """Whether a result at `url` may be kept under the lists (a result without a URL always may; one whose
    URL is not a plain http(s) address never may)."""
    if not url:
        return True
    host = web_host(url)
    if host is None:
        return False
    host = host.removeprefix("www.")
    if any(_matches(host, d) for d in deny):
        return False
    return not allow or any(_matches(host, d) for d in allow)
