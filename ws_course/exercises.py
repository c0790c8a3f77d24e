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
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import linecache
import sysconfig
import threading
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State

from .runtime import start

#: Seconds a check waits for your code before it gives up.
TIMEOUT = 5

#: What a verdict starts with: plain text, which every font can show.
PASS, TRY_AGAIN = "[PASS] Well done: ", "[TRY AGAIN] Not yet: "


class Result:
    """What a check found: true when the exercise is solved. Creating one prints it."""

    def __init__(self, ok: bool, message: str) -> None:
        self.ok = ok
        self.message = message
        print(self)

    def _ipython_display_(self) -> None:
        pass  # already printed: a cell ending in "await check_...(...)" shows it once

    def __bool__(self) -> bool:
        return self.ok

    def __repr__(self) -> str:
        return (PASS if self.ok else TRY_AGAIN) + self.message


class NotYet(Exception):
    """Raised inside a check when your code did something other than what the exercise asks."""


# -- seeing what your code raised ---------------------------------------------------------

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
    return f"line {frame.lineno} of your code: {text}"


def describe(error: BaseException) -> str:
    """An exception as a learner needs it: its type, its message, and the line of yours that raised it."""
    where = your_line(error)
    said = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    return f"{said}\n    at {where}" if where else said


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
        verdict = f"your {name} raised {describe(error)}"
        if isinstance(error, TypeError) and not your_line(error) and self._called_as.get(name):
            # It failed before a line of yours ran: the server could not call it as it was written.
            verdict += f"\n    (the server calls it as {self._called_as[name]}: do its parameters match?)"
        return verdict

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


async def _judge(check: Callable[[Crashes], Awaitable[str]], silence: str = "") -> Result:
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
        ok, message = False, silence or f"no answer within {TIMEOUT} s (does your code answer?)"
    except Exception as error:
        ok, message = False, f"talking to your code failed with {describe(error)}"
    if crashes:
        return Result(False, crashes.verdict())
    return Result(ok, message)


# -- the primer ---------------------------------------------------------------------------


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

    return await _judge(conversation)


# -- lessons 01 to 05 ---------------------------------------------------------------------


async def check_ask(ask: Callable[[str, str], Awaitable[Any]]) -> Result:
    """Lesson 01: ``await ask(url, text)`` connects to ``url``, sends ``text`` and returns the reply."""

    async def conversation(crashes: Crashes) -> str:
        with start("echo", name="check-echo") as server:  # leaves your own echo server alone
            for text in ["ping", "WebSockets are full duplex", ""]:
                try:
                    reply = await ask(server.ws_url, text)
                except Exception as error:
                    raise NotYet(f"ask(url, {text!r}) raised {describe(error)}") from None
                if reply != text:
                    raise NotYet(f"ask(url, {text!r}) returned {reply!r}; the echo server replied {text!r}")
        return "ask() sends a message and returns the echo server's reply."

    return await _judge(conversation, f"ask(url, text) did not return within {TIMEOUT} s")


async def check_whisper(handler: Callable[[Any], Awaitable[None]]) -> Result:
    """Lesson 02: a handler that answers ``"HI"`` with ``"hi..."`` and closes with 1003 on bytes."""

    async def conversation(crashes: Crashes) -> str:
        with start(crashes.guard(handler), name="check-whisper") as server:
            async with connect(server.ws_url, proxy=None) as websocket:
                for text in ["HI", "Quiet, Please", "ok"]:
                    await websocket.send(text)
                    try:
                        reply = await crashes.race(websocket.recv())
                    except ConnectionClosed as closed:
                        raise NotYet(f"after {text!r} your server closed the connection ({closed})") from None
                    if reply != text.lower() + "...":
                        raise NotYet(f"{text!r} got the reply {reply!r}; expected {text.lower() + '...'!r}")
                await websocket.send(b"\x00")
                try:
                    reply = await crashes.race(websocket.recv())
                    raise NotYet(f"bytes got the reply {reply!r}; expected the connection to close with 1003")
                except ConnectionClosed as closed:
                    code = closed.rcvd.code if closed.rcvd else None
                    if code != 1003:
                        raise NotYet(f"bytes closed the connection with code {code}; expected 1003") from None
        # Leaving "with start(...)" stopped the server, after your handler finished:
        # if it raised after closing, _judge sees it now.
        return "your whisper server whispers, and refuses bytes with 1003."

    return await _judge(conversation, f"no answer within {TIMEOUT} s (does your handler send a reply?)")


