"""The asyncio primer's check (lesson 00a): boil every kettle at once, and never forget an ``await``."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from ..language import _
from .judging import (
    Crashes,
    NotYet,
    Result,
    caller_line,
    describe,
    exercise,
    judge,
    unawaited_calls,
    your_line,
)

#: What Python says when a Future is used without ``await`` (``list(asyncio.gather(...))``, for one).
NOT_AWAITED = "await wasn't used with future"


@exercise
async def check_boil_all(boil_all: Callable[..., Awaitable[Any]]) -> Result:
    """The asyncio primer: ``await boil_all(boil, kettles)`` boils every kettle at once.

    The check hands your function its own ``boil``, which notes how many kettles
    are boiling at the same moment: that tells "at once" from "one after the other"
    without looking at a clock. It also notes the line of yours that called it, so
    that a coroutine you never awaited is named by your line (and closed, so that
    Python does not warn about it).
    """
    boiling = 0
    most = 0
    calls: list[tuple[str, Coroutine[Any, Any, str]]] = []  # (your line, the coroutine it made)

    async def boiling_kettle(kettle: str) -> str:
        nonlocal boiling, most
        boiling += 1
        most = max(most, boiling)
        await asyncio.sleep(0.2)
        boiling -= 1
        return f"{kettle} boiled"

    def boil(kettle: str) -> Coroutine[Any, Any, str]:
        coroutine = boiling_kettle(kettle)
        calls.append((caller_line(), coroutine))
        return coroutine

    def forgot_await(where: str, why: str) -> NotYet:
        if where:
            return NotYet(_("you forgot an `await`, at {where}\n    ({why})").format(where=where, why=why))
        return NotYet(_("you forgot an `await` ({why})").format(why=why))

    async def never_awaited() -> NotYet | None:
        """Your calls of ``boil`` whose coroutine nobody awaited: closed, and said."""
        await asyncio.sleep(0)  # the tasks gather() or create_task() made start now: their coroutines are not idle
        idle = [(where, coroutine) for where, coroutine in calls
                if inspect.getcoroutinestate(coroutine) == inspect.CORO_CREATED]
        for _where, coroutine in idle:
            coroutine.close()  # nobody will run it: close it, so Python does not warn about it
        if idle:
            return forgot_await(idle[0][0], _("boil(kettle) only makes a coroutine: nothing boils until it is awaited"))
        return None

    def gather_line() -> str:
        """Your line that calls ``gather`` without ``await`` in front of it, if there is one."""
        return next(iter(unawaited_calls(boil_all, "gather")), "")

    async def said_of(error: Exception) -> NotYet:
        """What your function's exception means: a forgotten ``await`` first, as it is usually the cause."""
        if forgotten := await never_awaited():
            return forgotten
        if isinstance(error, RuntimeError) and str(error) == NOT_AWAITED:
            return forgot_await(gather_line() or your_line(error),
                                _("asyncio.gather(...) gives a future: `await` it to get the results"))
        return NotYet(_("boil_all(boil, kettles) raised {error}").format(error=describe(error)))

    async def conversation(crashes: Crashes) -> str:
        kettles = ["red kettle", "blue kettle", "green kettle"]
        try:
            result = boil_all(boil, kettles)
        except Exception as error:
            raise await said_of(error) from None
        if not inspect.isawaitable(result):
            await never_awaited()  # closes what it made
            raise NotYet(_("boil_all(...) returned {result!r} at once: is it an 'async def'?").format(result=result))
        try:
            result = await result
        except Exception as error:
            raise await said_of(error) from None
        if forgotten := await never_awaited():
            raise forgotten
        if inspect.isawaitable(result):
            await forget(result)
            if asyncio.isfuture(result):
                raise forgot_await(gather_line(), _("asyncio.gather(...) gives a future: `await` it to get the results"))
            raise forgot_await("", _("boil_all returned {kind} object, not the results: `await` it").format(
                kind=type(result).__name__))
        if list(result or []) != [f"{kettle} boiled" for kettle in kettles]:
            raise NotYet(_("it returned {result!r}; expected every kettle's result, in order").format(result=result))
        if most < len(kettles):
            raise NotYet(_("the kettles boiled one after the other (at most {most} at a time): use asyncio.gather").format(
                most=most))
        return _("every kettle boiled at once, and the results came back in order.")

    return await judge(conversation)


async def forget(awaitable: Awaitable[Any]) -> None:
    """Stop an awaitable your code returned instead of awaiting it, quietly (no warning, no leftover task)."""
    if inspect.iscoroutine(awaitable):
        awaitable.close()
        return
    future = asyncio.ensure_future(awaitable)
    future.cancel()
    await asyncio.gather(future, return_exceptions=True)
