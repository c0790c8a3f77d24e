"""Run a course server in the background, from a notebook, a test or a script.

Every demo server is an :mod:`asyncio` program. A notebook already runs an event
loop (the kernel's), so why not run the server there? Because the kernel's loop
only serves while no cell is running: one ``time.sleep(5)`` in a cell and every
client of that server times out. So :func:`start` gives each server a daemon
thread with an event loop of its own. The server then keeps answering whatever
the notebook does, and the same code works unchanged in pytest and in scripts::

    >>> from ws_course import start
    >>> server = start("echo")          # binds 127.0.0.1 on a free port
    >>> server.ws_url
    'ws://127.0.0.1:43117/'
    >>> server.stop()

A handle is also a context manager (``with start("scream") as server: ...``).

Starting a demo that is already running replaces the old server, so re-running a
notebook cell never fails with "address already in use" and never leaks a thread.

Servers never print from their thread (output from a background thread lands in
whichever notebook cell happens to be running). What they log is kept in
:attr:`BackgroundServer.log` instead.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from . import demos
from .demos import PortInUseError
from .guard import Guard
from .limits import MAX_BUFFER
from .logs import BoundedLog, OneLineTracebacks, QuietRepeats

__all__ = ["BackgroundServer", "PortInUseError", "start", "stop_all"]

#: Servers started by :func:`start`, by name: a new start of the same name replaces the old one.
_running: dict[str, BackgroundServer] = {}
_running_lock = threading.Lock()


class _LogRouter(logging.Handler):
    """Send each log record of the ``ws_course`` loggers to the server whose thread wrote it.

    On its way, a record goes through that server's filters (:mod:`ws_course.logs`):
    a client's malformed request becomes one line, a storm of identical records a
    few lines that count them; the log itself keeps the last
    :data:`~ws_course.logs.LOG_LINES` lines.
    """

    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.setFormatter(logging.Formatter("%(message)s"))
        self.logs: dict[int, BackgroundServer] = {}

    def emit(self, record: logging.LogRecord) -> None:
        server = self.logs.get(record.thread)  # type: ignore[arg-type]
        if server is not None and self._passes(server, record):
            server.log.append(self.format(record))

    def keep_from_server_threads(self, record: logging.LogRecord) -> bool:
        """A filter for other libraries' loggers: what a server's thread logs goes to its log only.

        Without it, an error that aiohttp or asyncio logs in a server's thread
        (a malformed HTTP request, say) would be printed into whichever notebook
        cell happens to be running.
        """
        server = self.logs.get(record.thread)  # type: ignore[arg-type]
        if server is None:
            return True
        if self._passes(server, record):
            server.log.append(f"{record.name}: {self.format(record)}")
        return False

    @staticmethod
    def _passes(server: BackgroundServer, record: logging.LogRecord) -> bool:
        return all(log_filter.filter(record) for log_filter in server.log_filters)


_router = _LogRouter()
logging.getLogger("ws_course").addHandler(_router)
logging.getLogger("ws_course").setLevel(logging.INFO)
#: Loggers that servers' threads use without being told which logger to use.
for _name in ("asyncio", "aiohttp.server", "aiohttp.web", "aiohttp.access", "aiohttp.internal", "aiohttp.websocket"):
    logging.getLogger(_name).addFilter(_router.keep_from_server_threads)


class BackgroundServer:
    """A course server running in a daemon thread with its own event loop.

    Don't create it directly: call :func:`start`.

    Attributes:
        name: The demo's name, e.g. ``"echo"``.
        host: The address the server listens on.
        port: The port it listens on (read back from the socket when you asked for 0).
        log: What the server did, one line a record, oldest first: a
            :class:`~ws_course.logs.BoundedLog`, which reads like a list and keeps
            the last :data:`~ws_course.logs.LOG_LINES` lines.
        guard: Its protections (:class:`~ws_course.guard.Guard`): allowed origins,
            member and buffer caps.
    """

    def __init__(
        self, name: str, open_server: Callable[..., Any], host: str, port: int, guard: Guard, options: dict[str, Any]
    ):
        self.name = name
        self.host = host
        self.port = port
        self.guard = guard
        self.log = BoundedLog()
        self._repeats = QuietRepeats()
        self.log_filters: tuple[logging.Filter, ...] = (OneLineTracebacks(), self._repeats)
        self.socketio = False  # True for the Socket.IO demos, once started
        self._open_server = open_server
        self._options = options
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_requested: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name=f"ws-course-{name}", daemon=True)

    # -- URLs -------------------------------------------------------------

    @property
    def ws_url(self) -> str:
        """The address a WebSocket client connects to.

        For the Socket.IO demos, that is the raw WebSocket endpoint under the
        Socket.IO protocol; Socket.IO clients connect to :attr:`page_url`.
        """
        if self.socketio:
            return f"ws://{self._url_host}:{self.port}/socket.io/?EIO=4&transport=websocket"
        return f"ws://{self._url_host}:{self.port}/"

    @property
    def page_url(self) -> str:
        """The address of the demo's browser page, served on the same port."""
        return f"http://{self._url_host}:{self.port}/"

    @property
    def _url_host(self) -> str:
        # A server bound to every interface is reachable on loopback from here.
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        return f"[{host}]" if ":" in host else host

    @property
    def running(self) -> bool:
        """True until :meth:`stop` has finished."""
        return self._thread.is_alive()

    # -- life cycle -------------------------------------------------------

    def _start(self, timeout: float) -> None:
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError(f"the {self.name} server did not start within {timeout} s")
        if self._error is not None:
            self._thread.join()
            raise self._error

    def _run(self) -> None:
        # Whatever this thread logs under "ws_course" goes to this server's log.
        _router.logs[threading.get_ident()] = self
        try:
            asyncio.run(self._serve())
        finally:
            _router.logs.pop(threading.get_ident(), None)

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop_requested = asyncio.Event()
        try:
            server = await demos.listen(
                self.name, self._open_server, self.host, self.port, guard=self.guard, **self._options
            )
        except BaseException as exc:  # handed to the thread that called start()
            self._error = exc
            self._ready.set()
            return
        self.port = demos.bound_port(server)
        self.socketio = demos.uses_socketio(self._open_server)
        self._ready.set()
        try:
            await self._stop_requested.wait()
        finally:
            await demos.close(server)
            self._repeats.flush(logging.getLogger(f"ws_course.{self.name}"))

    def stop(self, timeout: float = 15) -> None:
        """Stop the server: close its connections (code 1001, going away) and end its thread.

        Calling it again does nothing.
        """
        loop, stop_requested = self._loop, self._stop_requested
        if self._thread.is_alive() and loop is not None and stop_requested is not None:
            try:
                loop.call_soon_threadsafe(stop_requested.set)
            except RuntimeError:
                pass  # the loop closed in between: the thread is ending anyway
        if self._thread.ident is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise TimeoutError(f"the {self.name} server did not stop within {timeout} s")
        with _running_lock:
            if _running.get(self.name) is self:
                del _running[self.name]

    async def wait_for_log(self, text: str, timeout: float = 5) -> str:
        """Wait until a line of the log contains ``text``, and return that line.

        The server writes its log from its own thread, at its own pace: a line
        about a connection's end, say, can come just after the client saw the end.
        This is a coroutine (``await server.wait_for_log(...)``) so that clients on
        the caller's event loop, a notebook's widgets say, keep running meanwhile.
        """
        deadline = time.monotonic() + timeout
        while True:
            for line in list(self.log):
                if text in line:
                    return line
            if time.monotonic() > deadline:
                raise TimeoutError(f"no log line with {text!r} within {timeout} s; the log ends: {self.log[-20:]}")
            await asyncio.sleep(0.01)

    def __enter__(self) -> BackgroundServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<{self.name} server, {state}: page {self.page_url} socket {self.ws_url}>"