async def _join(url: str, clients: contextlib.AsyncExitStack, crashes: Crashes):
    """Join a chat room as a new member (closed when ``clients`` closes); return it and its arrival."""
    websocket = await clients.enter_async_context(connect(url, proxy=None, max_queue=None))
    return websocket, await _receive(websocket, crashes)


async def _receive(websocket: Any, crashes: Crashes) -> str:
    try:
        return await crashes.race(websocket.recv())
    except ConnectionClosed as closed:
        raise NotYet(f"the room closed a member's connection ({closed})") from None


def _guarded_room(room_class: type, crashes: Crashes) -> Callable[..., Any]:
    """A new room of your class, its handler watched by ``crashes``."""
    try:
        room = room_class()
    except Exception as error:
        raise NotYet(f"{room_class.__name__}() raised {describe(error)}") from None
    return crashes.guard(room.handler, f"{room_class.__name__}")


async def check_headcount(room_class: type) -> Result:
    """Lesson 03: a ChatRoom whose arrivals say how many are in the room."""

    async def conversation(crashes: Crashes) -> str:
        with start(_guarded_room(room_class, crashes), name="check-headcount") as server:
            async with contextlib.AsyncExitStack() as clients:
                first, arrival = await _join(server.ws_url, clients, crashes)
                if arrival != "user1 comes in (1 in the room)":
                    raise NotYet(f"the first arrival said {arrival!r}; expected 'user1 comes in (1 in the room)'")
                second, arrival = await _join(server.ws_url, clients, crashes)
                if arrival != "user2 comes in (2 in the room)":
                    raise NotYet(f"the second arrival said {arrival!r}; expected 'user2 comes in (2 in the room)'")
                await second.close()
                third, arrival = await _join(server.ws_url, clients, crashes)
                if arrival != "user3 comes in (2 in the room)":
                    raise NotYet(f"after user2 left, user3's arrival said {arrival!r}; expected 'user3 comes in (2 in the room)'")
                heard = [await _receive(first, crashes) for _ in range(3)]
                if heard != ["user2 comes in (2 in the room)", "user2 left", "user3 comes in (2 in the room)"]:
                    raise NotYet(f"user1 heard {heard!r}")
        return "every arrival says how many are in the room, departures included."

    return await _judge(conversation)


async def check_nick(room_class: type) -> Result:
    """Lesson 04: a JSONChatRoom where ``/nick NAME`` renames the sender."""

    async def conversation(crashes: Crashes) -> str:
        with start(_guarded_room(room_class, crashes), name="check-nick") as server:
            async with contextlib.AsyncExitStack() as clients:
                first, _ = await _join(server.ws_url, clients, crashes)
                second, _ = await _join(server.ws_url, clients, crashes)
                await _receive(first, crashes)  # user2 comes in
                await first.send("/nick alice")
                expected = '{"type":"nick","data":"user1 is now alice"}'
                for websocket in (first, second):
                    got = await _receive(websocket, crashes)
                    if got != expected:
                        raise NotYet(f"after '/nick alice' the room said {got!r}; expected {expected!r}")
                await first.send("hello")
                got = await _receive(second, crashes)
                if got != '{"type":"message","data":"alice says: hello"}':
                    raise NotYet(f"alice's next message arrived as {got!r}; expected it from 'alice'")
                await first.close()
                got = await _receive(second, crashes)
                if got != '{"type":"leave","data":"alice left"}':
                    raise NotYet(f"when alice left the room said {got!r}; expected 'alice left'")
        return "/nick renames a member, for their messages and their departure too."

    return await _judge(conversation)


#: Socket.IO's own events: python-socketio calls these handlers with arguments of its choosing.
_SOCKETIO_OWN_EVENTS = ("connect", "disconnect")


