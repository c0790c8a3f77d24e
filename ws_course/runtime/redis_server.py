"""A private Redis for a lesson or a test: ``redis-server`` on a free loopback port.

Lesson 09 shares one chat room between several server processes, and they meet
in Redis. You need not install or configure a Redis for it: :func:`start_redis`
starts one of your own, the way :func:`ws_course.start` starts a demo server::

    >>> from ws_course.runtime.redis_server import start_redis
    >>> redis = start_redis()            # 127.0.0.1, a free port, a password, files in a temporary folder
    >>> redis.url                        # what clients connect to: the password is in it
    'redis://:Xq2...@127.0.0.1:40123/0'
    >>> redis.shown_url                  # what you may show: the password is not
    'redis://:***@127.0.0.1:40123/0'
    >>> redis.stop()                     # SIGTERM to its process id; its folder is removed

- It listens on ``127.0.0.1`` only, on a port nobody else uses, with
  ``protected-mode`` on: nothing outside this machine can reach it.
- It asks for a password, a random one unless you give yours (``password="..."``;
  ``password=False`` for none): other users of the same machine (a shared
  JupyterHub server, say) reach ``127.0.0.1`` too. The password is in its
  configuration file, in its private folder, not on its command line, which every
  user can read with ``ps``. ``user="NAME"`` makes it a Redis *user* (an ACL) that may
  only touch the course's keys and channels, ``ws-course:*``, and turns the default user off.
- It keeps nothing on disk (``--save ""``, ``--appendonly no``): stopped, it
  forgets everything, which is what a crashed Redis without persistence does.
  Its log and working folder are in a temporary folder, removed by :meth:`RedisServer.stop`.
- :meth:`RedisServer.stop` and :meth:`RedisServer.start` stop it and bring it back
  on the *same* port: that is how lesson 09 and the tests cut the processes off
  from each other, and let them meet again.
- Starting a Redis under a name already running (a notebook cell run twice)
  stops the old one first; :func:`stop_all` stops every one still running, and
  runs at exit. On Linux, a Redis also stops when the process that started it dies,
  however it dies (see :mod:`ws_course.runtime.child`).

The ``redis-server`` program comes from your system, not from pip:
``apt-get install redis-server`` on Debian or Ubuntu, ``conda install -c conda-forge redis``
with conda (``environment.yml`` lists it), ``brew install redis`` on macOS.
``python3 course.py test`` installs Debian's when it can.
"""

from __future__ import annotations

import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

from .processes import ends_with_us
from .registry import RUNNING, StopsOnExit

__all__ = ["RedisNotInstalled", "RedisServer", "start_redis", "stop_all"]

#: What to install when ``redis-server`` is missing.
INSTALL_HINT = (
    "redis-server was not found on the PATH. Install it, then run this again:\n"
    "  - Debian or Ubuntu:  apt-get install redis-server\n"
    "  - conda:             conda install -c conda-forge redis   (environment.yml lists it)\n"
    "  - macOS:             brew install redis\n"
    "(python3 course.py test installs Debian's package when it runs as root.)"
)

#: Its kind in the registry (:mod:`ws_course.runtime.registry`).
KIND = "redis"


class RedisNotInstalled(FileNotFoundError):
    """There is no ``redis-server`` program on this machine."""