def start(
    demo: str | Callable[..., Any],
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    name: str | None = None,
    timeout: float = 10,
    allow_origins: list[str] | tuple[str, ...] = (),
    max_clients: int | None = None,
    max_buffer: int = MAX_BUFFER,
    redis: str | None = None,
    **options: Any,
) -> BackgroundServer:
    """Start a course server in the background and return its handle.

    Args:
        demo: A demo's name (``"echo"``, ``"scream"``, ... see :data:`ws_course.demos.NAMES`),
            or your own connection handler, ``async def handler(websocket): ...``,
            which is then served with :func:`websockets.asyncio.server.serve`.
        host: Address to listen on. The default, 127.0.0.1, is reachable from this
            machine only; ``"0.0.0.0"`` lets other machines on the network in.
        port: Port to listen on. The default, 0, asks the system for a free port.
        name: The name the server runs under; it defaults to the demo's name.
        allow_origins: Web pages from these origins may connect too (for example
            ``["http://192.168.1.10:8888"]``), besides the server's own page, pages
            opened from disk, and clients that are not browsers.
            See :mod:`ws_course.origins`.
        max_clients: At most this many members; the next get HTTP 503. The
            default is what the process's open-files limit leaves room for.
        max_buffer: A member whose unsent data passes this many bytes is
            disconnected (default :data:`~ws_course.limits.MAX_BUFFER`, 1 MiB).
            See :mod:`ws_course.limits`.
        redis: For the chat rooms (``"chat"``, ``"json_chat"``, ``"event_chat"``): a
            Redis address, ``"redis://HOST:PORT/DB"``. Every server started with
            the same address, in this process or another, serves the same room
            (lesson 09; :mod:`ws_course.redis_room`).
        options: More options for the server's library, for example
            ``ping_interval=1`` (websockets and python-socketio both have it).

    If a server of the same name is running (a notebook cell run twice), it is
    stopped first. A port that is taken raises :class:`PortInUseError`.
    """
    demo_name, open_server = demos.resolve(demo)
    name = name or demo_name
    with _running_lock:
        old = _running.pop(name, None)
    if old is not None:
        old.stop()
    guard = Guard(allow_origins=tuple(allow_origins), max_clients=max_clients, max_buffer=max_buffer)
    if redis is not None:
        options["redis"] = redis
    server = BackgroundServer(name, open_server, host, port, guard, options)
    server._start(timeout)
    with _running_lock:
        _running[name] = server
    return server


def stop_all() -> None:
    """Stop every server that :func:`start` started and that is still running."""
    with _running_lock:
        servers = list(_running.values())
    for server in servers:
        server.stop()
