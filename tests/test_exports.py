"""PDF, Word and Markdown exports, checked by opening the files produced: pypdf extracts the PDF's text and
links, python-docx reads the Word document back. The report is a real offline web run's (pages read from
the local web, so its sources have links and quoted passages); Unicode and hostile content use reports
written here.
"""

from __future__ import annotations

import io
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import docx
import pytest
from fontTools.fontBuilder import FontBuilder  # type: ignore[import-untyped]
from fontTools.pens.ttGlyphPen import TTGlyphPen  # type: ignore[import-untyped]
from pypdf import PdfReader
from typer.testing import CliRunner

from research_agent.client import ResearchClient
from research_agent.exports import MEDIA_TYPES, ExportError, file_name, render_export
from research_agent.exports import fonts as export_fonts
from research_agent.localweb import LocalWeb
from research_agent.options import InputError, resolve_options
from research_agent.runtime import worker
from research_agent.schema import (
    CitationCheck,
    NumberedSource,
    Phase,
    ResearchReport,
    ResearchStatus,
)
from research_agent.settings import get_settings

from ._process import awaiting, cli, make_settings, wait_until

QUESTION = "When was the Skerrow Point lighthouse first lit?"
WAITING = "Compare the economies of Chile and Peru"


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, index_dir: Path) -> Iterator[dict[str, Any]]:
    """A finished offline web run (sources with links and passages) and a run still awaiting its plan's
    approval, in one SQLite database; `env` is what a `deep-research` subprocess needs to read them."""
    root = tmp_path_factory.mktemp("exports")
    url = f"sqlite:///{root / 'exports.sqlite'}"
    with LocalWeb() as web:
        settings = make_settings(
            database_url=url,
            index_dir=index_dir,
            data_dir=root / "data",
            search_backend="searxng",
            searxng_url=web.url,
            allow_private_urls=True,
            queue_poll_interval=0.05,
        )
        with worker(settings), ResearchClient(settings) as client:
            options, _ = resolve_options(settings, offline=True)
            done = client.wait(client.submit(QUESTION, options, run_id="web-1"), timeout=120)
            review = options.model_copy(update={"review_plan": True, "search_backend": "corpus"})
            client.submit(WAITING, review, run_id="waiting-1")
            waiting = wait_until(client, "waiting-1", awaiting, timeout=60)
    assert done.phase is Phase.COMPLETED and done.report is not None, done.error
    assert all(source.url and source.passages for source in done.report.sources)
    env = {
        "RESEARCH_DATABASE_URL": url,
        "RESEARCH_DATA_DIR": str(root / "data"),
        "RESEARCH_INDEX_DIR": str(index_dir),
    }
    yield {"done": done, "waiting": waiting, "env": env}


def flat(text: str) -> str:
    """Text with its whitespace (line breaks included) made single spaces, as a reader sees it."""
    return " ".join(text.split())


def pdf_text(data: bytes) -> tuple[str, PdfReader]:
    reader = PdfReader(io.BytesIO(data))
    return flat(" ".join(page.extract_text() for page in reader.pages)), reader


def pdf_links(reader: PdfReader) -> tuple[list[str], int]:
    """The web links (URI actions) of every page, and how many links go somewhere inside the document."""
    uris: list[str] = []
    internal = 0
    for page in reader.pages:
        for annotation in page.get("/Annots") or []:
            link = annotation.get_object()
            action = link.get("/A")
            if action is not None and action.get_object().get("/S") == "/URI":
                uris.append(str(action.get_object()["/URI"]))
            elif "/Dest" in link:
                internal += 1
    return uris, internal


