"""Logs that stay readable, and small, whatever a room of clients does.

A server's log is for people. Three things can drown it:

- **Storms of one record.** When a thousand members vanish at once, asyncio can
  warn ``socket.send() raised exception.`` tens of thousands of times; when the
  process runs out of file descriptors it logs ``socket.accept() out of system
  resource``, with a traceback, for every failed ``accept()``. :class:`QuietRepeats`
  lets the first of a run of identical records through, then only the 10th, the
  100th, the 1000th..., each saying how many there were so far, and
  :meth:`QuietRepeats.flush` says the final count.
- **Tracebacks for other people's mistakes.** A malformed HTTP request is the
  client's bug, not the server's, yet aiohttp logs a whole traceback for each.
  :class:`OneLineTracebacks` turns such records into one line that names the
  error. Tracebacks from *your* code (a handler that raised) are kept whole:
  you need them.
- **Lines of any length.** The scream server logs each text it receives, and a
  text may be a megabyte: 20 MiB of log for 20 MiB sent. :class:`ShortLines` cuts a
  record's message to :data:`LINE_CHARS` characters and says how long it was.
- **A log kept in memory forever.** :class:`BoundedLog` keeps the last
  :data:`LOG_LINES` lines, :data:`LOG_CHARS` characters at most, and says how many
  older ones it dropped.

The filters are :class:`logging.Filter` objects: add them to a handler
(``handler.addFilter(QuietRepeats())``), and every record that handler writes goes
through them.

A log must also be cheap: the article's scream server logs every message it
receives, and so does ours. :class:`BatchedStreamHandler` writes the lines of a
busy moment together, in one system call, instead of one call per line; and
:class:`ClockFormatter` formats the time once a second, not once a line.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import threading
import time
import traceback
from collections.abc import Iterable, Iterator, Sequence

# CLIENT_ERRORS names log messages of aiohttp and Engine.IO, which they do not document (see ws_course.contract).

#: How many lines :class:`BoundedLog` keeps: the last ten thousand...
LOG_LINES = 10_000

#: ...and at most this many characters in all (a byte each, for ASCII): 1 MiB.
LOG_CHARS = 2**20

#: :class:`ShortLines` cuts a record's message to this many characters.
LINE_CHARS = 300

#: After this many seconds without an identical record, a run of repeats is over:
#: the next one is shown again, as if it were new.
QUIET_AFTER = 5.0

#: Only warnings and errors are collapsed: a storm is made of those. ``connection
#: open`` thirty times for thirty students is what happened, not noise.
COLLAPSE_FROM = logging.WARNING

#: (logger name, start of the message) of records whose traceback is about bad
#: input from a client, not a bug in the server: one line says enough.
CLIENT_ERRORS = (
    ("aiohttp.server", "Error handling request"),  # aiohttp: a malformed HTTP request
    ("aiohttp.web", "Error handling request"),
    ("asyncio", "socket.accept() out of system resource"),  # out of file descriptors
    ("engineio", "post request handler error"),  # Engine.IO: a malformed long-polling body
)


#: ``logger.warning(..., extra=EVERY_TIME)``: never collapsed by :class:`QuietRepeats`.
EVERY_TIME = {"every_time": True}


class Detail(str):
    """A log argument that does not make a record different: ``logger.warning("... %s ...", Detail(sid))``.

    :class:`QuietRepeats` compares records without their details, so that one
    refusal repeated by many sessions (each with its own id) still collapses.
    The line shown is the record's own, details included.
    """


class QuietRepeats(logging.Filter):
    """Collapse runs of identical log records into a few lines that count them.

    Records are identical when they come from the same logger, at the same level,
    with the same text. Of a run of identical warnings or errors, the 1st, 10th,
    100th, 1000th... pass (from the 10th on, with ``(10 times in 0.2 s)``
    appended); the others are dropped. A run ends after :data:`QUIET_AFTER`
    seconds without a repeat. Records below :data:`COLLAPSE_FROM` always pass, and
    so do records logged with ``extra=EVERY_TIME``: a change of state that only
    happens once per cause (a room split from Redis, then joined again) is news
    each time, however alike its words.
    """

    def __init__(self) -> None:
        super().__init__()
        self._runs: dict[tuple[str, int, str], list[float | int]] = {}  # key -> [count, first, last]
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < COLLAPSE_FROM or getattr(record, "every_time", False):
            return True
        key = (record.name, record.levelno, _without_details(record))
        now = time.monotonic()
        with self._lock:
            run = self._runs.get(key)
            if run is None or now - run[2] > QUIET_AFTER:
                self._runs[key] = [1, now, now]
                if run is not None and not _is_power_of_ten(int(run[0])):
                    _append(record, f" (the run before: {run[0]} times in {run[2] - run[1]:.1f} s)")
                return True
            run[0] += 1
            run[2] = now
            count = int(run[0])
        if not _is_power_of_ten(count):
            return False
        _append(record, f" ({count} times in {now - run[1]:.1f} s)")
        return True

    def flush(self, logger: logging.Logger) -> None:
        """Log, on ``logger``, how many times each repeated record came in all (call it when stopping)."""
        with self._lock:
            runs, self._runs = self._runs, {}
        for (name, level, message), (count, first, last) in runs.items():
            if count > 1 and not _is_power_of_ten(int(count)):
                logger.log(level, "%s: %s (%d times in %.1f s in all)", name, message, count, last - first)


class OneLineTracebacks(logging.Filter):
    """Shorten the tracebacks of :data:`CLIENT_ERRORS` to one line: the error's type and text.

    ``Error handling request`` followed by thirty lines of aiohttp's internals
    becomes ``Error handling request: BadHttpMessage: 400, message: ...``.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and is_client_error(record):
            error = record.exc_info[1]
            record.msg = record.getMessage().replace("\n", "; ")  # asyncio adds "socket: ..." lines
            record.args = None
            if error is not None:
                _append(record, ": " + traceback.format_exception_only(error)[-1].strip().replace("\n", " "))
            record.exc_info = None
            record.exc_text = None
        return True


