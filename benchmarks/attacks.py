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

The Redis cases run two servers sharing a room through a private ``redis-server``:
their figures add up both processes (stderr) or take the larger (peak RSS). On the
handmade server (lesson 08's echo), the bystander is a client whose echoes are timed.
The Chromium cases need Debian's ``chromium-headless-shell`` or ``chromium`` (or ``$WS_COURSE_CHROMIUM``) and Playwright.

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
import shutil
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
    limit it cannot raise), to run it out of file descriptors quickly;
    ``environment``: more environment variables for it.
    """

    def __init__(self, demo: str, *options: str, open_files: int | None = None,
                 environment: dict[str, str] | None = None) -> None:
        self.demo = demo
        self.stderr = tempfile.TemporaryFile()
        limit = None if open_files is None else (lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (open_files, open_files)))
        env = {**os.environ, "PYTHONPATH": str(CODE)} if CODE != HERE else None
        if environment:
            env = {**(env or os.environ), **environment}
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

    def cpu_seconds(self) -> float:
        """The CPU time it has used so far, user and system (/proc/PID/stat)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime

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


def handshake_request(port: int, path: str = "/", headers: dict[str, str] | None = None, host: str | None = None) -> bytes:
    """An opening handshake to 127.0.0.1:port; ``host``: what its ``Host`` says instead (a rebound name, say)."""
    lines = [
        f"GET {path} HTTP/1.1", f"Host: {host or f'127.0.0.1:{port}'}", "Upgrade: websocket", "Connection: Upgrade",
        f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}", "Sec-WebSocket-Version: 13",
        *(f"{name}: {value}" for name, value in (headers or {}).items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def raw_websocket(port: int, path: str = "/", rcvbuf: int | None = SMALL_RCVBUF, headers=None, host=None):
    """Open a WebSocket by hand; return (status, reader, writer). Status 101 means it is open."""
    reader, writer = await asyncio.open_connection(sock=small_socket(port, rcvbuf), limit=2**16)
    writer.write(handshake_request(port, path, headers, host))
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
            if self.server.demo.replace("-", "_") in ("chat", "json_chat"):
                # A member's first message is its own arrival: only then is it in the room
                # (a room shared through Redis gives the nickname after a round trip to Redis,
                # and what is said meanwhile is not for the newcomer).
                await asyncio.wait_for(self.clients[1].recv(), 10)
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
                          max_messages: int = 100_000, options: tuple[str, ...] = (),
                          until_all_cut: bool = False) -> Result:
    """Issue 8, point 1: ``slow`` members read slowly while one sends ``size``-byte messages flat out.

    "Flat out" as fast as the flooder itself takes the room's messages back (it is
    a member too): at most 64 of its own messages ahead of what it has read, so
    that this process does not pile up gigabytes of its own. ``until_all_cut``: end
    the flood as soon as the server's log says it cut every slow reader (else it
    goes on for ``seconds`` or ``max_messages``).
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
                if until_all_cut and sent % 10 == 0 and server.stderr_text().count(CUT) >= slow:
                    break
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
                         pause: float = 0.0, options: tuple[str, ...] = (), until_all_cut: bool = False) -> Result:
    """Point 1 for Socket.IO: slow WebSocket members while one emits ``size``-byte messages flat out.

    ``pause``: seconds between two messages. Flat out, a Python client in this
    process may not keep up with the flood itself, and falls behind like a slow member.
    ``until_all_cut``: end the flood as soon as the server's log says it cut every
    slow member (else it goes on for ``seconds`` or ``max_messages``).
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
                if until_all_cut and sent % 10 == 0 and server.stderr_text().count(CUT) >= slow:
                    break
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


# -- the hardening issue, continued: foreign pages, DNS rebinding, Redis, the handmade server -------------


#: Chromium's flags, as tests/conftest.py gives them (``CHROMIUM_ARGS``): headless, no sandbox, nothing fetched.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]

#: A Socket.IO room's WebSocket, as a page that speaks the wire format by hand opens it.
SOCKETIO_PATH = "/socket.io/?EIO=4&transport=websocket"


def chromium_executable() -> str | None:
    """The Chromium to drive: ``$WS_COURSE_CHROMIUM``, else Debian's (its headless shell, or ``chromium``), else Playwright's own."""
    return os.environ.get("WS_COURSE_CHROMIUM") or shutil.which("chromium-headless-shell") or shutil.which("chromium")


