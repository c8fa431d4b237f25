"""A real browser (Debian's chromium, driven by Playwright) against a real
uvicorn serving the app. Without chromium these tests are skipped, loudly."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn

from orders_gql.app import create_app
from orders_gql.embedded import free_port
from orders_gql.settings import Settings

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
BROWSER_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def live_url(settings: Settings) -> Iterator[str]:
    """The app served by uvicorn in a thread, on a free port."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(15)


@pytest.fixture
def page(live_url: str) -> Iterator[Any]:
    if CHROMIUM is None:
        pytest.skip(
            "BROWSER TEST DID NOT RUN: no chromium on PATH "
            "(Debian/Ubuntu: apt-get install chromium; .ci/run installs it)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_FLAGS)
        context = browser.new_context()
        yield context.new_page()
        context.close()
        browser.close()
