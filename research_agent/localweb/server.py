"""`LocalWeb`: the local web on 127.0.0.1, with stand-ins for the SearXNG and Tavily search APIs.

One `ThreadingHTTPServer` on an ephemeral port, in a daemon thread. It serves the site's pages, the hostile
pages, `GET|POST /search` (SearXNG's JSON API) and `POST /tavily/search` (Tavily's), both searching the
site by keyword and linking to the server's own pages. It counts requests per path, so a test can check
that no page was fetched twice, and answers the next request(s) to a path with a canned failure on demand
(`fail_next`), so a test can see a 429 or a malformed answer handled.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .hostile import LISTINGS, HostileOptions, serve_hostile
from .search_apis import SEARXNG_PAGE_SIZE, TAVILY_DEPTHS, Hit, searxng_answer, tavily_answer
from .site import Page, Site, default_site

_MAX_REQUEST_BODY = 1_000_000
_ASSET_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}


@dataclass(frozen=True)
class CannedResponse:
    """A response served instead of the real one (`LocalWeb.fail_next`)."""

    status: int
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


class LocalWeb:
    """The local web, served on 127.0.0.1 while started (`with LocalWeb() as web: ... web.url ...`).

    `searxng_formats`: the output formats the SearXNG stand-in allows, like `search.formats` in a real
    instance's settings.yml (without `json`, `format=json` is answered 403, as SearXNG does).
    `hostile_in_results`: search answers list the hostile pages too, interleaved with the real hits.
    `drip_interval`: seconds between the bytes of `/hostile/slow.html`; `huge_bytes`: the huge page's size.
    """

    def __init__(
        self,
        *,
        site: Site | None = None,
        searxng_formats: Iterable[str] = ("html", "json"),
        hostile_in_results: bool = False,
        drip_interval: float = 0.05,
        huge_bytes: int = 8_000_000,
    ) -> None:
        self.site = site or default_site()
        self.searxng_formats = frozenset(searxng_formats)
        self.hostile_in_results = hostile_in_results
        self._stop = threading.Event()
        self.hostile = HostileOptions(huge_bytes=huge_bytes, drip_interval=drip_interval, stop=self._stop)
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._canned: dict[str, deque[CannedResponse]] = {}
        self._held: set[str] = set()
        self._released = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """`http://127.0.0.1:PORT`, without a trailing slash."""
        if self._server is None:
            raise RuntimeError("the local web is not started; call start() or use it in a `with` block")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def tavily_url(self) -> str:
        """The base URL of the Tavily stand-in (TavilyBackend's `base_url`)."""
        return f"{self.url}/tavily"

    def page_url(self, path: str) -> str:
        return self.url + path

    def start(self) -> LocalWeb:
        """Listen on an ephemeral port and serve in a daemon thread; requests queue from this call on."""
        if self._server is not None:
            return self
        self._stop.clear()
        self._server = _Server(("127.0.0.1", 0), _Handler, self)  # bound and listening on return
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="localweb", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; endless and dripping pages end their responses."""
        if self._server is None:
            return
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server = self._thread = None

    def __enter__(self) -> LocalWeb:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    def requests_to(self, path: str) -> int:
        """How many requests reached `path` (without its query string)."""
        with self._lock:
            return self._counts[path]

    def request_counts(self) -> dict[str, int]:
        """Requests per path so far."""
        with self._lock:
            return dict(self._counts)

    def reset_counts(self) -> None:
        with self._lock:
            self._counts.clear()

    def hold(self, path: str) -> None:
        """Make requests to `path` wait, unanswered, until `release()` (or the server stops): a page
        being read for as long as a test needs, to kill a worker in the middle of reading it."""
        with self._lock:
            self._held.add(path)
        self._released.clear()

    def release(self) -> None:
        """Answer the held requests, and any later ones, at once."""
        with self._lock:
            self._held.clear()
        self._released.set()

    def _wait_if_held(self, path: str) -> None:
        with self._lock:
            held = path in self._held
        while held and not self._released.wait(0.05) and not self._stop.is_set():
            pass

    def fail_next(
        self,
        path: str,
        status: int,
        body: bytes | str = b"",
        *,
        headers: Mapping[str, str] | None = None,
        content_type: str = "application/json",
        times: int = 1,
    ) -> None:
        """Answer the next `times` requests to `path` with `status`, `body` and `headers` instead."""
        canned = CannedResponse(
            status, body.encode() if isinstance(body, str) else body, dict(headers or {}), content_type
        )
        with self._lock:
            self._canned.setdefault(path, deque()).extend([canned] * times)

    def _count(self, path: str) -> CannedResponse | None:
        with self._lock:
            self._counts[path] += 1
            queue = self._canned.get(path)
            return queue.popleft() if queue else None

    def _search(self, query: str) -> list[tuple[Page, float]]:
        found = self.site.search(query)
        if not self.hostile_in_results:
            return found
        hostile = [(page, 1.0) for page in LISTINGS]
        mixed: list[tuple[Page, float]] = []
        for index in range(max(len(found), len(hostile))):
            mixed.extend(found[index : index + 1] + hostile[index : index + 1])
        return mixed

    def _hits(self, found: list[tuple[Page, float]]) -> list[Hit]:
        return [(self.page_url(page.path), page, score) for page, score in found]


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], web: LocalWeb
    ) -> None:
        super().__init__(address, handler)
        self.web = web


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "localweb/1"
    timeout = 10  # a client that stops reading frees its thread after this many seconds

    @property
    def web(self) -> LocalWeb:
        assert isinstance(self.server, _Server)
        return self.server.web

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet in tests; `python -m research_agent.localweb` prints what it serves itself

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    def do_HEAD(self) -> None:
        self._route("HEAD")

    def _route(self, method: str) -> None:
        url = urlsplit(self.path)
        path = url.path
        try:
            canned = self.web._count(path)
            if canned is not None:
                self._send(canned.status, canned.body, canned.content_type, canned.headers)
                return
            self.web._wait_if_held(path)
            body = self._read_body() if method == "POST" else b""
            if path == "/search" and method != "HEAD":
                self._searxng(parse_qs(url.query) | parse_qs(body.decode("utf-8", "replace")))
            elif path == "/tavily/search" and method == "POST":
                self._tavily(body)
            elif path.startswith("/hostile/") and method == "GET":
                if not serve_hostile(self, path, self.web.hostile):
                    self._not_found()
            elif method == "POST":
                self._send(405, b"Method Not Allowed", "text/plain; charset=utf-8", {"Allow": "GET, HEAD"})
            else:
                self._static(path, head=method == "HEAD")
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            self.close_connection = True  # the client hung up or stopped reading: nothing left to do

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(min(length, _MAX_REQUEST_BODY))

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str,
        headers: Mapping[str, str] | None = None,
        *,
        head: bool = False,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _json(self, status: int, document: object) -> None:
        self._send(status, json.dumps(document).encode(), "application/json")

    def _not_found(self, head: bool = False) -> None:
        body = b"<!DOCTYPE html><title>404 Not Found</title><h1>Not Found</h1><p>No page here.</p>"
        self._send(404, body, "text/html; charset=utf-8", head=head)

    def _static(self, path: str, head: bool) -> None:
        site = self.web.site
        page = site.page(path)
        if page is not None:
            self._send(200, page.body, page.content_type, head=head)
            return
        if path in ("/", "/index.html") or path.startswith("/assets/"):
            file = (site.directory / path.lstrip("/")).resolve()
            if path in ("/", "/index.html"):
                file = site.directory / "index.html"
            content_type = _ASSET_TYPES.get(file.suffix, "text/html; charset=utf-8")
            if file.is_file() and file.is_relative_to(site.directory.resolve()):
                self._send(200, file.read_bytes(), content_type, head=head)
                return
        self._not_found(head)

    def _searxng(self, params: dict[str, list[str]]) -> None:
        """SearXNG's `/search`: `q`, `format` (html unless json is asked and allowed), `pageno`."""
        output_format = (params.get("format") or ["html"])[-1]
        if output_format not in ("html", "json", "csv", "rss"):
            output_format = "html"
        if output_format not in self.web.searxng_formats:
            body = b"<!doctype html><title>403 Forbidden</title><h1>Forbidden</h1>"
            self._send(403, body, "text/html; charset=utf-8")
            return
        query = (params.get("q") or [""])[-1].strip()
        if output_format != "json":
            self._send(200, _results_html(query, self.web._hits(self.web._search(query))), "text/html")
            return
        if not query:
            self._json(400, {"error": "No query"})
            return
        try:
            page_number = max(1, int((params.get("pageno") or ["1"])[-1]))
        except ValueError:
            self._json(400, {"error": 'Invalid value "pageno"'})
            return
        found = self.web._search(query)
        start = (page_number - 1) * SEARXNG_PAGE_SIZE
        hits = self.web._hits(found[start : start + SEARXNG_PAGE_SIZE])
        self._json(200, searxng_answer(query, hits, total=len(found)))

    def _tavily(self, body: bytes) -> None:
        """Tavily's `POST /search`: a JSON body, the key as `Authorization: Bearer` (or, formerly, `api_key`)."""
        started = time.perf_counter()
        try:
            request = json.loads(body)
        except ValueError:
            request = None
        if not isinstance(request, dict):
            self._json(400, {"detail": {"error": "The request body must be a JSON object."}})
            return
        bearer = self.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not (bearer or request.get("api_key")):
            self._json(401, {"detail": {"error": "Unauthorized: missing or invalid API key."}})
            return
        query = request.get("query")
        max_results = request.get("max_results", 5)
        depth = request.get("search_depth", "basic")
        if not isinstance(query, str) or not query.strip():
            self._json(400, {"detail": {"error": "Query is missing."}})
            return
        if not isinstance(max_results, int) or not 0 <= max_results <= 20:
            self._json(400, {"detail": {"error": "max_results must be between 0 and 20."}})
            return
        if depth not in TAVILY_DEPTHS:
            self._json(
                400, {"detail": {"error": f"Invalid search depth. Must be one of {list(TAVILY_DEPTHS)}."}}
            )
            return
        hits = self.web._hits(self.web._search(query)[:max_results])
        answer = tavily_answer(
            query,
            hits,
            include_answer=bool(request.get("include_answer")),
            include_raw_content=bool(request.get("include_raw_content")),
            response_time=time.perf_counter() - started,
            request_id=f"localweb-{self.web.requests_to('/tavily/search')}",
        )
        self._json(200, answer)


def _results_html(query: str, hits: list[Hit]) -> bytes:
    items = "".join(
        f'<article class="result"><h3><a href="{escape(url)}">{escape(page.title)}</a></h3>'
        f'<p class="content">{escape(page.snippet)}</p></article>'
        for url, page, _ in hits
    )
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{escape(query)} - SearXNG</title></head>"
        f"<body><form action='/search'><input name='q' value='{escape(query)}'></form>{items}</body></html>"
    ).encode()
