"""The checks of lessons 07a and 07b, each with a right answer and the wrong ones a learner writes.

The clients' checks run them on real feed servers; the wrong clients are real
clients too (they ask the real server, and make the mistake).
"""

from __future__ import annotations

import asyncio
import json

import aiohttp

from ws_course.exercises import (
    check_long_poll,
    check_poll_bytes,
    check_sooner_or_later,
    check_sse_reader,
)
from ws_course.measure.feed_clients import (
    follow_events,
    follow_long_poll,
    follow_short_poll,
)
from ws_course.measure.polling import Run

# -- 07a: a Server-Sent Events reader ------------------------------------------------------


async def test_check_sse_reader_accepts_the_course_client():
    result = await check_sse_reader(follow_events)
    assert result and "one request to /events" in repr(result)


async def test_check_sse_reader_explains_reading_the_endless_response_whole():
    async def reads_it_whole(url, on_item):
        async with aiohttp.ClientSession() as session:
            async with session.get(url + "events") as response:
                for line in (await response.text()).splitlines():
                    if line.startswith("data:"):
                        on_item(json.loads(line[5:]))

    result = await check_sse_reader(reads_it_whole)
    assert not result
    assert "The response never ends, so reading it whole (await response.text()) never returns" in repr(result)


async def test_check_sse_reader_explains_lines_passed_on_as_they_are():
    async def passes_lines(url, on_item):
        async with aiohttp.ClientSession() as session:
            async with session.get(url + "events") as response:
                async for line in response.content:
                    if line.strip():
                        on_item(line.decode().strip())

    result = await check_sse_reader(passes_lines)
    assert not result and "the id: line only numbers the event, the item is in the data: line" in repr(result)

    async def keeps_the_prefix(url, on_item):
        async with aiohttp.ClientSession() as session:
            async with session.get(url + "events") as response:
                async for line in response.content:
                    if line.startswith(b"data:"):
                        on_item(line.decode().strip())

    result = await check_sse_reader(keeps_the_prefix)
    assert not result and "drop the 'data: ' in front, and json.loads() the rest" in repr(result)


async def test_check_sse_reader_refuses_polling_and_asking_again():
    async def polls(url, on_item):
        await follow_short_poll(url, on_item, interval=0.05)

    result = await check_sse_reader(polls)
    assert not result and "your client asked /poll: that is polling" in repr(result)

    async def asks_again(url, on_item):  # one event per request, then asks again after it
        seen = None
        async with aiohttp.ClientSession() as session:
            while True:
                headers = {} if seen is None else {"Last-Event-ID": str(seen)}
                async with session.get(url + "events", headers=headers) as response:
                    async for line in response.content:
                        if line.startswith(b"data:"):
                            item = json.loads(line[5:])
                            on_item(item)
                            seen = item["id"]
                            break

    result = await check_sse_reader(asks_again)
    assert not result and "once is enough, the response never ends" in repr(result)


async def test_check_sse_reader_names_your_line_and_a_plain_def():
    async def crashes(url, on_item):
        async with aiohttp.ClientSession() as session:
            async with session.get(url + "events") as response:
                async for line in response.content:
                    on_item(json.loads(line))

    result = await check_sse_reader(crashes)
    assert not result and "follow_events raised JSONDecodeError" in repr(result)
    assert "of your code: on_item(json.loads(line))" in repr(result)

    def not_async(url, on_item):
        return None

    assert "is it an 'async def'?" in repr(await check_sse_reader(not_async))


# -- 07a: what a poll costs per item ---------------------------------------------------------


def test_check_poll_bytes_accepts_the_formula_and_names_each_mistake():
    def right(up, down, interval, period):
        return (up + down) * period / interval

    result = check_poll_bytes(right, up=144, down=160)
    assert result and "spends 1,520 B per item" in repr(result) and "polling every second, 152 B," in repr(result)

    wrong = {
        "one poll": (lambda up, down, interval, period: up + down, "that is what one poll costs"),
        "upside down": (lambda up, down, interval, period: (up + down) * interval / period, "that is upside down"),
        "up only": (lambda up, down, interval, period: up * period / interval, "counts the bytes up only"),
        "text": (lambda up, down, interval, period: f"{(up + down) * period / interval} B", "expected a number"),
        "crash": (lambda up, down, interval, period: (up + down) / 0, "raised ZeroDivisionError"),
    }
    for name, (answer, said) in wrong.items():
        result = check_poll_bytes(answer, up=144, down=160)
        assert not result and said in repr(result), (name, result)


