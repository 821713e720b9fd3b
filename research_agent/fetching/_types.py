"""The shapes page reading passes around: the policy it obeys, the raw page, the recorded result, its errors.

`FetchPolicy` is data handed in by the caller (the engine builds it from Settings), so this package never
reads the environment. `PageRead` (in schema.py: runs record it and clients show it) is what a DBOS step
records: a plain pydantic model, picklable, JSON-able and bounded in size. The two errors split a bad page
into "we chose not to read it" (refused: the guard, the content type, binary junk) and "we tried and could not" (failed: network, HTTP status, a broken
file); `read_page` turns either into a `PageRead` with its reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from .. import __version__
from ..schema import PageStatus

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
PDF_TYPE = "application/pdf"
TEXT_TYPE = "text/plain"
READABLE_TYPES = HTML_TYPES | {PDF_TYPE, TEXT_TYPE}
"""Every type this package knows how to turn into text; a policy may allow fewer."""

USER_AGENT = f"deep-research/{__version__} (research assistant; reads the pages a search returned)"


class FetchPolicy(BaseModel):
    """The limits one page is read under. Times are seconds, sizes bytes."""

    model_config = ConfigDict(frozen=True)

    connect_timeout: float = Field(default=5.0, gt=0)
    read_timeout: float = Field(default=10.0, gt=0)
    """The longest wait for the next bytes; a server that drips slower than this is cut."""
    deadline: float = Field(default=20.0, gt=0)
    """The whole page (DNS, redirects, body): a server that drips just fast enough is cut here."""
    max_bytes: int = Field(default=2_000_000, gt=0)
    """Body bytes kept (after content decoding); a longer HTML or text page is truncated, a PDF refused."""
    max_redirects: int = Field(default=5, ge=0)
    content_types: frozenset[str] = READABLE_TYPES
    allow_private: bool = False
    """Read pages on loopback, private and link-local addresses (an intranet); off for the open web."""
    trusted_hosts: frozenset[str] = frozenset()
    """Host names the user configured (a SearXNG instance): read wherever they resolve to."""
    user_agent: str = USER_AGENT
    max_text_chars: int = Field(default=200_000, gt=0)
    """Extracted text kept per page (what a step records)."""
    max_pdf_pages: int = Field(default=50, gt=0)


@dataclass(frozen=True)
class FetchedPage:
    """A page's body as downloaded: bounded, its type checked, text decoded (None for a PDF)."""

    url: str
    final_url: str
    status_code: int
    content_type: str
    body: bytes
    text: str | None
    truncated: bool
    redirects: tuple[str, ...] = ()


_REASON_CHARS = 300


class PageError(Exception):
    """A page that cannot be read; `reason` is one short line for people."""

    status: ClassVar[PageStatus]

    def __init__(self, reason: str, *, final_url: str = "") -> None:
        # Reasons quote what the server sent (a Location, a charset): kept to one short line whatever it was.
        reason = " ".join(reason.split())
        reason = reason if len(reason) <= _REASON_CHARS else reason[: _REASON_CHARS - 1] + "…"
        super().__init__(reason)
        self.reason = reason
        self.final_url = final_url

    def __str__(self) -> str:
        return f"{self.status}: {self.reason}"

    def __reduce__(self) -> tuple[object, ...]:
        # Keyword-only arguments do not survive the default exception pickling.
        return (_rebuild, (type(self), self.reason, self.final_url))


def _rebuild(kind: type[PageError], reason: str, final_url: str) -> PageError:
    return kind(reason, final_url=final_url)


class PageRefused(PageError):
    """We chose not to read it: an address the guard forbids, a type we do not read, binary junk."""

    status = "refused"


class PageFailed(PageError):
    """We tried and could not: DNS, connection, timeout, an HTTP error status, a broken file."""

    status = "failed"
