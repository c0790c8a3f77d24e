"""Automatic checks for the "your turn" exercises.

Each check runs your code against a real server, prints ``[PASS] Well done: ...``
or ``[TRY AGAIN] Not yet: ...``, and returns a :class:`Result` that is true or
false, so that ``assert await check_...(...)`` works too. A check never raises
because of your code, so "Run All" goes on to the next cell either way.

A check also watches *your* code while the server runs it. A handler that raises
runs in the server's background thread, where nobody would see its exception:
the client would only notice a closed connection or a reply that never comes. So
the check wraps your handler (:class:`Crashes`), and when it raised, the verdict
is that exception and the line of your code that raised it, not a guess.

On a JupyterHub, each verdict also goes to the class room, where the teacher
sees who has passed what (:mod:`ws_course.classroom.progress`). Each check says
which exercise it judges with the :func:`exercise` decorator.

This module is the judging: :class:`Result`, :class:`Crashes` and "your line",
and the helpers every check uses. The checks themselves are one module per part
of the course (:mod:`~ws_course.exercises.primer`, :mod:`~ws_course.exercises.article`,
:mod:`~ws_course.exercises.safety`, :mod:`~ws_course.exercises.feeds`,
:mod:`~ws_course.exercises.frames`, :mod:`~ws_course.exercises.scaleout`); ``from ws_course.exercises import check_...``
finds each of them.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import functools
import inspect
import linecache
import sysconfig
import textwrap
import threading
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from ..classroom import progress
from ..language import _

#: Seconds a check waits for your code before it gives up.
TIMEOUT = 5


def verdict(ok: bool, message: str) -> str:
    """A verdict as printed, ``[PASS] Well done: ...`` or ``[TRY AGAIN] Not yet: ...``, in the current language.

    Plain text, which every font can show.
    """
    if ok:
        return _("[PASS] Well done: {message}").format(message=message)
    return _("[TRY AGAIN] Not yet: {message}").format(message=message)


class Result:
    """What a check found: true when the exercise is solved. Creating one prints it.

    ``exercise`` is the exercise it judges (the check's name, ``"check_ask"``), once
    the check has returned it (see :func:`exercise`).
    """

    def __init__(self, ok: bool, message: str) -> None:
        self.ok = ok
        self.message = message
        self.exercise: str | None = None
        print(self)

    def _ipython_display_(self) -> None:
        pass  # already printed: a cell ending in "await check_...(...)" shows it once

    def __bool__(self) -> bool:
        return self.ok

    def __repr__(self) -> str:
        return verdict(self.ok, self.message)


Check = Callable[..., Any]


#: The first line of each lesson's hidden solution cell. A check run from such a cell
#: prints its verdict as always but does not report it: Run All runs the solutions too,
#: and the teacher's grid would turn green for a learner who has written nothing.
SOLUTION_MARK = "# Solution"


def in_a_solution_cell() -> bool:
    """Is the cell running now one of the lessons' solutions (it starts with :data:`SOLUTION_MARK`)?

    IPython stores a cell's source in its history before it runs the cell, so the
    last raw input is the running cell. Outside IPython (a script, a test) there is
    no cell: False.
    """
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        return False
    cells = shell.history_manager.input_hist_raw
    return bool(cells) and cells[-1].lstrip().startswith(SOLUTION_MARK)


def exercise(check: Check) -> Check:
    """Mark ``check`` as the check of a "Your turn" exercise: its verdict says so, and is reported.

    The exercise's id is the check's name (``check_ask``), as listed in
    :data:`ws_course.classroom.progress.EXERCISES`. Each :class:`Result` the check
    returns gets that id as ``result.exercise`` and goes to
    :func:`ws_course.classroom.progress.report`, which sends it to the class room
    on a JupyterHub (in the background: the verdict is printed first, and never
    waits) and does nothing anywhere else; a verdict of a lesson's own solution cell
    is not reported (:func:`in_a_solution_cell`). Works for ``async def`` and ``def`` checks.
    """
    name = check.__name__

    def reported(result: Any) -> Any:
        if isinstance(result, Result):
            result.exercise = name
            if not in_a_solution_cell():
                progress.report(name, result.ok)
        return result

    if inspect.iscoroutinefunction(check):

        @functools.wraps(check)
        async def judged(*args: Any, **kwargs: Any) -> Any:
            return reported(await check(*args, **kwargs))

    else:

        @functools.wraps(check)
        def judged(*args: Any, **kwargs: Any) -> Any:
            return reported(check(*args, **kwargs))

    judged.exercise = name  # what tells an exercise's check from any other function
    return judged


class NotYet(Exception):
    """Raised inside a check when your code did something other than what the exercise asks."""


#: Folders whose code is not yours: this package, the standard library, installed packages.
_NOT_YOURS = tuple(
    str(Path(folder).resolve())
    for folder in {Path(__file__).parent, *(sysconfig.get_paths()[key] for key in ("stdlib", "platstdlib", "purelib", "platlib"))}
)


def your_line(error: BaseException) -> str:
    """Where in your code ``error`` was raised: ``line 5 of your code: return text.upper() + 1``.

    The last frame of the traceback that is not in this package, the standard
    library or an installed package is yours (a notebook cell, or your script).
    An empty string when none is, for example when a library could not even call
    your function because its arguments were wrong.
    """
    yours = [
        frame
        for frame in traceback.extract_tb(error.__traceback__)
        if not str(Path(frame.filename).resolve()).startswith(_NOT_YOURS)
    ]
    if not yours:
        return ""
    frame = yours[-1]
    text = (frame.line or linecache.getline(frame.filename, frame.lineno or 0)).strip()
    return line_of_yours(frame.lineno, text)


def line_of_yours(number: int | None, text: str) -> str:
    """``line 5 of your code: return text.upper() + 1``, in the current language."""
    return _("line {number} of your code: {line}").format(number=number, line=text)


def caller_line() -> str:
    """Your line that called the function that calls this: ``line 3 of your code: boil(kettle)``.

    The nearest frame above the caller that is yours (see :func:`your_line`); an
    empty string when none is.
    """
    frame = inspect.currentframe().f_back.f_back  # the caller's caller
    while frame is not None and str(Path(frame.f_code.co_filename).resolve()).startswith(_NOT_YOURS):
        frame = frame.f_back
    if frame is None:
        return ""
    text = linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()
    return line_of_yours(frame.f_lineno, text)


def unawaited_calls(function: Callable[..., Any], name: str) -> list[str]:
    """Your lines in ``function`` that call ``name`` (``gather``, ``asyncio.gather``) with no ``await`` in front.

    Read from its source; an empty list when the source cannot be read.
    """
    try:
        lines, first = inspect.getsourcelines(function)
        tree = ast.parse(textwrap.dedent("".join(lines)))
    except (OSError, TypeError, SyntaxError):
        return []
    awaited = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Await)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and id(node) not in awaited:
            called = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
            if called == name:
                number = first + node.lineno - 1
                found.append((number, line_of_yours(number, lines[node.lineno - 1].strip())))
    return [line for _number, line in sorted(found)]


def describe(error: BaseException) -> str:
    """An exception as a learner needs it: its type, its message, and the line of yours that raised it."""
    where = your_line(error)
    said = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    return _("{error}\n    at {line}").format(error=said, line=where) if where else said


class Crashes:
    """Exceptions raised by your handlers while a check's server runs them.

    :meth:`guard` wraps a handler so that whatever it raises is noted here, then
    raised again, so the server reacts as it always does (websockets closes the
    connection with 1011, "internal error"). The server runs in another thread, so
    the list is shared with a lock.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.errors: list[tuple[str, BaseException]] = []
        self._called_as: dict[str, str] = {}

    def guard(self, handler: Callable[..., Any], name: str | None = None, called_as: str = "") -> Callable[..., Any]:
        """Wrap ``handler``; ``name`` says it in a verdict, ``called_as`` how the server calls it."""
        name = name or getattr(handler, "__name__", "handler")
        self._called_as[name] = called_as

        if inspect.iscoroutinefunction(handler):

            @functools.wraps(handler)
            async def guarded(*args: Any, **kwargs: Any) -> Any:
                try:
                    return await handler(*args, **kwargs)
                except ConnectionClosed:
                    raise  # the client went away: websockets expects this, and so do we
                except Exception as error:
                    self._note(name, error)
                    raise

        else:

            @functools.wraps(handler)
            def guarded(*args: Any, **kwargs: Any) -> Any:
                try:
                    return handler(*args, **kwargs)
                except ConnectionClosed:
                    raise
                except Exception as error:
                    self._note(name, error)
                    raise

        return guarded

    def _note(self, name: str, error: BaseException) -> None:
        with self._lock:
            self.errors.append((name, error))

    def __bool__(self) -> bool:
        with self._lock:
            return bool(self.errors)

    def verdict(self) -> str:
        """The first exception, said for a learner (the others usually follow from it)."""
        with self._lock:
            name, error = self.errors[0]
        said = _("your {name} raised {error}").format(name=name, error=describe(error))
        if isinstance(error, TypeError) and not your_line(error) and self._called_as.get(name):
            # It failed before a line of yours ran: the server could not call it as it was written.
            said += "\n    " + _("(the server calls it as {call}: do its parameters match?)").format(
                call=self._called_as[name])
        return said

    async def race(self, awaitable: Awaitable[Any]) -> Any:
        """Await ``awaitable``, but stop waiting as soon as your handler has raised.

        Without this, a crash would show only as a reply that never comes, and the
        check would wait out its whole timeout before saying anything.
        """
        task = asyncio.ensure_future(awaitable)
        try:
            while not task.done():
                if self:
                    raise NotYet(self.verdict())
                await asyncio.wait({task}, timeout=0.02)
            return task.result()
        finally:
            task.cancel()


async def judge(check: Callable[[Crashes], Awaitable[str]], silence: str = "") -> Result:
    """Run a check's conversation with your code and turn what happened into a :class:`Result`.

    ``check`` returns the message of success, or raises :class:`NotYet`; ``silence``
    is what to say when your code did not answer within :data:`TIMEOUT`. If your
    handler raised meanwhile, that exception is the verdict, whatever else happened:
    it is the cause, and the rest only its symptoms.
    """
    crashes = Crashes()
    try:
        async with asyncio.timeout(TIMEOUT):
            ok, message = True, await check(crashes)
    except NotYet as wrong:
        ok, message = False, str(wrong)
    except TimeoutError:
        ok, message = False, silence or _("no answer within {seconds} s (does your code answer?)").format(seconds=TIMEOUT)
    except Exception as error:
        ok, message = False, _("talking to your code failed with {error}").format(error=describe(error))
    if crashes:
        return Result(False, crashes.verdict())
    return Result(ok, message)


async def join_room(url: str, clients: contextlib.AsyncExitStack, crashes: Crashes):
    """Join a chat room as a new member (closed when ``clients`` closes); return it and its arrival."""
    websocket = await clients.enter_async_context(connect(url, proxy=None, max_queue=None))
    return websocket, await receive(websocket, crashes)


async def receive(websocket: Any, crashes: Crashes) -> str:
    try:
        return await crashes.race(websocket.recv())
    except ConnectionClosed as closed:
        raise NotYet(_("the room closed a member's connection ({closed})").format(closed=closed)) from None


def watched_room(room_class: type, crashes: Crashes) -> Callable[..., Any]:
    """A new room of your class, its handler watched by ``crashes``."""
    try:
        room = room_class()
    except Exception as error:
        raise NotYet(_("{room}() raised {error}").format(room=room_class.__name__, error=describe(error))) from None
    return crashes.guard(room.handler, f"{room_class.__name__}")


async def wait_for_text(websocket: Any, text: str, crashes: Crashes) -> None:
    while await receive(websocket, crashes) != text:
        pass