class RedisServer(StopsOnExit):
    """A ``redis-server`` process of our own. Create it with :func:`start_redis`.

    Attributes:
        port: The port it listens on (kept across :meth:`stop` and :meth:`start`).
        url: The address clients connect to, ``redis://:PASSWORD@127.0.0.1:PORT/0``
            (``redis://USER:PASSWORD@...`` with a user, ``redis://127.0.0.1:PORT/0`` without a password).
        shown_url: :attr:`url` with ``***`` for the password: what a log or a screen may show.
        password: The password it asks for, or None.
        user: The Redis user clients log in as, or None (the default user).
        folder: Its working folder and log (``redis.log``), removed when it stops.
        pid: Its process id while it runs, else ``None``.
    """

    def __init__(self, name: str = "redis", password: str | None = None, user: str | None = None) -> None:
        if user is not None and not password:
            raise ValueError("a Redis user needs a password")
        self.name, self.password, self.user = name, password or None, user
        self.program = shutil.which("redis-server")
        if self.program is None:
            raise RedisNotInstalled(INSTALL_HINT)
        self.port = 0
        self.folder: Path | None = None
        self._process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        if self.password is None:
            return f"redis://127.0.0.1:{self.port}/0"
        return f"redis://{quote(self.user or '', safe='')}:{quote(self.password, safe='')}@127.0.0.1:{self.port}/0"

    @property
    def shown_url(self) -> str:
        return self.url if self.password is None else self.url.replace(quote(self.password, safe=""), "***")

    @property
    def pid(self) -> int | None:
        return self._process.pid if self.running else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, timeout: float = 10) -> RedisServer:
        """Start it (again): on a free port the first time, on the same port afterwards."""
        if self.running:
            return self
        self.folder = Path(tempfile.mkdtemp(prefix="ws-course-redis-"))  # only we can read it
        configuration = self.folder / "redis.conf"
        configuration.write_text(self._configuration())
        for attempt in range(5):
            port = self.port or _free_port()
            self._process = subprocess.Popen(
                ends_with_us([
                    self.program, str(configuration),
                    "--port", str(port), "--bind", "127.0.0.1", "--protected-mode", "yes",
                    "--save", "", "--appendonly", "no", "--dir", str(self.folder),
                    "--logfile", str(self.folder / "redis.log"), "--daemonize", "no",
                ]),  # it ends with us, even if we are killed
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            if _wait_until_it_answers(port, self._process, timeout, self._login()):
                self.port = port
                RUNNING.keep(KIND, self.name, self)  # started again after a stop(): stop_all() stops it too
                return self
            self._process.wait()
            if self.port:  # our own port is taken now: say so rather than move the room elsewhere
                break
        raise RuntimeError(f"redis-server did not start on 127.0.0.1:{port}; its log says:\n{self.log()[-2000:]}")

    def _configuration(self) -> str:
        """Its password (and user), in a file only we can read."""
        if self.password is None:
            return ""
        if self.user is None:
            return f'requirepass "{_escaped(self.password)}"\n'
        return (
            "user default off\n"
            f'user "{_escaped(self.user)}" on ">{_escaped(self.password)}" '
            "~ws-course:* &ws-course:* +@all -@dangerous\n"
        )

    def _login(self) -> list[str]:
        """The AUTH command for its password, if it has one."""
        if self.password is None:
            return []
        return ["AUTH", *([self.user] if self.user else []), self.password]

    def stop(self, timeout: float = 10) -> None:
        """Stop it (SIGTERM to its process id, SIGKILL if it does not go), and remove its folder."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None
        RUNNING.forget(KIND, self.name, self)

    def log(self) -> str:
        """What ``redis-server`` wrote to its log file ("" once it stopped)."""
        try:
            return (self.folder / "redis.log").read_text(errors="replace") if self.folder else ""
        except OSError:
            return ""

    def __repr__(self) -> str:
        return f"<redis-server {'running' if self.running else 'stopped'} at {self.shown_url}, pid {self.pid}>"


def start_redis(name: str = "redis", timeout: float = 10, *, password: str | bool = True,
                user: str | None = None) -> RedisServer:
    """Start a private ``redis-server`` on a free loopback port and return its handle.

    ``password``: True (the default) for a random one, a text for that one, False
    for none; ``user``: a Redis user that may only touch ``ws-course:*``, instead
    of the default user. A Redis already running under ``name`` (a notebook cell
    run twice) is stopped first. Raises :class:`RedisNotInstalled`, which says what
    to install, when there is no ``redis-server``.
    """
    if password is True:
        password = secrets.token_urlsafe(16)
    # at_exit: a kernel that ends takes its Redis with it.
    return RUNNING.replace(KIND, name, lambda: RedisServer(name, password or None, user).start(timeout),
                           at_exit=stop_all)


def stop_all() -> None:
    """Stop every Redis that :func:`start_redis` started and that is still running."""
    RUNNING.stop_all(KIND)



def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _escaped(text: str) -> str:
    """``text`` inside double quotes in a Redis configuration file."""
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _command(*arguments: str) -> bytes:
    """One Redis command, as the protocol (RESP) writes it."""
    encoded = [argument.encode() for argument in arguments]
    return b"".join([f"*{len(encoded)}\r\n".encode(), *(b"$%d\r\n%s\r\n" % (len(a), a) for a in encoded)])


def _wait_until_it_answers(port: int, process: subprocess.Popen, timeout: float, login: list[str]) -> bool:
    """Wait until Redis answers PING on ``port``, after ``login``; False if the process ended first (port taken)."""
    deadline = time.monotonic() + timeout
    request = (_command(*login) if login else b"") + _command("PING")
    while process.poll() is None and time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as connection:
                connection.sendall(request)
                answer = b""
                while answer.count(b"\r\n") < (2 if login else 1) and len(answer) < 512:  # +OK, +PONG
                    chunk = connection.recv(512)
                    if not chunk:
                        break
                    answer += chunk
                if answer.endswith(b"+PONG\r\n"):
                    return True
        except OSError:
            pass
        time.sleep(0.02)
    if process.poll() is None:
        process.kill()
    return False
