#!/usr/bin/env python3
"""Replay a hostile student's attacks (issue 8, and the hardening issue) against ``ws-course serve``, and measure them.

    python3 benchmarks/attacks.py                 every case, at the issue's sizes
    python3 benchmarks/attacks.py --quick         every case, small (what the tests run)
    python3 benchmarks/attacks.py broadcast pongs some cases (see CASES)

Each case starts a server with ``python -m ws_course serve DEMO --port 0`` (its
stderr goes to a file), attacks it over loopback with bounded loops, and prints:

- peak RSS: the server's peak resident memory (``VmHWM`` in /proc/PID/status);
- stderr: how many bytes the server logged;
- bystanders: whether two ordinary members kept chatting through the attack
  (a message from one reached the other, during and after);
- a note with what the case counts (members cut, HTTP statuses, log lines...).

Clients that read slowly or not at all shrink their socket's receive buffer
(``SO_RCVBUF``), as a phone on a bad network would: otherwise the kernel's own
buffers on loopback (tens of MB a connection) would hide the server's.

Every client runs in this one process, on one core: a flood faster than this
process can read makes the bystanders themselves fall behind, and the server
rightly cuts them too. So the WebSocket flooder stays at most 64 messages ahead
of its own reading, and the Socket.IO flooder (whose Python client reads far
more slowly) pauses 5 ms between messages.

Run it after ``python3 course.py install``, on Linux (it reads /proc). Figures
depend on the machine and its load: they are reported, never asserted, except
the bounds that the tests in ``tests/test_attacks.py`` check with the same code.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import dataclasses
import json
import os
import re
import resource
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE))  # the frames come from this checkout's ws_course, even with --code
from ws_course.frames import BINARY, PING, TEXT, ZERO_MASK, encode_frame, read_frame  # noqa: E402

VENV_PYTHON = HERE / ".venv" / "bin" / "python"
PYTHON = str(VENV_PYTHON) if VENV_PYTHON.exists() else sys.executable

#: A slow or frozen client's receive buffer, in bytes.
SMALL_RCVBUF = 8 * 1024

#: What the server logs when it cuts a member that does not read (ws_course.safety.limits).
CUT = "which does not read"

#: The checkout whose ``ws_course`` the servers run (``--code``: compare with another version).
CODE = HERE


# -- the server under attack ------------------------------------------------------------


class Server:
    """``python -m ws_course serve DEMO --port 0 ...`` in a subprocess, with its stderr in a file.

    ``open_files``: start it with this soft and hard limit on open files (the
    limit it cannot raise), to run it out of file descriptors quickly.
    """

    def __init__(self, demo: str, *options: str, open_files: int | None = None) -> None:
        self.demo = demo
        self.stderr = tempfile.TemporaryFile()
        limit = None if open_files is None else (lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (open_files, open_files)))
        env = {**os.environ, "PYTHONPATH": str(CODE)} if CODE != HERE else None
        self.process = subprocess.Popen(
            [PYTHON, "-m", "ws_course", "serve", demo, "--port", "0", *options],
            stdout=subprocess.PIPE, stderr=self.stderr, text=True, cwd=CODE, preexec_fn=limit, env=env,
        )
        line = self.process.stdout.readline()
        found = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        if not found:
            self.stop()
            raise RuntimeError(f"the server did not start: {line!r} {self.stderr_text()[-2000:]}")
        self.port = int(found[1])
        self.http_url = f"http://127.0.0.1:{self.port}/"
        self.ws_url = f"ws://127.0.0.1:{self.port}/"
        self.process.stdout.readline()  # "(its socket: ...). Press Ctrl-C to stop."
        self.last_peak_mb = 0.0

    def status(self, field: str) -> int:
        """A field of /proc/PID/status, in kB (VmRSS, VmHWM...)."""
        text = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(re.search(rf"^{field}:\s+(\d+) kB", text, re.M)[1])

    def rss_mb(self) -> float:
        return self.status("VmRSS") / 1024

    def peak_rss_mb(self) -> float:
        if self.process.poll() is not None:
            return self.last_peak_mb
        self.last_peak_mb = self.status("VmHWM") / 1024
        return self.last_peak_mb

    def stderr_bytes(self) -> int:
        self.stderr.flush()
        return os.fstat(self.stderr.fileno()).st_size

    def stderr_text(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read().decode(errors="replace")

    def stop(self, signum: int = signal.SIGINT, timeout: float = 20) -> int:
        if self.process.poll() is None:
            self.peak_rss_mb()  # the last chance to read it
            self.process.send_signal(signum)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process.stdout.close()
        return self.process.returncode

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
        self.stderr.close()


# -- raw WebSocket clients: exactly the bytes an attacker chooses ----------------------------


def small_socket(port: int, rcvbuf: int | None = SMALL_RCVBUF) -> socket.socket:
    """A TCP connection to 127.0.0.1:port, with a small receive buffer set before connecting."""
    sock = socket.socket()
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.connect(("127.0.0.1", port))
    sock.setblocking(False)
    return sock


def handshake_request(port: int, path: str = "/", headers: dict[str, str] | None = None) -> bytes:
    lines = [
        f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Upgrade: websocket", "Connection: Upgrade",
        f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}", "Sec-WebSocket-Version: 13",
        *(f"{name}: {value}" for name, value in (headers or {}).items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def raw_websocket(port: int, path: str = "/", rcvbuf: int | None = SMALL_RCVBUF, headers=None):
    """Open a WebSocket by hand; return (status, reader, writer). Status 101 means it is open."""
    reader, writer = await asyncio.open_connection(sock=small_socket(port, rcvbuf), limit=2**16)
    writer.write(handshake_request(port, path, headers))
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    return int(head.split()[1]), reader, writer


def frame(opcode: int, payload: bytes) -> bytes:
    """A client's frame: FIN, ``opcode``, masked with the all-zero key (which leaves the payload as it is)."""
    return encode_frame(opcode, payload, mask=ZERO_MASK)


