"""What one member may cost a server (issue 8, points 1-3): the buffer cap and the member cap, over real sockets."""

from __future__ import annotations

import asyncio
import json
import re
import resource
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.asyncio.server import broadcast
from websockets.exceptions import InvalidStatus

from ws_course import start
from ws_course.frames import PING, TEXT, ZERO_MASK, encode_frame
from ws_course.safety.limits import MAX_BUFFER, SPARE_FILES

#: A frozen client's receive buffer: small, so that what it does not read piles up in the server.
SMALL_RCVBUF = 8 * 1024
CUT = "which does not read"


async def frozen_member(port: int, path: str = "/"):
    """A member that completes the handshake, then never reads again (TCP window nearly shut)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SMALL_RCVBUF)
    sock.connect(("127.0.0.1", port))
    sock.setblocking(False)
    reader, writer = await asyncio.open_connection(sock=sock)
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 101")
    writer.transport.pause_reading()
    return writer


async def join(url: str):
    websocket = await connect(url, proxy=None, max_queue=None)
    await websocket.recv()  # its own arrival
    return websocket


def text_of(message: str) -> str:
    return json.loads(message)["data"] if message.startswith("{") else message


async def until(websocket, text: str, timeout: float = 20) -> list[str]:
    """Read until a message whose text is ``text``; return what came before."""
    before = []
    async with asyncio.timeout(timeout):
        while (message := text_of(await websocket.recv())) != text:
            before.append(message)
    return before


@pytest.mark.parametrize("demo", ["chat", "json_chat"])
async def test_a_member_that_does_not_read_is_cut_the_room_hears_it_leave_and_goes_on(demo):
    with start(demo) as server:
        stayer = await join(server.ws_url)
        talker = await join(server.ws_url)
        frozen = await frozen_member(server.port)
        await until(stayer, "user3 comes in")

        async def flood() -> None:
            for sent in range(400):  # at most 24 MB; the cap (1 MiB) comes far sooner
                await talker.send(f"{sent} " + "x" * 60_000)
                await asyncio.sleep(0)

        flooding = asyncio.create_task(flood())
        await until(stayer, "user3 left", timeout=30)  # what the room says when anyone leaves
        flooding.cancel()
        cut = [line for line in server.log if CUT in line]
        assert len(cut) == 1 and f"over max_buffer ({MAX_BUFFER})" in cut[0]
        await stayer.send("still chatting")
        await until(stayer, "user1 says: still chatting" if demo == "json_chat" else "still chatting")
        await until(talker, "user1 says: still chatting" if demo == "json_chat" else "still chatting")
        frozen.transport.abort()
        for websocket in (stayer, talker):
            await websocket.close()


@pytest.mark.parametrize("demo", ["echo", "chat"])
async def test_a_client_that_sends_pings_and_never_reads_the_pongs_is_cut(demo):
    """Point 2: the server's automatic pongs pile up like any other message (+530 MB in 20 s)."""
    with start(demo, max_buffer=256 * 1024) as server:
        other = await connect(server.ws_url, proxy=None, max_queue=None)
        frozen = await frozen_member(server.port)
        ping = encode_frame(PING, b"p" * 125, mask=ZERO_MASK) * 1000  # 1000 pings of 125 bytes
        for _ in range(500):  # at most 500 000 pings
            if [line for line in server.log if CUT in line]:
                break
            try:
                frozen.write(ping)
                await frozen.drain()
            except ConnectionError:  # the server cut it
                break
        assert [line for line in server.log if CUT in line and "over max_buffer (262144)" in line]
        await other.send("unharmed")
        await until(other, "unharmed")  # (in the chat, after the others' comings and goings)
        frozen.transport.abort()
        await other.close()


async def test_your_own_handler_gets_the_cap_too():
    """``await websocket.send()`` waits when the buffer is full; ``broadcast()`` never does."""

    async def firehose(websocket):
        async for message in websocket:
            for _ in range(100):  # 10 MB at most
                broadcast([websocket], message * 100_000)
                await asyncio.sleep(0)

    with start(firehose, max_buffer=100_000) as server:
        frozen = await frozen_member(server.port)
        frozen.write(encode_frame(TEXT, b"x", mask=ZERO_MASK))
        await server.wait_for_log(CUT, timeout=10)
        frozen.transport.abort()


