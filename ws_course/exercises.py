"""Automatic checks for the "your turn" exercises.

Each check runs your code against a real server, prints "✅ Well done: ..." or
"❌ Not yet: ...", and returns a :class:`Result` that is true or false, so that
``assert await check_...(...)`` works too. A check never raises because of your
code, so "Run All" goes on to the next cell either way.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from .runtime import start

#: Seconds a check waits for your code before it gives up.
TIMEOUT = 5


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
        return ("✅ Well done: " if self.ok else "❌ Not yet: ") + self.message


async def check_ask(ask: Callable[[str, str], Awaitable[Any]]) -> Result:
    """Lesson 01: ``await ask(url, text)`` connects to ``url``, sends ``text`` and returns the reply."""
    with start("echo", name="check-echo") as server:  # leaves your own echo server alone
        for text in ["ping", "WebSockets are full duplex", ""]:
            try:
                async with asyncio.timeout(TIMEOUT):
                    reply = await ask(server.ws_url, text)
            except Exception as exc:
                return Result(False, f"ask(url, {text!r}) raised {type(exc).__name__}: {exc}")
            if reply != text:
                return Result(False, f"ask(url, {text!r}) returned {reply!r}; the echo server replied {text!r}")
    return Result(True, "ask() sends a message and returns the echo server's reply.")


async def check_whisper(handler: Callable[[Any], Awaitable[None]]) -> Result:
    """Lesson 02: a handler that answers ``"HI"`` with ``"hi..."`` and closes with 1003 on bytes."""
    with start(handler, name="check-whisper") as server:
        try:
            async with asyncio.timeout(TIMEOUT), connect(server.ws_url, proxy=None) as websocket:
                for text in ["HI", "Quiet, Please", "ok"]:
                    await websocket.send(text)
                    reply = await websocket.recv()
                    if reply != text.lower() + "...":
                        return Result(False, f"{text!r} got the reply {reply!r}; expected {text.lower() + '...'!r}")
                await websocket.send(b"\x00")
                try:
                    reply = await websocket.recv()
                    return Result(False, f"bytes got the reply {reply!r}; expected the connection to close with 1003")
                except ConnectionClosed as closed:
                    code = closed.rcvd.code if closed.rcvd else None
                    if code != 1003:
                        return Result(False, f"bytes closed the connection with code {code}; expected 1003")
        except TimeoutError:
            return Result(False, f"no answer within {TIMEOUT} s (does your handler send a reply?)")
        except Exception as exc:
            return Result(False, f"talking to your server failed with {type(exc).__name__}: {exc}")
    return Result(True, "your whisper server whispers, and refuses bytes with 1003.")


async def _join(url: str, clients: contextlib.AsyncExitStack):
    """Join a chat room as a new member (closed when ``clients`` closes); return it and its arrival."""
    websocket = await clients.enter_async_context(connect(url, proxy=None, max_queue=None))
    return websocket, await websocket.recv()


async def check_headcount(room_class: type) -> Result:
    """Lesson 03: a ChatRoom whose arrivals say how many are in the room."""
    with start(room_class().handler, name="check-headcount") as server:
        try:
            async with asyncio.timeout(TIMEOUT), contextlib.AsyncExitStack() as clients:
                first, arrival = await _join(server.ws_url, clients)
                if arrival != "user1 comes in (1 in the room)":
                    return Result(False, f"the first arrival said {arrival!r}; expected 'user1 comes in (1 in the room)'")
                second, arrival = await _join(server.ws_url, clients)
                if arrival != "user2 comes in (2 in the room)":
                    return Result(False, f"the second arrival said {arrival!r}; expected 'user2 comes in (2 in the room)'")
                await second.close()
                third, arrival = await _join(server.ws_url, clients)
                if arrival != "user3 comes in (2 in the room)":
                    return Result(False, f"after user2 left, user3's arrival said {arrival!r}; expected 'user3 comes in (2 in the room)'")
                heard = [await first.recv() for _ in range(3)]
                if heard != ["user2 comes in (2 in the room)", "user2 left", "user3 comes in (2 in the room)"]:
                    return Result(False, f"user1 heard {heard!r}")
        except TimeoutError:
            return Result(False, f"the room stopped answering within {TIMEOUT} s")
        except Exception as exc:
            return Result(False, f"talking to your room failed with {type(exc).__name__}: {exc}")
    return Result(True, "every arrival says how many are in the room, departures included.")


async def check_nick(room_class: type) -> Result:
    """Lesson 04: a JSONChatRoom where ``/nick NAME`` renames the sender."""
    with start(room_class().handler, name="check-nick") as server:
        try:
            async with asyncio.timeout(TIMEOUT), contextlib.AsyncExitStack() as clients:
                first, _ = await _join(server.ws_url, clients)
                second, _ = await _join(server.ws_url, clients)
                await first.recv()  # user2 comes in
                await first.send("/nick alice")
                expected = '{"type":"nick","data":"user1 is now alice"}'
                for websocket in (first, second):
                    got = await websocket.recv()
                    if got != expected:
                        return Result(False, f"after '/nick alice' the room said {got!r}; expected {expected!r}")
                await first.send("hello")
                got = await second.recv()
                if got != '{"type":"message","data":"alice says: hello"}':
                    return Result(False, f"alice's next message arrived as {got!r}; expected it from 'alice'")
                await first.close()
                got = await second.recv()
                if got != '{"type":"leave","data":"alice left"}':
                    return Result(False, f"when alice left the room said {got!r}; expected 'alice left'")
        except TimeoutError:
            return Result(False, f"the room stopped answering within {TIMEOUT} s")
        except Exception as exc:
            return Result(False, f"talking to your room failed with {type(exc).__name__}: {exc}")
    return Result(True, "/nick renames a member, for their messages and their departure too.")


async def check_scream_event(create_server: Callable[..., Any]) -> Result:
    """Lesson 05: a Socket.IO server whose ``scream`` event is acknowledged with the text screamed."""
    import socketio

    from .socketio_app import SocketIOServer

    server = None
    client = socketio.AsyncClient(handle_sigint=False, reconnection=False)
    try:
        async with asyncio.timeout(TIMEOUT):
            server = await SocketIOServer(create_server, "event-chat.html", "127.0.0.1", 0, close_timeout=1)
            if "scream" not in server.sio.handlers.get("/", {}):
                return Result(False, "your server has no handler for the event 'scream' yet")
            await client.connect(f"http://127.0.0.1:{server.bound_port}/", transports=["websocket"])
            for text in ["hi", "Socket.IO"]:
                reply = await client.call("scream", text)  # waits for the acknowledgement
                if reply != text.upper() + "!!!":
                    return Result(False, f"'scream' with {text!r} was acknowledged with {reply!r}; expected {text.upper() + '!!!'!r}")
            chat = asyncio.get_running_loop().create_future()
            client.on("mes", lambda data: chat.done() or chat.set_result(data))
            await client.emit("message", "still a chat room?")
            if await chat != "user1 says: still a chat room?":
                return Result(False, "the chat room's own events stopped working")
    except TimeoutError:
        return Result(False, f"no acknowledgement within {TIMEOUT} s (does the 'scream' handler return the reply?)")
    except Exception as exc:
        return Result(False, f"talking to your server failed with {type(exc).__name__}: {exc}")
    finally:
        if client.connected:
            await client.disconnect()
        if server is not None:
            await server.aclose()
    return Result(True, "'scream' is acknowledged with the text screamed, and the room still chats.")