def _is_socketio(demo: str) -> bool:
    return demo.replace("-", "_") in ("news", "event_chat")


async def sandboxed_frame(demo: str = "chat", listen: float = 2.0, timeout: float = 15) -> Result:
    """Hardening, point 1: in Chromium, a page of another local site (127.0.0.1, another port) whose
    ``<iframe sandbox="allow-scripts" srcdoc=...>`` tries to join the room, post in it and read it.

    The page is ``static/another-site-sandboxed.html``, served by :mod:`ws_course.web.another_site`
    from this checkout (the attacker's site, not the server under attack): the frame's origin is
    opaque, so its handshake says ``Origin: null``. Once in, it listens ``listen`` s to the bystanders.
    """
    from playwright.async_api import async_playwright

    from ws_course.web.another_site import AnotherSite

    with Server(demo) as server:
        room = server.ws_url.rstrip("/") + (SOCKETIO_PATH if _is_socketio(demo) else "/")

        async def attack():
            site = AnotherSite()
            home = tempfile.mkdtemp(prefix="ws-course-attacks-chromium-")
            try:
                async with async_playwright() as playwright:
                    browser = await playwright.chromium.launch(
                        executable_path=chromium_executable(), args=CHROMIUM_ARGS, headless=True,
                        env={**os.environ, "HOME": home, "XDG_CONFIG_HOME": home, "XDG_CACHE_HOME": home},
                    )
                    try:
                        page = await browser.new_page()
                        await page.goto(site.page_url(room, sandboxed=True))
                        state = page.locator("#state")
                        deadline = time.monotonic() + timeout
                        while await state.text_content() == "connecting" and time.monotonic() < deadline:
                            await asyncio.sleep(0.1)
                        if await state.text_content() == "joined":
                            await asyncio.sleep(listen)  # reading the room
                        heard = await page.locator("#heard div").all_text_contents()
                        return (await state.text_content(), await page.locator("#frame-origin").text_content(),
                                site.origin, heard)
                    finally:
                        await browser.close()
            finally:
                site.stop()
                shutil.rmtree(home, ignore_errors=True)

        kept, (state, frame_origin, site_origin, heard) = await during_attack(server, attack)
        text = server.stderr_text()
        own = sum("hello from a sandboxed frame" in line for line in heard)
        overheard = sum("bystander-" in line for line in heard)
        note = (f"a sandboxed frame (origin {frame_origin}) of the page at {site_origin}: {state}; "
                f"it heard its own post {own}x and {overheard} bystanders' messages in {listen:g} s; "
                f"{text.count('origin null not allowed')} 'origin null not allowed' lines logged")
        return Result("sandboxed-frame", demo.replace("-", "_"), server.peak_rss_mb(), server.stderr_bytes(), kept, note)


async def _http_status(port: int, path: str, host: str) -> str:
    """A plain GET to 127.0.0.1:port with ``Host: host``: the status (or what happened instead)."""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
            return (await asyncio.wait_for(reader.readuntil(b"\r\n"), 5)).split()[1].decode()
        finally:
            close_quietly(writer)
    except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, IndexError):
        return "no answer"


async def _read_room(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, socketio: bool,
                     seconds: float) -> list[str]:
    """What a raw WebSocket member hears in ``seconds`` s (a Socket.IO one connects first: ``40``)."""
    heard: list[str] = []
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            text = await asyncio.wait_for(read_frame_text(reader), max(0.01, deadline - time.monotonic()))
            if socketio and text.startswith("0{"):
                writer.write(frame(TEXT, b"40"))
            elif socketio and text == "2":
                writer.write(frame(TEXT, b"3"))
            else:
                heard.append(text)
    except (asyncio.TimeoutError, asyncio.IncompleteReadError, ConnectionError, OSError):
        pass
    return heard


