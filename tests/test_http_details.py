"""HTTP details on the page's port (issue 8, point 8): repeated headers, HEAD, malformed requests."""

from __future__ import annotations

import asyncio
import re

import pytest

from ws_course import start

WEBSOCKETS_DEMOS = ("echo", "scream", "chat", "json_chat")
SOCKETIO_DEMOS = ("news", "event_chat")


async def exchange(port: int, request: bytes, timeout: float = 5) -> bytes:
    """Send ``request`` as it is, and return all the server answers before it closes (or goes quiet)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    answer = b""
    try:
        async with asyncio.timeout(timeout):
            while chunk := await reader.read(65536):
                answer += chunk
                if b"\r\n\r\n" in answer and _complete(answer):
                    break
    except TimeoutError:
        pass
    writer.close()
    await writer.wait_closed()  # before the test stops the server (which would wait for it)
    return answer


def _complete(answer: bytes) -> bool:
    head, _, body = answer.partition(b"\r\n\r\n")
    length = re.search(rb"content-length: (\d+)", head, re.I)
    return length is not None and len(body) >= int(length[1])


def handshake(port: int, extra: str = "") -> bytes:
    return (
        f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
    ).encode()


@pytest.mark.parametrize("demo", WEBSOCKETS_DEMOS + SOCKETIO_DEMOS)
async def test_two_upgrade_headers_get_400_without_a_traceback(demo):
    """Before: 500, and a traceback from pages.py (``headers.get()`` raises for two values)."""
    with start(demo) as server:
        path = "/" if demo in WEBSOCKETS_DEMOS else "/socket.io/?EIO=4&transport=websocket"
        request = handshake(server.port, "Upgrade: websocket\r\n").replace(b"GET / ", f"GET {path} ".encode())
        answer = await exchange(server.port, request)
        assert answer.startswith(b"HTTP/1.1 400 Bad Request"), answer[:200]
        assert b"more than one Upgrade header" in answer
        await server.wait_for_log("more than one Upgrade header")
    assert not [line for line in server.log if "Traceback" in line or "failed" in line]


@pytest.mark.parametrize("demo", WEBSOCKETS_DEMOS + SOCKETIO_DEMOS)
async def test_head_gets_the_headers_of_get_and_no_body(demo):
    with start(demo) as server:
        get = await exchange(server.port, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        head = await exchange(server.port, b"HEAD / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", timeout=2)
    get_head, _, get_body = get.partition(b"\r\n\r\n")
    head_head, _, head_body = head.partition(b"\r\n\r\n")
    assert head_head.startswith(b"HTTP/1.1 200") and head_body == b""
    length = re.search(rb"content-length: (\d+)", head_head, re.I)
    assert length and int(length[1]) == len(get_body) > 0  # the length GET would have sent


@pytest.mark.parametrize("demo", WEBSOCKETS_DEMOS)
async def test_other_methods_get_405(demo):
    with start(demo) as server:
        answer = await exchange(server.port, b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 405 Method Not Allowed") and b"Allow: GET, HEAD" in answer


@pytest.mark.parametrize("demo", SOCKETIO_DEMOS)
async def test_a_malformed_request_is_one_line_in_the_log(demo):
    """Before: aiohttp logged a whole traceback for each one."""
    with start(demo) as server:
        for _ in range(3):
            answer = await exchange(server.port, b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n")
            assert answer.startswith(b"HTTP/1.0 400 Bad Request")
        line = await server.wait_for_log("aiohttp.server: Error handling request")
    assert "BadHttpMessage" in line and "\n" not in line
    assert not [line for line in server.log if "Traceback" in line]


def test_the_command_line_logs_a_malformed_request_in_one_line():
    import signal
    import subprocess
    import sys

    process = subprocess.Popen(
        [sys.executable, "-m", "ws_course", "serve", "event-chat", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        port = int(re.search(r":(\d+)/", process.stdout.readline())[1])
        for _ in range(20):
            asyncio.run(exchange(port, b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n"))
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=15)
    finally:
        process.kill()
    lines = [line for line in err.splitlines() if "Error handling request" in line]
    assert 2 <= len(lines) <= 4  # the 1st and the 10th of twenty, and the total when it stopped
    assert "Traceback" not in err and "(20 times in" in lines[-1]


# -- is it a WebSocket handshake? One answer everywhere (ws_course.safety.upgrade) ------------------


ASKS = ["websocket", "WebSocket", " websocket ", "websocket,", "h2c, websocket"]
DOES_NOT_ASK = ["", "h2c", "websocket/13", "websockets", "web socket"]


@pytest.mark.parametrize("upgrade", ASKS + DOES_NOT_ASK)
def test_wants_websocket_is_the_same_for_websockets_and_aiohttp_requests(upgrade):
    from aiohttp.test_utils import make_mocked_request
    from multidict import CIMultiDict
    from websockets.datastructures import Headers
    from websockets.http11 import Request

    from ws_course.safety.upgrade import wants_websocket

    headers = [("Upgrade", upgrade)] if upgrade else []
    asks = upgrade in ASKS
    assert wants_websocket(Request("/", Headers(headers))) is asks
    assert wants_websocket(make_mocked_request("GET", "/", headers=CIMultiDict(headers))) is asks
    # A request may repeat the header: any of them counts.
    both = [("Upgrade", "h2c"), *headers]
    assert wants_websocket(Request("/", Headers(both))) is asks
    assert wants_websocket(make_mocked_request("GET", "/", headers=CIMultiDict(both))) is asks


@pytest.mark.parametrize("upgrade", ["WebSocket", "websocket,"])
async def test_what_websockets_upgrades_counts_against_a_full_room(upgrade):
    """Before: ``Upgrade: websocket,`` (which websockets upgrades) was no WebSocket to the guard: 101 in a full room."""

    async def hold(websocket):
        await websocket.wait_closed()

    with start(hold, max_clients=1) as server:
        request = handshake(server.port).replace(b"Upgrade: websocket\r\n", f"Upgrade: {upgrade}\r\n".encode())
        first = await asyncio.open_connection("127.0.0.1", server.port)
        first[1].write(request)
        assert (await asyncio.wait_for(first[0].readline(), 5)).startswith(b"HTTP/1.1 101")
        answer = await exchange(server.port, request)
        assert answer.startswith(b"HTTP/1.1 503"), answer[:200]
        first[1].close()


@pytest.mark.parametrize("demo", WEBSOCKETS_DEMOS)
async def test_what_websockets_upgrades_is_no_request_for_the_page(demo):
    """Before: ``Upgrade: websocket,`` got the page (200) from the demos that serve one."""
    with start(demo) as server:
        request = handshake(server.port).replace(b"Upgrade: websocket\r\n", b"Upgrade: websocket,\r\n")
        answer = await exchange(server.port, request, timeout=2)
    assert answer.startswith(b"HTTP/1.1 101"), answer[:200]