async def check_scream_event(create_server: Callable[..., Any]) -> Result:
    """Lesson 05: a Socket.IO server whose ``scream`` event is acknowledged with the text screamed."""
    import socketio

    from .socketio_app import SocketIOServer

    def watched_server(crashes: Crashes) -> Callable[..., Any]:
        def create(**options: Any) -> Any:
            sio = create_server(**options)
            handlers = sio.handlers.get("/", {})
            for event, handler in list(handlers.items()):
                if event not in _SOCKETIO_OWN_EVENTS:
                    handlers[event] = crashes.guard(handler, f"handler for '{event}'", "handler(sid, data)")
            return sio

        return create

    async def conversation(crashes: Crashes) -> str:
        server = None
        client = socketio.AsyncClient(handle_sigint=False, reconnection=False)
        try:
            try:
                server = await SocketIOServer(watched_server(crashes), "event-chat.html", "127.0.0.1", 0, close_timeout=1)
            except Exception as error:
                raise NotYet(f"create_server(...) raised {describe(error)}") from None
            if "scream" not in server.sio.handlers.get("/", {}):
                raise NotYet("your server has no handler for the event 'scream' yet")
            await client.connect(f"http://127.0.0.1:{server.bound_port}/", transports=["websocket"])
            for text in ["hi", "Socket.IO"]:
                reply = await crashes.race(client.call("scream", text, timeout=TIMEOUT + 1))  # waits for the ack
                if reply != text.upper() + "!!!":
                    raise NotYet(f"'scream' with {text!r} was acknowledged with {reply!r}; expected {text.upper() + '!!!'!r}")
            chat = asyncio.get_running_loop().create_future()
            client.on("mes", lambda data: chat.done() or chat.set_result(data))
            await client.emit("message", "still a chat room?")
            if await crashes.race(chat) != "user1 says: still a chat room?":
                raise NotYet("the chat room's own events stopped working")
        finally:
            if client.connected:
                await client.disconnect()
            if server is not None:
                await server.aclose()
        return "'scream' is acknowledged with the text screamed, and the room still chats."

    return await _judge(conversation, f"no acknowledgement within {TIMEOUT} s (does the 'scream' handler return the reply?)")


# -- lesson 06 ----------------------------------------------------------------------------

#: Lesson 06's rate limit: a member may send at most this many messages in any one second.
RATE_LIMIT = 5

#: How many messages lesson 06's flooder sends, all in one write. More than the 16 a
#: websockets server reads ahead (its ``max_queue``): the server has them all in hand,
#: and stops reading, before your room has looked at the first.
FLOOD = 40

#: How long the check waits for your room to send the flooder a close frame (seconds).
CLOSE_WAIT = 1.5