async def dns_rebinding(demo: str = "chat", name: str = "rebind.example", listen: float = 2.0) -> Result:
    """Hardening, point 1: DNS rebinding. A page at ``http://rebind.example:PORT``, whose name the attacker's
    DNS then turns to 127.0.0.1: its requests reach the room with ``Host: rebind.example:PORT`` and
    ``Origin: http://rebind.example:PORT``, which agree. It opens the room's WebSocket and reads it for
    ``listen`` s; it also GETs the page (and, on Socket.IO, opens a long-polling session) under that name.
    """
    socketio = _is_socketio(demo)
    with Server(demo) as server:
        rebound = f"{name}:{server.port}"

        async def attack():
            status, reader, writer = await raw_websocket(
                server.port, SOCKETIO_PATH if socketio else "/", rcvbuf=None,
                headers={"Origin": f"http://{rebound}"}, host=rebound,
            )
            heard = await _read_room(reader, writer, socketio, listen) if status == 101 else []
            close_quietly(writer)
            statuses = {"page": await _http_status(server.port, "/", rebound)}
            if socketio:
                statuses["polling"] = await _http_status(server.port, "/socket.io/?EIO=4&transport=polling", rebound)
            return status, heard, statuses

        kept, (status, heard, statuses) = await during_attack(server, attack)
        text = server.stderr_text()
        overheard = sum("bystander-" in message for message in heard)
        others = ", ".join(f"{what} {status}" for what, status in statuses.items())
        note = (f"Host and Origin {rebound}: WebSocket {status}, {overheard} bystanders' messages read in "
                f"{listen:g} s; {others}; {text.count(f'host {rebound} not allowed')} 'host ... not allowed' lines logged")
        return Result("dns-rebinding", demo.replace("-", "_"), server.peak_rss_mb(), server.stderr_bytes(), kept, note)


def _code_has(text: str) -> bool:
    """Whether the checkout under attack (``--code``) mentions ``text`` in its ``ws_course`` package."""
    return any(text in path.read_text(errors="replace") for path in (CODE / "ws_course").rglob("*.py"))


