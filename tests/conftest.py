"""Fixtures shared by the course's tests: real servers, real sockets, a real browser."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import struct
import threading

import pytest
import pytest_asyncio
from playwright.async_api import expect as async_expect
from playwright.sync_api import expect

import ws_course

#: How long, in milliseconds, a browser test waits for what it expects: every
#: ``expect(...)`` (Playwright's default is 5 s, too short on a loaded machine, where a
#: page, a kernel or a proxied server can take longer to answer) and every action
#: (click, fill, goto: Playwright's default is 30 s already). One value for all tests;
#: a call passes ``timeout=`` only to wait longer (JupyterLab's first load, Run All).
BROWSER_TIMEOUT = 30_000
expect.set_options(timeout=BROWSER_TIMEOUT)
async_expect.set_options(timeout=BROWSER_TIMEOUT)


@pytest.fixture(autouse=True)
def no_leaked_servers():
    """Every test leaves no course server running and no server thread behind."""
    yield
    ws_course.stop_all()
    leaked = [t.name for t in threading.enumerate() if t.name.startswith("ws-course-")]
    assert not leaked, f"server threads still running: {leaked}"


def drop(websocket) -> None:
    """Make a client vanish: reset its TCP connection, with no close frame (like a laptop lid shut)."""
    sock = websocket.transport.get_extra_info("socket")
    # SO_LINGER with a zero timeout makes close() send a TCP RST instead of a FIN.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    websocket.transport.abort()


async def say_and_leave(port: int, text: str = "hi") -> bytes:
    """A client that sends ``text`` and its close frame in one write; return all the server answers.

    The server reads both frames at once: by the time its handler has the message, the
    connection is closing, and whatever the handler sends back meets a closed connection.
    """
    from ws_course.frames import CLOSE, TEXT, encode_frame

    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    mask = b"\x01\x02\x03\x04"
    close = encode_frame(CLOSE, (1000).to_bytes(2, "big"), mask=mask)
    writer.write(encode_frame(TEXT, text.encode(), mask=mask) + close)
    answer = await asyncio.wait_for(reader.read(), 5)  # until the server hangs up
    writer.close()
    return answer


async def stopped(server) -> None:
    """Stop a server that ``ws_course.start`` started, from a test's event loop.

    ``stop()`` returns once every connection's handler has ended, so whatever the server
    had to log about its connections (a failure, a traceback) is in its log: a test that
    asserts that nothing went wrong asserts it after this, not after a sleep. It runs in
    another thread so that clients on the test's loop can still answer the closing handshake.
    """
    await asyncio.get_running_loop().run_in_executor(None, server.stop)


def chromium_executable() -> str | None:
    """The Chromium the test command found or installed; None means Playwright's own."""
    return os.environ.get("WS_COURSE_CHROMIUM") or shutil.which("chromium-headless-shell") or shutil.which("chromium")


CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """Headless Chromium through Playwright's sync API (for the pages, served from a background thread)."""
    from playwright.sync_api import sync_playwright

    env = _chromium_env(tmp_path_factory.mktemp("chromium-home"))
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_executable(), args=CHROMIUM_ARGS, headless=True, env=env
        )
        yield browser
        browser.close()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def async_browser(tmp_path_factory):
    """Headless Chromium through Playwright's async API, for tests that also run widgets on their loop.

    One per module, as :func:`browser` (a launch costs a second or two of CPU); it lives on
    the module's event loop, so a module that uses it runs its tests on that loop:
    ``pytestmark = pytest.mark.asyncio(loop_scope="module")``.
    """
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium_executable(), args=CHROMIUM_ARGS, headless=True,
            env=_chromium_env(tmp_path_factory.mktemp("chromium-home")),
        )
        yield browser
        await browser.close()


def _chromium_env(home) -> dict[str, str]:
    # Chromium writes nothing into the real home folder.
    return {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home), "XDG_CACHE_HOME": str(home)}


@pytest.fixture
def page(browser):
    context = browser.new_context()
    context.set_default_timeout(BROWSER_TIMEOUT)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(scope="session")
def hub(tmp_path_factory):
    """A real JupyterHub (tests/hub.py) with the class room as a service, as a teacher sets it up.

    The teacher's configuration had an idle culler already (``hub.IDLE_CULLER``); the
    class room's lines come after it, and keep it (tests/test_hub_setup.py).
    Alice's JupyterLab starts at once, in the background, while other tests run;
    tests that need it call ``hub.wait_for_server("alice")``.
    """
    from hub import ADMIN_PASSWORD, IDLE_CULLER, JupyterHub
    from lab_helpers import free_port

    from ws_course.hub.room import jupyterhub_config

    # "teacher" is the hub's admin: the class room's teacher's view is theirs (tests/test_hub_teacher.py).
    # The idle culler's lines come first, as in a teacher's existing configuration.
    config = IDLE_CULLER + "\n" + jupyterhub_config(port=free_port()) + (
        'c.Authenticator.admin_users = {"teacher"}\n'
        f"c.SharedPasswordAuthenticator.admin_password = {ADMIN_PASSWORD!r}\n"
    )
    hub = JupyterHub(tmp_path_factory.mktemp("hub"), users=("alice", "bob", "teacher"), config=config)
    try:
        hub.start_server("alice")
        yield hub
    finally:
        hub.stop()