async def read_slowly(reader: asyncio.StreamReader, chunk: int = 1024, every: float = 0.1) -> None:
    """Read like a member on a very bad network: ``chunk`` bytes every ``every`` seconds, until the end."""
    while await reader.read(chunk):
        await asyncio.sleep(every)


async def read_frame_text(reader: asyncio.StreamReader) -> str:
    """Read one unfragmented server frame and return its payload as text."""
    _, _, payload = await read_frame(reader)
    return payload.decode(errors="replace")


async def socketio_raw_member(port: int, rcvbuf: int | None = SMALL_RCVBUF):
    """A Socket.IO member over a raw WebSocket: Engine.IO open, then Socket.IO connect (``40``)."""
    status, reader, writer = await raw_websocket(port, "/socket.io/?EIO=4&transport=websocket", rcvbuf)
    assert status == 101, status
    opening = await read_frame_text(reader)
    assert opening.startswith("0{"), opening
    writer.write(frame(TEXT, b"40"))
    return reader, writer


def close_quietly(connection) -> None:
    """Abort a stream writer's or a websockets connection's TCP connection, whatever its state."""
    try:
        connection.transport.abort()
    except Exception:
        pass


# -- bystanders: two ordinary members who want to keep chatting ------------------------------


class Bystanders:
    """Two well-behaved members of a room; :meth:`chat` checks that one still hears the other.

    On the news server, which has no room, :meth:`chat` checks that a newcomer
    still gets its news.
    """

    def __init__(self, server: Server) -> None:
        self.server = server
        self.news = server.demo == "news"
        self.socketio = server.demo.replace("-", "_") in ("news", "event_chat")
        self.heard: set[str] = set()
        self.count = 0
        self.ok = 0
        self.tries = 0
        self._tasks: list[asyncio.Task] = []

    async def __aenter__(self) -> Bystanders:
        if self.news:
            self.clients = []
        elif self.socketio:
            import socketio

            self.clients = [socketio.AsyncClient(handle_sigint=False, reconnection=False) for _ in range(2)]
            self.clients[1].on("mes", lambda data: self.heard.add(data.rpartition(" says: ")[2]))
            for client in self.clients:
                await client.connect(self.server.http_url, transports=["websocket"], wait_timeout=10)
        else:
            from websockets.asyncio.client import connect

            self.clients = [await connect(self.server.ws_url, proxy=None, max_queue=None, max_size=None) for _ in range(2)]
            self._tasks.append(asyncio.create_task(self._listen(self.clients[1])))
        return self

    async def _listen(self, websocket) -> None:
        try:
            async for message in websocket:
                if "bystander-" in message:
                    self.heard.add(message[message.index("bystander-"):].rstrip('"}'))
        except Exception:
            pass

    async def chat(self, timeout: float = 10) -> bool:
        """One member says something new; True if the other hears it within ``timeout`` s."""
        self.count += 1
        text = f"bystander-{self.count}"
        heard = False
        try:
            if self.news:
                heard = await self._get_news(timeout)
            else:
                if self.socketio:
                    await self.clients[0].emit("message", text)
                else:
                    await self.clients[0].send(text)
                deadline = time.monotonic() + timeout
                while text not in self.heard and time.monotonic() < deadline:
                    await asyncio.sleep(0.02)
                heard = text in self.heard
        except Exception:
            pass
        # (a try cancelled half-way counts for nothing)
        self.tries += 1
        self.ok += heard
        return heard

    async def _get_news(self, timeout: float) -> bool:
        import socketio

        client = socketio.AsyncClient(handle_sigint=False, reconnection=False)
        news = asyncio.Queue()
        client.on("news", news.put_nowait)
        try:
            await client.connect(self.server.http_url, transports=["websocket"], wait_timeout=timeout)
            return await asyncio.wait_for(news.get(), timeout) == {"hello": "world"}
        finally:
            await client.disconnect()

    async def keep_chatting(self, every: float = 0.5) -> None:
        """Chat every ``every`` seconds until cancelled."""
        while True:
            await self.chat()
            await asyncio.sleep(every)

    async def __aexit__(self, *exc_info: object) -> None:
        for task in self._tasks:
            task.cancel()
        for client in self.clients:
            try:
                if self.socketio:
                    await client.disconnect()
                else:
                    await client.close()
            except Exception:
                pass


