"""The origin and host checks: on all six demos alike, over real sockets and in Chromium.

Issue 8, point 5 brought the origin check. The hardening issue's second round found
two ways past it, both tested here: ``Origin: null``, which any site gets by running
its script in ``<iframe sandbox="allow-scripts" srcdoc=...>``, and DNS rebinding,
where a page at ``http://rebind.example:PORT`` (a name whose DNS the attacker
points at 127.0.0.1) sends ``Origin`` and ``Host`` that match each other.
"""

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
from ws_course.safety.origins import HostCheck, OriginCheck, normalize, own_origins

EVIL = "http://evil.example"
REBIND = "rebind.example"  # a name the attacker's DNS points at 127.0.0.1
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
        ("null", {"host": "127.0.0.1:8001"}, False),  # any site's sandboxed frame, or a page opened from disk
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


def test_null_is_admitted_only_when_allowed_or_with_the_servers_page_key():
    assert not OriginCheck().allows("null", "127.0.0.1:8001")
    assert OriginCheck(["null"]).allows("null", "127.0.0.1:8001")  # the learner opted in
    keyed = OriginCheck(page_key="s3cret")
    assert keyed.allows("null", "127.0.0.1:8001", key="s3cret")  # the sandboxed page this server served
    assert not keyed.allows("null", "127.0.0.1:8001", key="guess")
    assert not keyed.allows("null", "127.0.0.1:8001", key="s3crét")  # not ASCII: refused, not a TypeError
    assert not keyed.allows("null", "127.0.0.1:8001")
    assert not keyed.allows(EVIL, "127.0.0.1:8001", key="s3cret")  # the key is for null only
    assert "--allow-origin null" in OriginCheck().refusal(_Headers(Origin="null"))


class _Headers(dict):
    """Headers as websockets gives them (``get_all``)."""

    def __init__(self, **headers: str) -> None:
        super().__init__({name.replace("_", "-"): value for name, value in headers.items()})

    def get_all(self, name: str) -> list[str]:
        return [value for key, value in self.items() if key.lower() == name.lower()]


@pytest.mark.parametrize(
    "host, allowed",
    [
        ("127.0.0.1:8001", True),
        ("localhost:8001", True),
        ("LOCALHOST", True),
        ("localhost.:8001", True),
        ("[::1]:8001", True),
        ("127.0.0.2:8001", True),  # all of 127/8 is this machine
        ("room.localhost:8001", True),  # browsers resolve *.localhost themselves, to this machine
        ("192.168.1.10:8001", True),  # an address: what a class uses; DNS cannot rebind an address
        ("[fe80::1]:8001", True),
        (f"{REBIND}:8001", False),  # a name: whoever runs its DNS decides where it points
        ("localhost.rebind.example:8001", False),
        ("evil.example", False),
        ("", False),
        ("a b:8001", False),
    ],
)
def test_the_host_rule(host, allowed):
    assert HostCheck().allows(host, own_port=8001) is allowed


def test_allowed_hosts_and_the_proxy_in_front():
    assert HostCheck(["Teacher.School.example"]).allows("teacher.school.example:8001", own_port=8001)
    assert not HostCheck(["teacher.school.example"]).allows(f"{REBIND}:8001", own_port=8001)
    assert HostCheck(["*"]).allows(f"{REBIND}:8001", own_port=8001)
    # Behind a proxy (a JupyterHub, a remote Jupyter server), the browser names the proxy,
    # on the proxy's port: any name the proxy answers to. A browser that talks to this
    # server directly names this server's port: that is what rebinding needs, refused still.
    behind = HostCheck(behind_proxy=True)
    assert behind.allows("hub.example", own_port=43117)
    assert behind.allows("hub.example:8000", own_port=43117)
    assert not behind.allows(f"{REBIND}:43117", own_port=43117)
    assert not HostCheck().allows("hub.example:8000", own_port=43117)
    with pytest.raises(ValueError):
        HostCheck(["http://teacher.example"])


def test_allowed_origins_and_the_wildcard():
    check = OriginCheck(["http://Teacher.example:8888/"])
    assert check.allows("http://teacher.example:8888", "127.0.0.1:8001")
    assert not check.allows(EVIL, "127.0.0.1:8001")
    assert OriginCheck(["*"]).allows(EVIL, "127.0.0.1:8001")
    with pytest.raises(ValueError):
        OriginCheck(["teacher.example"])