# -- 07b: a word from the numbers ----------------------------------------------------------


def run(way: str, clients: int, median_ms: float) -> Run:
    """A run as measure() returns it, with every latency at ``median_ms``: a table of the shape a test needs."""
    return Run(way, clients, None, 1.0, requests=0, up=0, down=4 * clients * 55, connect_up=0, connect_down=0,
               deliveries=4 * clients, latencies=[median_ms / 1000] * 4 * clients)


def test_check_sooner_or_later_accepts_a_comparison_and_words_the_learners_runs_both_ways():
    def right(before_ms, after_ms):
        if after_ms < before_ms:
            return "sooner than"
        if after_ms > before_ms:
            return "later than"
        return "as soon as"

    slower = check_sooner_or_later(right, [run("WebSocket", 1, 0.8), run("WebSocket", 100, 5.9)])
    assert slower and "the WebSocket's news came later than with 1 (5.9 ms, 0.8 ms)" in repr(slower)
    faster = check_sooner_or_later(right, [run("WebSocket", 1, 5.9), run("WebSocket", 100, 0.8)])
    assert faster and "came sooner than with 1" in repr(faster)


def test_check_sooner_or_later_refuses_a_fixed_word_and_a_comparison_the_wrong_way_round():
    result = check_sooner_or_later(lambda before_ms, after_ms: "sooner than")
    assert not result and "but 5.9 ms is later than 0.8 ms: choose the word from the numbers" in repr(result)

    def reversed_(before_ms, after_ms):
        return "sooner than" if after_ms > before_ms else "later than" if after_ms < before_ms else "as soon as"

    result = check_sooner_or_later(reversed_)
    assert not result and "the wrong way round" in repr(result)

    def no_tie(before_ms, after_ms):
        return "sooner than" if after_ms < before_ms else "later than"

    result = check_sooner_or_later(no_tie)
    assert not result and "the two numbers are equal" in repr(result)


# -- 07b: a long-polling client ------------------------------------------------------------


async def test_check_long_poll_accepts_a_long_polling_client_and_explains_what_is_not():
    async def short_polls(url, on_item):
        await follow_short_poll(url, on_item, interval=0.1)

    async def forgets_after(url, on_item):
        async with aiohttp.ClientSession() as session:
            while True:
                async with session.get(url + "long-poll") as response:
                    for item in await response.json():
                        on_item(item)

    async def hands_over_text(url, on_item):
        await follow_long_poll(url, lambda item: on_item(str(item)))

    async def stops_after_one(url, on_item):
        async with aiohttp.ClientSession() as session:
            async with session.get(url + "long-poll") as response:
                for item in await response.json():
                    on_item(item)

    async def crashes(url, on_item):
        async with aiohttp.ClientSession() as session:
            async with session.get(url + "long-poll") as response:
                items = await response.json()
                on_item(items["id"])

    def not_async(url, on_item):
        return None

    result = await check_long_poll(follow_long_poll)
    assert result and "by long-polling" in repr(result)
    assert "asked /poll, again and again: that is short polling" in repr(await check_long_poll(short_polls))
    assert "expected each item once, in order (did you send ?after=?)" in repr(await check_long_poll(forgets_after))
    assert "on_item got \"{'id': " in repr(await check_long_poll(hands_over_text))
    assert "returned after 1 items" in repr(await check_long_poll(stops_after_one))
    result = await check_long_poll(crashes)
    assert "follow_long_poll raised TypeError: list indices must be integers" in repr(result)
    assert "of your code: on_item(items[\"id\"])" in repr(result)
    assert "is it an 'async def'?" in repr(await check_long_poll(not_async))


async def test_check_long_poll_fails_a_client_that_sleeps_between_requests():
    async def sleeps(url, on_item):
        async with aiohttp.ClientSession() as session:
            seen = None
            while True:
                params = {} if seen is None else {"after": seen}
                async with session.get(url + "long-poll", params=params) as response:
                    for item in await response.json():
                        on_item(item)
                        seen = item["id"]
                await asyncio.sleep(0.5)  # "ask again at once", says the lesson

    result = await check_long_poll(sleeps)
    assert not result and "Does your client pause before it asks again? Ask again at once" in repr(result)