@dataclasses.dataclass
class Result:
    case: str
    demo: str
    peak_rss_mb: float
    stderr_bytes: int
    bystanders: bool
    note: str

    def row(self) -> str:
        return (
            f"{self.case:22} {self.demo:11} {self.peak_rss_mb:8.0f} {self.stderr_bytes:12d} "
            f"{'yes' if self.bystanders else 'NO':>10}  {self.note}"
        )


HEADER = f"{'case':22} {'demo':11} {'peak MB':>8} {'stderr bytes':>12} {'bystanders':>10}  note"


async def during_attack(server: Server, attack, chat_every: float = 0.5) -> tuple[bool, object]:
    """Run ``attack()`` while two bystanders chat; return (they kept chatting, what attack returned)."""
    async with Bystanders(server) as bystanders:
        assert await bystanders.chat(), "the bystanders could not chat even before the attack"
        chatter = asyncio.create_task(bystanders.keep_chatting(chat_every))
        try:
            outcome = await attack()
        finally:
            chatter.cancel()
        after = await bystanders.chat()
        # Kept chatting: nearly every exchange during the attack worked, and the last one after it.
        kept = after and bystanders.ok >= 0.8 * bystanders.tries
    return kept, outcome


# -- the cases ----------------------------------------------------------------------------------


async def broadcast_flood(demo: str = "chat", slow: int = 198, seconds: float = 17, size: int = 64 * 1024,
                          max_messages: int = 100_000, options: tuple[str, ...] = ()) -> Result:
    """Issue 8, point 1: ``slow`` members read slowly while one sends ``size``-byte messages flat out.

    "Flat out" as fast as the flooder itself takes the room's messages back (it is
    a member too): at most 64 of its own messages ahead of what it has read, so
    that this process does not pile up gigabytes of its own.
    """
    from websockets.asyncio.client import connect

    with Server(demo, *options) as server:
        async def attack():
            readers = []
            for _ in range(slow):
                status, reader, writer = await raw_websocket(server.port)
                assert status == 101
                readers.append((reader, writer, asyncio.create_task(read_slowly(reader))))
            flooder = await connect(server.ws_url, proxy=None, max_queue=None, max_size=None)
            read = [0]
            drain = asyncio.create_task(_drain(flooder, read))
            message = "x" * (size - 100)
            sent = 0
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline and sent < max_messages:
                await flooder.send(message)
                sent += 1
                while sent - read[0] > 64 and time.monotonic() < deadline:
                    await asyncio.sleep(0.001)
            await asyncio.sleep(0.5)
            cut = server.stderr_text().count(CUT)
            for _, writer, task in readers:
                task.cancel()
                close_quietly(writer)
            drain.cancel()
            await flooder.close()
            return f"{sent} messages of {size // 1024} KiB sent; {cut} of {slow} slow readers cut (server log)"

        kept, note = await during_attack(server, attack)
        return Result("broadcast", demo, server.peak_rss_mb(), server.stderr_bytes(), kept, note)


async def _drain(websocket, count: list[int] | None = None) -> None:
    """Read everything that comes, counting the messages in ``count[0]``."""
    try:
        async for _ in websocket:
            if count is not None:
                count[0] += 1
    except Exception:
        pass


async def pong_flood(demo: str = "echo", seconds: float = 20, options: tuple[str, ...] = ()) -> Result:
    """Issue 8, point 2: a client sends pings flat out and never reads the pongs."""
    with Server(demo, *options) as server:
        async def attack():
            status, reader, writer = await raw_websocket(server.port)
            assert status == 101
            pings = frame(PING, b"p" * 125) * 64
            sent = 0
            deadline = time.monotonic() + seconds
            try:
                while time.monotonic() < deadline:
                    writer.write(pings)
                    await writer.drain()
                    sent += 64
            except (ConnectionError, OSError):
                pass
            await asyncio.sleep(0.5)
            close_quietly(writer)
            cut = server.stderr_text().count(CUT)
            return f"{sent} pings sent; the client {'was' if cut else 'was NOT'} cut (server log)"

        kept, note = await during_attack(server, attack) if demo != "echo" else (await _echo_still_works(server, attack))
        return Result("pongs", demo, server.peak_rss_mb(), server.stderr_bytes(), kept, note)


async def _echo_still_works(server: Server, attack) -> tuple[bool, object]:
    """For the echo server, "bystanders" are other clients whose echoes come back."""
    from websockets.asyncio.client import connect

    async with connect(server.ws_url, proxy=None) as other:
        task = asyncio.create_task(attack())
        ok = tries = 0
        while not task.done():
            tries += 1
            try:
                await other.send("still here?")
                ok += await asyncio.wait_for(other.recv(), 10) == "still here?"
            except Exception:
                pass
            await asyncio.sleep(0.5)
        outcome = await task
        await other.send("after")
        after = await asyncio.wait_for(other.recv(), 10) == "after"
    return after and ok >= 0.8 * tries, outcome