class Member:
    """A plain member of a chat room (``chat``): its nickname, and everything it hears."""

    def __init__(self, websocket, nickname: str) -> None:
        self.websocket, self.nickname = websocket, nickname
        self.heard: list[str] = []
        self._task = asyncio.create_task(self._listen())

    @classmethod
    async def join(cls, url: str) -> Member:
        from websockets.asyncio.client import connect

        websocket = await connect(url, proxy=None, max_queue=None)
        first = await asyncio.wait_for(websocket.recv(), 10)  # "user7 comes in": its own arrival
        return cls(websocket, first.split()[0])

    async def _listen(self) -> None:
        try:
            async for message in self.websocket:
                self.heard.append(message)
        except Exception:
            pass

    async def hears(self, text: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while text not in self.heard and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        return text in self.heard

    async def leave(self) -> None:
        self._task.cancel()
        close_quietly(self.websocket)


class SharedChat:
    """Two ``ws-course serve chat --redis URL`` processes on a private ``redis-server`` of their own.

    The Redis asks for a password when the code under attack can give one
    (``WS_COURSE_REDIS_PASSWORD``); the code before the hardening could not, so it gets
    a Redis without one, as lesson 09 then ran it.
    """

    def __init__(self, demo: str = "chat") -> None:
        from ws_course.runtime.processes import REDIS_PASSWORD, without_password
        from ws_course.runtime.redis_server import start_redis

        self.demo = demo
        self.password = _code_has(REDIS_PASSWORD)
        self.redis = start_redis(f"attacks-{os.getpid()}", password=self.password)
        url, password = without_password(self.redis.url)
        environment = {REDIS_PASSWORD: password} if password else None
        self.servers: list[Server] = []
        try:
            for _ in range(2):
                self.servers.append(Server(demo, "--redis", url, environment=environment))
        except BaseException:
            self.close()
            raise
        self.channel = f"ws-course:{demo}"  # ws_course.scaleout.redis_room: SharedRoom.channel

    def client(self):
        import redis

        return redis.Redis.from_url(self.redis.url)

    def close(self) -> None:
        for server in self.servers:
            server.__exit__(None, None, None)
        self.redis.stop()

    def __enter__(self) -> SharedChat:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


async def _across(one: Member, other: Member, text: str, timeout: float) -> bool:
    await one.websocket.send(text)
    return await other.hears(text, timeout)


async def _heal_time(a: Member, b: Member, label: str, within: float = 20, every: float = 0.5) -> float | None:
    """Seconds until a message from each of ``a`` and ``b`` reaches the other (both ways), or None."""
    started = time.monotonic()
    number = 0
    while time.monotonic() - started < within:
        number += 1
        try:
            there = await _across(a, b, f"{label}-{number}-ab", every)
            back = await _across(b, a, f"{label}-{number}-ba", every)
        except Exception:
            return None
        if there and back:
            return time.monotonic() - started
    return None


def _stderr_summary(servers: list[Server]) -> str:
    texts = [server.stderr_text() for server in servers]
    return (f"{sum(text.count('Traceback') for text in texts)} tracebacks, "
            f"{sum(text.count('UnicodeDecodeError') for text in texts)} UnicodeDecodeErrors logged")


async def redis_garbage(messages: int = 100, timeout: float = 5) -> Result:
    """Hardening, point 2: someone who reaches the room's Redis PUBLISHes ``messages`` messages that are not
    UTF-8 on the room's channel, while two bystanders on the first process chat. Then a member of each
    process says something: the bystanders kept chatting if the other process's member hears it, both ways."""
    with SharedChat() as room:
        first, second = room.servers
        a = await Member.join(first.ws_url)
        b = await Member.join(second.ws_url)
        try:
            assert await _heal_time(a, b, "before", within=10) is not None, "the two processes' members never met"

            async def attack():
                client = room.client()
                try:
                    channels = [channel.decode() for channel in client.pubsub_channels()]
                    receivers = sum(client.publish(room.channel, b"\xff\xfe garbage \xc3\x28") for _ in range(messages))
                finally:
                    client.close()
                await asyncio.sleep(1)
                return channels, receivers

            kept, (channels, receivers) = await during_attack(first, attack)
            there = await _across(a, b, "after-garbage-ab", timeout)
            back = await _across(b, a, "after-garbage-ba", timeout)
        finally:
            await a.leave()
            await b.leave()
        skipped = sum("skipped" in line for server in room.servers for line in server.stderr_text().splitlines())
        note = (f"{messages} non-UTF-8 PUBLISHes on {room.channel} ({'in' if room.channel in channels else 'NOT in'} "
                f"PUBSUB CHANNELS {channels}; {receivers} deliveries), Redis {'with' if room.password else 'without'} "
                f"a password: afterwards across the two processes, {'heard' if there else 'NOT heard'} one way, "
                f"{'heard' if back else 'NOT heard'} the other; {_stderr_summary(room.servers)}, "
                f"{skipped} lines about skipped messages")
        stderr = sum(server.stderr_bytes() for server in room.servers)
        peak = max(server.peak_rss_mb() for server in room.servers)
        return Result("redis-garbage", "chat", peak, stderr, kept and there and back, note)


async def redis_stall(stall: float = 5, newcomers: int = 2, within: float = 20) -> Result:
    """Hardening, point 2: one of the two processes is frozen (SIGSTOP) for ``stall`` s, then SIGCONT.

    Meanwhile two bystanders on the other process keep chatting. Afterwards: how long until
    a member of each process hears one of the other (both ways, up to ``within`` s; the
    bystanders kept chatting if they do), what the room was told about the frozen process's
    member, whether Redis lists both processes in the room again, and whether nicknames stay
    unique once ``newcomers`` more members join each process.
    """
    with SharedChat() as room:
        first, second = room.servers
        a = await Member.join(first.ws_url)
        b = await Member.join(second.ws_url)
        members = [a, b]
        try:
            assert await _heal_time(a, b, "before", within=10) is not None, "the two processes' members never met"

            async def attack():
                second.process.send_signal(signal.SIGSTOP)
                try:
                    await asyncio.sleep(stall)
                finally:
                    second.process.send_signal(signal.SIGCONT)
                return await _heal_time(a, b, "after-stall", within)

            kept, healed = await during_attack(first, attack)
            for server in room.servers:
                for _ in range(newcomers):
                    members.append(await Member.join(server.ws_url))
            nicknames = [member.nickname for member in members]
            unique = len(set(nicknames)) == len(nicknames)
            client = room.client()
            try:
                listed = client.scard(f"{room.channel}:servers")  # the processes Redis knows in the room
            finally:
                client.close()
            left = sum(f"{b.nickname} left" in message for message in a.heard)
            back = sum(f"{b.nickname} is back" in message for message in a.heard)
        finally:
            for member in members:
                await member.leave()
        heal = f"heard each other again {healed:.2f} s after SIGCONT" if healed is not None else \
            f"did NOT hear each other within {within:g} s of SIGCONT"
        note = (f"one process frozen {stall:g} s, Redis {'with' if room.password else 'without'} a password: "
                f"the members of both {heal}; the other side heard '{b.nickname} left' {left}x and "
                f"'is back' {back}x; {listed} of 2 processes listed in Redis's room afterwards; nicknames "
                f"{'unique' if unique else 'NOT unique'} ({' '.join(nicknames)}); {_stderr_summary(room.servers)}")
        stderr = sum(server.stderr_bytes() for server in room.servers)
        peak = max(server.peak_rss_mb() for server in room.servers)
        return Result("redis-stall", "chat", peak, stderr, kept and healed is not None, note)


async def empty_fragments(fragments: int = 40_000, every: float = 0.1) -> Result:
    """Hardening, point 6: on the handmade server (lesson 08), a text message's first fragment and then
    ``fragments`` empty continuation frames (masked, as a client's must be), then its last fragment;
    meanwhile a bystander sends an echo every ``every`` s and times each one."""
    from ws_course.frames import CONTINUATION

    with Server("handmade") as server:
        async def attack():
            status, reader, writer = await raw_websocket(server.port, rcvbuf=None)
            assert status == 101, status
            mask = os.urandom(4)
            cpu = server.cpu_seconds()
            started = time.monotonic()
            writer.write(encode_frame(TEXT, b"first", mask=mask, fin=False))
            writer.write(encode_frame(CONTINUATION, b"", mask=mask, fin=False) * fragments)
            writer.write(encode_frame(CONTINUATION, b" last", mask=mask, fin=True))
            try:
                echo = await asyncio.wait_for(read_frame_text(reader), 300)
            except (asyncio.TimeoutError, asyncio.IncompleteReadError, ConnectionError) as error:
                echo = f"no echo: {type(error).__name__}"
            took, cpu = time.monotonic() - started, server.cpu_seconds() - cpu
            close_quietly(writer)
            return echo, took, cpu

        kept, waits, (echo, took, cpu) = await _timed_echoes(server, attack, every)
        note = (f"1 + {fragments} empty + 1 fragments: echo {echo!r} after {took:.2f} s, server CPU {cpu:.2f} s; "
                f"the bystander's longest wait for its echo {max(waits):.2f} s ({len(waits)} echoes)")
        return Result("empty-fragments", "handmade", server.peak_rss_mb(), server.stderr_bytes(), kept, note)


async def _timed_echoes(server: Server, attack, every: float = 0.1, timeout: float = 60) -> tuple[bool, list[float], object]:
    """Run ``attack()`` while a bystander's echoes go round; return (all came back within 10 s, each one's wait, outcome)."""
    from websockets.asyncio.client import connect

    async with connect(server.ws_url, proxy=None) as other:
        task = asyncio.create_task(attack())
        waits: list[float] = []
        ok = True
        number = 0
        while not task.done():
            number += 1
            started = time.monotonic()
            try:
                await other.send(f"still here? {number}")
                ok &= await asyncio.wait_for(other.recv(), timeout) == f"still here? {number}"
            except Exception:
                ok = False
            waits.append(time.monotonic() - started)
            await asyncio.sleep(every)
        outcome = await task
    return ok and max(waits) < 10, waits, outcome


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
    "sandboxed-frame": lambda: sandboxed_frame("chat"),
    "sandboxed-frame-sio": lambda: sandboxed_frame("event-chat"),
    "dns-rebinding": lambda: dns_rebinding("chat"),
    "dns-rebinding-sio": lambda: dns_rebinding("event-chat"),
    "redis-garbage": lambda: redis_garbage(),
    "redis-stall": lambda: redis_stall(),
    "empty-fragments": lambda: empty_fragments(),
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
    "sandboxed-frame": lambda: sandboxed_frame("chat", listen=1),
    "sandboxed-frame-sio": lambda: sandboxed_frame("event-chat", listen=1),
    "dns-rebinding": lambda: dns_rebinding("chat", listen=1),
    "dns-rebinding-sio": lambda: dns_rebinding("event-chat", listen=1),
    "redis-garbage": lambda: redis_garbage(messages=20),
    "redis-stall": lambda: redis_stall(stall=5, newcomers=1),
    "empty-fragments": lambda: empty_fragments(fragments=40_000),
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