# -- every demo, over real sockets ----------------------------------------------------------


def handshake_status(server, origin: str | None, *, host: str | None = None, **headers: str) -> int:
    """The HTTP status of a WebSocket handshake to ``server`` with this Origin (101: admitted).

    ``host``: the name the client used, as if its DNS had said that name is 127.0.0.1
    (what DNS rebinding does): the request says ``Host: host``, and goes to the server.
    """
    extra = {**({"Origin": origin} if origin else {}), **headers}
    url, where = server.ws_url, {}
    if host is not None:
        url = url.replace(f"127.0.0.1:{server.port}", host)
        where = {"host": "127.0.0.1", "port": server.port}

    async def attempt() -> int:
        try:
            async with connect(url, proxy=None, additional_headers=extra, origin=None, **where) as websocket:
                return 101 if websocket.response.status_code == 101 else websocket.response.status_code
        except InvalidStatus as refused:
            return refused.response.status_code

    return asyncio.run(attempt())


def refusals(server) -> list[str]:
    return [line for line in server.log if "refused" in line and "403" in line]


@pytest.mark.parametrize("demo", WEBSOCKETS_DEMOS + SOCKETIO_DEMOS)
def test_every_demo_refuses_a_foreign_origin_and_admits_its_own_and_none(demo):
    with start(demo) as server:
        own = f"http://127.0.0.1:{server.port}"
        assert handshake_status(server, EVIL) == 403
        assert handshake_status(server, own) == 101
        assert handshake_status(server, None) == 101
        assert handshake_status(server, "http://127.0.0.1:1") == 403  # same host, another port
        # Behind a proxy: the page's origin is the proxy's, which the proxy names.
        assert handshake_status(server, "https://hub.example", **{"X-Forwarded-Host": "hub.example", "X-Forwarded-Proto": "https"}) == 101
        assert handshake_status(server, EVIL, **{"X-Forwarded-Host": "hub.example"}) == 403
        assert len(refusals(server)) == 2 and EVIL in refusals(server)[0]  # the second EVIL: "(2 times...)" later


@pytest.mark.parametrize("demo", WEBSOCKETS_DEMOS + SOCKETIO_DEMOS)
def test_every_demo_refuses_null_unless_told_to_admit_it(demo):
    """``Origin: null`` is any site's sandboxed frame: refused, and the log says how to opt in."""
    with start(demo) as server:
        assert handshake_status(server, "null") == 403
        assert [line for line in refusals(server) if "origin null not allowed" in line and "--allow-origin null" in line]
    with start(demo, allow_origins=["null"]) as server:
        assert handshake_status(server, "null") == 101
        assert handshake_status(server, EVIL) == 403


@pytest.mark.parametrize("demo", WEBSOCKETS_DEMOS + SOCKETIO_DEMOS)
def test_every_demo_refuses_dns_rebinding(demo):
    """A page at http://rebind.example:PORT, its DNS turned to 127.0.0.1: Origin and Host agree, and are refused."""
    with start(demo) as server:
        rebound = f"{REBIND}:{server.port}"
        assert handshake_status(server, f"http://{rebound}", host=rebound) == 403
        assert [line for line in refusals(server) if f"host {rebound} not allowed" in line]
        # The proxy's headers do not make it the proxy: a page can set them on its own requests.
        assert handshake_status(server, f"http://{rebound}", host=rebound, **{"X-Forwarded-Host": rebound}) == 403
        # This machine's names and any address are not for DNS to decide: admitted.
        for host in (f"localhost:{server.port}", f"[::1]:{server.port}", f"room.localhost:{server.port}",
                     f"127.0.0.1:{server.port}", f"192.0.2.7:{server.port}"):
            assert handshake_status(server, f"http://{host}", host=host) == 101, host
        # A client that is not a browser (no Origin) may call the server what it likes.
        assert handshake_status(server, None, host=rebound) == 101
    with start(demo, allow_hosts=[REBIND]) as server:  # the teacher's own name for the server
        rebound = f"{REBIND}:{server.port}"
        assert handshake_status(server, f"http://{rebound}", host=rebound) == 101


