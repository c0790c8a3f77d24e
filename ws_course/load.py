"""Many members at once, measured: a lean WebSocket client, and a room's fan-out under load.

A widget, or even a ``websockets`` client, does a lot of work for each message: it
is made for one person, not for a thousand members in one process. To measure
how a *server* copes with a big room, the clients must cost far less than the
server does. :class:`LeanClient` is such a client: it sends a handshake without
compression (so that every server sends plain frames), reads frames with a few
lines of code (a server's frames are never masked), and speaks just enough
Engine.IO to be a Socket.IO member. It is also what ``benchmarks/node_vs_python.py``
uses against the Node.js servers.

:func:`measure_fanout` is lesson 09's experiment: a room of N members spread over
one or more server processes; one member talks, one message at a time; how long
until the *last* member hears each message, and how much CPU the servers (and
Redis) spent per message delivered to one member.

It reads with :class:`asyncio.BufferedProtocol` into one buffer of its own: asyncio's
default loop otherwise makes a new 256 KiB ``bytes`` object for every read, which,
for a thousand members each reading a thousand arrivals, is most of the time spent.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import os
import re
import secrets
import statistics
import time
from pathlib import Path

__all__ = ["FanOut", "LeanClient", "ROOM_SIZES", "join", "measure_fanout", "process_cpu_seconds"]

#: The room sizes lesson 09 measures. A room of 1000 fills with half a million
#: "comes in" messages (the n-th newcomer is announced to n members), seconds of
#: CPU: the test that runs every notebook twice sets ``WS_COURSE_ROOM_SIZES=10,100``
#: to stay short (nbval runs the lesson once with all three).
ROOM_SIZES = tuple(int(size) for size in os.environ.get("WS_COURSE_ROOM_SIZES", "10,100,1000").split(","))

#: A message's stamp: ``talker:number:nanoseconds``, anywhere in what the room says.
STAMP = re.compile(rb"(\d+):(\d+):(\d{6,})")


#: :func:`measure_fanout` gives up when no message has reached the whole room for this long (seconds).
STALLED = 10


class LeanClient(asyncio.BufferedProtocol):
    """One member, with as little work per message as a WebSocket client can do.

    Args:
        kind: ``"ws"`` for a plain WebSocket server, ``"sio"`` for a Socket.IO one
            (it connects to ``/socket.io/``, answers pings, and joins the namespace ``/``).
        on_text: Called as ``on_text(client, payload)`` with each text message (for
            Socket.IO, each event packet, e.g. ``b'42["mes","user1 says: hi"]'``).
    """

    def __init__(self, kind: str = "ws", on_text=None) -> None:
        self.kind, self.on_text = kind, on_text
        self.buffer = b""
        self.incoming = bytearray(65536)  # the transport reads into it: no new bytes object per read
        self.upgraded = False
        self.ready = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport
        path = "/socket.io/?EIO=4&transport=websocket" if self.kind == "sio" else "/"
        key = base64.b64encode(secrets.token_bytes(16)).decode()
        transport.write(  # no Sec-WebSocket-Extensions: no compression
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )

    def get_buffer(self, sizehint: int) -> memoryview:
        return memoryview(self.incoming)

    def buffer_updated(self, nbytes: int) -> None:
        self.data_received(bytes(self.incoming[:nbytes]))

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer + data if self.buffer else data
        if not self.upgraded:
            head, found, buffer = buffer.partition(b"\r\n\r\n")
            if not found:
                self.buffer = head
                return
            if not head.startswith(b"HTTP/1.1 101"):
                self._fail(ConnectionError(head.split(b"\r\n")[0].decode(errors="replace")))
                return
            self.upgraded = True
            if self.kind == "ws":
                self.ready.done() or self.ready.set_result(None)
        while len(buffer) >= 2:  # frames: FIN+opcode, length (7, 16 or 64 bits), payload (unmasked)
            length, start = buffer[1] & 0x7F, 2
            if length == 126:
                if len(buffer) < 4:
                    break
                length, start = int.from_bytes(buffer[2:4], "big"), 4
            elif length == 127:
                if len(buffer) < 10:
                    break
                length, start = int.from_bytes(buffer[2:10], "big"), 10
            if len(buffer) < start + length:
                break
            opcode, payload, buffer = buffer[0] & 0x0F, buffer[start:start + length], buffer[start + length:]
            if opcode == 1:
                self._text(payload)
            elif opcode == 8:
                self.transport.close()
        self.buffer = buffer

    def _text(self, payload: bytes) -> None:
        if self.kind == "sio":
            if payload == b"2":
                self.send(b"3")  # Engine.IO ping: pong
                return
            if payload[:1] == b"0":
                self.send(b"40")  # Engine.IO open: join the namespace "/"
                return
            if payload[:2] == b"40":
                self.ready.done() or self.ready.set_result(None)
                return
        if self.on_text is not None:
            self.on_text(self, payload)

    def send(self, payload: bytes) -> None:
        """Send a text frame (masked, as a client must)."""
        mask = secrets.token_bytes(4)
        length = len(payload)
        header = bytes([0x81, 0x80 | length]) if length < 126 else bytes([0x81, 0x80 | 126]) + length.to_bytes(2, "big")
        repeated = (mask * (length // 4 + 1))[:length]
        masked = (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(length, "big")
        self.transport.write(header + mask + masked)

    def say(self, text: str) -> None:
        """Say something in a chat room: a text, or for Socket.IO the event ``message``."""
        self.send(f'42["message","{text}"]'.encode() if self.kind == "sio" else text.encode())

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def _fail(self, error: Exception) -> None:
        self.ready.done() or self.ready.set_exception(error)
        self.transport.close()

    def connection_lost(self, exc) -> None:
        self.ready.done() or self.ready.set_exception(ConnectionError(f"closed: {exc}"))


async def join(port: int, kind: str = "ws", on_text=None, timeout: float = 20) -> LeanClient:
    """Connect a :class:`LeanClient` to a server on ``127.0.0.1:port`` and wait until it is a member."""
    _, client = await asyncio.get_running_loop().create_connection(lambda: LeanClient(kind, on_text), "127.0.0.1", port)
    async with asyncio.timeout(timeout):
        await client.ready
    return client


def process_cpu_seconds(pid: int) -> float:
    """CPU time (user + system, every thread) a process has used so far; NaN where there is no /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclasses.dataclass
