"""The checks of lessons 07a and 07b: following the news feed, and what its numbers say.

- :func:`check_sse_reader` (07a): a Server-Sent Events client, run on a feed of its own.
- :func:`check_poll_bytes` (07a): what short polling costs per item, from one poll's bytes.
- :func:`check_sooner_or_later` (07b): a word chosen from two measured numbers.
- :func:`check_long_poll` (07b): a long-polling client, run on a feed of its own.

The two clients are run beside one of the course's own, on a real feed server,
and compared with it: the same items, each once, in order. The feed's server
counts the requests the learner's client made, and where.
"""

from __future__ import annotations

import asyncio
import inspect
import math
import statistics
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from ..demos import start
from ..language import _
from . import judging
from .judging import Crashes, NotYet, Result, describe, exercise, judge

#: Items the client checks wait for, and how often their feed publishes one (seconds).
FEED_ITEMS, FEED_PERIOD = 5, 0.2

#: A long-poll is answered as soon as there is news: the items of a client that asks
#: again at once wait a few milliseconds. A median wait longer than this (seconds)
#: means the client paused between an answer and its next question.
PAUSED = 0.1

Follow = Callable[[str, Callable[[Any], Any]], Awaitable[None]]


async def _follow_beside(follow: Follow, name: str, course_client: Follow, silence: Callable[..., str]):
    """Run ``follow`` on a feed of its own beside ``course_client``, until it has ``FEED_ITEMS + 1`` items.

    Returns the feed, your items, the moments they reached ``on_item`` and the course
    client's items; raises :class:`NotYet` for what a learner's client can get wrong
    whatever its way (not a coroutine, raised, stopped, handed over something else,
    skipped or repeated items). ``silence(feed, yours)`` says what to say when the
    items did not come in time.
    """
    from ..news_feed import Feed

    feed = Feed(period=FEED_PERIOD)
    yours: list[Any] = []
    moments: list[float] = []
    theirs: list[Any] = []

    def on_item(item: Any) -> None:
        yours.append(item)
        moments.append(time.time())

    with start("news_feed", name="check-feed", feed=feed) as server:
        try:
            following = follow(server.page_url, on_item)
        except Exception as error:
            raise NotYet(_("{name}(url, on_item) raised {error}").format(name=name, error=describe(error))) from None
        if not inspect.isawaitable(following):
            raise NotYet(_("{name}(url, on_item) returned {returned!r} at once: is it an 'async def'?").format(
                name=name, returned=following))
        tasks = [asyncio.ensure_future(following), asyncio.ensure_future(course_client(server.page_url, theirs.append))]
        try:
            async with asyncio.timeout(judging.TIMEOUT - 1.5):  # time left to stop the server and say why
                while len(yours) <= FEED_ITEMS and not tasks[0].done():
                    await asyncio.sleep(0.02)
        except TimeoutError:
            raise NotYet(silence(feed, yours)) from None
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    if not tasks[0].cancelled() and tasks[0].exception():
        raise NotYet(_("{name} raised {error}").format(name=name, error=describe(tasks[0].exception())))
    if len(yours) <= FEED_ITEMS:
        raise NotYet(_(
            "{name} returned after {count} items: it should follow the feed until it is "
            "cancelled (keep reading, in a loop)"
        ).format(name=name, count=len(yours)))
    return feed, yours, moments, theirs


def _same_items(yours: list[Any], theirs: list[Any], hint: str, others: str, out_of_order: str = "") -> None:
    """Raise :class:`NotYet` unless ``yours`` are dicts, each item once, in order, as ``theirs`` are.

    ``hint`` follows the verdict on an item that is not a dict, ``out_of_order`` the
    one on items skipped, repeated or out of order; ``others`` names the course's client.
    """
    wrong = next((item for item in yours if not isinstance(item, dict)), None)
    if wrong is not None:
        raise NotYet(_("on_item got {item!r}: give it each item as a dict").format(item=wrong) + hint)
    ids = [item.get("id") for item in yours]
    if ids != list(range(ids[0], ids[0] + len(ids))):
        raise NotYet(_("your client got the items {ids}: expected each item once, in order").format(ids=ids)
                     + out_of_order)
    same = {item["id"]: item for item in theirs}
    for item in yours:
        if item["id"] in same and item != same[item["id"]]:
            raise NotYet(_("your client got {yours!r}; {others} got {theirs!r}").format(
                yours=item, others=others, theirs=same[item["id"]]))