async def http_exchange(port: int, request: str) -> tuple[int, str]:
    """Send a raw HTTP request to 127.0.0.1:port; the status and the head of the answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request.encode())
    head = (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)).decode()
    writer.close()
    await writer.wait_closed()
    return int(head.split()[1]), head


@pytest.mark.parametrize("demo", WEBSOCKETS_DEMOS + SOCKETIO_DEMOS)
async def test_a_rebound_page_cannot_read_the_page_or_poll(demo):
    """A page's own requests need no Origin (a same-origin GET has none): the Host check is what stops them."""
    with start(demo) as server:
        rebound = f"{REBIND}:{server.port}"
        paths = ["/"] + (["/socket.io/?EIO=4&transport=polling"] if demo in SOCKETIO_DEMOS else ["/article.html"])
        for path in paths:
            status, _ = await http_exchange(server.port, f"GET {path} HTTP/1.1\r\nHost: {rebound}\r\nConnection: close\r\n\r\n")
            assert status == 403, path
            status, _ = await http_exchange(
                server.port, f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nConnection: close\r\n\r\n"
            )
            assert status == (404 if path == "/article.html" and demo not in ("chat", "json_chat") else 200), path


@pytest.mark.parametrize("demo", ["echo", "chat", "event_chat"])
def test_behind_a_proxy_the_proxys_names_are_admitted_and_rebinding_still_refused(demo):
    """The origin check and the proxy together: what JupyterHub's proxy sends, by name, on its own port.

    ``ws_course.start`` sets ``behind_proxy`` itself in a kernel whose Jupyter server
    browsers reach from elsewhere (a hub, a remote JupyterLab: see the next test).
    """
    hub = "hub.example:8000"
    proxy_headers = {"X-Forwarded-Proto": "ws", "X-Forwarded-For": "10.0.0.7", "X-Forwarded-Port": "8000"}
    with start(demo, behind_proxy=True) as server:
        assert handshake_status(server, f"http://{hub}", host=hub, **proxy_headers) == 101
        assert handshake_status(server, EVIL, host=hub, **proxy_headers) == 403  # not every origin
        assert handshake_status(server, "null", host=hub, **proxy_headers) == 403
        rebound = f"{REBIND}:{server.port}"  # straight to this server, by a name: rebinding
        assert handshake_status(server, f"http://{rebound}", host=rebound, **proxy_headers) == 403
    with start(demo) as server:  # no proxy in front: a name that is not this machine's is refused
        assert handshake_status(server, f"http://{hub}", host=hub, **proxy_headers) == 403