class FanOut:
    """What :func:`measure_fanout` measured for one room."""

    members: int
    processes: int
    messages: int
    latencies: list[float]  # seconds from sending each message until its last member had it
    cpu_seconds: float  # the servers' and Redis's CPU while the messages went round

    @property
    def median_ms(self) -> float:
        return statistics.median(self.latencies) * 1000

    @property
    def cpu_us_per_delivery(self) -> float:
        return self.cpu_seconds / (self.messages * self.members) * 1e6


async def measure_fanout(ports: list[int], pids: list[int], members: int, messages: int = 20) -> FanOut:
    """A chat room of ``members`` members spread over the servers on ``ports``; one talks, ``messages`` times.

    Each message goes out when the previous one has reached every member, so what
    is measured is one message's way to a whole room, not a queue. ``pids``: the
    processes whose CPU counts (the servers, and Redis if there is one).
    """
    done, all_in = asyncio.Event(), asyncio.Event()
    arrivals = 0  # "comes in" heard: the n-th newcomer is heard by n members
    heard: dict[int, int] = {}  # message number -> members that have it
    sent_at: dict[int, int] = {}
    latencies: list[float] = []

    def on_text(client: LeanClient, payload: bytes) -> None:
        nonlocal arrivals
        stamp = STAMP.search(payload)
        if stamp is None:  # someone came in
            arrivals += 1
            if arrivals >= members * (members + 1) // 2:
                all_in.set()
            return
        number = int(stamp[2])
        heard[number] = heard.get(number, 0) + 1
        if heard[number] == members:
            latencies.append((time.perf_counter_ns() - sent_at[number]) / 1e9)
            if number + 1 < messages:
                talk(number + 1)
            else:
                done.set()

    def talk(number: int) -> None:
        sent_at[number] = time.perf_counter_ns()
        clients[0].say(f"1:{number}:{sent_at[number]}")

    clients: list[LeanClient] = []
    for first in range(0, members, 50):  # 50 at a time: a big room fills in seconds, not minutes
        clients += await asyncio.gather(
            *(join(ports[index % len(ports)], "ws", on_text) for index in range(first, min(first + 50, members)))
        )
    try:
        # Every arrival has gone round (or, if a pair of arrivals crossed in Redis, none came for a second).
        last, quiet_since = -1, time.monotonic()
        while not all_in.is_set() and time.monotonic() - quiet_since < 1:
            if arrivals != last:
                last, quiet_since = arrivals, time.monotonic()
            await asyncio.sleep(0.05)
        cpu = sum(process_cpu_seconds(pid) for pid in pids)
        talk(0)
        while not done.is_set():  # a message a few milliseconds; none for STALLED seconds: say so
            progress = len(latencies)
            try:
                async with asyncio.timeout(STALLED):
                    await done.wait()
            except TimeoutError:
                if len(latencies) == progress:
                    number = len(latencies)
                    raise TimeoutError(
                        f"message {number} reached {heard.get(number, 0)} of the {members} members in {STALLED} s "
                        "(a member cut off, or a server process stopped?)"
                    ) from None
        cpu = sum(process_cpu_seconds(pid) for pid in pids) - cpu
    finally:
        for client in clients:
            client.close()
    return FanOut(members, len(ports), messages, latencies, cpu)


