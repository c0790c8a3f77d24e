"""One registry of everything the course starts, and one way to wait for a line in a log.

A notebook cell that starts a server may run twice; a test may start a server
under a name another one left running. So everything the course starts (servers
in threads, servers in processes of their own, private Redis servers, lesson 06a's
other web site) is registered under a *kind* and a *name*, and follows one rule:

- starting something under a name already running stops the old one first, so a
  re-run cell never fails with "address already in use" and never leaks;
- ``stop_all`` of its kind stops every one still running (the tests, and a
  kernel shutting down: a kind may ask for its ``stop_all`` to run at exit, which
  is then registered with :mod:`atexit` when the first one starts, not on import).

Each kind's module keeps its own ``start...()`` and ``stop_all()``; they all go
through :data:`RUNNING`.
"""

from __future__ import annotations

import asyncio
import atexit
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from ..safety.logs import BoundedLog

__all__ = ["RUNNING", "Registry", "Stoppable", "StopsOnExit", "WaitsForLog"]


class Stoppable(Protocol):
    def stop(self) -> Any: ...


T = TypeVar("T", bound=Stoppable)


class Registry:
    """Running things, by kind and name."""

    def __init__(self) -> None:
        self._running: dict[tuple[str, str], Stoppable] = {}
        self._lock = threading.Lock()
        self._at_exit: set[Callable[[], Any]] = set()

    def replace(self, kind: str, name: str, start: Callable[[], T], *, at_exit: Callable[[], Any] | None = None) -> T:
        """Stop what runs as ``(kind, name)``, if anything, then ``start()`` and register what it returns.

        ``at_exit``: run this (once) when Python exits, to stop what is left of this kind.
        """
        with self._lock:
            old = self._running.pop((kind, name), None)
            if at_exit is not None and at_exit not in self._at_exit:
                self._at_exit.add(at_exit)
                atexit.register(at_exit)
        if old is not None:
            old.stop()
        thing = start()
        with self._lock:
            self._running[(kind, name)] = thing
        return thing

    def keep(self, kind: str, name: str, thing: Stoppable) -> None:
        """Register ``thing`` again after it restarted by itself, unless something else now runs under its name."""
        with self._lock:
            self._running.setdefault((kind, name), thing)

    def forget(self, kind: str, name: str, thing: Stoppable) -> None:
        """``thing`` has stopped: unregister it (unless something newer runs under its name)."""
        with self._lock:
            if self._running.get((kind, name)) is thing:
                del self._running[(kind, name)]

    def running(self, kind: str) -> list[Any]:
        """Everything of ``kind`` still registered, oldest first."""
        with self._lock:
            return [thing for (kind_, _), thing in self._running.items() if kind_ == kind]

    def count(self) -> int:
        """How many things of any kind are registered now."""
        with self._lock:
            return len(self._running)

    def stop_all(self, kind: str) -> None:
        """Stop everything of ``kind``, one after the other."""
        for thing in self.running(kind):
            thing.stop()


#: The one registry.
RUNNING = Registry()


class StopsOnExit:
    """What the course starts is also a context manager: ``with start_redis() as redis: ...`` stops it at the end."""

    def stop(self) -> Any:
        raise NotImplementedError

    def __enter__(self):
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class WaitsForLog:
    """What has a :attr:`log` (a :class:`~ws_course.safety.logs.BoundedLog`) can wait for a line in it."""

    log: BoundedLog

    async def wait_for_log(self, text: str, timeout: float = 10, *, after: int = 0) -> str:
        """Wait until a line of the log contains ``text``, and return that line.

        A server writes its log from its own thread or process, at its own pace: a
        line about a connection's end, say, can come just after the client saw the
        end. This is a coroutine (``await server.wait_for_log(...)``) so that
        clients on the caller's event loop, a notebook's widgets say, keep running
        meanwhile.

        ``after``: look only at lines logged since ``log.total`` had that value.
        Take it *before* doing what the line is about, when the same line may have
        been logged before::

            before = server.log.total
            redis.stop()
            await server.wait_for_log("is split", after=before)
        """
        deadline = time.monotonic() + timeout
        while True:
            for line in self.log.since(after):
                if text in line:
                    return line
            if time.monotonic() > deadline:
                raise TimeoutError(f"no log line with {text!r} within {timeout} s; the log ends: {self.log[-20:]}")
            await asyncio.sleep(0.01)
