"""The served UI refuses sessions from other sites: a rebound DNS name, or a page on another local port.

A page on any web site can make the visitor's browser open a WebSocket to `localhost:8501`. Without a check
of the `Host` header, a site whose DNS name is rebound to 127.0.0.1 gets a full session (submit runs that cost
money, crash the worker); and Streamlit accepts every `localhost` origin, whatever its port. These tests
open sessions as such pages would, against a real `deep-research ui`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.exceptions import InvalidStatus

from ._ui_server import app_session, free_port, served_ui

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory, index_dir: Path) -> Iterator[str]:
    root = tmp_path_factory.mktemp("ui-server")
    env = {
        "RESEARCH_ENV_FILE": "/dev/null",
        "RESEARCH_DATA_DIR": str(root / "data"),
        "RESEARCH_INDEX_DIR": str(index_dir),
        "RESEARCH_OFFLINE": "true",
    }
    with served_ui(env, root, "--no-worker") as url:
        yield url


def _form(shown: list[str]) -> bool:
    return "text_area: Question" in shown and any(line.endswith("Start research") for line in shown)


def test_a_session_through_a_foreign_host_name_is_refused(ui: str):
    port = ui.rsplit(":", 1)[1]
    with pytest.raises(InvalidStatus) as refused:
        app_session(ui, host=f"rebound.example:{port}", origin=f"http://rebound.example:{port}")
    assert refused.value.response.status_code == 403
    with pytest.raises(InvalidStatus):
        app_session(ui, host=f"rebound.example:{port}")  # a program, sending no Origin
    assert _form(app_session(ui, origin=ui))  # the UI's own page
    assert _form(app_session(ui, host=f"127.0.0.1:{port}", origin=f"http://127.0.0.1:{port}"))


def test_a_page_on_another_local_port_gets_a_refusal_and_no_controls(ui: str):
    shown = app_session(ui, origin=f"http://localhost:{free_port()}")
    assert not _form(shown), shown
    assert not [line for line in shown if line.startswith("button:")], shown
    assert any("refused" in line and "another site" in line for line in shown), shown
