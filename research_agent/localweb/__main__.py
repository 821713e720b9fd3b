"""`python -m research_agent.localweb`: serve the local web in the foreground until Ctrl-C."""

from __future__ import annotations

import argparse
import contextlib
import threading

from .hostile import HOSTILE_PAGES
from .server import LocalWeb


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m research_agent.localweb",
        description="Serve the local web (sites, hostile pages, SearXNG and Tavily stand-ins) on 127.0.0.1.",
    )
    parser.add_argument(
        "--hostile-in-results", action="store_true", help="list the hostile pages in search answers too"
    )
    args = parser.parse_args()
    with LocalWeb(hostile_in_results=args.hostile_in_results) as web:
        print(web.url, flush=True)
        print(f"  pages:    {web.url}/", flush=True)
        print(f"  SearXNG:  RESEARCH_SEARXNG_URL={web.url}  (GET {web.url}/search?q=tram&format=json)")
        print(f"  Tavily:   POST {web.tavily_url}/search  (TavilyBackend base_url={web.tavily_url})")
        print(f"  hostile:  {len(HOSTILE_PAGES)} pages under {web.url}/hostile/", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
