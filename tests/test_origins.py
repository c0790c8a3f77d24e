"""The origin check (issue 8, point 5): on all six demos alike, over real sockets and in Chromium."""

from __future__ import annotations

import asyncio
import http.server
import threading
import urllib.request

import pytest
import socketio
from playwright.sync_api import expect
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from ws_course import start
from ws_course.safety.origins import OriginCheck, normalize, own_origins

EVIL = "http://evil.example"
SOCKETIO_DEMOS = ("news", "event_chat")
WEBSOCKETS_DEMOS = ("echo", "scream", "chat", "json_chat")


# -- the rule, as a function ------------------------------------------------------------


def test_normalize_writes_an_origin_one_way():
    assert normalize("HTTP://Example.COM:80/") == "http://example.com"
    assert normalize("https://example.com:443") == "https://example.com"
    assert normalize("http://127.0.0.1:8001") == "http://127.0.0.1:8001"
    assert normalize("http://[::1]:8001") == "http://[::1]:8001"
    assert normalize("null") == "null"
    with pytest.raises(ValueError):
        normalize("evil.example")


def test_own_origins_come_from_host_and_the_proxy_headers():
    assert own_origins("127.0.0.1:8001") == {"http://127.0.0.1:8001"}
    assert own_origins("localhost:8001", "hub.example", "https") == {
        "https://localhost:8001", "http://localhost:8001", "https://hub.example",
    }
    assert own_origins("a:1", "hub.example, proxy.internal", "https, http") >= {"https://hub.example"}
    assert own_origins(None) == set()


@pytest.mark.parametrize(
    "origin, headers, allowed",
    [
        (None, {"host": "127.0.0.1:8001"}, True),  # not a browser
        ("null", {"host": "127.0.0.1:8001"}, True),  # a page opened from disk
        ("http://127.0.0.1:8001", {"host": "127.0.0.1:8001"}, True),  # its own page
        ("http://127.0.0.1:9999", {"host": "127.0.0.1:8001"}, False),  # another port is another origin
        (EVIL, {"host": "127.0.0.1:8001"}, False),
        ("https://hub.example", {"host": "127.0.0.1:8001", "forwarded_host": "hub.example", "forwarded_proto": "https"}, True),
        ("https://evil.example", {"host": "127.0.0.1:8001", "forwarded_host": "hub.example", "forwarded_proto": "https"}, False),
        ("not an origin", {"host": "127.0.0.1:8001"}, False),
        # JupyterHub's proxy says "ws"/"wss" on a WebSocket handshake: the page was http(s).
        ("http://127.0.0.1:8000", {"host": "127.0.0.1:8000", "forwarded_proto": "ws"}, True),
        ("https://hub.example", {"host": "127.0.0.1:8001", "forwarded_host": "hub.example", "forwarded_proto": "wss"}, True),
        ("https://evil.example", {"host": "127.0.0.1:8001", "forwarded_host": "hub.example", "forwarded_proto": "wss"}, False),
    ],
)
def test_the_rule(origin, headers, allowed):
    assert OriginCheck().allows(origin, **headers) is allowed


def test_allowed_origins_and_the_wildcard():
    check = OriginCheck(["http://Teacher.example:8888/"])
    assert check.allows("http://teacher.example:8888", "127.0.0.1:8001")
    assert not check.allows(EVIL, "127.0.0.1:8001")
    assert OriginCheck(["*"]).allows(EVIL, "127.0.0.1:8001")
    with pytest.raises(ValueError):
        OriginCheck(["teacher.example"])


# -- every demo, over real sockets ----------------------------------------------------------


def handshake_status(server, origin: str | None, **headers: str) -> int:
    """The HTTP status of a WebSocket handshake to ``server`` with this Origin (101: admitted)."""
    extra = {**({"Origin": origin} if origin else {}), **headers}

    async def attempt() -> int:
        try:
            async with connect(server.ws_url, proxy=None, additional_headers=extra, origin=None) as websocket:
                return 101 if websocket.response.status_code == 101 else websocket.response.status_code
        except InvalidStatus as refused:
            return refused.response.status_code

    return asyncio.run(attempt())