async def check_rate_limit(room_class: type) -> Result:
    """Lesson 06: a ChatRoom where a member may send at most 5 messages in any one second.

    The check attacks your room. A polite member sends 5 messages at once: all must
    reach the room. Then another member, the flooder, sends 40 messages at once, in
    one write, as a script's loop does to a busy server: its first 5 must reach the
    room (the limit is each member's own), none of the others, and the flooder must
    be closed with code 1008 (policy violation) and the reason ``"too fast"``; the
    room hears it leave. A second after its 5, the polite member sends one more,
    which must reach the room: the limit counts the last second only.

    A flooder's messages are already in the server when your room closes it: the
    handler hands them to ``receive()`` after ``close()`` returns. (And with that many
    waiting, the server has stopped reading, so it cannot read the flooder's answer
    to the close: ``close()`` returns when the course's close timeout, 1 s, runs out.)
    """

    async def close_frame(websocket: Any, crashes: Crashes, seconds: float) -> Any:
        """The close frame the room sent ``websocket``; None if it cut the connection; NotYet if neither."""
        deadline = asyncio.get_running_loop().time() + seconds
        while websocket.protocol.close_rcvd is None and websocket.state is not State.CLOSED:
            if crashes:
                raise NotYet(crashes.verdict())
            if asyncio.get_running_loop().time() > deadline:
                raise NotYet(
                    f"a member sent {FLOOD} messages at once and is still in the room {CLOSE_WAIT} s later: "
                    f"close a member's connection at its {RATE_LIMIT + 1}th message within a second, with "
                    "await websocket.close(1008, 'too fast')"
                )
            await asyncio.sleep(0.01)
        return websocket.protocol.close_rcvd

    async def heard_until(websocket: Any, crashes: Crashes, text: str, doing: str) -> list[str]:
        """The messages ``websocket`` hears before ``text``; NotYet if the room closes it meanwhile."""
        heard = []
        try:
            while (message := await crashes.race(websocket.recv())) != text:
                heard.append(message)
        except ConnectionClosed as closed:
            raise NotYet(f"the polite member was closed ({closed}) after it {doing}") from None
        return heard

    async def conversation(crashes: Crashes) -> str:
        loop = asyncio.get_running_loop()
        with start(_guarded_room(room_class, crashes), name="check-rate-limit") as server:
            async with contextlib.AsyncExitStack() as clients:
                polite, _ = await _join(server.ws_url, clients, crashes)
                flooder, arrival = await _join(server.ws_url, clients, crashes)
                await _receive(polite, crashes)  # the flooder's arrival
                for number in range(1, RATE_LIMIT + 1):
                    await polite.send(f"polite {number}")
                doing = f"sent {RATE_LIMIT} messages at once (a member may send {RATE_LIMIT} in a second)"
                await heard_until(polite, crashes, f"polite {RATE_LIMIT}", doing)
                polite_sent = loop.time()
                # 40 messages in one write: the frames a websockets client would send, all at once.
                for number in range(1, FLOOD + 1):
                    flooder.protocol.send_text(f"flood {number}".encode())
                flooder.transport.write(b"".join(flooder.protocol.data_to_send()))
                closing = await close_frame(flooder, crashes, CLOSE_WAIT)
                if closing is None:
                    raise NotYet(
                        "the flooder's connection was cut without a close frame (code 1006): close it with "
                        "await websocket.close(1008, 'too fast'), so that it learns why"
                    )
                if (closing.code, closing.reason) != (1008, "too fast"):
                    raise NotYet(
                        f"the flooder was closed with code {closing.code}, reason {closing.reason!r}; "
                        "expected code 1008 (policy violation), reason 'too fast'"
                    )
                flooder_left = arrival.removesuffix(" comes in") + " left"
                heard = await heard_until(polite, crashes, flooder_left, "the flooder was closed")
                passed = [message for message in heard if message.startswith("flood ")]
                if len(passed) > RATE_LIMIT:
                    raise NotYet(
                        f"{len(passed)} of the flooder's {FLOOD} messages reached the room; at most {RATE_LIMIT} "
                        "should. (The ones it sent before it heard your close are already in the server: after "
                        "close() returns, the handler still hands them to receive(). Pass none of them on: the "
                        "connection's state is no longer State.OPEN.)"
                    )
                if passed != [f"flood {number}" for number in range(1, RATE_LIMIT + 1)]:
                    raise NotYet(
                        f"of the flooder's first {RATE_LIMIT} messages, the room passed on {passed}: a member may "
                        f"send {RATE_LIMIT} in a second, whatever the others sent (is your room counting everyone's "
                        "messages together, not each member's?)"
                    )
                await asyncio.sleep(max(0.0, polite_sent + 1.1 - loop.time()))
                await polite.send("polite, a second later")
                doing = (f"sent {RATE_LIMIT} messages, waited a second and sent one more: the limit is per second "
                         "(forget the times that are more than a second old)")
                await heard_until(polite, crashes, "polite, a second later", doing)
        return (f"a flooder was closed with 1008 'too fast' after {RATE_LIMIT} of its {FLOOD} messages, "
                "and a polite member kept chatting.")

    return await _judge(conversation)


# -- lessons 07 and 08 --------------------------------------------------------------------

#: Items lesson 07's check waits for, and how often its feed publishes one (seconds).
FEED_ITEMS, FEED_PERIOD = 5, 0.2


