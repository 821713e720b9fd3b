"""What reading one web page costs: a realistic ~80 kB article page fetched, extracted and ranked.

The page (navigation, cookie banner, inline CSS and scripts, a long article, sidebar, footer) is served
from 127.0.0.1, so the network is out of the figures and what is left is this package's own work: the
guard (resolution, checks), the guarded and bounded fetch, trafilatura's extraction and the BM25 ranking of
the page's passages. Beside it, in the same run, a plain `httpx` GET of the same page (a new client per
page, as a reader without any of these protections would do it) is the baseline; a GET on a client kept
alive across pages (no connection set-up, no CA bundle) is the floor no fetch can beat.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
from _common import Figure, quick, report

from research_agent.fetching import (
    FetchPolicy,
    best_passages,
    extract_text,
    fetch_page,
    read_page,
    split_passages,
)

QUERY = "When was the harbour lighthouse rebuilt and how tall is it?"
WORDS = [
    "harbour",
    "keeper",
    "lamp",
    "lens",
    "tower",
    "coast",
    "storm",
    "ship",
    "pilot",
    "tide",
    "rock",
    "beacon",
    "signal",
    "fog",
    "island",
    "light",
    "stone",
    "granite",
    "century",
    "rebuilt",
    "metres",
    "lantern",
    "Fresnel",
    "oil",
    "electric",
    "automated",
    "keepers",
    "family",
    "winter",
]


def article_page() -> bytes:
    """A page shaped like a news or encyclopedia article: about 80 kB, a quarter of it the article."""
    rng = random.Random(18)

    def sentence() -> str:
        words = [rng.choice(WORDS) for _ in range(rng.randint(12, 24))]
        return " ".join(words).capitalize() + "."

    nav = "".join(f'<li><a href="/section/{i}">Section {i}</a></li>' for i in range(60))
    css = "".join(f".c{i} {{ margin: {i}px; padding: {i % 7}px; color: #{i:06x}; }}\n" for i in range(250))
    script = "".join(
        f"window.track{i} = function (e) {{ return fetch('/t?e=' + e + '&i={i}'); }};\n" for i in range(250)
    )
    paragraphs = [" ".join(sentence() for _ in range(rng.randint(3, 7))) for _ in range(60)]
    paragraphs[37] = (
        "The harbour lighthouse was rebuilt in 1887 after the great storm, in granite, and stands 41 metres "
        "tall; its Fresnel lens was electrified in 1921 and the light automated in 1984."
    )
    body = "".join(
        (f"<h2>Part {i // 10 + 1}</h2>" if i % 10 == 0 else "") + f"<p>{text}</p>"
        for i, text in enumerate(paragraphs)
    )
    sidebar = "".join(f'<li><a href="/related/{i}">Related story number {i}</a></li>' for i in range(40))
    footer = " | ".join(f'<a href="/footer/{i}">Footer link {i}</a>' for i in range(30))
    html = f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>The harbour lighthouse | Coastal Heritage</title><style>{css}</style><script>{script}</script></head>
<body><div class="cookie-consent"><p>We use cookies to improve your experience. Accept all cookies or manage
your preferences in our privacy policy.</p><button>Accept all</button></div>
<header><nav><ul>{nav}</ul></nav></header>
<main><article><h1>The harbour lighthouse</h1>{body}</article></main>
<aside><h3>Related</h3><ul>{sidebar}</ul></aside>
<footer><p>© 2024 Coastal Heritage. All rights reserved.</p><p>{footer}</p></footer></body></html>"""
    return html.encode()


@contextmanager
def serving(page: bytes) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/article"
    finally:
        server.shutdown()
        server.server_close()


async def ms(action: Callable[[], Awaitable[object]]) -> float:
    start = time.perf_counter()
    await action()
    return (time.perf_counter() - start) * 1000


async def measure(url: str, trials: int) -> list[Figure]:
    policy = FetchPolicy(allow_private=True)  # the page is on 127.0.0.1
    fetch, extract, rank, total, baseline, floor = [], [], [], [], [], []
    shared = httpx.AsyncClient()

    async def plain_get() -> None:
        async with httpx.AsyncClient() as client:
            (await client.get(url)).raise_for_status()

    for trial in range(trials + 3):  # three warm-up rounds: imports, caches, the CA bundle
        start = time.perf_counter()
        page = await fetch_page(url, policy=policy)
        fetched = time.perf_counter()
        content = extract_text(page, max_chars=policy.max_text_chars, max_pdf_pages=policy.max_pdf_pages)
        extracted = time.perf_counter()
        best = best_passages(split_passages(content.text), QUERY, 3)
        ranked = time.perf_counter()
        assert "rebuilt in 1887" in best[0], best
        whole = await ms(lambda: read_page(url, QUERY, policy))
        plain = await ms(plain_get)
        reused = await ms(lambda: shared.get(url))
        if trial >= 3:
            fetch.append((fetched - start) * 1000)
            extract.append((extracted - fetched) * 1000)
            rank.append((ranked - extracted) * 1000)
            total.append(whole)
            baseline.append(plain)
            floor.append(reused)
    await shared.aclose()
    size = {"page_bytes": len(page.body), "text_chars": len(content.text)}
    return [
        Figure("fetch (guard, bounded GET, decode)", "ms", fetch, extra=size),
        Figure("extract (trafilatura)", "ms", extract, extra=size),
        Figure("rank (split, BM25)", "ms", rank, extra=size),
        Figure("read_page, whole", "ms", total, target="≤50 ms", extra=size),
        Figure("baseline: httpx GET, new client", "ms", baseline, extra=size),
        Figure("floor: httpx GET, kept alive", "ms", floor, extra=size),
    ]


def main() -> None:
    trials = 10 if quick() else 50
    page = article_page()
    with serving(page) as url:
        figures = asyncio.run(measure(url, trials))
    report(f"fetch_overhead ({len(page) / 1000:.0f} kB page)", figures)


if __name__ == "__main__":
    main()
