"""Run a course server in a process of its own: ``ws-course serve`` in the background.

:func:`ws_course.start` runs a server in a thread of the notebook's own process.
That is enough for every lesson but one: lesson 09 shares a room between
*processes*, as a real deployment does (one process per core, or per machine,
behind a load balancer). Threads of one process would prove little: they share
memory, and could share a room without Redis at all. So :func:`start_process`
starts the command line, ``python -m ws_course serve DEMO --port 0 ...``, as a
separate process, and returns a handle much like :func:`ws_course.start`'s::

    >>> from ws_course.runtime.processes import start_process
    >>> server = start_process("chat", name="first", redis=redis.url)
    >>> server.ws_url, server.page_url, server.pid
    ('ws://127.0.0.1:40125/', 'http://127.0.0.1:40125/', 81234)
    >>> server.log[-1]                  # what it wrote to stderr, one line a record
    "joined the room 'chat' in Redis at redis://127.0.0.1:38117/0 (as server 5c1e0a9b)"
    >>> server.stop()                   # SIGTERM: its members get 1001, "going away"
    >>> server.kill()                   # or SIGKILL: it vanishes, as in a crash

As with :func:`ws_course.start`, starting a process under a name that is already
running (a notebook cell run twice) stops the old one first, and :func:`stop_all`
stops every one still running. They also stop when the Python that started them
ends, however it ends: at exit it stops them all (SIGTERM to each, at once), and on
Linux each one is also told by the kernel (``prctl(PR_SET_PDEATHSIG)``) to stop
when its parent dies, even by SIGKILL, as a kernel that will not shut down is
(:mod:`ws_course.runtime.child`). Their log goes to :attr:`ServerProcess.log`,
never to the notebook.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from ..safety.logs import BoundedLog
from .registry import RUNNING, StopsOnExit, WaitsForLog

__all__ = ["REDIS_PASSWORD", "ServerProcess", "password_from_environment", "start_process", "stop_all"]

#: Its kind in the registry (:mod:`ws_course.runtime.registry`).
KIND = "process"

#: Seconds a server process may take to say where it listens.
START_TIMEOUT = 20

#: The start of each line the command line logs: ``12:04:31 ws_course.chat: ``.
LOG_PREFIX = re.compile(r"^\d\d:\d\d:\d\d \S+: ")


class ServerProcess(StopsOnExit, WaitsForLog):
    """A ``ws-course serve`` process. Create it with :func:`start_process`.

    Attributes:
        name: What it runs under (a demo's name by default).
        port: The port it listens on.
        pid: Its process id.
        log: What it logged, one line a record, without time and logger name
            (a :class:`~ws_course.safety.logs.BoundedLog`).
    """

    def __init__(self, name: str, command: list[str], timeout: float = START_TIMEOUT,
                 environment: dict[str, str] | None = None) -> None:
        self.name = name
        self.log = BoundedLog()
        self.process = subprocess.Popen(
            ends_with_us(command), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, start_new_session=True,  # a Ctrl-C in the notebook's terminal is not for it
            env=None if environment is None else {**os.environ, **environment},
        )
        self.pid = self.process.pid
        self._reader = threading.Thread(target=self._read_log, name=f"ws-course-log-{name}", daemon=True)
        self._reader.start()
        self.port = self._read_port(timeout)

    def _read_port(self, timeout: float) -> int:
        """The port from its first line, "The chat server is running. Open http://HOST:PORT/ ..."."""
        first_line: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: first_line.put(self.process.stdout.readline()), daemon=True).start()
        try:
            line = first_line.get(timeout=timeout)
        except queue.Empty:
            self.process.kill()
            self._done()
            raise TimeoutError(
                f"the {self.name} server did not say where it listens within {timeout} s; "
                f"its log ends: {self.log[-5:]}"
            ) from None
        found = re.search(r"http://[^/]+:(\d+)/", line)
        if found is None:
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
            self._done()
            raise RuntimeError(f"the {self.name} server did not start: {line.strip() or ' '.join(self.log[-5:])}")
        return int(found[1])

    def _read_log(self) -> None:
        for line in self.process.stderr:
            self.log.append(LOG_PREFIX.sub("", line.rstrip("\n")))

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    @property
    def page_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 15) -> None:
        """Stop it as an operator would (SIGTERM), wait for it; SIGKILL if it does not go."""
        if self.running:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self._done()

    def kill(self) -> None:
        """Kill it (SIGKILL): it cannot say goodbye to anyone, as in a crash or a pulled plug."""
        if self.running:
            self.process.kill()
        self._done()

    def _done(self) -> None:
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:  # SIGTERM'd and never gone: no kernel should wait for ever
            self.process.kill()
            self.process.wait()
        self._reader.join(5)
        self.process.stdout.close()
        RUNNING.forget(KIND, self.name, self)

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<{self.name} server process {self.pid}, {state}: page {self.page_url}>"


def start_process(demo: str, *, name: str | None = None, redis: str | None = None, options: tuple[str, ...] = (),
                  timeout: float = START_TIMEOUT) -> ServerProcess:
    """Start ``python -m ws_course serve DEMO --port 0 --plain`` in a process of its own; return its handle.

    ``--plain``: the demo as the lessons show it, not the classroom's moderated room
    (whose rate limit would hold up lesson 09's measurement, one talker at full speed).

    ``redis``: the room is shared through that Redis (``--redis``; a password in
    the URL goes to the process in :data:`REDIS_PASSWORD`, not on its command line,
    which every user of the machine can read); ``options``: more
    options of ``ws-course serve`` (``("--max-clients", "30")``, ...). It must say
    where it listens within ``timeout`` seconds, or it is killed and
    :class:`TimeoutError` says what it logged.
    """
    command = [sys.executable, "-m", "ws_course", "serve", demo, "--port", "0", "--plain", *options]
    environment = None
    if redis is not None:
        url, password = without_password(redis)
        command += ["--redis", url]
        if password is not None:
            environment = {REDIS_PASSWORD: password}
    return RUNNING.replace(KIND, name or demo, lambda: ServerProcess(name or demo, command, timeout, environment),
                           at_exit=stop_all)


#: The environment variable a server reads Redis's password from when its ``--redis`` URL has none.
REDIS_PASSWORD = "WS_COURSE_REDIS_PASSWORD"


def without_password(url: str) -> tuple[str, str | None]:
    """``redis://USER:PASSWORD@HOST:PORT/DB`` -> (``redis://USER@HOST:PORT/DB``, ``PASSWORD``)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url, None
    user, host = parts.username or "", parts.netloc.rpartition("@")[2]
    netloc = f"{user}@{host}" if user else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment)), unquote(parts.password)


def password_from_environment(url: str) -> dict[str, str]:
    """``{"password": ...}`` from :data:`REDIS_PASSWORD` for a Redis URL that has none, for ``Redis.from_url``."""
    password = os.environ.get(REDIS_PASSWORD)
    return {"password": password} if password and urlsplit(url).password is None else {}


def stop_all(timeout: float = 3) -> None:
    """Stop every process that :func:`start_process` started and that is still running.

    All at once: SIGTERM to each, then wait for them together (a kernel shutting
    down has a few seconds, not a few seconds per process), then SIGKILL.
    """
    servers = RUNNING.running(KIND)
    for server in servers:
        if server.running:
            server.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for server in servers:
        try:
            server.process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            server.process.kill()
        server._done()


#: The program that makes a child end with us (:mod:`ws_course.runtime.child`).
CHILD = Path(__file__).with_name("child.py")


def ends_with_us(command: list[str]) -> list[str]:
    """``command``, run so that it ends when this process ends, however it ends (on Linux)."""
    return [sys.executable, "-I", str(CHILD), str(os.getpid()), *command]

