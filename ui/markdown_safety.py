"""Text from documents, models and search results, made safe to hand Streamlit as Markdown.

Almost everything the UI shows was written by someone it does not trust: a report by a model that read web
pages, a title or passage by a page's author, an error by a server. Streamlit renders Markdown, so such text
could load a remote image in every viewer's browser (a tracking pixel, or a URL a model was talked into
filling with the run's data), offer a `javascript:` link, or break out of a link the UI builds around it.

Two ways out, and nothing else reaches `st.markdown` and its relatives:
- `plain`, `code` and `web_link` for text that is data: every Markdown sign escaped, so it reads verbatim;
  a link only to an http(s) address, percent-encoded so it cannot end early.
- `safe_markdown` for text that is Markdown by design (a report body): parsed with markdown-it-py's
  CommonMark parser and written back with mdformat, after the parse tree is changed so that an image becomes
  its alt text, a link to anything but http(s) (or, when allowed, an anchor on the page) becomes its text,
  and raw HTML is text. The result is parsed again and checked; anything the check refuses falls back to
  `plain`, so a parser bug shows escaped text rather than a loaded image.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import quote

import mdformat.plugins
from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdformat.renderer import MDRenderer

from research_agent.weburls import UnsafeUrl, web_url

_INLINE_SIGNS = re.compile(r"([\\`*_{}\[\]<>()#+!|~$&:])")
_LINE_START_SIGNS = re.compile(r"^([ \t]*)([-=]|\d+\.)", re.MULTILINE)  # a list item, a setext heading
_ANCHOR = re.compile(r"#[A-Za-z0-9_-]+")
# What may stay as it is in a link's address: RFC 3986's reserved and unreserved signs and `%` (already
# percent-encoded bytes), but not `(` `)`, which could end a Markdown link, nor spaces, quotes or `<>`.
_URL_SAFE = "/:?#[]@!$&'*+,;=%~"


def plain(text: str) -> str:
    """`text` as Markdown that renders exactly as `text`: nothing in it is a link, an image, emphasis, a
    heading, a list or a Streamlit directive (`:red[...]`, `:material/...:`)."""
    escaped = _INLINE_SIGNS.sub(r"\\\1", text)
    return _LINE_START_SIGNS.sub(lambda m: f"{m.group(1)}{m.group(2)[:-1]}\\{m.group(2)[-1]}", escaped)


def code(text: str) -> str:
    """`text` as an inline code span: verbatim, on one line (a backtick or a line break could end it)."""
    shown = " ".join(text.replace("`", "'").split())
    return f"`{shown}`" if shown else ""


def link_address(url: str) -> str | None:
    """`url` as it may stand in a Markdown link: an http(s) address as a browser reads it, percent-encoded
    so that nothing in it ends the link; None for anything else (`javascript:`, `data:`, `user@host`)."""
    try:
        return quote(web_url(url).url, safe=_URL_SAFE)
    except UnsafeUrl:
        return None


def web_link(text: str, url: str | None) -> str:
    """A Markdown link labelled `text` to `url` when that is a web address, else just `text`; both plain."""
    address = link_address(url) if url else None
    return f"[{plain(text)}]({address})" if address else plain(text)


# --- Markdown by design ----------------------------------------------------------------------------------


def _parser(*, html: bool) -> MarkdownIt:
    """CommonMark with GitHub's tables, strikethrough and autolinks (what Streamlit's renderer reads), every
    link parsed whatever its scheme (so a `javascript:` link is found and turned into text, not skipped),
    writing Markdown back through mdformat."""
    parser = MarkdownIt("commonmark", {"html": html}, renderer_cls=MDRenderer)  # type: ignore[arg-type]
    parser.options["mdformat"] = {"number": True, "wrap": "keep", "compact_tables": True}
    parser.options["codeformatters"] = {}
    parser.options["parser_extension"] = []
    gfm = mdformat.plugins.PARSER_EXTENSIONS["gfm"]
    parser.options["parser_extension"].append(gfm)
    gfm.update_mdit(parser)
    parser.validateLink = lambda url: True  # type: ignore[method-assign]
    return parser


_WRITER = _parser(html=False)  # raw HTML is read as text, and written back escaped
_CHECKER = _parser(html=True)  # to find any raw HTML left


def _allowed_address(href: str, anchors: bool) -> str | None:
    if anchors and _ANCHOR.fullmatch(href):
        return href
    return link_address(href)


def _text(content: str) -> Token:
    return Token("text", "", 0, content=content)


def _defused(children: list[Token], anchors: bool) -> list[Token]:
    """Inline tokens with images as their alt text and links to anything not allowed as their text."""
    kept: list[Token] = []
    open_links: list[bool] = []
    for token in children:
        if token.type == "image":
            if token.content:
                kept.append(_text(token.content))
        elif token.type in ("link_open", "gfm_autolink_open"):
            address = _allowed_address(str(token.attrGet("href") or ""), anchors)
            open_links.append(address is not None)
            if address is not None:
                # An ordinary inline link: no reference label (whose definition would be written out too),
                # and GitHub's bare links too, whose source text mdformat would copy unchecked.
                kept.append(Token("link_open", "a", 1, attrs={"href": address}))
        elif token.type in ("link_close", "gfm_autolink_close"):
            if open_links.pop():
                kept.append(Token("link_close", "a", -1))
        else:
            kept.append(token)
    return kept


def dangers(markdown: str, *, anchors: bool = False) -> list[str]:
    """What rendering `markdown` would load or offer besides text and allowed links: images, raw HTML, other
    links, each named; [] when there is none."""
    found = []
    stack = list(_CHECKER.parse(markdown))
    while stack:
        token = stack.pop()
        stack.extend(token.children or [])
        if token.type == "image":
            found.append(f"an image ({token.attrGet('src')})")
        elif token.type in ("html_inline", "html_block"):
            found.append("raw HTML")
        elif token.type in ("link_open", "gfm_autolink_open"):
            href = str(token.attrGet("href") or "")
            if token.type == "gfm_autolink_open" and href.startswith("mailto:"):
                continue  # a bare e-mail address: text that any renderer offers to mail, loading nothing
            if _allowed_address(href, anchors) is None:
                found.append(f"a link to {href}")
    return found


@lru_cache(maxsize=128)
def safe_markdown(markdown: str, *, anchors: bool = False) -> str:
    """`markdown` (a report body, say) keeping its headings, lists, tables, emphasis and web links, but
    with no image, raw HTML or link other than http(s) (and `#anchors` on this page with `anchors`)."""
    env: dict[str, object] = {}
    tokens = _WRITER.parse(markdown, env)
    for token in tokens:
        if token.type == "inline" and token.children:
            token.children = _defused(token.children, anchors)
    try:
        written = _WRITER.renderer.render(tokens, _WRITER.options, env).rstrip("\n")
    except Exception:  # a formatter's internal assertion on odd input: show the text rather than fail
        return plain(markdown)
    return plain(markdown) if dangers(written, anchors=anchors) else written