@exercise
async def check_sse_reader(follow_events: Follow) -> Result:
    """Lesson 07a: ``await follow_events(url, on_item)`` follows the feed's Server-Sent Events.

    The check runs your client on a feed of its own, beside the course's WebSocket
    client, and compares: the same items, each once, in order, from one request.
    """
    from ..measure.feed_clients import follow_websocket

    def silence(feed, yours) -> str:
        if feed.requests["events"] and not yours:
            return _("your client asked /events, but passed no item to on_item within {seconds} s. "
                     "The response never ends, so reading it whole (await response.text()) never returns: "
                     "read it line by line as it arrives, async for line in response.content").format(
                         seconds=f"{judging.TIMEOUT - 1.5:g}")
        if not yours:
            return _("your client made no request to /events: ask GET {{url}}events, once").format()
        return _("your client passed on {count} items, fewer than {expected}: does it read every event?").format(
            count=len(yours), expected=FEED_ITEMS + 1)

    async def conversation(crashes: Crashes) -> str:
        feed, yours, _moments, theirs = await _follow_beside(follow_events, "follow_events", follow_websocket, silence)
        asked = {kind: count for kind, count in feed.requests.items() if kind in ("poll", "long-poll") and count}
        if asked:
            kind = next(iter(asked))
            raise NotYet(_("your client asked /{kind}: that is polling. Ask /events once, and read its response "
                           "as it arrives: the server writes an event into it for every item").format(kind=kind))
        hint = ""
        text = next((item for item in yours if isinstance(item, (str, bytes))), None)
        if text is not None:
            line = text.decode(errors="replace") if isinstance(text, bytes) else text
            if line.startswith("id:"):
                hint = _(": the id: line only numbers the event, the item is in the data: line")
            elif line.startswith("data:"):
                hint = _(": drop the 'data: ' in front, and json.loads() the rest")
            else:
                hint = _(": json.loads() the text after 'data: '")
        _same_items(yours, theirs, hint, _("the WebSocket client"))
        if feed.requests["events"] > 1:
            raise NotYet(_("your client asked /events {times} times for {count} items: once "
                           "is enough, the response never ends (keep reading it, do not ask again)").format(
                               times=feed.requests["events"], count=len(yours)))
        return _("your client follows the feed from one request to /events, and got the same items as the "
                 "WebSocket client.")

    return await judge(conversation, _too_few(judging.TIMEOUT))


@exercise
async def check_long_poll(follow_long_poll: Follow) -> Result:
    """Lesson 07b: ``await follow_long_poll(url, on_item)`` follows the news feed by long-polling.

    The check runs your client on a feed of its own, beside the course's
    Server-Sent Events client, and compares: the same items, each once, in order.
    The feed's server counts the requests your client made, and where; each item
    says when it was published, so the check also sees how long the items waited
    for your client (a client that pauses between requests makes them wait).
    """
    from ..measure.feed_clients import follow_events

    def silence(feed, yours) -> str:
        return _too_few(f"{judging.TIMEOUT - 1.5:g}")

    async def conversation(crashes: Crashes) -> str:
        feed, yours, moments, theirs = await _follow_beside(follow_long_poll, "follow_long_poll", follow_events, silence)
        if feed.requests["poll"]:
            raise NotYet(_(
                "your client asked /poll, again and again: that is short polling. Ask /long-poll, which the "
                "server holds until there is news"
            ))
        _same_items(yours, theirs, _(" (what response.json() returns)"), _("the Server-Sent Events client"),
                    out_of_order=_(" (did you send ?after=?)"))
        requests = feed.requests["long-poll"]
        if requests > len(yours) + 1:
            raise NotYet(_("your client made {requests} requests for {count} items: a long-poll gets an answer "
                           "only when there is news, so about one request an item").format(
                               requests=requests, count=len(yours)))
        waited = statistics.median(moment - item["at"] / 1e6 for item, moment in zip(yours[1:], moments[1:]))
        if waited > PAUSED:
            raise NotYet(_("the items waited {milliseconds} ms (median) from their publication to your on_item; "
                           "a long-poll is answered as soon as there is news, so they should wait a few ms. Does "
                           "your client pause before it asks again? Ask again at once: while it sleeps, the news "
                           "waits").format(milliseconds=f"{waited * 1000:.0f}"))
        return _("your client follows the feed by long-polling, a request per answer, asks again at once, and got "
                 "the same items as the Server-Sent Events client.")

    return await judge(conversation, _too_few(judging.TIMEOUT))


def _too_few(seconds: float | str) -> str:
    """What a client check says when the items did not come: fewer than it waits for, within ``seconds``."""
    return _("your client got fewer than {expected} items within {seconds} s").format(
        expected=FEED_ITEMS + 1, seconds=seconds)