async def out_of_files(demo: str = "chat", open_files: int = 1024, connections: int = 1100, hold: float = 10,
                       options: tuple[str, ...] = ()) -> Result:
    """Issue 8, point 3: more connections than the process may open files."""
    with Server(demo, *options, open_files=open_files) as server:
        async def attack():
            statuses: dict[str, int] = {}
            writers = []

            async def one() -> None:
                try:
                    status, reader, writer = await raw_websocket(server.port, rcvbuf=None)
                    writers.append(writer)
                    key = str(status)
                except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError, IndexError):
                    key = "failed"
                statuses[key] = statuses.get(key, 0) + 1

            await asyncio.gather(*(one() for _ in range(connections)))
            await asyncio.sleep(hold)
            for writer in writers:
                close_quietly(writer)
            return ", ".join(f"{count} x {status}" for status, count in sorted(statuses.items()))

        kept, note = await during_attack(server, attack)
        text = server.stderr_text()
        note += f"; {text.count('Traceback')} tracebacks, {text.count('out of system resource')} accept errors logged"
        return Result("files", demo, server.peak_rss_mb(), server.stderr_bytes(), kept, note)


async def mass_drop(demo: str = "chat", members: int = 1000, talkers: int = 10, options: tuple[str, ...] = ()) -> Result:
    """Issue 8, point 3: ``members`` members vanish at the same moment (TCP reset) while the room is busy.

    ``talkers`` members keep sending short messages: the server is in the middle
    of broadcasts when the resets arrive, and writes to connections it does not
    know yet are gone.
    """
    from websockets.asyncio.client import connect

    with Server(demo, *options) as server:
        async def attack():
            writers, readers = [], []
            for start in range(0, members, 100):
                batch = await asyncio.gather(*(raw_websocket(server.port, rcvbuf=None) for _ in range(min(100, members - start))))
                for status, reader, writer in batch:
                    if status == 101:
                        writers.append(writer)
                        readers.append(asyncio.create_task(_discard(reader)))
            chatty = [await connect(server.ws_url, proxy=None, max_queue=None) for _ in range(talkers)]
            drains = [asyncio.create_task(_drain(websocket)) for websocket in chatty]

            async def talk(websocket) -> None:
                while True:
                    await websocket.send("hello")
                    await asyncio.sleep(0.001)

            talking = [asyncio.create_task(talk(websocket)) for websocket in chatty]
            await asyncio.sleep(1)
            for writer in writers:
                sock = writer.get_extra_info("socket")
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                writer.transport.abort()
            await asyncio.sleep(2)
            for task in talking + drains + readers:
                task.cancel()
            for websocket in chatty:
                close_quietly(websocket)
            return f"{len(writers)} members dropped at once while {talkers} talked"

        kept, note = await during_attack(server, attack)
        server.stop()
        text = server.stderr_text()
        warnings = sum(line.count("socket.send() raised exception") + line.count("skipped broadcast")
                       for line in text.splitlines())
        note += f"; {warnings} lines of send warnings logged"
        return Result("drop", demo, server.peak_rss_mb(), server.stderr_bytes(), kept, note)


async def _discard(reader: asyncio.StreamReader) -> None:
    try:
        while await reader.read(65536):
            pass
    except Exception:
        pass


async def socketio_flood(slow: int = 198, seconds: float = 17, size: int = 60 * 1024, max_messages: int = 100_000,
                         pause: float = 0.0, options: tuple[str, ...] = ()) -> Result:
    """Point 1 for Socket.IO: slow WebSocket members while one emits ``size``-byte messages flat out.

    ``pause``: seconds between two messages. Flat out, a Python client in this
    process may not keep up with the flood itself, and falls behind like a slow member.
    """
    import socketio

    with Server("event-chat", *options) as server:
        async def attack():
            members = []
            for _ in range(slow):
                reader, writer = await socketio_raw_member(server.port)
                members.append((reader, writer, asyncio.create_task(read_slowly(reader))))
            flooder = socketio.AsyncClient(handle_sigint=False, reconnection=False)
            heard = asyncio.Queue()
            flooder.on("mes", lambda text: heard.put_nowait(None))
            await flooder.connect(server.http_url, transports=["websocket"], wait_timeout=10)
            text = "x" * (size - 100)
            sent = 0
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline and flooder.connected and sent < max_messages:
                await flooder.emit("message", text)
                sent += 1
                # It reads the room too: it is a flooder, not a frozen member. Each message
                # waits until it has heard its previous one, so the flood goes as fast as the
                # room does and the flooder (in this process, with the bystanders) never falls
                # behind itself, however busy the machine.
                if sent > 1:
                    try:
                        await asyncio.wait_for(heard.get(), 5)
                    except asyncio.TimeoutError:
                        break
                await asyncio.sleep(pause)
            await asyncio.sleep(0.5)
            cut = server.stderr_text().count(CUT)
            for _, writer, task in members:
                task.cancel()
                close_quietly(writer)
            await flooder.disconnect()
            return f"{sent} messages of {size // 1024} KB sent; {cut} of {slow} slow members cut (server log)"

        kept, note = await during_attack(server, attack)
        return Result("broadcast", "event_chat", server.peak_rss_mb(), server.stderr_bytes(), kept, note)


