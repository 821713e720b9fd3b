"""Only the UI's own page gets a session: a check of the `Host` and `Origin` headers of the browser's WebSocket.

Any web site can make its visitor's browser open a WebSocket to `localhost:8501`, and a session there can
submit runs (which cost money with real models) and crash the worker. Streamlit refuses a `Host` outside
`server.allowedHosts` (which `deep-research ui` sets, against DNS rebinding), but it accepts any origin on
`localhost` or `127.0.0.1` whatever its port, so a page served by any other local program gets a session too.
The app therefore draws nothing for a session whose page came from another origin: a browser's WebSocket
carries the `Origin` of the page that opened it, which that page cannot change. A program that sends no
`Origin` is not a web page, and can reach the database directly anyway.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit


def _host_name(host: str) -> str | None:
    try:
        parts = urlsplit(f"//{host}")
        parts.port  # noqa: B018  # raises on a port that is not a number
    except ValueError:
        return None
    return (parts.hostname or "").rstrip(".") or None


def host_allowed(host: str, allowed: list[str]) -> bool:
    """Whether the `Host` header names one of `allowed` (port ignored; `*` or `*.example.org` as Streamlit
    reads them); an empty list allows every host, as Streamlit does."""
    if not allowed:
        return True
    name = _host_name(host)
    if name is None:
        return False
    for pattern in (a.strip().lower().rstrip(".") for a in allowed):
        if pattern == "*" or name == pattern or (pattern.startswith("*.") and name.endswith(pattern[1:])):
            return True
    return False


def refusal(headers: Mapping[str, str], allowed_hosts: list[str]) -> str | None:
    """Why the session these WebSocket headers opened must get no page, or None when it may."""
    host = headers.get("Host") or headers.get("host")
    origin = headers.get("Origin") or headers.get("origin")
    if host is None:
        return None  # not a served session (a test driving the app in process)
    if not host_allowed(host, allowed_hosts):
        return f"it was reached as {host}, a name this UI does not answer to"
    if origin is None:
        return None
    page = urlsplit(origin)
    if page.scheme not in ("http", "https") or page.netloc.lower() != host.lower():
        return f"the page that opened it is on another site ({origin})"
    return None