def is_client_error(record: logging.LogRecord) -> bool:
    """True for a record listed in :data:`CLIENT_ERRORS` (a logger's children count as that logger)."""
    message = str(record.msg)
    for name, start in CLIENT_ERRORS:
        if (record.name == name or record.name.endswith("." + name)) and message.startswith(start):
            return True
    return False


def _without_details(record: logging.LogRecord) -> str:
    """The record's message, with each :class:`Detail` argument left out."""
    args = record.args
    if isinstance(args, tuple) and any(isinstance(arg, Detail) for arg in args):
        try:
            return str(record.msg) % tuple("(several)" if isinstance(arg, Detail) else arg for arg in args)
        except (TypeError, ValueError):
            pass
    return record.getMessage()


class ShortLines(logging.Filter):
    """Cut a record's message to ``max_chars`` characters, saying how long it was.

    ``received 'xxxx...'`` for a megabyte of ``x`` becomes its first
    :data:`LINE_CHARS` characters and ``... (1048587 characters)``. A traceback
    that goes with the record is kept: it is written after the message.
    """

    def __init__(self, max_chars: int = LINE_CHARS) -> None:
        super().__init__()
        self.max_chars = max_chars

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if len(message) > self.max_chars:
            record.msg = shorten(message, self.max_chars)
            record.args = None
        return True


def shorten(text: str, max_chars: int = LINE_CHARS) -> str:
    """``text`` if it is at most ``max_chars`` long, else its start and ``... (N characters)``."""
    if len(text) <= max_chars:
        return text
    return f"{text[:max_chars]}... ({len(text)} characters)"


def _append(record: logging.LogRecord, text: str) -> None:
    record.msg = record.getMessage() + text
    record.args = None


def _is_power_of_ten(count: int) -> bool:
    while count >= 10 and count % 10 == 0:
        count //= 10
    return count == 1