async def socketio_big_posts(posts: int = 200, size: int = 1_000_000) -> Result:
    """Issue 8, point 7: long-polling POSTs over the size limit, each on a session of its own."""
    with Server("event-chat") as server:
        async def attack():
            answers: dict[str, int] = {}

            async def one() -> None:
                reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
                try:
                    sid = await _polling_session(reader, writer, server.port)
                    body = b"4" + b"x" * size
                    writer.write(
                        f"POST /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
                        f"Content-Type: text/plain\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body
                    )
                    head = await asyncio.wait_for(reader.readuntil(b"\r\n"), 5)
                    key = head.split()[1].decode()
                except (asyncio.TimeoutError, ConnectionError, asyncio.IncompleteReadError):
                    key = "no answer in 5 s"
                finally:
                    close_quietly(writer)
                answers[key] = answers.get(key, 0) + 1

            await asyncio.gather(*(one() for _ in range(posts)))
            return ", ".join(f"{count} x {status}" for status, count in sorted(answers.items()))

        kept, note = await during_attack(server, attack)
        return Result("big-posts", "event_chat", server.peak_rss_mb(), server.stderr_bytes(), kept, note)


async def _polling_session(reader, writer, port: int) -> str:
    """Open an Engine.IO long-polling session and join the room; return its sid."""
    writer.write(f"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
    body = await _http_body(reader)
    sid = json.loads(body[1:])["sid"]
    writer.write(
        f"POST /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: text/plain\r\nContent-Length: 2\r\n\r\n40".encode()
    )
    await _http_body(reader)
    return sid


async def _http_body(reader) -> bytes:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    length = int(re.search(rb"Content-Length: (\d+)", head, re.I)[1])
    return await reader.readexactly(length)


async def socketio_attachments(seconds: float = 20, size: int = 60_000, announced: int = 10**9) -> Result:
    """Issue 8, point 7: an event announcing ``announced`` binary attachments, then ``size``-byte frames."""
    with Server("event-chat") as server:
        async def attack():
            reader, writer = await socketio_raw_member(server.port, rcvbuf=None)
            writer.write(frame(TEXT, f'45{announced}-["message",{{"_placeholder":true,"num":0}}]'.encode()))
            chunk = frame(BINARY, b"\x00" * size)
            sent = 0
            deadline = time.monotonic() + seconds
            try:
                while time.monotonic() < deadline and not writer.transport.is_closing():
                    writer.write(chunk)
                    await writer.drain()
                    sent += 1
                    if reader.at_eof():
                        break
            except (ConnectionError, OSError):
                pass
            close_quietly(writer)
            return f"{sent} attachment frames of {size // 1000} KB sent before the server stopped it"

        kept, note = await during_attack(server, attack)
        return Result("attachments", "event_chat", server.peak_rss_mb(), server.stderr_bytes(), kept, note)


async def socketio_deep_json(depth: int = 100_000, times: int = 20) -> Result:
    """Issue 8, point 7: events whose JSON is nested ``depth`` deep.

    On the news server: its messages may be 1 MB (Engine.IO's default), room for
    100 000 levels (the event chat takes 64 KiB, and closes on anything larger).
    """
    with Server("news") as server:
        async def attack():
            for _ in range(times):
                reader, writer = await socketio_raw_member(server.port, rcvbuf=None)
                writer.write(frame(TEXT, b'42["my other event",' + b"[" * depth + b"]" * depth + b"]"))
                await asyncio.sleep(0.05)
                close_quietly(writer)
            await asyncio.sleep(0.5)
            return f"{times} events {depth} deep"

        kept, note = await during_attack(server, attack)
        text = server.stderr_text()
        note += f"; {text.count('Traceback')} tracebacks, {text.count('RecursionError')} RecursionErrors logged"
        return Result("deep-json", "news", server.peak_rss_mb(), server.stderr_bytes(), kept, note)


async def malformed_http(demo: str = "chat", requests: int = 1000) -> Result:
    """Issue 8, point 8: malformed HTTP requests on the page's port."""
    with Server(demo) as server:
        async def attack():
            statuses: dict[str, int] = {}
            for number in range(requests):
                reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
                if number % 2:
                    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n")
                else:
                    writer.write(handshake_request(server.port, headers={"Upgrade": "websocket"}))  # a second Upgrade
                try:
                    head = await asyncio.wait_for(reader.readuntil(b"\r\n"), 5)
                    key = head.split()[1].decode()
                except (asyncio.TimeoutError, asyncio.IncompleteReadError, ConnectionError):
                    key = "closed, no answer"
                statuses[key] = statuses.get(key, 0) + 1
                close_quietly(writer)
            return ", ".join(f"{count} x {status}" for status, count in sorted(statuses.items()))

        kept, note = await during_attack(server, attack)
        note += f"; {server.stderr_text().count('Traceback')} tracebacks"
        return Result("malformed-http", demo, server.peak_rss_mb(), server.stderr_bytes(), kept, note)


# -- the hardening issue: slow clients, half-open sessions, malformed events, logs, the kernel ------------


def _newcomer(server: Server):
    """A coroutine factory: one newcomer tries to get in (True if it did within 5 s)."""
    if server.demo.replace("-", "_") == "news_feed":
        async def newcomer() -> bool:
            try:
                reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", server.port), 5)
                try:
                    writer.write(b"GET /poll HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                    head = await asyncio.wait_for(reader.readuntil(b"\r\n"), 5)
                    return head.split()[1] == b"200"
                finally:
                    close_quietly(writer)
            except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, IndexError):
                return False
    else:
        async def newcomer() -> bool:
            import socketio

            client = socketio.AsyncClient(handle_sigint=False, reconnection=False)
            try:
                await asyncio.wait_for(client.connect(server.http_url, transports=["websocket"], wait_timeout=5), 6)
                return True
            except Exception:
                return False
            finally:
                try:
                    await client.disconnect()
                except Exception:
                    pass
    return newcomer


async def _newcomers_during(server: Server, attack, every: float = 0.5) -> tuple[int, int, object]:
    """Run ``attack()`` while a newcomer tries to get in every ``every`` s; return (got in, tried, outcome)."""
    newcomer = _newcomer(server)
    task = asyncio.create_task(attack())
    tries = []
    while not task.done():
        tries.append(asyncio.create_task(newcomer()))
        await asyncio.sleep(every)
    outcome = await task
    results = await asyncio.gather(*tries)
    return sum(results), len(results), outcome


async def slowloris(demo: str = "event-chat", connections: int = 1100, seconds: float = 30, open_files: int = 1024,
                    trickle: float = 2.0) -> Result:
    """Hardening, point 4: ``connections`` connections that each send half a request head, then a header
    line every ``trickle`` s, and, like the slowloris tool, open a new one ``trickle`` s after the server
    closed one, for ``seconds`` s; the server may open ``open_files`` files. Meanwhile a newcomer tries
    to get in every half second."""
    with Server(demo, open_files=open_files) as server:
        async def attack():
            closed = [0]

            async def slot() -> None:
                deadline = time.monotonic() + seconds
                while time.monotonic() < deadline:
                    try:
                        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", server.port), 5)
                    except (OSError, asyncio.TimeoutError):
                        await asyncio.sleep(trickle)
                        continue
                    try:
                        writer.write(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                        number = 0
                        while time.monotonic() < deadline:
                            try:
                                if await asyncio.wait_for(reader.read(1024), trickle) == b"":
                                    closed[0] += 1
                                    break
                            except asyncio.TimeoutError:
                                pass
                            number += 1
                            writer.write(f"X-Slow-{number}: x\r\n".encode())
                    except (ConnectionError, OSError):
                        closed[0] += 1
                    finally:
                        close_quietly(writer)
                    await asyncio.sleep(trickle)

            await asyncio.gather(*(slot() for _ in range(connections)))
            return closed[0]

        got_in, tried, closed = await _newcomers_during(server, attack)
        text = server.stderr_text()
        note = (f"{connections} slow connections for {seconds:g} s: {got_in} of {tried} newcomers got in; "
                f"the server closed {closed} slow ones; {text.count('request head')} log lines about them, "
                f"{text.count('out of system resource')} about accept()")
        return Result("slowloris", demo, server.peak_rss_mb(), server.stderr_bytes(), got_in >= 0.8 * tried, note)


async def half_open(sessions_per_second: float = 20, seconds: float = 10, max_clients: int = 50) -> Result:
    """Hardening, point 4: Engine.IO sessions opened (``GET /socket.io/?EIO=4&transport=polling``)
    and never connected to Socket.IO, ``sessions_per_second`` for ``seconds`` s, in a room of ``max_clients``."""
    with Server("event-chat", "--max-clients", str(max_clients)) as server:
        async def attack():
            answers: dict[str, int] = {}

            async def one() -> None:
                try:
                    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
                    try:
                        writer.write(b"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                     b"Connection: close\r\n\r\n")
                        key = (await asyncio.wait_for(reader.readuntil(b"\r\n"), 5)).split()[1].decode()
                    finally:
                        close_quietly(writer)
                except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, IndexError):
                    key = "failed"
                answers[key] = answers.get(key, 0) + 1

            opening = []
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                opening.append(asyncio.create_task(one()))
                await asyncio.sleep(1 / sessions_per_second)
            await asyncio.gather(*opening)
            return ", ".join(f"{count} x {status}" for status, count in sorted(answers.items()))

        got_in, tried, answers = await _newcomers_during(server, attack)
        text = server.stderr_text()
        note = (f"half-open sessions ({answers}): {got_in} of {tried} newcomers got in; "
                f"{text.count('half-open')} log lines about them")
        return Result("half-open", "event_chat", server.peak_rss_mb(), server.stderr_bytes(), got_in >= 0.8 * tried, note)


async def argument_count(demo: str = "event-chat", packets: int = 2000) -> Result:
    """Hardening, point 5: a member sends ``packets`` events with no argument, then as many with two."""
    event = "message" if demo == "event-chat" else "my other event"
    with Server(demo) as server:
        async def attack():
            reader, writer = await socketio_raw_member(server.port, rcvbuf=None)
            sent = 0
            try:
                for number in range(packets):
                    arguments = "" if number % 2 else ',"a","b"'
                    writer.write(frame(TEXT, f'42["{event}"{arguments}]'.encode()))
                    sent += 1
                    if number % 100 == 99:
                        await writer.drain()
                await asyncio.sleep(1)
                dropped = await _eof_within(reader, 2)
            except (ConnectionError, OSError):
                dropped = True
            close_quietly(writer)
            return sent, dropped

        kept, (sent, dropped) = await during_attack(server, attack)
        text = server.stderr_text()
        note = (f"{sent} events with 0 or 2 arguments: the sender {'was' if dropped else 'was NOT'} disconnected; "
                f"{text.count('Traceback')} tracebacks, {text.count('argument')} lines about arguments logged")
        return Result("arguments", demo, server.peak_rss_mb(), server.stderr_bytes(), kept, note)


async def _eof_within(reader: asyncio.StreamReader, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            if await asyncio.wait_for(reader.read(65536), max(0.01, deadline - time.monotonic())) == b"":
                return True
    except asyncio.TimeoutError:
        return False
    except (ConnectionError, OSError):
        return True
    return False


async def large_messages(demo: str = "scream", messages: int = 20, size: int = 1_000_000) -> Result:
    """Hardening, point 5: ``messages`` messages of ``size`` bytes to a server that logs each message."""
    with Server(demo) as server:
        async def attack():
            if demo == "scream":
                from websockets.asyncio.client import connect

                async with connect(server.ws_url, proxy=None, max_size=None, compression=None) as websocket:
                    for number in range(messages):
                        await websocket.send(f"{number} " + "x" * (size - 10))
                        await websocket.recv()
            else:
                reader, writer = await socketio_raw_member(server.port, rcvbuf=None)
                data = json.dumps("x" * (size - 30))
                for _ in range(messages):
                    writer.write(frame(TEXT, f'42["my other event",{data}]'.encode()))
                    await writer.drain()
                await asyncio.sleep(1)
                close_quietly(writer)
            await asyncio.sleep(0.5)
            return f"{messages} messages of {size // 1000} KB sent ({messages * size / 2**20:.1f} MiB)"

        kept, note = await during_attack(server, attack) if demo != "scream" else (True, await attack())
        return Result("large-messages", demo, server.peak_rss_mb(), server.stderr_bytes(), kept, note)


LOG_SIZE_SCRIPT = """
import re, sys
from pathlib import Path
import ws_course
from websockets.sync.client import connect

def rss():
    return int(re.search(r"^VmRSS:\\s+(\\d+) kB", Path("/proc/self/status").read_text(), re.M)[1]) / 1024

messages, size = int(sys.argv[1]), int(sys.argv[2])
with ws_course.start("scream") as server:
    before = rss()
    with connect(server.ws_url, proxy=None, max_size=None) as websocket:
        for number in range(messages):
            websocket.send(f"{number} " + "x" * (size - 10))
            websocket.recv()
    print(len(server.log), sum(len(line) for line in server.log), round(rss() - before))
"""


def log_size(messages: int = 200, size: int = 1_000_000) -> Result:
    """Hardening, point 5: a notebook's scream server (in a process of its own) logs ``messages`` messages of ``size`` bytes."""
    env = {**os.environ, "PYTHONPATH": str(CODE)}
    process = subprocess.run(
        [PYTHON, "-c", LOG_SIZE_SCRIPT, str(messages), str(size)], capture_output=True, text=True, cwd=CODE, env=env,
        timeout=600,
    )
    if process.returncode:
        raise RuntimeError(process.stderr[-2000:])
    lines, chars, grown = process.stdout.split()
    note = f"{messages} messages of {size // 1000} KB: server.log kept {lines} lines, {int(chars):,} characters; RSS +{grown} MB"
    return Result("log-size", "scream", 0.0, len(process.stderr.encode()), True, note)


def tcp_memory_mb() -> float:
    """The kernel's memory for TCP, all sockets of the machine (``/proc/net/sockstat``, in pages)."""
    pages = int(re.search(r"^TCP:.* mem (\d+)", Path("/proc/net/sockstat").read_text(), re.M)[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


async def kernel_buffers(members: int = 1000, size: int = 60 * 1024, seconds: float = 30) -> Result:
    """Hardening, point 9: ``members`` members that never read (default socket buffers, as a real client
    has), while one member sends ``size``-byte messages until every one of them is cut."""
    from websockets.asyncio.client import connect

    with Server("chat") as server:
        async def attack():
            baseline = tcp_memory_mb()
            writers = []
            for start in range(0, members, 100):
                batch = await asyncio.gather(*(raw_websocket(server.port, rcvbuf=None)
                                               for _ in range(min(100, members - start))))
                writers += [writer for status, reader, writer in batch if status == 101]
                for status, reader, writer in batch:
                    writer.transport.pause_reading()  # and never reads again
            talker = await connect(server.ws_url, proxy=None, max_queue=None, max_size=None, compression=None)
            drain = asyncio.create_task(_drain(talker))
            peak = baseline
            message = "x" * size
            deadline = time.monotonic() + seconds
            sent = 0
            while time.monotonic() < deadline and server.stderr_text().count(CUT) < len(writers):
                await talker.send(message)
                sent += 1
                peak = max(peak, tcp_memory_mb())
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.5)
            peak = max(peak, tcp_memory_mb())
            cut = server.stderr_text().count(CUT)
            drain.cancel()
            await talker.close()
            for writer in writers:
                close_quietly(writer)
            return (f"{len(writers)} members that never read, {sent} messages of {size // 1024} KiB: {cut} cut; "
                    f"the kernel's TCP memory (whole machine) {baseline:.0f} MB -> peak {peak:.0f} MB")

        kept, note = await during_attack(server, attack)
        return Result("kernel", "chat", server.peak_rss_mb(), server.stderr_bytes(), kept, note)


LOG_SCRIPT = """
import re, sys
from pathlib import Path
import ws_course
from websockets.sync.client import connect

def rss(field):
    return int(re.search(rf"^{field}:\\s+(\\d+) kB", Path("/proc/self/status").read_text(), re.M)[1]) / 1024

messages = int(sys.argv[1])
with ws_course.start("scream") as server:
    before = rss("VmRSS")
    with connect(server.ws_url, proxy=None) as websocket:
        for number in range(messages):
            websocket.send(f"m{number}")
            if number % 1000 == 999:
                while websocket.recv() != f"M{number}!!!":
                    pass
    print(len(server.log), round(rss("VmRSS") - before), round(rss("VmHWM")), repr(server.log[0][:60]))
"""


def bounded_log(messages: int = 200_000) -> Result:
    """Issue 8, point 4: a notebook's server logs a line for each of ``messages`` messages.

    Run in a Python process of its own, as a notebook's kernel would run it.
    """
    env = {**os.environ, "PYTHONPATH": str(CODE)}
    process = subprocess.run(
        [PYTHON, "-c", LOG_SCRIPT, str(messages)], capture_output=True, text=True, cwd=CODE, env=env, timeout=600
    )
    if process.returncode:
        raise RuntimeError(process.stderr[-2000:])
    lines, grown, peak, first = process.stdout.split(maxsplit=3)
    note = f"{messages} messages: {lines} lines kept, RSS +{grown} MB while logging; first line {first.strip()}"
    return Result("log", "scream", float(peak), len(process.stderr.encode()), True, note)


FULL = {
    "broadcast": lambda: broadcast_flood("chat"),
    "broadcast-json": lambda: broadcast_flood("json_chat"),
    "pongs": lambda: pong_flood("echo"),
    "pongs-chat": lambda: pong_flood("chat"),
    "files": lambda: out_of_files("chat"),
    "drop": lambda: mass_drop("chat"),
    "socketio-broadcast": lambda: socketio_flood(pause=0.005),
    "big-posts": lambda: socketio_big_posts(),
    "attachments": lambda: socketio_attachments(),
    "deep-json": lambda: socketio_deep_json(),
    "malformed-http": lambda: malformed_http("chat"),
    "malformed-http-sio": lambda: malformed_http("event-chat"),
    "log": lambda: bounded_log(),
    "slowloris": lambda: slowloris("event-chat"),
    "slowloris-feed": lambda: slowloris("news-feed"),
    "half-open": lambda: half_open(),
    "arguments": lambda: argument_count("event-chat"),
    "arguments-news": lambda: argument_count("news"),
    "large-messages": lambda: large_messages("scream"),
    "large-messages-news": lambda: large_messages("news", messages=20, size=900_000),
    "log-size": lambda: log_size(),
    "kernel": lambda: kernel_buffers(),
}

QUICK = {
    "broadcast": lambda: broadcast_flood("chat", slow=10, seconds=1, max_messages=40),
    "pongs": lambda: pong_flood("echo", seconds=1),
    "files": lambda: out_of_files("chat", open_files=128, connections=150, hold=1),
    "big-posts": lambda: socketio_big_posts(posts=5, size=100_000),
    "log": lambda: bounded_log(messages=12_000),
    "slowloris": lambda: slowloris("event-chat", connections=150, seconds=12, open_files=128),
    "slowloris-feed": lambda: slowloris("news-feed", connections=150, seconds=12, open_files=128),
    "half-open": lambda: half_open(sessions_per_second=20, seconds=4, max_clients=20),
    "arguments": lambda: argument_count("event-chat", packets=200),
    "arguments-news": lambda: argument_count("news", packets=200),
    "large-messages": lambda: large_messages("scream", messages=5, size=500_000),
    "log-size": lambda: log_size(messages=20, size=500_000),
    "kernel": lambda: kernel_buffers(members=100, seconds=10),
}

CASES = list(FULL)


async def run(cases: list[str], quick: bool) -> list[Result]:
    table = QUICK if quick else FULL
    results = []
    print(HEADER, flush=True)
    for case in cases:
        maker = table[case]
        outcome = maker()
        result = await outcome if asyncio.iscoroutine(outcome) else outcome
        print(result.row(), flush=True)
        results.append(result)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("cases", nargs="*", help=f"cases to run (default: all): {', '.join(CASES)}")
    parser.add_argument("--quick", action="store_true", help="small sizes, a few seconds each (a smoke test)")
    parser.add_argument(
        "--code", type=Path, default=HERE, metavar="DIR",
        help="run the servers from this checkout instead (e.g. one from before the fixes, to compare)",
    )
    args = parser.parse_args()
    global CODE
    CODE = args.code.resolve()
    table = QUICK if args.quick else FULL
    unknown = [case for case in args.cases if case not in table]
    if unknown:
        parser.error(f"unknown case(s) {unknown}; choose from {', '.join(table)}")
    asyncio.run(run(args.cases or list(table), args.quick))


if __name__ == "__main__":
    main()