async def check_long_poll(follow_long_poll: Callable[..., Awaitable[None]]) -> Result:
    """Lesson 07: ``await follow_long_poll(url, on_item)`` follows the news feed by long-polling.

    The check runs your client on a feed of its own, beside the course's
    Server-Sent Events client, and compares: the same items, each once, in order.
    The feed's server counts the requests your client made, and where it made them.
    """
    from .feed_clients import follow_events
    from .news_feed import Feed

    async def conversation(crashes: Crashes) -> str:
        feed = Feed(period=FEED_PERIOD)
        yours: list[Any] = []
        theirs: list[dict[str, Any]] = []
        with start("news_feed", name="check-feed", feed=feed) as server:
            try:
                following = follow_long_poll(server.page_url, yours.append)
            except Exception as error:
                raise NotYet(f"follow_long_poll(url, on_item) raised {describe(error)}") from None
            if not inspect.isawaitable(following):
                raise NotYet(f"follow_long_poll(url, on_item) returned {following!r} at once: is it an 'async def'?")
            tasks = [asyncio.ensure_future(following), asyncio.ensure_future(follow_events(server.page_url, theirs.append))]
            try:
                while len(yours) <= FEED_ITEMS and not tasks[0].done():
                    await asyncio.sleep(0.02)
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
        if not tasks[0].cancelled() and tasks[0].exception():
            raise NotYet(f"follow_long_poll raised {describe(tasks[0].exception())}")
        if len(yours) <= FEED_ITEMS:
            raise NotYet(
                f"follow_long_poll returned after {len(yours)} items: it should follow the feed until it is "
                "cancelled (ask again, in a loop, after every answer)"
            )
        if feed.requests["poll"]:
            raise NotYet(
                "your client asked /poll, again and again: that is short polling. Ask /long-poll, which the "
                "server holds until there is news"
            )
        wrong = next((item for item in yours if not isinstance(item, dict)), None)
        if wrong is not None:
            raise NotYet(f"on_item got {wrong!r}: give it each item as a dict (what response.json() returns)")
        ids = [item.get("id") for item in yours]
        if ids != list(range(ids[0], ids[0] + len(ids))):
            raise NotYet(f"your client got the items {ids}: expected each item once, in order (did you send ?after=?)")
        requests = feed.requests["long-poll"]
        if requests > len(yours) + 1:
            raise NotYet(f"your client made {requests} requests for {len(yours)} items: a long-poll gets an answer "
                         "only when there is news, so about one request an item")
        same = {item["id"]: item for item in theirs}
        for item in yours:
            if item["id"] in same and item != same[item["id"]]:
                raise NotYet(f"your client got {item!r}; the Server-Sent Events client got {same[item['id']]!r}")
        return ("your client follows the feed by long-polling, a request per answer, and got the same items "
                "as the Server-Sent Events client.")

    return await _judge(conversation, f"your client got fewer than {FEED_ITEMS + 1} items within {TIMEOUT} s")


async def check_parse_frame(parse_frame: Callable[[bytes], Any]) -> Result:
    """Lesson 08: ``parse_frame(data)`` returns ``(fin, opcode, payload)``, the payload unmasked.

    The check hands your function real frames: the ones the handmade server sends
    (a short, a 200-byte and a 70 000-byte text, a pong, a close), and the masked
    ones the ``websockets`` library writes as a client.
    """
    from websockets.client import ClientProtocol
    from websockets.protocol import State
    from websockets.uri import parse_uri

    from . import handmade
    from .frames import receive_frame

    def parsed(frame: bytes, what: str, fin: bool, opcode: int, payload: bytes) -> None:
        try:
            result = parse_frame(frame)
        except Exception as error:
            raise NotYet(f"parse_frame({what}) raised {describe(error)}") from None
        try:
            got_fin, got_opcode, got_payload = result
        except (TypeError, ValueError):
            raise NotYet(f"parse_frame({what}) returned {result!r}; expected (fin, opcode, payload)") from None
        if not isinstance(got_payload, (bytes, bytearray)):
            raise NotYet(f"parse_frame({what}) returned a payload of type {type(got_payload).__name__}; expected bytes")
        if (got_fin, got_opcode) != (fin, opcode):
            raise NotYet(f"parse_frame({what}) said fin={got_fin!r}, opcode={got_opcode!r}; "
                         f"expected fin={fin}, opcode={opcode:#x}")
        if bytes(got_payload) != payload:
            hint = ""
            if len(got_payload) != len(payload):
                hint = (f": {len(got_payload)} bytes instead of {len(payload)} (a length of 126 or 127 means the "
                        "real length is in the next 2 or 8 bytes)")
            elif frame[1] & 0x80:
                hint = ": is it still masked? XOR byte i with mask[i % 4]"
            raise NotYet(f"parse_frame({what}) returned the payload {bytes(got_payload)[:20]!r}…{hint}")

    async def conversation(crashes: Crashes) -> str:
        with start("handmade", name="check-handmade") as server:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            try:
                writer.write(
                    b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
                )
                await reader.readuntil(b"\r\n\r\n")
                mask = bytes([1, 2, 3, 4])
                for text in ["Hello", "two hundred bytes. " * 10 + "0123456789", "x" * 70_000]:
                    writer.write(handmade.encode_frame(handmade.TEXT, text.encode(), mask=mask))
                    frame = await receive_frame(reader)
                    parsed(frame, f"the server's frame of a {len(text):,}-byte text", True, 0x1, text.encode())
                writer.write(handmade.encode_frame(handmade.PING, b"are you there?", mask=mask))
                parsed(await receive_frame(reader), "the server's pong", True, 0xA, b"are you there?")
                writer.write(handmade.encode_frame(handmade.CLOSE, b"\x03\xe8bye", mask=mask))
                parsed(await receive_frame(reader), "the server's close frame", True, 0x8, b"\x03\xe8")
            finally:
                writer.close()
        client = ClientProtocol(parse_uri("ws://127.0.0.1/"))
        client.state = State.OPEN  # as if after the handshake: we only want its frames
        for text in ["masked by websockets", "a longer text, masked too. " * 8]:
            client.send_text(text.encode())
            [frame] = client.data_to_send()
            parsed(frame, f"a masked client frame of {len(text)} bytes", True, 0x1, text.encode())
        client.send_binary(b"part one, ", fin=False)
        [frame] = client.data_to_send()
        parsed(frame, "the first fragment of a message", False, 0x2, b"part one, ")
        return "parse_frame reads every field: FIN, opcode, the three lengths, the mask."

    return await _judge(conversation, f"no frame came back within {TIMEOUT} s")


