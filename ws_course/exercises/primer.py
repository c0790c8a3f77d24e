"""The asyncio primer's check (lesson 00a)."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from .judging import (
    Crashes,
    NotYet,
    Result,
    describe,
    judge,
)


async def check_boil_all(boil_all: Callable[..., Awaitable[Any]]) -> Result:
    """The asyncio primer: ``await boil_all(boil, kettles)`` boils every kettle at once.

    The check hands your function its own ``boil``, which notes how many kettles
    are boiling at the same moment: that tells "at once" from "one after the other"
    without looking at a clock.
    """
    boiling = 0
    most = 0

    async def boil(kettle: str) -> str:
        nonlocal boiling, most
        boiling += 1
        most = max(most, boiling)
        await asyncio.sleep(0.2)
        boiling -= 1
        return f"{kettle} boiled"

    async def conversation(crashes: Crashes) -> str:
        kettles = ["red kettle", "blue kettle", "green kettle"]
        try:
            result = boil_all(boil, kettles)
        except Exception as error:
            raise NotYet(f"boil_all(boil, kettles) raised {describe(error)}") from None
        if not inspect.isawaitable(result):
            raise NotYet(f"boil_all(...) returned {result!r} at once: is it an 'async def'?")
        try:
            result = await result
        except Exception as error:
            raise NotYet(f"boil_all(boil, kettles) raised {describe(error)}") from None
        if isinstance(result, (list, tuple)) and any(inspect.isawaitable(item) for item in result):
            for item in result:
                if inspect.iscoroutine(item):
                    item.close()  # never awaited: close it, so Python does not warn about it
            raise NotYet("it returned coroutine objects, not their results: did you forget 'await'?")
        if list(result or []) != [f"{kettle} boiled" for kettle in kettles]:
            raise NotYet(f"it returned {result!r}; expected every kettle's result, in order")
        if most < len(kettles):
            raise NotYet(f"the kettles boiled one after the other (at most {most} at a time): use asyncio.gather")
        return "every kettle boiled at once, and the results came back in order."

    return await judge(conversation)