def test_start_knows_when_a_hubs_proxy_is_in_front(monkeypatch):
    for variable in ("JPY_PARENT_PID", "JUPYTERHUB_API_TOKEN"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.delenv("JUPYTERHUB_SERVICE_PREFIX", raising=False)
    with start("chat") as server:
        assert not server.guard.behind_proxy
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/alice/")
    with start("chat") as server:
        assert server.guard.behind_proxy
        assert handshake_status(server, "https://hub.example", host="hub.example", **{"X-Forwarded-Proto": "wss"}) == 101


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
        status, _ = http_status(polling, "null")  # any site's sandboxed frame
        assert status == 403
        own = f"http://127.0.0.1:{server.port}"
        status, headers = http_status(polling, own)
        assert status == 200 and headers["Access-Control-Allow-Origin"] == own
        status, headers = http_status(polling)  # no Origin: no CORS headers needed
        assert status == 200 and "Access-Control-Allow-Origin" not in headers
    with start(demo, allow_origins=["null"]) as server:  # pages opened from disk, and every sandboxed frame
        status, headers = http_status(server.page_url + "socket.io/?EIO=4&transport=polling", "null")
        assert status == 200 and headers["Access-Control-Allow-Origin"] == "null"


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


def test_a_socketio_client_from_a_page_opened_from_disk_joins_when_null_is_allowed():
    """What socket.io-client sends from a file:// page: ``Origin: null``, on both transports."""

    async def join(url: str, transport: str) -> list:
        client = socketio.AsyncClient(handle_sigint=False, reconnection=False)
        heard = asyncio.Queue()
        client.on("enter", heard.put_nowait)
        await client.connect(url, transports=[transport], headers={"Origin": "null"}, wait_timeout=5)
        arrival = await asyncio.wait_for(heard.get(), 5)
        await client.disconnect()
        return arrival

    with start("event_chat", allow_origins=["null"]) as server:
        assert asyncio.run(join(server.page_url, "polling")) == "user1 comes in"
        assert asyncio.run(join(server.page_url, "websocket")) == "user2 comes in"


def test_the_command_line_takes_allow_origin_and_allow_host():
    import re
    import signal
    import subprocess
    import sys

    process = subprocess.Popen(
        [sys.executable, "-m", "ws_course", "serve", "chat", "--port", "0", "--allow-origin", EVIL,
         "--allow-origin", "http://second.example", "--allow-origin", "null", "--allow-host", "teacher.example"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        port = re.search(r":(\d+)/", process.stdout.readline())[1]

        class Running:
            ws_url = f"ws://127.0.0.1:{port}/"

        assert handshake_status(Running, EVIL) == 101
        assert handshake_status(Running, "http://second.example") == 101
        assert handshake_status(Running, "http://third.example") == 403
        assert handshake_status(Running, "null") == 101
        Running.port = int(port)
        assert handshake_status(Running, f"http://teacher.example:{port}", host=f"teacher.example:{port}") == 101
        assert handshake_status(Running, f"http://{REBIND}:{port}", host=f"{REBIND}:{port}") == 403
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=15)
    finally:
        process.kill()
    assert "also admitting pages from http://evil.example, http://second.example, null" in err
    assert "also answering to the names teacher.example" in err
    assert "refused GET /: origin http://third.example not allowed (403 Forbidden)" in err
    assert f"refused GET /: host {REBIND}:{port} not allowed" in err


def test_the_command_line_on_a_hub_knows_the_hubs_proxy_is_in_front(monkeypatch):
    """``ws-course serve`` started in a hub's notebook or terminal (lesson 09's processes): the hub's names pass."""
    import re
    import signal
    import subprocess
    import sys

    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/alice/")
    process = subprocess.Popen(
        [sys.executable, "-m", "ws_course", "serve", "chat", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        port = int(re.search(r":(\d+)/", process.stdout.readline())[1])

        class Running:
            ws_url = f"ws://127.0.0.1:{port}/"

        Running.port = port
        assert handshake_status(Running, "https://hub.example", host="hub.example", **{"X-Forwarded-Proto": "wss"}) == 101
        assert handshake_status(Running, f"http://{REBIND}:{port}", host=f"{REBIND}:{port}") == 403
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=15)
    finally:
        process.kill()
    assert "behind a Jupyter server's proxy" in err


def test_the_command_line_refuses_null_and_says_how_to_admit_it():
    import re
    import signal
    import subprocess
    import sys

    process = subprocess.Popen(
        [sys.executable, "-m", "ws_course", "serve", "event-chat", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        port = re.search(r":(\d+)/", process.stdout.readline())[1]

        class Running:
            ws_url = f"ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket"

        assert handshake_status(Running, "null") == 403
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=15)
    finally:
        process.kill()
    assert "origin null not allowed" in err and "--allow-origin null" in err


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


def serve_page(html: str) -> http.server.ThreadingHTTPServer:
    """A web server of its own on a free port of 127.0.0.1, answering every GET with ``html``."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = html.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    site = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    return site


@pytest.fixture
def another_site():
    """A page served from another origin (another port of 127.0.0.1), like any site a student may visit."""
    site = serve_page(INTRUDER)
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


def test_in_chromium_lesson_06a_other_site_is_refused_then_admitted(page):
    """ws_course.web.another_site, as lesson 06a uses it: its page is refused by a room, and joins one that allows it."""
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


@pytest.mark.parametrize("demo", ["chat", "event_chat"])
def test_in_chromium_another_sites_sandboxed_frame_cannot_join_unless_null_is_allowed(page, demo):
    """The hardening issue: a foreign page's own socket got 403, but its sandboxed frame (``Origin: null``) joined.

    The page is ``static/another-site-sandboxed.html``, as lesson 06a shows it: its script
    runs in ``<iframe sandbox="allow-scripts" srcdoc=...>``, joins the room, posts and reads.
    """
    from ws_course.web import another_site

    site = another_site.start()
    try:
        with start(demo) as room:
            page.goto(site.page_url(room.ws_url, sandboxed=True))
            expect(page.locator("#origin")).to_have_text(site.origin)
            expect(page.locator("#frame-origin")).to_have_text("null")
            expect(page.locator("#state")).to_have_text("refused (code 1006)")
            assert log_has(room, "origin null not allowed")
            expect(page.locator("#heard")).to_be_empty()
            assert not [line for line in room.log if "comes in" in line or " left" in line]
        # What the opt-in opens: every site's sandboxed frames, not only the pages on disk.
        with start(demo, allow_origins=["null"]) as room:
            page.goto(site.page_url(room.ws_url, sandboxed=True))
            expect(page.locator("#state")).to_have_text("joined")
            expect(page.locator("#heard")).to_contain_text("hello from a sandboxed frame of another site")
    finally:
        site.stop()


REBINDER = """<!doctype html><title>rebinder</title><p id="state">starting</p><div id="heard"></div>
<script>
  // The attacker's page, served from http://rebind.example:PORT by the attacker's own server.
  // Then the attacker's DNS says rebind.example is 127.0.0.1, where the room listens on PORT:
  // the page's requests to its own origin now reach the room. It tries until it gets in.
  var path = new URLSearchParams(location.search).get("path");
  var room = "ws://" + location.host + path, socketio = path.indexOf("/socket.io/") >= 0;
  var state = document.getElementById("state"), tries = 0, joined = false;
  function attempt() {
    var websocket = new WebSocket(room);
    function join() { joined = true; state.textContent = "joined";
                      websocket.send(socketio ? '42["message","rebound"]' : "rebound"); }
    websocket.onopen = function () { if (!socketio) join(); };
    websocket.onmessage = function (e) {
      if (socketio && e.data[0] === "0") return websocket.send("40");
      if (socketio && e.data.slice(0, 2) === "40") return join();
      var line = document.createElement("div"); line.textContent = e.data;
      document.getElementById("heard").appendChild(line);
    };
    websocket.onclose = function () { if (!joined) { state.textContent = "tries: " + (++tries); setTimeout(attempt, 100); } };
  }
  attempt();
</script>"""


@pytest.mark.browser  # its own Chromium, in a thread: no fixture to mark it
@pytest.mark.parametrize("demo", ["chat", "event_chat"])
def test_in_chromium_a_page_rebound_to_this_machine_cannot_join(demo, tmp_path):
    """DNS rebinding, for real: Chromium resolves rebind.example to 127.0.0.1 (as the attacker's DNS would).

    The attacker's server serves its page on a port; it stops, and the room starts on
    that very port, as if the name had been turned to this machine: the page, loaded
    already, now talks to the room with ``Origin`` and ``Host`` both ``rebind.example:PORT``.
    (A browser of its own, for the resolver rule, in a thread of its own: Playwright's
    sync API allows one instance per thread, and this module's ``page`` has this one.)
    """
    import os

    from playwright.sync_api import sync_playwright

    from conftest import CHROMIUM_ARGS, chromium_executable

    attacker = serve_page(REBINDER)
    port = attacker.server_address[1]
    env = {**os.environ, "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path)}
    path = "/socket.io/?EIO=4&transport=websocket" if demo == "event_chat" else "/"
    outcome: dict[str, object] = {}

    def in_chromium() -> None:
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=chromium_executable(), headless=True, env=env,
                    args=[*CHROMIUM_ARGS, f"--host-resolver-rules=MAP {REBIND} 127.0.0.1"],
                )
                try:
                    page = browser.new_page()
                    page.goto(f"http://{REBIND}:{port}/?path={path.replace('&', '%26')}")
                    expect(page.locator("#state")).to_contain_text("tries")  # the attacker's server is no room
                    attacker.shutdown()
                    attacker.server_close()
                    with start(demo, port=port) as room:  # the name now points here
                        outcome["refused"] = log_has(room, f"host {REBIND}:{port} not allowed", timeout=10)
                        page.wait_for_timeout(500)
                        outcome["state"] = page.locator("#state").text_content()
                        outcome["heard"] = page.locator("#heard").text_content()
                        outcome["log"] = list(room.log)
                finally:
                    browser.close()
        except BaseException as error:  # noqa: BLE001 - handed to the test's thread
            outcome["error"] = error

    thread = threading.Thread(target=in_chromium)
    thread.start()
    thread.join(120)
    if "error" in outcome:
        raise outcome["error"]
    assert outcome["state"] != "joined" and outcome["heard"] == "", outcome
    assert outcome["refused"], outcome["log"]


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