@exercise
def check_poll_bytes(poll_bytes_per_item: Callable[[int, int, float, float], float], up: int, down: int) -> Result:
    """Lesson 07a: ``poll_bytes_per_item(up, down, interval, period)``, what one polling client spends per item.

    ``up`` and ``down`` are one poll's bytes, as you measured them; a client polls
    every ``interval`` seconds, and the feed publishes an item every ``period``
    seconds. The check tries your function on your own numbers and on others.
    """
    cases = [(up, down, 0.1, 0.5), (up, down, 1.0, 0.5), (150, 170, 0.25, 2.0)]
    try:
        for case in cases:
            u, d, interval, period = case
            try:
                got = poll_bytes_per_item(*case)
            except Exception as error:
                raise NotYet(_("poll_bytes_per_item{case} raised {error}").format(
                    case=case, error=describe(error))) from None
            if isinstance(got, bool) or not isinstance(got, (int, float)):
                raise NotYet(_("poll_bytes_per_item{case} returned {got!r}; expected a number of bytes").format(
                    case=case, got=got))
            expected = (u + d) * period / interval
            if math.isclose(got, expected, rel_tol=0.01):
                continue
            mistakes = {
                u + d: _("that is what one poll costs; how many polls does a client make for each item? "
                         "(an item every period seconds, a poll every interval seconds)"),
                (u + d) * interval / period: _("that is upside down: a client makes period / interval polls per "
                                               "item (news every 0.5 s, a poll every 0.1 s: 5 polls per item)"),
                u * period / interval: _("that counts the bytes up only: the answers cost bytes too"),
                d * period / interval: _("that counts the bytes down only: the questions cost bytes too"),
            }
            hint = next((why for value, why in mistakes.items() if math.isclose(got, value, rel_tol=0.01)), "")
            said = _("poll_bytes_per_item{case} returned {got}; expected {expected}").format(
                case=case, got=f"{got:,.1f}", expected=f"{expected:,.1f}")
            raise NotYet(_("{verdict}: {hint}").format(verdict=said, hint=hint) if hint else said)
    except NotYet as wrong:
        return Result(False, str(wrong))
    often, seldom = (up + down) * 5, (up + down) * 0.5
    return Result(True, _("with your numbers, a client that polls every 100 ms for news that comes every 0.5 s "
                          "spends {often} B per item; polling every second, {seldom} B, "
                          "and the news may wait a second.").format(often=f"{often:,.0f}", seldom=f"{seldom:,.0f}"))


@exercise
def check_sooner_or_later(sooner_or_later: Callable[[float, float], str], runs: Iterable[Any] = ()) -> Result:
    """Lesson 07b: ``sooner_or_later(before_ms, after_ms)`` says ``"sooner than"``, ``"later than"`` or ``"as soon as"``.

    It compares two latencies, in milliseconds: ``"sooner than"`` when the news came
    sooner after (``after_ms`` is smaller), ``"later than"`` when later, ``"as soon as"``
    when the two are equal. The check tries both shapes, and then words a sentence
    with your own runs (``runs``, as :func:`~ws_course.measure.polling.measure_in_a_process`
    returns them).
    """
    cases = [(81.8, 39.0, "sooner than"), (0.8, 5.9, "later than"), (12.5, 12.5, "as soon as"),
             (39.0, 81.8, "later than"), (5.9, 0.8, "sooner than")]
    answers = {}
    try:
        for before, after, expected in cases:
            try:
                got = sooner_or_later(before, after)
            except Exception as error:
                raise NotYet(_("sooner_or_later({before}, {after}) raised {error}").format(
                    before=before, after=after, error=describe(error))) from None
            answers[(before, after)] = got
            if got == expected:
                continue
            if got == "sooner than" and answers.get((81.8, 39.0)) == "sooner than" and after > before:
                why = _("but {after} ms is later than {before} ms: choose the word from the numbers").format(
                    after=after, before=before)
            elif {got, expected} == {"sooner than", "later than"}:
                why = _("the wrong way round: sooner means the second number (after_ms) is the smaller")
            elif expected == "as soon as":
                why = _("the two numbers are equal")
            else:
                why = _("say exactly one of 'sooner than', 'later than', 'as soon as'")
            raise NotYet(_("sooner_or_later({before}, {after}) returned {got!r}; expected {expected!r}: {why}").format(
                before=before, after=after, got=got, expected=expected, why=why))
    except NotYet as wrong:
        return Result(False, str(wrong))
    said = ""
    by = {(run.label, run.clients): run for run in runs}
    counts = sorted({clients for _label, clients in by})
    if ("WebSocket", counts[0] if counts else 0) in by and len(counts) > 1:
        fewest, most = by[("WebSocket", counts[0])], by[("WebSocket", counts[-1])]
        before, after = round(fewest.median * 1000, 1), round(most.median * 1000, 1)
        said = _your_sentence(sooner_or_later(before, after), most=counts[-1], fewest=counts[0], after=after,
                              before=before)
    return Result(True, _("sooner_or_later chooses its word from the numbers, both ways.") + said)


def _your_sentence(word: Any, **numbers: Any) -> str:
    """The sentence :func:`check_sooner_or_later` words with the learner's ``numbers`` and ``word``, their function's.

    Each of the three words has a sentence of its own, which a translation can put
    in the order its language needs; another word (a function right for the check's
    numbers but not for these) goes into the sentence as it is.
    """
    if word == "sooner than":
        sentence = _(" With your numbers: with {most} clients, the WebSocket's news came sooner than with {fewest} "
                     "({after} ms, {before} ms).")
    elif word == "later than":
        sentence = _(" With your numbers: with {most} clients, the WebSocket's news came later than with {fewest} "
                     "({after} ms, {before} ms).")
    elif word == "as soon as":
        sentence = _(" With your numbers: with {most} clients, the WebSocket's news came as soon as with {fewest} "
                     "({after} ms, {before} ms).")
    else:
        sentence = _(" With your numbers: with {most} clients, the WebSocket's news came {word} with {fewest} "
                     "({after} ms, {before} ms).")
    return sentence.format(word=word, **numbers)
