"""How much one member may cost a server: a cap on unsent data, in the process and in the kernel; a cap on members.

The buffer cap
--------------
``broadcast()`` never waits: it writes each message into every member's send
buffer and returns. A member that stops reading (a frozen laptop, a phone in a
tunnel, or someone who does it on purpose) does not slow the room down, but what
the room says to it piles up in the server's memory: 200 members, one sending
64 KiB messages flat out, took a server from 51 MB to 5.3 GB in 17 seconds.
websockets' keepalive does not save it: ``ping()`` waits for the send buffer to
drain *before* its timeout starts, so it never times out a member whose buffer
stays full. A client that sends pings and never reads fills its buffer with the
server's automatic pongs the same way.

So :class:`CappedConnection` checks, after every write (every message, broadcast,
pong and close frame goes through :meth:`~CappedConnection.send_data`), how many
bytes the member has not taken yet. Above :data:`MAX_BUFFER` it **cuts the
connection** at once (``transport.abort()``): the unsent data is freed on the
spot, the member's handler sees the connection closed (code 1006), and a chat
room says ``user7 left`` as for anyone who leaves.

Why a cut rather than a polite close with code 1008 ("policy violation") and a
reason? A close frame goes to the *end* of the queue: the member would see it
only after reading the megabyte in front of it, which it is not doing, and the
server would hold that megabyte until the close timeout ran out. Measured with
``benchmarks/attacks.py`` (198 slow readers, one member sending 64 KiB messages
flat out for 10 s, on Python 3.11): a peak of 280 MB with the cut, 454 MB with
a 1008 close and a one-second close timeout. A member that was merely slow (a phone in a tunnel) reconnects, as it
would after any network failure. What such a room costs at its peak is about
the server's own memory plus, for each slow member, a little more than
``max_buffer``.

What the kernel keeps
---------------------
``max_buffer`` sees only what the process still holds. Below it, the operating
system keeps a send buffer for each TCP connection: what was written but not yet
acknowledged by the other end, kept in case it must be sent again. Linux sizes
it by itself (``net.ipv4.tcp_wmem``), growing it up to 4 MiB a connection, and
more on loopback, for a connection that moves a lot of data. A member that never
reads fills it to the top before anything piles up in the process, and that
memory is the kernel's: it is not in the process's resident memory, and no cap
of the process counts it. Measured: 1000 members that never read were all cut at
``max_buffer``, and still the kernel's TCP memory grew from 30 MB to 1.5 GB.

So every member's socket gets a fixed send buffer, :data:`SEND_BUFFER`
(:func:`limit_send_buffer`): what a member that does not read can cost the
kernel is then bounded too (Linux counts twice the size asked for, for its own
bookkeeping). A chat's messages are small; a connection can still move
``SEND_BUFFER`` per round trip, 64 MB/s with 1 ms between the machines.

The member cap
--------------
Every connection costs the process a file descriptor, and a process has a limit
(``ulimit -n``, often 1024). When it runs out, asyncio fails every ``accept()``
and logs a traceback each time: hundreds of megabytes of log, and nobody new gets
in. So a server takes at most ``max_clients`` members (:func:`default_max_clients`
sizes it to the limit) and answers the next ones with HTTP 503 before the
handshake; :func:`raise_open_files_limit` lifts the limit as far as the system
allows (the command line does it at start).
"""

from __future__ import annotations

import os
import socket
from typing import Any

from websockets.asyncio.server import ServerConnection

# Beyond websockets' documented API: send_data and connection_made overridden, transport, protocol (see ws_course.contract).

#: A member whose unsent data passes this many bytes is disconnected: 1 MiB, the
#: size of 16 chat messages of the largest kind, or 10 000 short ones.
MAX_BUFFER = 2**20

#: Each member's kernel send buffer, in bytes (``SO_SNDBUF``): 64 KiB.
SEND_BUFFER = 64 * 1024

#: File descriptors left for everything that is not a member: the listening
#: socket, page requests, handshakes in progress, log files, the kernel's own.
SPARE_FILES = 64

try:
    import resource
except ImportError:  # Windows: no RLIMIT_NOFILE; sockets are limited otherwise
    resource = None  # type: ignore[assignment]


class CappedConnection(ServerConnection):
    """A server connection that cuts a member whose unsent data passes ``max_buffer`` bytes.

    Give it to :func:`websockets.asyncio.server.serve` as
    ``create_connection=functools.partial(CappedConnection, max_buffer=...)``.
    """

    def __init__(self, *args: Any, max_buffer: int = MAX_BUFFER, send_buffer: int | None = SEND_BUFFER, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_buffer = max_buffer
        self.send_buffer = send_buffer

    def connection_made(self, transport) -> None:
        """A new connection: its kernel send buffer is bounded too (:func:`limit_send_buffer`)."""
        if self.send_buffer:
            limit_send_buffer(transport, self.send_buffer)
        super().connection_made(transport)

    def send_data(self) -> None:
        """Write what the protocol has to send, then cut the member if it is too far behind."""
        if self.transport.is_closing():
            # Already cut, or vanished: writing would only make asyncio warn
            # "socket.send() raised exception." for every message, to nobody.
            self.protocol.data_to_send()
            return
        super().send_data()
        self.check_unsent()

    def write_frame(self, frame: bytes) -> None:
        """Write a frame built elsewhere, once for a whole room (:mod:`ws_course.broadcast`), then check the cap."""
        if not self.transport.is_closing():
            self.transport.write(frame)
            self.check_unsent()

    def check_unsent(self) -> None:
        """Cut the member if more than ``max_buffer`` bytes sent to it are still waiting."""
        unsent = self.transport.get_write_buffer_size()
        if unsent > self.max_buffer:
            self.logger.warning(
                "cut %s:%d, which does not read: %d bytes unsent, over max_buffer (%d)",
                *self.remote_address[:2], unsent, self.max_buffer,
            )
            self.transport.abort()  # frees the buffer now; the handler sees the connection closed


def limit_send_buffer(transport: Any, size: int = SEND_BUFFER) -> None:
    """Give a connection's socket a kernel send buffer of ``size`` bytes (``SO_SNDBUF``) instead of a growing one.

    See "What the kernel keeps" above. A system that refuses (or a transport
    without a socket) keeps its own sizes.
    """
    sock = transport.get_extra_info("socket")
    if sock is None:
        return
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, size)
    except (OSError, AttributeError):
        pass


def open_files_limit() -> tuple[int, int]:
    """The process's limit on open files, ``(soft, hard)``; ``-1`` means unlimited."""
    if resource is None:
        return (-1, -1)
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def raise_open_files_limit() -> int:
    """Raise the soft limit on open files to the hard limit, and return the new soft limit.

    The soft limit is what ``accept()`` runs into; the hard limit is the ceiling
    an unprivileged process may raise it to. Shells often start programs with a
    soft limit of 1024 and a hard one far higher.
    """
    if resource is None:
        return -1
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 2**20)
    if soft != resource.RLIM_INFINITY and soft < target:
        for candidate in (target, 2**20, 2**16):  # macOS refuses more than OPEN_MAX
            try:
                resource.setrlimit(resource.RLIMIT_NOFILE, (min(candidate, target), hard))
                break
            except (ValueError, OSError):
                continue
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def default_max_clients() -> int:
    """How many members fit in the file descriptors this process has left, less :data:`SPARE_FILES`."""
    soft, _ = open_files_limit()
    if soft < 0:
        return 10_000
    try:
        in_use = len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else 16
    except OSError:
        in_use = 16
    return max(1, min(soft, 2**20) - in_use - SPARE_FILES)