# -- lesson 09 ------------------------------------------------------------------------------


async def check_count_members(count_members: Callable[..., Awaitable[int]]) -> Result:
    """Lesson 09: ``await count_members(redis, room)`` counts the members of a room shared by several processes.

    The check starts a Redis of its own and two chat servers on it, puts three
    members on one and one on the other, and asks your function; then one leaves,
    and it asks again. ``redis`` is a ``redis.asyncio.Redis`` client that answers
    with text (``decode_responses=True``).
    """
    import redis.asyncio as aioredis

    from .redis_server import start_redis

    async def ask(client: Any, expected: int, situation: str) -> None:
        try:
            counted = count_members(client, "chat")
        except Exception as error:
            raise NotYet(f"count_members(redis, 'chat') raised {describe(error)}") from None
        if not inspect.isawaitable(counted):
            raise NotYet(f"count_members(...) returned {counted!r} at once: is it an 'async def'?")
        try:
            counted = await counted
        except Exception as error:
            raise NotYet(f"count_members(redis, 'chat') raised {describe(error)}") from None
        if counted == expected:
            return
        servers = await client.smembers("ws-course:chat:servers")
        each = [await client.scard(f"ws-course:chat:members:{server}") for server in servers]
        hint = ""
        if counted in each:
            hint = ": are you counting one process's members only? Add up every process's set"
        elif counted == len(servers):
            hint = ": that is the number of processes (ws-course:chat:servers); count each one's members"
        raise NotYet(f"{situation}, count_members returned {counted!r}; there are {expected} members{hint}")

    async def conversation(crashes: Crashes) -> str:
        with start_redis(name="check-redis") as redis_server:
            client = aioredis.Redis.from_url(redis_server.url, decode_responses=True)
            try:
                with start("chat", name="check-first", redis=redis_server.url) as first, \
                        start("chat", name="check-second", redis=redis_server.url) as second:
                    async with contextlib.AsyncExitStack() as clients:
                        alice, _ = await _join(first.ws_url, clients, crashes)
                        bob, _ = await _join(second.ws_url, clients, crashes)
                        for _ in range(2):
                            await _join(first.ws_url, clients, crashes)
                        # Heard across processes: so Redis has every arrival (each process writes in order).
                        await _wait_for(alice, "user2 comes in", crashes)
                        await _wait_for(bob, "user4 comes in", crashes)
                        await ask(client, 4, "with 3 members on one process and 1 on the other")
                        await bob.close()
                        await _wait_for(alice, "user2 left", crashes)
                        await ask(client, 3, "after the member of the second process left")
            finally:
                await client.aclose()
        return "count_members adds up the members of every process in the room."

    return await _judge(conversation)


async def _wait_for(websocket: Any, text: str, crashes: Crashes) -> None:
    while await _receive(websocket, crashes) != text:
        pass
