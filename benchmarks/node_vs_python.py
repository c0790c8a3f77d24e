#!/usr/bin/env python3
"""The course's servers against Node's, under one load generator: CPU per message, latency, memory.

    python3 benchmarks/node_vs_python.py                     every case, at full size
    python3 benchmarks/node_vs_python.py --quick             small (what the smoke test runs)
    python3 benchmarks/node_vs_python.py scream event-chat   some cases (see CASES)
    python3 benchmarks/node_vs_python.py --also-code DIR     also the ws_course of another checkout ("before")
    python3 benchmarks/node_vs_python.py --plot out.png      draw the figures too
    python3 benchmarks/node_vs_python.py --profile chat      py-spy's view of the course's chat under load

The servers (each in a process of its own, pinned to core 0 with ``taskset``; the
load generator runs on core 1):

- the article's, with Node.js: ``nodejs-websocket`` (scream, chat, JSON chat) and
  ``socket.io`` (the event chat), in ``benchmarks/node/`` and pinned by its
  ``package-lock.json`` (``python3 course.py install`` runs ``npm ci`` there);
- the ``ws`` library's chat and JSON chat, the usual yardstick for Node WebSocket servers;
- the course's, ``python -m ws_course serve DEMO`` (on uvloop when it is installed).

Each case measures, per server:

- **scream**: closed-loop clients, each sending a text and waiting for ``TEXT!!!``
  before the next; the CPU the server used per round trip, round trips per second,
  and their latency (p50, p99). The server logs each text, as the article's does.
- **chat, json-chat, event-chat**: a room of members, a few of whom talk (each
  sends its next message when it hears its previous one come back); CPU per
  *delivery* (one message to one member), deliveries per second, and the latency
  from sending to each member's receiving.
- **idle**: memory per connection: the server's resident memory after N idle
  members joined, less before, divided by N (in a server of its own).

The clients never offer compression (a raw handshake without
``Sec-WebSocket-Extensions``), so every server sends uncompressed frames. Socket.IO
clients speak Engine.IO 4 over a WebSocket directly, and answer pings.

Server CPU is read from ``/proc/PID/stat`` (user + system, every thread). Figures
depend on the machine and what else runs on it: run it on a quiet machine
(``uptime``), a few times (``--repeat``: the run with the least CPU is reported, since
interference only adds), and compare ratios within one run.
Linux only; Node.js must be on the PATH.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
NODE_DIR = HERE / "benchmarks" / "node"
VENV_PYTHON = HERE / ".venv" / "bin" / "python"
PYTHON = str(VENV_PYTHON) if VENV_PYTHON.exists() else sys.executable
CLOCK_TICK = os.sysconf("SC_CLK_TCK")

#: Cases and their servers: (label, kind, how to start it). Kinds: "ws" (plain WebSocket) or "sio".
CASES = {
    "scream": [("nodejs-websocket", "ws", ["scream.js"]), ("ws-course", "ws", "scream")],
    "chat": [("ws", "ws", ["ws_chat.js"]), ("nodejs-websocket", "ws", ["article_chat.js"]), ("ws-course", "ws", "chat")],
    "json-chat": [
        ("ws", "ws", ["ws_chat.js", "--json"]), ("nodejs-websocket", "ws", ["article_chat.js", "--json"]),
        ("ws-course", "ws", "json-chat"),
    ],
    "event-chat": [("socket.io", "sio", ["socketio_chat.js"]), ("ws-course", "sio", "event-chat")],
    "idle": [("ws", "ws", ["ws_chat.js"]), ("ws-course", "ws", "chat"),
             ("nodejs-websocket scream", "ws", ["scream.js"]), ("ws-course scream", "ws", "scream"),
             ("socket.io", "sio", ["socketio_chat.js"]), ("ws-course event-chat", "sio", "event-chat")],
}

#: What each case compares the course's server with, and the issue's goal for the ratio.
GOALS = {"scream": ("nodejs-websocket", 1.0), "chat": ("ws", 0.9), "json-chat": ("ws", 0.9),
         "event-chat": ("socket.io", 1.5)}

#: The issue's goal for idle memory, KiB per connection.
IDLE_GOAL_KIB = 10

FULL = dict(members=100, talkers=4, seconds=5.0, clients=20, idle=1000, settle=0.5)
QUICK = dict(members=6, talkers=2, seconds=0.3, clients=2, idle=20, settle=0.1)

STAMP = re.compile(rb"(\d+):(\d+):(\d{6,})")


# -- the servers --------------------------------------------------------------------------


class ServerUnderTest:
    """One server in a process of its own, on core 0, its output in a file."""

    def __init__(self, label: str, kind: str, how: list[str] | str, code: Path, cpu: int | None,
                 options: tuple[str, ...] = ()) -> None:
        self.label, self.kind = label, kind
        self.output = tempfile.NamedTemporaryFile(prefix="bench-server-", suffix=".log")
        if isinstance(how, str):  # a course demo
            # The article's room against the article's room: not the classroom's moderated one
            # (its rate limit and its line per message). Older checkouts have no --plain, and no moderation.
            plain = ["--plain"] if "--plain" in (code / "ws_course" / "cli.py").read_text() else []
            command = [PYTHON, "-m", "ws_course", "serve", how, "--port", "0", *plain, *options]
            env = {**os.environ, "PYTHONPATH": str(code)}
            cwd = code
        else:
            node = shutil.which("node")
            if node is None:
                sys.exit("Node.js was not found on the PATH: install it (https://nodejs.org/, or apt-get install nodejs)")
            if not (NODE_DIR / "node_modules").is_dir():
                sys.exit(f"no {NODE_DIR / 'node_modules'}: run 'python3 course.py install' (or npm ci in {NODE_DIR})")
            command, env, cwd = [node, *how[:1], "0", *how[1:]], dict(os.environ), NODE_DIR
        if cpu is not None and shutil.which("taskset"):
            command = ["taskset", "-c", str(cpu), *command]
        self.process = subprocess.Popen(
            command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=self.output, stderr=subprocess.STDOUT
        )
        self.port = self._wait_for_port()

    def _wait_for_port(self, timeout: float = 20) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = Path(self.output.name).read_text(errors="replace")
            found = re.search(r"listening (\d+)|http://127\.0\.0\.1:(\d+)/", text)
            if found:
                return int(found[1] or found[2])
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{self.label} did not start: {Path(self.output.name).read_text()[-2000:]}")

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        self.system_seconds = int(fields[12]) / CLOCK_TICK
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICK  # utime + stime

    def rss_kib(self) -> int:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)[1])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.output.close()


# -- the clients: ws_course.measure.lean_client.LeanClient (no compression, minimal frames, Engine.IO 4) ------

sys.path.insert(0, str(HERE))
from ws_course.measure.fanout import LeanClient as Client  # noqa: E402
from ws_course.measure.fanout import join  # noqa: E402


# -- the measurements -------------------------------------------------------------------------


@dataclasses.dataclass
class Result:
    case: str
    server: str
    messages: int = 0  # round trips (scream) or deliveries (rooms)
    seconds: float = 0.0
    cpu: float = 0.0
    latencies: list[float] = dataclasses.field(default_factory=list)
    idle_kib: float | None = None
    system: float = 0.0  # of which in the kernel (system calls, and on loopback the receiver's TCP work)

    @property
    def cpu_us(self) -> float:
        return self.cpu / self.messages * 1e6 if self.messages else float("nan")

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000


async def scream(server: ServerUnderTest, size: dict) -> Result:
    result = Result("scream", server.label)
    done = asyncio.Event()
    deadline = 0.0

    def on_text(client: Client, payload: bytes) -> None:
        stamp = STAMP.search(payload)
        now = time.perf_counter_ns()
        if stamp:
            result.latencies.append((now - int(stamp[3])) / 1e9)
            result.messages += 1
        if time.monotonic() < deadline:
            client.say(f"0:{result.messages}:{time.perf_counter_ns()}")
        else:
            client.finished = True
            if all(getattr(c, "finished", False) for c in clients):
                done.set()

    clients = [await join(server.port, server.kind, on_text) for _ in range(size["clients"])]
    await asyncio.sleep(size["settle"] / 2)
    cpu, start = server.cpu_seconds(), time.monotonic()
    deadline = start + size["seconds"]
    for client in clients:
        client.say(f"0:0:{time.perf_counter_ns()}")
    async with asyncio.timeout(size["seconds"] + 20):
        await done.wait()
    system = server.system_seconds
    result.seconds, result.cpu = time.monotonic() - start, server.cpu_seconds() - cpu
    result.system = server.system_seconds - system
    for client in clients:
        client.transport.close()
    return result


async def room(case: str, server: ServerUnderTest, size: dict) -> Result:
    """A room of ``members``; ``talkers`` of them each keep one message in flight for ``seconds``."""
    result = Result(case, server.label)
    done = asyncio.Event()
    deadline = 0.0
    outstanding = sent = 0

    def on_text(client: Client, payload: bytes) -> None:
        nonlocal outstanding, sent
        stamp = STAMP.search(payload)
        if stamp is None:
            return  # an arrival or a departure
        result.latencies.append((time.perf_counter_ns() - int(stamp[3])) / 1e9)
        result.messages += 1
        if client.talker == int(stamp[1]):  # its own message came back: the next one
            if time.monotonic() < deadline:
                client.say(f"{client.talker}:{int(stamp[2]) + 1}:{time.perf_counter_ns()}")
                sent += 1
            else:
                outstanding -= 1
        if outstanding == 0 and result.messages == sent * size["members"]:
            done.set()  # every message has reached every member

    members = []
    for number in range(size["members"]):
        member = await join(server.port, server.kind, on_text)
        member.talker = number + 1 if number < size["talkers"] else 0
        members.append(member)
    await asyncio.sleep(size["settle"])  # the arrivals have been heard
    cpu, start = server.cpu_seconds(), time.monotonic()
    deadline = start + size["seconds"]
    outstanding = sent = size["talkers"]
    for member in members[: size["talkers"]]:
        member.say(f"{member.talker}:0:{time.perf_counter_ns()}")
    try:
        async with asyncio.timeout(size["seconds"] + 20):
            await done.wait()
    except TimeoutError:
        pass  # a message lost (it should not be): report what was measured
    system = server.system_seconds
    result.seconds, result.cpu = time.monotonic() - start, server.cpu_seconds() - cpu
    result.system = server.system_seconds - system
    for member in members:
        member.transport.close()
    return result


async def idle(server: ServerUnderTest, size: dict) -> Result:
    result = Result("idle", server.label)
    await asyncio.sleep(size["settle"])
    before = server.rss_kib()
    members = []
    for _ in range(size["idle"]):
        members.append(await join(server.port, server.kind))
    await asyncio.sleep(2 * size["settle"])
    result.idle_kib = (server.rss_kib() - before) / size["idle"]
    for member in members:
        member.transport.close()
    return result


async def measure(case: str, label: str, kind: str, how, code: Path, size: dict, pin: bool,
                  options: tuple[str, ...] = ()) -> Result:
    server = ServerUnderTest(label, kind, how, code, 0 if pin else None, options)
    try:
        if case == "scream":
            return await scream(server, size)
        if case == "idle":
            return await idle(server, size)
        return await room(case, server, size)
    finally:
        server.stop()


# -- the report ---------------------------------------------------------------------------------


def table(results: list[Result]) -> list[str]:
    lines = [f"{'case':<11} {'server':<28} {'CPU us/msg':>10} {'ratio':>6} {'p50 ms':>7} {'p99 ms':>7} "
             f"{'msgs/s':>8} {'idle KiB':>8} {'kernel':>6}"]
    for result in results:
        reference = GOALS.get(result.case, (None,))[0]
        ref = next((r for r in results if r.case == result.case and r.server == reference), None)
        ratio = result.cpu_us / ref.cpu_us if ref and ref.messages and result.messages else float("nan")
        idle = f"{result.idle_kib:8.1f}" if result.idle_kib is not None else f"{'':>8}"
        if result.case == "idle":
            lines.append(f"{result.case:<11} {result.server:<28} {'':>10} {'':>6} {'':>7} {'':>7} {'':>8} {idle}")
            continue
        lines.append(
            f"{result.case:<11} {result.server:<28} {result.cpu_us:10.1f} {ratio:6.2f} {result.percentile(50):7.2f} "
            f"{result.percentile(99):7.2f} {result.rate:8.0f} {idle} {result.system / result.cpu if result.cpu else 0:6.0%}"
        )
    return lines


def goals(results: list[Result]) -> list[str]:
    lines = []
    for case, (reference, goal) in GOALS.items():
        ours = [r for r in results if r.case == case and r.server.startswith("ws-course") and r.messages]
        ref = next((r for r in results if r.case == case and r.server == reference and r.messages), None)
        for result in ours:
            if ref:
                ratio = result.cpu_us / ref.cpu_us
                lines.append(f"goal {case}: {result.server} {ratio:.2f}x {reference} per message "
                             f"(goal <= {goal}): {'met' if ratio <= goal else 'NOT met'}")
    for result in results:
        if result.case == "idle" and result.server.startswith("ws-course"):
            ok = result.idle_kib <= IDLE_GOAL_KIB
            lines.append(f"goal idle: {result.server} {result.idle_kib:.1f} KiB per connection "
                         f"(goal <= {IDLE_GOAL_KIB}): {'met' if ok else 'NOT met'}")
    return lines


def plot(results: list[Result], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cases = [case for case in CASES if case != "idle" and any(r.case == case for r in results)]
    figure, axes = plt.subplots(1, 3 + (1 if any(r.case == "idle" for r in results) else 0), figsize=(17, 4.5))
    for axis, (title, value) in zip(axes, [("server CPU per message (µs)", lambda r: r.cpu_us),
                                           ("latency p99 (ms)", lambda r: r.percentile(99)),
                                           ("messages per second", lambda r: r.rate)]):
        labels, heights = [], []
        for case in cases:
            for result in (r for r in results if r.case == case):
                labels.append(f"{case}\n{result.server}")
                heights.append(value(result))
        colours = ["tab:orange" if "ws-course" in label else "tab:blue" for label in labels]
        axis.barh(labels, heights, color=colours)
        axis.invert_yaxis()
        axis.set_title(title)
        axis.tick_params(axis="y", labelsize=7)
    idle_results = [r for r in results if r.case == "idle"]
    if idle_results:
        axis = axes[-1]
        axis.barh([r.server for r in idle_results], [r.idle_kib for r in idle_results],
                  color=["tab:orange" if "ws-course" in r.server else "tab:blue" for r in idle_results])
        axis.axvline(IDLE_GOAL_KIB, color="grey", linestyle="--")
        axis.invert_yaxis()
        axis.set_title("idle memory per connection (KiB)")
    figure.suptitle("Node.js (blue) and ws-course (orange) under the same load")
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def profile(case: str, size: dict, seconds: float, output: Path) -> None:
    """Run py-spy on the course's server for ``case`` under load; write its flat profile to ``output``."""
    py_spy = shutil.which("py-spy") or str(Path(PYTHON).parent / "py-spy")
    label, kind, how = next(entry for entry in CASES[case] if isinstance(entry[2], str))
    size = {**size, "seconds": seconds}

    async def run() -> None:
        server = ServerUnderTest(label, kind, how, HERE, 0)
        spy = subprocess.Popen([py_spy, "record", "--pid", str(server.process.pid), "--format", "raw", "--output",
                                str(output), "--duration", str(int(seconds) + 2), "--rate", "500", "--nonblocking"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            await (scream(server, size) if case == "scream" else room(case, server, size))
        finally:
            spy.wait()
            server.stop()

    asyncio.run(run())


def summarize_profile(output: Path, top: int = 15) -> str:
    """py-spy's stacks, summed: the share of samples in each function (with what it calls), and in it alone."""
    inclusive: dict[str, int] = {}
    own: dict[str, int] = {}
    total = 0
    for line in output.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = [re.sub(r" \((?:.*/)?((?:ws_course|websockets|socketio|engineio|asyncio|logging)?/?[^/]+\.py):\d+\)", r" (\1)",
                         frame) for frame in stack.split(";")]
        samples = int(count)
        total += samples
        for frame in set(frames):
            inclusive[frame] = inclusive.get(frame, 0) + samples
        own[frames[-1]] = own.get(frames[-1], 0) + samples
    lines = [f"{total} samples of the server's Python (py-spy); time in C code without Python frames, such as "
             "uvloop's and the kernel's, is not sampled."]
    for title, table_ in (("with what it calls", inclusive), ("in itself", own)):
        lines.append(f"\n% of samples, {title}:")
        for frame, samples in sorted(table_.items(), key=lambda item: -item[1])[:top]:
            lines.append(f"{100 * samples / total:5.1f}  {frame}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("cases", nargs="*", help=f"cases to run: {', '.join(CASES)} (default: all)")
    parser.add_argument("--quick", action="store_true", help="a tiny load (the smoke test)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run each server this many times; report the run with the least CPU per message "
                        "(what else runs on the machine only ever adds to it)")
    parser.add_argument("--also-code", type=Path, metavar="DIR", help="also measure the ws_course of this checkout")
    parser.add_argument("--no-pin", action="store_true", help="do not pin the server and the load generator to cores")
    parser.add_argument("--plot", type=Path, metavar="PNG", help="draw the results into this file")
    parser.add_argument("--profile", metavar="CASE", help="profile the course's server for CASE with py-spy instead")
    parser.add_argument("--serve-options", default="", metavar="OPTIONS",
                        help="more options for this checkout's ws-course serve, e.g. '--loop asyncio'")
    args = parser.parse_args()
    size = QUICK if args.quick else FULL
    unknown = set(args.cases) - set(CASES)
    if unknown:
        parser.error(f"no case {', '.join(sorted(unknown))}; the cases are: {', '.join(CASES)}")
    if args.profile:
        output = Path(tempfile.gettempdir()) / f"py-spy-{args.profile}.txt"
        profile(args.profile, size, 5.0, output)
        print(summarize_profile(output))
        print(output)
        return 0
    pin = not args.no_pin and len(os.sched_getaffinity(0)) > 1
    if pin:
        os.sched_setaffinity(0, {1})  # the load generator: core 1; the servers: core 0
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    codes = [("", HERE)] + ([(f" ({args.also_code.name})", args.also_code.resolve())] if args.also_code else [])
    results: list[Result] = []
    for case in args.cases or list(CASES):
        for label, kind, how in CASES[case]:
            for suffix, code in codes if isinstance(how, str) else [("", HERE)]:
                options = tuple(args.serve_options.split()) if code == HERE else ()
                runs = [asyncio.run(measure(case, label + suffix, kind, how, code, size, pin, options))
                        for _ in range(args.repeat)]
                runs.sort(key=lambda r: r.cpu_us if r.messages else (r.idle_kib or 0))
                results.append(runs[0])
                print(table([results[-1]])[1], file=sys.stderr, flush=True)
    print(f"load average: {os.getloadavg()[0]:.2f}; pinned: {pin}; sizes: {size}", file=sys.stderr)
    print("\n".join(table(results)))
    print("\n".join(goals(results)))
    if args.plot:
        plot(results, args.plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
