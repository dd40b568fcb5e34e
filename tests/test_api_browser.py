"""The operator page in a real browser: Debian's headless Chromium, driven over the Chrome DevTools
Protocol, against `arhiva api` running as its own process on loopback.

It logs in with a key, searches a phrase typed without diacritics, sees the hit with the match
highlighted (with its diacritics) and the page thumbnail, opens the PDF from the result's link
with the browser's session, and takes a screenshot. The screenshot goes to the test's temporary
folder, and also to $ARHIVA_SCREENSHOT_DIR when set: `ARHIVA_SCREENSHOT_DIR=docs
.venv/bin/python -m pytest tests/test_api_browser.py` regenerates docs/api-operator-page.png.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import ClientConnection, connect

from arhiva.archive.package import package_dir

from .api_support import ApiArchive, api_archive, api_process, until
from .conftest import free_port

CHROMIUM = shutil.which("chromium")
STEP_S = 30  # the longest any one browser step may take


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory, prefect_api: None) -> ApiArchive:
    return api_archive(tmp_path_factory)


@pytest.fixture(scope="module")
def server(shared: ApiArchive, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("api-server") / "access.log"
    with api_process(shared.archive, free_port(), log) as url:
        yield url


class Browser:
    """Just enough of the DevTools protocol: commands, and waiting for one event."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv(timeout=STEP_S))
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]  # type: ignore[no-any-return]
            self.events.append(message)

    def wait_for(self, match: Any) -> dict[str, Any]:
        """The first event, received so far or next, for which `match` is true."""
        end = time.monotonic() + STEP_S
        while True:
            for e in self.events:
                if match(e):
                    return e
            if time.monotonic() > end:
                pytest.fail("Chromium did not send the event waited for")
            self.events.append(json.loads(self.ws.recv(timeout=STEP_S)))

    def wait_event(self, method: str) -> None:
        self.wait_for(lambda e: e.get("method") == method)
        self.events.clear()

    def load(self, action: str) -> None:
        """Run JavaScript that navigates (a URL change or a form submit) and wait for the new page."""
        self.events.clear()
        self.js(action)
        self.wait_event("Page.loadEventFired")

    def js(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    if CHROMIUM is None:
        pytest.fail("chromium is not installed (scripts/setup installs Debian's chromium)")
    profile = tmp_path_factory.mktemp("chromium-profile")
    proc = subprocess.Popen(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",  # tests may run as root, where Chromium's sandbox cannot start
            "--disable-gpu",
            "--no-first-run",
            "--hide-scrollbars",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
            f"--user-data-dir={profile}",
            "--window-size=1200,900",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        port_file = profile / "DevToolsActivePort"
        port = until(
            "Chromium's DevTools port", lambda: port_file.is_file() and port_file.read_text().split()
        )[0]
        targets = httpx.get(f"http://127.0.0.1:{port}/json/list", timeout=STEP_S).json()
        page = next(t for t in targets if t["type"] == "page")
        with connect(page["webSocketDebuggerUrl"], max_size=None, open_timeout=STEP_S) as ws:
            b = Browser(ws)
            b.send("Page.enable")
            yield b
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_operator_finds_a_phrase_without_diacritics_and_opens_the_pdf(
    shared: ApiArchive, server: str, browser: Browser, tmp_path: Path
) -> None:
    browser.load(f"location.href = {json.dumps(server + '/ui')}")
    assert browser.js("document.querySelector('form.login') !== null")  # not logged in yet
    browser.load(
        f"document.querySelector('#key').value = {json.dumps(shared.keys['internal'])};"
        "document.querySelector('form.login').submit()"
    )
    browser.load(
        "document.querySelector('input[name=q]').value = '\"autorizatia de construire\"';"
        "document.querySelector('form.search').submit()"
    )
    assert browser.js("location.search").startswith("?q=")
    hits = browser.js(
        "[...document.querySelectorAll('li.hit')].map(h => h.querySelector('h2').textContent.trim())"
    )
    assert hits == ["Autorizație de construire nr. 12/2024"]
    marks = browser.js("[...document.querySelectorAll('li.hit mark')].map(m => m.textContent)")
    assert marks == ["autorizația de construire"] or marks == ["autorizația", "de", "construire"], marks
    assert "fațadei" in browser.js("document.querySelector('.snippet').textContent")
    width = until(
        "the thumbnail to load",
        lambda: browser.js("(i => i.complete && i.naturalWidth)(document.querySelector('li.hit img'))"),
    )
    assert width == 240

    shot = base64.b64decode(browser.send("Page.captureScreenshot", format="png")["data"])
    assert shot.startswith(b"\x89PNG")
    (tmp_path / "api-operator-page.png").write_bytes(shot)
    if out := os.environ.get("ARHIVA_SCREENSHOT_DIR"):
        Path(out).mkdir(parents=True, exist_ok=True)
        (Path(out) / "api-operator-page.png").write_bytes(shot)

    # Open the result's PDF link, as the operator would: the browser's own session (its cookie).
    doc_id = shared.ids["autorizatie"]
    assert (
        browser.js("document.querySelector('a.pdf').getAttribute('href')")
        == f"/v1/documents/{doc_id}/pdf#page=1"
    )
    browser.send("Network.enable")
    browser.events.clear()
    browser.js("document.querySelector('a.pdf').click()")
    response = browser.wait_for(
        lambda e: e.get("method") == "Network.responseReceived" and "/pdf" in e["params"]["response"]["url"]
    )["params"]
    assert response["response"]["status"] == 200 and response["response"]["mimeType"] == "application/pdf"
    headers = {k.lower(): v for k, v in response["response"]["headers"].items()}
    pdf = package_dir(shared.archive, doc_id) / "document.pdf"
    assert int(headers["content-length"]) == pdf.stat().st_size
    # Without the session, the same link is refused.
    assert httpx.get(f"{server}/v1/documents/{doc_id}/pdf", timeout=STEP_S).status_code == 401