@pytest.mark.parametrize("demo", WEBSOCKETS_DEMOS + SOCKETIO_DEMOS)
def test_every_demo_refuses_a_foreign_origin_and_admits_its_own_null_and_none(demo):
    with start(demo) as server:
        own = f"http://127.0.0.1:{server.port}"
        assert handshake_status(server, EVIL) == 403
        assert handshake_status(server, own) == 101
        assert handshake_status(server, "null") == 101
        assert handshake_status(server, None) == 101
        assert handshake_status(server, "http://127.0.0.1:1") == 403  # same host, another port
        # Behind a proxy: the page's origin is the proxy's, which the proxy names.
        assert handshake_status(server, "https://hub.example", **{"X-Forwarded-Host": "hub.example", "X-Forwarded-Proto": "https"}) == 101
        assert handshake_status(server, EVIL, **{"X-Forwarded-Host": "hub.example"}) == 403
        refusals = [line for line in server.log if "refused" in line and "403" in line]
        assert len(refusals) == 2 and EVIL in refusals[0]


@pytest.mark.parametrize("demo", ["chat", "event_chat"])
def test_allow_origins_admits_more(demo):
    with start(demo, allow_origins=[EVIL]) as server:
        assert handshake_status(server, EVIL) == 101
        assert handshake_status(server, "http://other.example") == 403