def docx_text(data: bytes) -> tuple[str, list[str], Any]:
    """The document's text (paragraphs, then table cells), its web links' addresses, and the document."""
    document = docx.Document(io.BytesIO(data))
    parts = [p.text for p in document.paragraphs]
    parts += [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    links = [link.address for p in document.paragraphs for link in p.hyperlinks if link.address]
    return flat("\n".join(parts)), links, document


def report_sentences(body: str) -> list[str]:
    """The report's sentences as a reader sees them: Markdown marks gone, table rows left out."""
    sentences = []
    for line in body.splitlines():
        line = re.sub(r"^\s*(?:#+|[-*]|\d+\.)\s+", "", line).replace("**", "").replace("`", "")
        if line.startswith("|") or len(line.split()) < 4:
            continue
        sentences += [s for s in re.split(r"(?<=[.!?])\s+", flat(line)) if len(s.split()) >= 3]
    return sentences


def status_with(
    body: str, sources: list[NumberedSource] | None = None, run_id: str = "made-1"
) -> ResearchStatus:
    return ResearchStatus(
        run_id=run_id,
        question="What does the report say?",
        phase=Phase.COMPLETED,
        report=ResearchReport(title="What does the report say?", body=body, sources=sources or []),
        citations=CitationCheck(cited=1, verified=1),
        created_at=datetime(2025, 3, 1, 9, 0, tzinfo=UTC),
        updated_at=datetime(2025, 3, 1, 9, 2, tzinfo=UTC),
    )


# --- a real run ------------------------------------------------------------------------------------------


def test_the_pdf_holds_the_report_its_sources_links_passages_and_the_runs_facts(runs: dict[str, Any]):
    status: ResearchStatus = runs["done"]
    assert status.report is not None and status.citations is not None
    data = render_export(status, "pdf")
    assert data.startswith(b"%PDF-")
    text, reader = pdf_text(data)
    assert reader.metadata is not None and reader.metadata.title == QUESTION
    assert text.startswith(QUESTION)
    sentences = report_sentences(status.report.body)
    assert sentences and [s for s in sentences if s not in text] == []
    assert "1841" in text  # the fact the run read in a page
    for source in status.report.sources:
        assert f"[{source.number}] {flat(source.title)}" in text
        assert source.url is not None and source.url in text
        assert flat(source.passages[0])[:80] in text
    uris, internal = pdf_links(reader)
    assert sorted(set(uris)) == sorted({s.url for s in status.report.sources if s.url})
    assert internal >= len(status.report.cited_numbers())  # each [n] jumps to its source
    about = text.split("About this run", 1)[1]
    assert "Run web-1" in about and "analyst offline" in about and "searxng" in about
    assert status.updated_at is not None and f"{status.updated_at:%Y-%m-%d %H:%M} UTC" in about
    assert "citations: all" in about and "checked against the pages as read" in about


def test_the_word_document_holds_the_same(runs: dict[str, Any]):
    status: ResearchStatus = runs["done"]
    assert status.report is not None
    text, links, document = docx_text(render_export(status, "docx"))
    assert document.core_properties.title == QUESTION
    assert document.paragraphs[0].style.name == "Title" and document.paragraphs[0].text == QUESTION
    assert [s for s in report_sentences(status.report.body) if s not in text] == []
    for source in status.report.sources:
        assert f"[{source.number}] {flat(source.title)}" in text
        assert flat(source.passages[0])[:80] in text
    assert {s.url for s in status.report.sources} <= set(links)
    assert all(link.startswith("http://127.0.0.1:") for link in links)
    assert "About this run" in text and "analyst offline" in text and "citations: all" in text
    bookmarks = {
        b.get(docx.oxml.ns.qn("w:name")) for b in document.element.iter(docx.oxml.ns.qn("w:bookmarkStart"))
    }
    assert {f"source_{s.number}" for s in status.report.sources} <= bookmarks


def test_the_markdown_is_the_report_as_shown_with_the_runs_facts(runs: dict[str, Any]):
    status: ResearchStatus = runs["done"]
    assert status.report is not None
    text = render_export(status, "md").decode("utf-8")
    assert text.startswith(status.report.to_markdown())
    assert "## About this run" in text and "- **Run**: web-1" in text


def test_media_types_and_file_names():
    assert MEDIA_TYPES["pdf"] == "application/pdf" and MEDIA_TYPES["docx"].endswith(
        "wordprocessingml.document"
    )
    assert file_name(status_with("x", run_id="a:b.c"), "pdf") == "research-a-b.c.pdf"
    assert file_name(status_with("x", run_id="run-7"), "docx") == "research-run-7.docx"


def test_a_run_without_a_report_is_refused_with_the_reason(runs: dict[str, Any]):
    with pytest.raises(ExportError, match="has no report yet \\(phase AWAITING_APPROVAL\\)"):
        render_export(runs["waiting"], "pdf")
    failed = ResearchStatus(run_id="f-1", question="q", phase=Phase.FAILED, error="the planner failed")
    with pytest.raises(InputError, match="ended FAILED without a report: the planner failed"):
        render_export(failed, "docx")
    with pytest.raises(ExportError, match="unknown export format 'odt'"):
        render_export(runs["done"], "odt")  # type: ignore[arg-type]


# --- text a report may hold ------------------------------------------------------------------------------

UNICODE = "Łódź and Kraków, naïve café, Ωμέγα Ελλάδα, Привет мир, “quoted” ‘single’ — dash – en, €5 ≤ 3 ≠ 4 → ½, ﬁne."


def test_unicode_survives_in_the_pdfs_text():
    source = NumberedSource(
        number=1, title="Źródło — Ελλάδα", url="https://example.org/ü", passages=[UNICODE]
    )
    text, reader = pdf_text(
        render_export(status_with(f"{UNICODE} [1]\n\n## Überblick\n\n- ☐ {UNICODE}", [source]), "pdf")
    )
    assert text.count(flat(UNICODE).replace("ﬁ", "fi")) + text.count(flat(UNICODE)) >= 2
    assert "Überblick" in text and "[1] Źródło — Ελλάδα" in text
    assert pdf_links(reader)[0] == ["https://example.org/%C3%BC"]


def test_characters_no_font_has_are_shown_as_replacements_not_dropped(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(export_fonts, "SYSTEM_FALLBACK_FONTS", ())
    text, _ = pdf_text(render_export(status_with("Tokyo 東京 is large.\n\n東京\n\nZero\ufe0fwidth."), "pdf"))
    assert "Tokyo \ufffd\ufffd is large." in text
    assert "\ufffd\ufffd Zerowidth." in text  # a line of only missing characters is still there
    assert "2 kinds of character no available font can draw" in text


def _font_with(path: Path, characters: str) -> Path:
    """A tiny TrueType font with a square glyph for each of `characters`: a stand-in system font."""
    names = [".notdef", *(f"uni{ord(c):04X}" for c in characters)]
    builder = FontBuilder(1000, isTTF=True)
    builder.setupGlyphOrder(names)
    builder.setupCharacterMap({ord(c): f"uni{ord(c):04X}" for c in characters})
    pen = TTGlyphPen(None)
    for x, y in ((100, 0), (900, 0), (900, 800), (100, 800)):
        (pen.moveTo if x == 100 and y == 0 else pen.lineTo)((x, y))
    pen.closePath()
    square = pen.glyph()
    builder.setupGlyf({name: square for name in names})
    builder.setupHorizontalMetrics({name: (1000, 100) for name in names})
    builder.setupHorizontalHeader(ascent=800, descent=-200)
    builder.setupNameTable({"familyName": "Stand In", "styleName": "Regular"})
    builder.setupOS2(sTypoAscender=800, usWinAscent=800, usWinDescent=200)
    builder.setupPost()
    builder.save(str(path))
    return path


def test_a_system_font_draws_what_the_shipped_one_lacks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    cjk = _font_with(tmp_path / "cjk.ttf", "東京")
    monkeypatch.setattr(export_fonts, "SYSTEM_FALLBACK_FONTS", (tmp_path / "missing.ttf", cjk))
    text, _ = pdf_text(render_export(status_with("Tokyo 東京 is large."), "pdf"))
    assert "Tokyo 東京 is large." in text and "\ufffd" not in text and "no available font" not in text


HOSTILE = "\n\n".join(
    [
        'Raw <script>alert("x")</script> and <img src=x onerror=alert(1)> stay text [1].',
        "<div onclick='steal()'>a block of HTML</div>",
        "[js](javascript:alert(1)) [data](data:text/html,hi) [file](file:///etc/passwd) [rel](/admin) "
        "<javascript:alert(2)> [ok](https://ok.example/page) ![pixel](https://tracker.example/p.png)",
        "Escapes \x1b[31mred\x1b[0m, a lone \ud800 surrogate and \uffff noncharacter.",
        "x" * 120_000,
        "| "
        + " | ".join(f"c{i}" for i in range(30))
        + " |\n|"
        + " --- |" * 30
        + "\n| "
        + " | ".join("v" * 30),
        "| a | b |\n| --- | --- |\n| " + "y" * 5000 + " | z |",
    ]
)


def test_hostile_report_content_is_rendered_as_text():
    sources = [
        NumberedSource(
            number=1, title="<b>Title</b> [x](javascript:1)", url="javascript:alert(1)", snippet="s"
        ),
        NumberedSource(number=2, title="Credentials", url="https://user:pw@evil.example/", passages=["p"]),
    ]
    status = status_with(HOSTILE, sources)
    started = time.monotonic()
    pdf = render_export(status, "pdf")
    word = render_export(status, "docx")
    assert time.monotonic() - started < 30
    text, reader = pdf_text(pdf)
    assert 'Raw <script>alert("x")</script> and <img src=x onerror=alert(1)> stay text [1].' in text
    assert "<div onclick='steal()'>a block of HTML</div>" in text
    assert "[js](javascript:alert(1))" in text and "[pixel]" in text and "<b>Title</b>" in text
    assert "Escapes red, a lone surrogate and noncharacter." in text.replace("[31m", "").replace("[0m", "")
    assert text.count("x") >= 120_000  # the endless word is wrapped, not cut or dropped
    assert text.count("y") >= 5000  # the table too tall for a page is drawn as lines of text
    uris, _ = pdf_links(reader)
    assert uris == ["https://ok.example/page"]
    wtext, links, _ = docx_text(word)
    assert links == ["https://ok.example/page"]
    assert 'Raw <script>alert("x")</script>' in wtext and wtext.count("x") >= 120_000 and "y" * 5000 in wtext


def test_nesting_deeper_than_the_markdown_parser_reads_is_shown_whole():
    body = "Before [1].\n\n" + "> " * 40 + "deep quote\n\n" + "> - " * 30 + "deep item\n\nAfter."
    status = status_with(body, [NumberedSource(number=1, title="One", url="https://one.example/")])
    text, reader = pdf_text(render_export(status, "pdf"))
    assert "Before [1]." in text and "deep quote" in text and "deep item" in text and "After." in text
    assert pdf_links(reader)[1] == 1  # the citation still links to its source
    wtext, _, _ = docx_text(render_export(status, "docx"))
    assert "deep quote" in wtext and "deep item" in wtext and "After." in wtext


def test_a_runaway_report_is_cut_with_a_note_saying_so():
    body = "\n\n".join(f"Paragraph {i} says something long enough to count." for i in range(5000))
    text, _, _ = docx_text(render_export(status_with(body), "docx"))
    assert "Paragraph 0 says" in text and "Paragraph 3000 says" in text and "Paragraph 4999" not in text
    assert f"The report is cut here: it has {len(body):,} characters" in text


# --- the command ----------------------------------------------------------------------------------------


@pytest.mark.slow  # the console script in subprocesses
def test_export_command_writes_a_pdf_and_keeps_an_existing_file(runs: dict[str, Any], tmp_path: Path):
    target = tmp_path / "lighthouse.pdf"
    done = cli(["export", "web-1", "--format", "pdf", "-o", str(target)], runs["env"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"wrote {target}" in done.stderr and done.stdout == ""
    text, _ = pdf_text(target.read_bytes())
    assert text.startswith(QUESTION) and "1841" in text
    target.write_bytes(b"keep me")
    again = cli(["export", "web-1", "-o", str(target)], runs["env"], tmp_path)
    assert again.returncode == 2 and "already exists; pass --force to overwrite it" in again.stderr
    assert target.read_bytes() == b"keep me" and list(tmp_path.glob(".*part")) == []


@pytest.fixture
def export(runs: dict[str, Any], monkeypatch: pytest.MonkeyPatch):
    """`deep-research export ...` in process (the console script's code path, without its start-up)."""
    from research_agent.cli import app

    for name, value in runs["env"].items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()

    def invoke(*args: str) -> Any:
        return CliRunner().invoke(app, ["export", *args])

    return invoke


def test_export_reads_the_format_from_the_file_name_and_names_files_itself(
    runs: dict[str, Any], export: Any, tmp_path: Path
):
    word = export("web-1", "-o", str(tmp_path / "report.docx"))
    assert word.exit_code == 0, word.stderr
    assert "1841" in docx_text((tmp_path / "report.docx").read_bytes())[0]
    folder = tmp_path / "out"
    folder.mkdir()
    into = export("web-1", "--format", "md", "-o", str(folder), "--force")
    assert into.exit_code == 0, into.stderr
    markdown = runs["done"].report.to_markdown()
    assert (folder / "research-web-1.md").read_text().startswith(markdown)
    printed = export("web-1", "-f", "md", "-o", "-")
    assert printed.exit_code == 0 and printed.stdout.startswith(markdown)
    default = export("web-1", "--format", "docx")  # the test runs in its own tmp_path
    assert default.exit_code == 0 and Path("research-web-1.docx").is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["no-such-run"], "no run with id 'no-such-run'"),
        (["waiting-1", "-f", "pdf"], "run waiting-1 has no report yet (phase AWAITING_APPROVAL)"),
        (["web-1", "-o", "/nonexistent/folder/r.pdf"], "cannot write /nonexistent/folder/r.pdf: the folder"),
        (["web-1", "-o", "r.pdf", "--format", "docx"], "r.pdf ends in .pdf but --format is docx"),
        (["web-1", "--format", "odt"], "invalid value for '--format'"),
    ],
)
def test_export_errors_are_one_line_naming_the_fix(export: Any, args: list[str], message: str):
    result = export(*args)
    assert result.exit_code == 2, (result.stdout, result.exception)
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