class BoundedLog(Sequence[str]):
    """A server's log lines, the last ``maxlen`` of them and ``max_chars`` characters at most, oldest first.

    It reads like a list: ``len(log)``, ``log[-1]``, ``"text" in log``,
    ``[line for line in log if ...]``, ``print(log)``. When older lines had to go,
    the first line says how many::

        ... 190000 earlier lines dropped (a log keeps the last 10000)

    A line longer than ``max_chars`` on its own is cut (:func:`shorten`).

    Lines are appended from the server's thread while you read them from yours:
    reading works on a copy taken at once, so it never sees a half-written state.
    """

    def __init__(self, maxlen: int = LOG_LINES, max_chars: int = LOG_CHARS) -> None:
        self.maxlen = maxlen
        self.max_chars = max_chars
        self.dropped = 0
        self.chars = 0  # in the lines kept
        self._full = False  # whether a line was ever dropped for want of characters
        self._lines: collections.deque[str] = collections.deque()
        self._lock = threading.Lock()

    def append(self, line: str) -> None:
        if len(line) > self.max_chars:
            line = shorten(line, max(self.max_chars - 40, 1))  # (40: room for the length said after it)
        with self._lock:
            self._lines.append(line)
            self.chars += len(line)
            while len(self._lines) > self.maxlen or self.chars > self.max_chars:
                self._full = self._full or len(self._lines) <= self.maxlen
                self.chars -= len(self._lines.popleft())
                self.dropped += 1

    @property
    def total(self) -> int:
        """How many lines were ever appended (kept or dropped): where the next one will be."""
        with self._lock:
            return self.dropped + len(self._lines)

    def since(self, total: int) -> list[str]:
        """The lines appended after the log's :attr:`total` was ``total`` (those still kept)."""
        with self._lock:
            lines, dropped = list(self._lines), self.dropped
        return lines[max(0, total - dropped):]

    def lines(self) -> list[str]:
        """A copy of the lines, as a plain list (with the "dropped" line first, if any)."""
        with self._lock:
            lines = list(self._lines)
            dropped, full = self.dropped, self._full
        if dropped:
            keeps = f"the last {self.maxlen}" + (f" lines, {self.max_chars} characters at most" if full else "")
            lines.insert(0, f"... {dropped} earlier lines dropped (a log keeps {keeps})")
        return lines

    def __len__(self) -> int:
        with self._lock:
            return len(self._lines) + (1 if self.dropped else 0)

    def __getitem__(self, index):  # type: ignore[override]
        return self.lines()[index]

    def __iter__(self) -> Iterator[str]:
        return iter(self.lines())

    def __contains__(self, line: object) -> bool:
        return line in self.lines()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (BoundedLog, list, tuple)):
            return self.lines() == list(other)
        return NotImplemented

    def __repr__(self) -> str:
        return repr(self.lines())

    def extend(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.append(line)


#: :class:`BatchedStreamHandler` writes what it holds after this many seconds at the latest...
FLUSH_AFTER = 0.1

#: ...or as soon as it holds this many characters.
FLUSH_SIZE = 64 * 1024


class BatchedStreamHandler(logging.StreamHandler):
    """A :class:`logging.StreamHandler` that writes its lines in batches.

    A plain ``StreamHandler`` writes and flushes each record: a system call per
    line, which for a server that logs every message is a good part of what a
    message costs. This one keeps the lines of a busy moment and writes them
    together, :data:`FLUSH_AFTER` seconds after the first (on the event loop of
    the thread that logged it), or when they pass :data:`FLUSH_SIZE` characters.
    Warnings and errors, and anything logged outside an event loop, are written
    at once, with whatever is waiting before them. A line is never more than
    :data:`FLUSH_AFTER` seconds late; a process killed with SIGKILL loses at most
    that much of its log. ``logging.shutdown()`` (at exit) writes the rest.
    """

    def __init__(self, stream=None) -> None:
        super().__init__(stream)
        self._waiting: list[str] = []
        self._size = 0
        self._scheduled = False

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:
            self.handleError(record)
            return
        self._waiting.append(line)
        self._size += len(line) + 1
        if record.levelno >= logging.WARNING or self._size >= FLUSH_SIZE:
            self.flush()
        elif not self._scheduled:
            try:
                asyncio.get_running_loop().call_later(FLUSH_AFTER, self.flush)
                self._scheduled = True
            except RuntimeError:  # no event loop in this thread: write now
                self.flush()

    def flush(self) -> None:
        with self.lock:
            self._scheduled = False
            if self._waiting:
                lines, self._waiting, self._size = self._waiting, [], 0
                try:
                    self.stream.write("\n".join(lines) + "\n")
                except Exception:
                    pass  # a closed terminal: nothing to tell it
            super().flush()


class ClockFormatter(logging.Formatter):
    """A :class:`logging.Formatter` that formats the time once a second, not once a line."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._second = -1
        self._time = ""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        second = int(record.created)
        if second != self._second or datefmt != self._datefmt_seen:
            self._second, self._datefmt_seen = second, datefmt
            self._time = super().formatTime(record, datefmt)
        return self._time

    _datefmt_seen: str | None = None


def log_to_stderr(format: str = "%(asctime)s %(name)s: %(message)s") -> QuietRepeats:
    """Log INFO and above to stderr, as a server in a terminal should: repeats collapsed, client errors on one line, long messages cut.

    A log line per message (the scream server's) must be cheap: lines are written
    in batches (:class:`BatchedStreamHandler`), the time formatted once a second
    (:class:`ClockFormatter`), and no record holds what the log never shows (the
    logging module's own advice: docs.python.org/3/howto/logging.html#optimization).

    Returns the :class:`QuietRepeats` filter, whose :meth:`~QuietRepeats.flush`
    says the last counts when the server stops.
    """
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    logging._srcfile = None  # no look-up of the caller's file and line for each record
    handler = BatchedStreamHandler()
    handler.setFormatter(ClockFormatter(format, datefmt="%H:%M:%S"))
    repeats = QuietRepeats()
    handler.addFilter(OneLineTracebacks())
    handler.addFilter(ShortLines())
    handler.addFilter(repeats)
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    return repeats