async def test_the_room_takes_max_clients_members_and_refuses_the_next_with_503():
    with start("chat", max_clients=3) as server:
        members = [await join(server.ws_url) for _ in range(3)]
        with pytest.raises(InvalidStatus) as refused:
            await connect(server.ws_url, proxy=None)
        assert refused.value.response.status_code == 503
        assert b"the room is full (3 members)" in refused.value.response.body
        await server.wait_for_log("refused GET /: the room is full (3 members) (503 Service Unavailable)")
        # The page is still served: the cap counts members, not visitors.
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert (await reader.readline()).startswith(b"HTTP/1.1 200")
        writer.close()
        await members[0].close()  # one leaves: one may come in
        await until(members[1], "user1 left")  # the server has seen it go
        newcomer = await join(server.ws_url)
        for websocket in members[1:] + [newcomer]:
            await websocket.close()


async def test_your_own_handler_gets_the_member_cap_too():
    async def hold(websocket):
        await websocket.wait_closed()

    with start(hold, max_clients=1) as server:
        first = await connect(server.ws_url, proxy=None)
        with pytest.raises(InvalidStatus) as refused:
            await connect(server.ws_url, proxy=None)
        assert refused.value.response.status_code == 503
        await first.close()


# -- the command line and the open-files limit ------------------------------------------------


def cli(*args: str, open_files: tuple[int, int] | None = None) -> subprocess.Popen:
    limit = None if open_files is None else (lambda: resource.setrlimit(resource.RLIMIT_NOFILE, open_files))
    return subprocess.Popen(
        [sys.executable, "-m", "ws_course", "serve", *args, "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=limit,
    )


def stop(process: subprocess.Popen) -> str:
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=15)
    return err


def test_the_cli_raises_its_soft_open_files_limit_to_the_hard_one():
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    hard = min(hard, 4096)
    process = cli("chat", open_files=(256, hard))
    try:
        process.stdout.readline()
        limits = Path(f"/proc/{process.pid}/limits").read_text()
        soft_now, hard_now = re.search(r"Max open files\s+(\d+)\s+(\d+)", limits).groups()
        err = stop(process)
    finally:
        process.kill()
    assert int(soft_now) == int(hard_now) == hard
    assert f"open files limit {hard}: at most " in err


def test_by_default_the_cli_takes_as_many_members_as_its_open_files_allow():
    process = cli("echo", open_files=(128, 128))  # a hard limit it cannot raise
    try:
        port = re.search(r":(\d+)/", process.stdout.readline())[1]
        members = int(re.search(r"at most (\d+) members", process.stderr.readline())[1])
        assert 0 < members <= 128 - SPARE_FILES

        async def fill() -> int:
            inside = [await connect(f"ws://127.0.0.1:{port}/", proxy=None) for _ in range(members)]
            with pytest.raises(InvalidStatus) as refused:
                await connect(f"ws://127.0.0.1:{port}/", proxy=None)
            for websocket in inside:
                await websocket.close()
            return refused.value.response.status_code

        assert asyncio.run(fill()) == 503
        err = stop(process)
    finally:
        process.kill()
    assert "Traceback" not in err and "out of system resource" not in err


def test_max_clients_and_max_buffer_on_the_command_line():
    process = cli("echo", "--max-clients", "2", "--max-buffer", "100000")
    try:
        port = re.search(r":(\d+)/", process.stdout.readline())[1]
        assert "at most 2 members, 100000 bytes unsent each" in process.stderr.readline()

        async def third() -> int:
            async with connect(f"ws://127.0.0.1:{port}/", proxy=None), connect(f"ws://127.0.0.1:{port}/", proxy=None):
                with pytest.raises(InvalidStatus) as refused:
                    await connect(f"ws://127.0.0.1:{port}/", proxy=None)
            return refused.value.response.status_code

        assert asyncio.run(third()) == 503
        stop(process)
    finally:
        process.kill()


def test_nonsense_limits_are_refused_plainly():
    process = cli("echo", "--max-clients", "0")
    _, err = process.communicate(timeout=15)
    assert process.returncode == 2 and "max_clients and max_buffer must be at least 1" in err
    assert "Traceback" not in err
