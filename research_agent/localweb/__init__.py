"""A local web for tests, evaluations and demos: a few small sites, misbehaving pages, and stand-ins for
the SearXNG and Tavily search APIs, served on 127.0.0.1 by `LocalWeb` (`python -m research_agent.localweb`
serves it by hand).

The sites' facts (`load_facts`) sit deep in their pages' articles, never in a title, description or first
paragraph, so a report that states one has read the page rather than a search snippet.
"""

from .hostile import HOSTILE_PAGES, INJECTION_URL
from .server import LocalWeb
from .site import Fact, Page, Site, default_site, load_facts

__all__ = ["HOSTILE_PAGES", "INJECTION_URL", "Fact", "LocalWeb", "Page", "Site", "default_site", "load_facts"]
