"""Lesson 00a's check, check_boil_all: at once, in order, and a forgotten ``await`` named by the learner's line.

Each wrong answer here is one a learner writes. A forgotten ``await`` must be said
as such, with the learner's own line, never as an error of the course ("talking
to your code failed with RuntimeError: await wasn't used with future"), and must
leave no "coroutine ... was never awaited" warning behind, which Python would
print in red, pointing into the course's code.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import warnings

import pytest

from ws_course.exercises import check_boil_all


def line_of(function, text: str) -> str:
    """``line N of your code: TEXT``, for the line of ``function`` that holds ``text``."""
    lines, first = inspect.getsourcelines(function)
    (number,) = [first + index for index, line in enumerate(lines) if text in line]
    return f"line {number} of your code: {text}"


@pytest.fixture
def no_warnings():
    """Fail if the check leaves a warning behind (collected coroutines warn when they are freed)."""
    gc.collect()  # what earlier tests of this worker left behind warns now, not inside this test
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
        gc.collect()
    assert [str(warning.message) for warning in caught] == []


async def test_boiling_every_kettle_at_once_passes(no_warnings):
    async def boil_all(boil, kettles):
        return await asyncio.gather(*(boil(kettle) for kettle in kettles))

    result = await check_boil_all(boil_all)
    assert result and "every kettle boiled at once" in repr(result)


async def test_boiling_them_one_after_the_other_is_told_to_use_gather(no_warnings):
    async def boil_all(boil, kettles):
        return [await boil(kettle) for kettle in kettles]

    assert "one after the other (at most 1 at a time): use asyncio.gather" in repr(await check_boil_all(boil_all))


async def test_returning_gather_without_await_is_a_forgotten_await_on_that_line(no_warnings):
    async def boil_all(boil, kettles):
        return asyncio.gather(*(boil(kettle) for kettle in kettles))

    result = repr(await check_boil_all(boil_all))
    assert "you forgot an `await`, at " + line_of(boil_all, "return asyncio.gather(") in result
    assert "RuntimeError" not in result and "talking to your code failed" not in result


async def test_using_gathers_future_as_a_list_is_a_forgotten_await_on_the_gather_line(no_warnings):
    async def boil_all(boil, kettles):
        boiling = asyncio.gather(*(boil(kettle) for kettle in kettles))
        return list(boiling)

    result = repr(await check_boil_all(boil_all))
    assert "you forgot an `await`, at " + line_of(boil_all, "boiling = asyncio.gather(") in result
    assert "await wasn't used with future" not in result
    await asyncio.sleep(0.3)  # the kettles gather() started boil on: they end before the warnings are read


async def test_coroutines_never_awaited_are_a_forgotten_await_on_the_line_that_made_them(no_warnings):
    async def returns_them(boil, kettles):
        return [boil(kettle) for kettle in kettles]

    async def drops_them(boil, kettles):
        for kettle in kettles:
            boil(kettle)
        return [f"{kettle} boiled" for kettle in kettles]

    async def uses_one(boil, kettles):
        return [boil(kettle).upper() for kettle in kettles]

    assert "you forgot an `await`, at " + line_of(returns_them, "return [boil(kettle) for") in repr(
        await check_boil_all(returns_them))
    assert "you forgot an `await`, at " + line_of(drops_them, "boil(kettle)") in repr(await check_boil_all(drops_them))
    result = repr(await check_boil_all(uses_one))
    assert "you forgot an `await`, at " + line_of(uses_one, "return [boil(kettle).upper()") in result
    assert "AttributeError" not in result


async def test_returning_a_coroutine_is_a_forgotten_await(no_warnings):
    async def boil_all(boil, kettles):
        async def all_of_them():
            return await asyncio.gather(*(boil(kettle) for kettle in kettles))

        return all_of_them()

    assert "you forgot an `await` (boil_all returned coroutine object" in repr(await check_boil_all(boil_all))


async def test_a_function_that_is_not_async_is_asked_about(no_warnings):
    def boil_all(boil, kettles):
        return []

    assert "is it an 'async def'?" in repr(await check_boil_all(boil_all))


async def test_an_exception_is_said_with_the_learners_line(no_warnings):
    async def boil_all(boil, kettles):
        return await asyncio.gather(boil(kettles[3]))

    result = repr(await check_boil_all(boil_all))
    assert "raised IndexError: list index out of range" in result
    assert line_of(boil_all, "return await asyncio.gather(boil(kettles[3]))") in result