def plot_fanout(runs: list[tuple[str, FanOut]]):
    """Two plots against the room's size: latency to the last member, and CPU per delivery."""
    import io

    from IPython.display import Image
    from matplotlib.figure import Figure  # no pyplot: nothing global, nothing shown twice

    figure = Figure(figsize=(11, 4), layout="constrained")
    latency, cpu = figure.subplots(1, 2)
    for label in dict.fromkeys(label for label, _ in runs):
        mine = sorted((run for name, run in runs if name == label), key=lambda run: run.members)
        sizes = [run.members for run in mine]
        latency.plot(sizes, [run.median_ms for run in mine], "o-", label=label)
        cpu.plot(sizes, [run.cpu_us_per_delivery for run in mine], "o-", label=label)
    for axes in (latency, cpu):
        axes.set_xscale("log")
        axes.set_xticks(sizes, [str(size) for size in sizes])
        axes.set_xlabel("members in the room")
        axes.legend(fontsize=8)
    latency.set_yscale("log")
    latency.set_title("One message, until the last member has it (median)")
    latency.set_ylabel("milliseconds")
    cpu.set_title("CPU of the servers (and Redis) per delivery")
    cpu.set_ylabel("microseconds per message per member")
    cpu.set_ylim(bottom=0)
    png = io.BytesIO()
    figure.savefig(png, format="png", dpi=80)
    return Image(data=png.getvalue(), format="png")


def fanout_table(runs: list[tuple[str, FanOut]]):
    """Every run's numbers, one row each (measured values are marked: stored outputs mask them)."""
    import html

    from IPython.display import HTML

    def measured(value: str) -> str:
        return f'<span class="measured">{html.escape(value)}</span>'

    rows = "".join(
        f"<tr><td>{html.escape(label)}</td><td>{run.members}</td><td>{run.messages}</td>"
        f"<td>{measured(f'{run.median_ms:.1f} ms')}</td><td>{measured(f'{run.cpu_us_per_delivery:.1f} µs')}</td></tr>"
        for label, run in runs
    )
    head = "".join(f"<th>{name}</th>" for name in
                   ("servers", "members", "messages", "until the last member has it (median)", "CPU per delivery"))
    return HTML(f"<table><tr>{head}</tr>{rows}</table>")