def http_status(url: str, origin: str | None = None, method: str = "GET", body: bytes | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, method=method, data=body, headers={"Origin": origin} if origin else {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as error:
        error.close()
        return error.code, dict(error.headers)


@pytest.mark.parametrize("demo", SOCKETIO_DEMOS)
def test_socketio_long_polling_gets_the_same_rule_and_consistent_cors_headers(demo):
    with start(demo) as server:
        polling = server.page_url + "socket.io/?EIO=4&transport=polling"
        status, _ = http_status(polling, EVIL)
        assert status == 403
        status, headers = http_status(polling, "null")  # the article's pages opened from disk
        assert status == 200 and headers["Access-Control-Allow-Origin"] == "null"
        own = f"http://127.0.0.1:{server.port}"
        status, headers = http_status(polling, own)
        assert status == 200 and headers["Access-Control-Allow-Origin"] == own
        status, headers = http_status(polling)  # no Origin: no CORS headers needed
        assert status == 200 and "Access-Control-Allow-Origin" not in headers


@pytest.mark.parametrize("demo", ("echo", "chat", "event_chat"))
async def test_a_page_behind_jupyterhubs_proxy_joins(demo):
    """JupyterHub's proxy sends X-Forwarded-Proto: ws with a page's WebSocket (its page was http).

    Engine.IO's own same-origin rule refused exactly this (so Socket.IO pages on a
    hub stayed on long-polling): the course's rule admits it, and still refuses others.
    """
    with start(demo) as server:
        own = f"http://127.0.0.1:{server.port}"
        hub_headers = {"X-Forwarded-Proto": "ws", "X-Forwarded-For": "127.0.0.1", "X-Forwarded-Port": "8000"}
        async with connect(server.ws_url, proxy=None, additional_headers={"Origin": own, **hub_headers}) as websocket:
            await websocket.ping()
        with pytest.raises(InvalidStatus) as refused:
            async with connect(server.ws_url, proxy=None, additional_headers={"Origin": EVIL, **hub_headers}):
                pass
        assert refused.value.response.status_code == 403


def test_a_socketio_client_from_a_page_opened_from_disk_joins():
    """What socket.io-client sends from a file:// page: ``Origin: null``, on both transports."""

    async def join(url: str, transport: str) -> list:
        client = socketio.AsyncClient(handle_sigint=False, reconnection=False)
        heard = asyncio.Queue()
        client.on("enter", heard.put_nowait)
        await client.connect(url, transports=[transport], headers={"Origin": "null"}, wait_timeout=5)
        arrival = await asyncio.wait_for(heard.get(), 5)
        await client.disconnect()
        return arrival

    with start("event_chat") as server:
        assert asyncio.run(join(server.page_url, "polling")) == "user1 comes in"
        assert asyncio.run(join(server.page_url, "websocket")) == "user2 comes in"


def test_the_command_line_takes_allow_origin():
    import re
    import signal
    import subprocess
    import sys

    process = subprocess.Popen(
        [sys.executable, "-m", "ws_course", "serve", "chat", "--port", "0", "--allow-origin", EVIL,
         "--allow-origin", "http://second.example"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        port = re.search(r":(\d+)/", process.stdout.readline())[1]

        class Running:
            ws_url = f"ws://127.0.0.1:{port}/"

        assert handshake_status(Running, EVIL) == 101
        assert handshake_status(Running, "http://second.example") == 101
        assert handshake_status(Running, "http://third.example") == 403
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=15)
    finally:
        process.kill()
    assert "also admitting pages from http://evil.example, http://second.example" in err
    assert "refused GET /: origin http://third.example not allowed (403 Forbidden)" in err


# -- in Chromium: a page from another site tries to join the class chat -----------------------


def log_has(server, text: str, timeout: float = 5) -> bool:
    """Wait for a line with ``text`` in the server's log (Playwright's sync API owns this thread's loop)."""
    import time

    deadline = time.monotonic() + timeout
    while not [line for line in server.log if text in line]:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True

INTRUDER = """<!doctype html><title>another site</title><p id="state">starting</p>
<script>
  const ws = new WebSocket(new URLSearchParams(location.search).get("room"));
  ws.onopen = () => { document.getElementById("state").textContent = "joined"; ws.send("hello from another site"); };
  ws.onclose = (event) => { if (document.getElementById("state").textContent !== "joined")
                              document.getElementById("state").textContent = "refused " + event.code; };
</script>"""


@pytest.fixture
def another_site():
    """A page served from another origin (another port of 127.0.0.1), like any site a student may visit."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = INTRUDER.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    site = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=site.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{site.server_address[1]}"
    site.shutdown()
    site.server_close()


def test_in_chromium_a_page_from_another_origin_cannot_join_unless_allowed(page, another_site):
    with start("chat") as room:
        page.goto(f"{another_site}/?room={room.ws_url}")
        expect(page.locator("#state")).to_have_text("refused 1006")
        assert log_has(room, f"origin {another_site} not allowed (403 Forbidden)")
    assert not [line for line in room.log if "comes in" in line]  # stopped: it has logged all it will
    with start("chat", allow_origins=[another_site]) as room:
        page.goto(f"{another_site}/?room={room.ws_url}")
        expect(page.locator("#state")).to_have_text("joined")
        assert log_has(room, "user1 comes in")


def test_in_chromium_the_demo_page_itself_still_joins(page):
    with start("chat") as room:
        page.goto(room.page_url)
        expect(page.locator("#state")).to_have_text("open")
        assert log_has(room, "user1 comes in")


def test_in_chromium_lesson_06s_other_site_is_refused_then_admitted(page):
    """ws_course.web.another_site, as lesson 06 uses it: its page is refused by a room, and joins one that allows it."""
    from ws_course.web import another_site

    site = another_site.start()
    try:
        with start("chat") as room:
            page.goto(site.page_url(room.ws_url))
            expect(page.locator("#origin")).to_have_text(site.origin)
            expect(page.locator("#state")).to_have_text("refused (code 1006)")
            assert log_has(room, f"origin {site.origin} not allowed (403 Forbidden)")
        assert not [line for line in room.log if "comes in" in line]  # stopped: it has logged all it will
        with start("chat", allow_origins=[site.origin]) as room:
            page.goto(site.page_url(room.ws_url))
            expect(page.locator("#state")).to_have_text("joined")
            expect(page.locator("#heard")).to_contain_text(f"heard: hello from another site, {site.origin}")
            assert log_has(room, "user1 comes in")
        expect(page.locator("#state")).to_have_text("left (code 1001)")  # the room stopped: going away
    finally:
        site.stop()
    assert not site.running


def test_starting_another_site_again_replaces_the_first():
    from ws_course.web import another_site

    first = another_site.start()
    second = another_site.start()
    try:
        assert not first.running and second.running
        with urllib.request.urlopen(second.origin + "/?room=ws://127.0.0.1:1/", timeout=5) as response:
            assert b"<title>Another site</title>" in response.read()
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(second.origin + "/favicon.ico", timeout=5)
        assert missing.value.code == 404
        missing.value.close()
    finally:
        second.stop()
    assert not second.running
