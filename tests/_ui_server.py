"""`deep-research ui` served for a test, and a Streamlit session opened on it the way a browser opens one.

A browser talks to the Streamlit server over one WebSocket (`/_stcore/stream`): it sends a `BackMsg` asking
the app to run and reads back `ForwardMsg`s, one per element drawn. `app_session` does the same with any
`Host` and `Origin` header, so a test sees what a page on another site, or one reached through a rebound
DNS name, would get.
"""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from websockets.sync.client import connect

from ._process import poll, spawn, stop


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def served_ui(env: dict[str, str], tmp_path: Path, *flags: str) -> Iterator[str]:
    """`deep-research ui FLAGS` on a free port until the block ends; yields its address (http://localhost:PORT)."""
    port = free_port()
    log_path = tmp_path / "ui.log"
    log = log_path.open("w")
    process = spawn(["ui", "--port", str(port), *flags], env, tmp_path, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://localhost:{port}"

    def healthy() -> bool:
        assert process.poll() is None, log_path.read_text()
        try:
            return httpx.get(f"{url}/_stcore/health", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    try:
        try:
            poll(healthy, timeout=90, what="the UI to come up", interval=0.1)
        except AssertionError as error:
            raise AssertionError(f"{error}:\n{log_path.read_text()}") from None
        yield url
    finally:
        stop(process, timeout=30)
        log.close()
    assert process.returncode == 0, log_path.read_text()


def _shown(message: ForwardMsg) -> str | None:
    """'kind: text' for an element the app drew (its body or label), else None."""
    if message.WhichOneof("type") != "delta" or message.delta.WhichOneof("type") != "new_element":
        return None
    element = message.delta.new_element
    kind = element.WhichOneof("type")
    if kind is None:
        return None
    body = getattr(element, kind)
    text = next((getattr(body, f) for f in ("body", "label") if f in body.DESCRIPTOR.fields_by_name), "")
    return f"{kind}: {text}"


def app_session(
    url: str, *, host: str | None = None, origin: str | None = None, timeout: float = 60
) -> list[str]:
    """What the app draws on its first run for a session opened with this `Host` (default: the URL's) and
    `Origin` header (default: none, as a program sends), one 'kind: text' line per element.

    Raises `websockets.exceptions.InvalidStatus` when the server refuses the connection itself.
    """
    address = urlsplit(url)
    assert address.port is not None
    host = host or address.netloc
    headers = {"Origin": origin} if origin else {}
    shown: list[str] = []
    with connect(
        f"ws://{host}/_stcore/stream",
        sock=socket.create_connection(("127.0.0.1", address.port)),
        additional_headers=headers,
        subprotocols=["streamlit"],  # type: ignore[list-item]
        open_timeout=timeout,
    ) as stream:
        request = BackMsg()
        request.rerun_script.query_string = ""
        stream.send(request.SerializeToString())
        while True:
            message = ForwardMsg()
            message.ParseFromString(stream.recv(timeout=timeout))
            if message.WhichOneof("type") == "script_finished":
                return shown
            if (line := _shown(message)) is not None:
                shown.append(line)
