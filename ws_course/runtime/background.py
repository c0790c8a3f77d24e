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
from collections.abc import Callable
from typing import Any

from ..safety.guard import Guard
from ..safety.limits import MAX_BUFFER, SEND_BUFFER
from ..safety.logs import BoundedLog, OneLineTracebacks, QuietRepeats, ShortLines
from .registry import RUNNING, StopsOnExit, WaitsForLog
from .server import Demo, Library, PortInUseError, listen

__all__ = ["BackgroundServer", "PortInUseError", "start", "stop_all"]

#: Its kind in the registry (:mod:`ws_course.runtime.registry`).
KIND = "thread"


class _LogRouter(logging.Handler):
    """Send each log record of the ``ws_course`` loggers to the server whose thread wrote it.

    On its way, a record goes through that server's filters (:mod:`ws_course.safety.logs`):
    a client's malformed request becomes one line, a long message its first few
    hundred characters, a storm of identical records a few lines that count them;
    the log itself keeps the last :data:`~ws_course.safety.logs.LOG_LINES` lines,
    :data:`~ws_course.safety.logs.LOG_CHARS` characters at most.
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
_router_installed = False
_router_lock = threading.Lock()

#: Loggers that servers' threads use without being told which logger to use.
OTHER_LOGGERS = ("asyncio", "aiohttp.server", "aiohttp.web", "aiohttp.access", "aiohttp.internal", "aiohttp.websocket")


def _install_router() -> None:
    """Route server threads' log records to their servers (once, when the first server starts).

    Not on import: importing the course changes no logger.
    """
    global _router_installed
    with _router_lock:
        if _router_installed:
            return
        logging.getLogger("ws_course").addHandler(_router)
        if logging.getLogger("ws_course").level == logging.NOTSET:
            logging.getLogger("ws_course").setLevel(logging.INFO)
        for name in OTHER_LOGGERS:
            logging.getLogger(name).addFilter(_router.keep_from_server_threads)
        _router_installed = True


class BackgroundServer(StopsOnExit, WaitsForLog):
    """A course server running in a daemon thread with its own event loop.

    Don't create it directly: call :func:`start`.

    Attributes:
        name: The demo's name, e.g. ``"echo"``.
        host: The address the server listens on.
        port: The port it listens on (read back from the socket when you asked for 0).
        log: What the server did, one line a record, oldest first: a
            :class:`~ws_course.safety.logs.BoundedLog`, which reads like a list and keeps
            the last :data:`~ws_course.safety.logs.LOG_LINES` lines (1 MiB at most).
        guard: Its protections (:class:`~ws_course.safety.guard.Guard`): allowed origins
            and host names, member and buffer caps.
    """

    def __init__(self, name: str, demo: Demo, host: str, port: int, guard: Guard, options: dict[str, Any]):
        self.name = name
        self.demo = demo
        self.host = host
        self.port = port
        self.guard = guard
        self.log = BoundedLog()
        self._repeats = QuietRepeats()
        self.log_filters: tuple[logging.Filter, ...] = (OneLineTracebacks(), ShortLines(), self._repeats)
        self.socketio = demo.library is Library.SOCKETIO
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
            server = await listen(self.demo, self.host, self.port, guard=self.guard, **self._options)
        except BaseException as exc:  # handed to the thread that called start()
            self._error = exc
            self._ready.set()
            return
        self.port = server.port
        self._ready.set()
        try:
            await self._stop_requested.wait()
        finally:
            await server.aclose()
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
        RUNNING.forget(KIND, self.name, self)

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<{self.name} server, {state}: page {self.page_url} socket {self.ws_url}>"


def start(
    demo: Demo | Callable[..., Any],
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    name: str | None = None,
    timeout: float = 10,
    allow_origins: list[str] | tuple[str, ...] = (),
    allow_hosts: list[str] | tuple[str, ...] = (),
    behind_proxy: bool = False,
    max_clients: int | None = None,
    max_buffer: int = MAX_BUFFER,
    send_buffer: int | None = SEND_BUFFER,
    redis: str | None = None,
    **options: Any,
) -> BackgroundServer:
    """Start a demo (its :class:`~ws_course.runtime.server.Demo` record) or your own handler in the background.

    :func:`ws_course.start` is this function for a demo's name; its docstring says
    what each argument does.
    """
    if not isinstance(demo, Demo):
        if not callable(demo):
            raise TypeError(f"expected a demo's name or a connection handler, got {demo!r}")
        demo = Demo.of_handler(demo)
    guard = Guard(
        allow_origins=tuple(allow_origins), max_clients=max_clients, max_buffer=max_buffer,
        allow_hosts=tuple(allow_hosts), behind_proxy=behind_proxy,
        send_buffer=send_buffer,
    )
    if redis is not None:
        options["redis"] = redis
    _install_router()

    def start_server() -> BackgroundServer:
        server = BackgroundServer(name or demo.name, demo, host, port, guard, options)
        server._start(timeout)
        return server

    return RUNNING.replace(KIND, name or demo.name, start_server)


def stop_all() -> None:
    """Stop every server that :func:`start` started and that is still running."""
    RUNNING.stop_all(KIND)
