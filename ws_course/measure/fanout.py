"""Lesson 09b's experiment: a room's fan-out under load.

:func:`measure_fanout`: a room of N members (:class:`~ws_course.measure.lean_client.LeanClient`)
spread over one or more server processes; one member talks, one message at a
time; how long until the *last* member hears each message, and how much CPU the
servers (and Redis) spent per message delivered to one member. Its plots, table
and the sentences that read them are in :mod:`ws_course.measure.plots`.

The lesson runs it with :func:`measure_elsewhere`: in a process of its own
(``python -m ws_course.measure.fanout``), which prints what it measured as JSON
and exits. A thousand members, and the half a million "comes in" messages they
read while the room fills, then never live in the notebook's kernel, whose memory
stays what it was (Python rarely gives a process's memory back to the system).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import re
import statistics
import sys
import time

from ..safety.limits import raise_open_files_limit
from .lean_client import LeanClient, join, process_cpu_seconds

__all__ = ["ROOM_SIZES", "FanOut", "measure_elsewhere", "measure_fanout"]

#: The room sizes lesson 09b measures. A room of 1000 fills with half a million
#: "comes in" messages (the n-th newcomer is announced to n members), seconds of
#: CPU: the test that runs every notebook twice sets ``WS_COURSE_ROOM_SIZES=10,100``
#: to stay short (nbval runs the lesson once with all three).
ROOM_SIZES = tuple(int(size) for size in os.environ.get("WS_COURSE_ROOM_SIZES", "10,100,1000").split(","))


#: A message's stamp: ``talker:number:nanoseconds``, anywhere in what the room says.
STAMP = re.compile(rb"(\d+):(\d+):(\d{6,})")


#: :func:`measure_fanout` gives up when no message has reached the whole room for this long (seconds).
STALLED = 10


@dataclasses.dataclass
class FanOut:
    """What :func:`measure_fanout` measured for one room."""

    members: int
    processes: int
    messages: int
    latencies: list[float]  # seconds from sending each message until its last member had it
    cpu_seconds: float  # the servers' and Redis's CPU while the messages went round
    fill_seconds: float = 0.0  # from the first member's connection until every arrival had gone round

    @property
    def median_ms(self) -> float:
        return statistics.median(self.latencies) * 1000

    @property
    def cpu_us_per_delivery(self) -> float:
        return self.cpu_seconds / (self.messages * self.members) * 1e6

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> FanOut:
        return cls(**json.loads(text))


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
            in_the_room.add(client)  # the first a member hears is its own arrival: it is in the room
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

    in_the_room: set[LeanClient] = set()
    clients: list[LeanClient] = []
    filling = time.perf_counter()
    for first in range(0, members, 50):  # 50 at a time: a big room fills in seconds, not minutes
        clients += await asyncio.gather(
            *(join(ports[index % len(ports)], "ws", on_text) for index in range(first, min(first + 50, members)))
        )
    try:
        # Every member is in the room: its handshake is done before its server has its
        # nickname (from Redis, on a shared room), so it must have heard its own arrival.
        try:
            async with asyncio.timeout(STALLED):
                while len(in_the_room) < members:
                    await asyncio.sleep(0.05)
        except TimeoutError:
            raise TimeoutError(f"only {len(in_the_room)} of the {members} members got into the room "
                               f"in {STALLED} s (a server process stopped?)") from None
        # Every arrival has gone round (or, if a pair of arrivals crossed in Redis, none came for a second).
        last, quiet_since = -1, time.monotonic()
        while not all_in.is_set() and time.monotonic() - quiet_since < 1:
            if arrivals != last:
                last, quiet_since = arrivals, time.monotonic()
            await asyncio.sleep(0.05)
        filled = time.perf_counter() - filling
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
    return FanOut(members, len(ports), messages, latencies, cpu, filled)



async def measure_elsewhere(ports: list[int], pids: list[int], members: int, messages: int = 20) -> FanOut:
    """:func:`measure_fanout`, run by a process of its own: the members never live in this one.

    It runs ``python -m ws_course.measure.fanout`` with the same arguments, reads the
    JSON it prints, and waits for it to exit; what it wrote on stderr, if it failed,
    is in the :class:`RuntimeError`.
    """
    command = [sys.executable, "-m", __name__, "--ports", ",".join(map(str, ports)),
               "--pids", ",".join(map(str, pids)), "--members", str(members), "--messages", str(messages)]
    child = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await child.communicate()
    if child.returncode != 0:
        said = err.decode(errors="replace").strip().splitlines()
        raise RuntimeError(f"measuring a room of {members} failed: {said[-1] if said else child.returncode}")
    return FanOut.from_json(out.decode())


def main(argv: list[str] | None = None) -> None:
    """``python -m ws_course.measure.fanout --ports P1,P2 --pids ... --members N --messages M``: print a FanOut as JSON."""
    parser = argparse.ArgumentParser(prog="python -m ws_course.measure.fanout", description=main.__doc__)
    parser.add_argument("--ports", required=True, help="the servers' ports, comma-separated")
    parser.add_argument("--pids", required=True, help="the processes whose CPU counts, comma-separated")
    parser.add_argument("--members", type=int, required=True)
    parser.add_argument("--messages", type=int, default=20)
    arguments = parser.parse_args(argv)
    raise_open_files_limit()  # a member is a socket: a thousand of them pass a soft limit of 1024 with the rest
    measured = asyncio.run(measure_fanout([int(port) for port in arguments.ports.split(",")],
                                          [int(pid) for pid in arguments.pids.split(",")],
                                          arguments.members, arguments.messages))
    print(measured.to_json())


if __name__ == "__main__":
    main()
