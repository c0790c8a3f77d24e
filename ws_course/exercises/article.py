"""The checks of lessons 01 to 05, the article's demos: echo, scream, chat, JSON chat, Socket.IO."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from ..demos import start
from ..language import _
from . import judging
from .judging import (
    Crashes,
    NotYet,
    Result,
    describe,
    exercise,
    join_room,
    judge,
    receive,
    watched_room,
)

# check_scream_event wraps python-socketio's sio.handlers, which it does not document (see ws_course.contract).


@exercise
async def check_ask(ask: Callable[[str, str], Awaitable[Any]]) -> Result:
    """Lesson 01: ``await ask(url, text)`` connects to ``url``, sends ``text`` and returns the reply."""

    async def conversation(crashes: Crashes) -> str:
        with start("echo", name="check-echo") as server:  # leaves your own echo server alone
            for text in ["ping", "WebSockets are full duplex", ""]:
                try:
                    reply = await ask(server.ws_url, text)
                except Exception as error:
                    raise NotYet(_("ask(url, {text!r}) raised {error}").format(text=text, error=describe(error))) from None
                if reply != text:
                    raise NotYet(_("ask(url, {text!r}) returned {reply!r}; the echo server replied {text!r}").format(
                        text=text, reply=reply))
        return _("ask() sends a message and returns the echo server's reply.")

    return await judge(conversation, _("ask(url, text) did not return within {seconds} s").format(seconds=judging.TIMEOUT))


@exercise
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
                        raise NotYet(_("after {text!r} your server closed the connection ({closed})").format(
                            text=text, closed=closed)) from None
                    if reply != text.lower() + "...":
                        raise NotYet(_("{text!r} got the reply {reply!r}; expected {expected!r}").format(
                            text=text, reply=reply, expected=text.lower() + "..."))
                await websocket.send(b"\x00")
                try:
                    reply = await crashes.race(websocket.recv())
                    raise NotYet(_("bytes got the reply {reply!r}; expected the connection to close with 1003").format(reply=reply))
                except ConnectionClosed as closed:
                    code = closed.rcvd.code if closed.rcvd else None
                    if code != 1003:
                        raise NotYet(_("bytes closed the connection with code {code}; expected 1003").format(code=code)) from None
        # Leaving "with start(...)" stopped the server, after your handler finished:
        # if it raised after closing, judge sees it now.
        return _("your whisper server whispers, and refuses bytes with 1003.")

    return await judge(conversation, _("no answer within {seconds} s (does your handler send a reply?)").format(
        seconds=judging.TIMEOUT))


@exercise
async def check_headcount(room_class: type) -> Result:
    """Lesson 03: a ChatRoom whose arrivals say how many are in the room."""

    async def conversation(crashes: Crashes) -> str:
        with start(watched_room(room_class, crashes), name="check-headcount") as server:
            async with contextlib.AsyncExitStack() as clients:
                first, arrival = await join_room(server.ws_url, clients, crashes)
                if arrival != "user1 comes in (1 in the room)":
                    raise NotYet(_("the first arrival said {said!r}; expected {expected!r}").format(
                        said=arrival, expected="user1 comes in (1 in the room)"))
                second, arrival = await join_room(server.ws_url, clients, crashes)
                if arrival != "user2 comes in (2 in the room)":
                    raise NotYet(_("the second arrival said {said!r}; expected {expected!r}").format(
                        said=arrival, expected="user2 comes in (2 in the room)"))
                await second.close()
                third, arrival = await join_room(server.ws_url, clients, crashes)
                if arrival != "user3 comes in (2 in the room)":
                    raise NotYet(_("after user2 left, user3's arrival said {said!r}; expected {expected!r}").format(
                        said=arrival, expected="user3 comes in (2 in the room)"))
                heard = [await receive(first, crashes) for _arrival in range(3)]
                if heard != ["user2 comes in (2 in the room)", "user2 left", "user3 comes in (2 in the room)"]:
                    raise NotYet(_("user1 heard {heard!r}").format(heard=heard))
        return _("every arrival says how many are in the room, departures included.")

    return await judge(conversation)


@exercise
async def check_nick(room_class: type) -> Result:
    """Lesson 04: a JSONChatRoom where ``/nick NAME`` renames the sender."""

    async def conversation(crashes: Crashes) -> str:
        with start(watched_room(room_class, crashes), name="check-nick") as server:
            async with contextlib.AsyncExitStack() as clients:
                first, _arrival = await join_room(server.ws_url, clients, crashes)
                second, _arrival = await join_room(server.ws_url, clients, crashes)
                await receive(first, crashes)  # user2 comes in
                await first.send("/nick alice")
                expected = '{"type":"nick","data":"user1 is now alice"}'
                for websocket in (first, second):
                    got = await receive(websocket, crashes)
                    if got != expected:
                        raise NotYet(_("after '/nick alice' the room said {got!r}; expected {expected!r}").format(
                            got=got, expected=expected))
                await first.send("hello")
                got = await receive(second, crashes)
                if got != '{"type":"message","data":"alice says: hello"}':
                    raise NotYet(_("alice's next message arrived as {got!r}; expected it from 'alice'").format(got=got))
                await first.close()
                got = await receive(second, crashes)
                if got != '{"type":"leave","data":"alice left"}':
                    raise NotYet(_("when alice left the room said {got!r}; expected 'alice left'").format(got=got))
        return _("/nick renames a member, for their messages and their departure too.")

    return await judge(conversation)


#: Socket.IO's own events: python-socketio calls these handlers with arguments of its choosing.
_SOCKETIO_OWN_EVENTS = ("connect", "disconnect")


@exercise
async def check_scream_event(create_server: Callable[..., Any]) -> Result:
    """Lesson 05: a Socket.IO server whose ``scream`` event is acknowledged with the text screamed."""
    import socketio

    from ..web.socketio_app import SocketIOServer

    def watched_server(crashes: Crashes) -> Callable[..., Any]:
        def create(**options: Any) -> Any:
            sio = create_server(**options)
            handlers = sio.handlers.get("/", {})
            for event, handler in list(handlers.items()):
                if event not in _SOCKETIO_OWN_EVENTS:
                    handlers[event] = crashes.guard(handler, _("handler for '{event}'").format(event=event), "handler(sid, data)")
            return sio

        return create

    async def conversation(crashes: Crashes) -> str:
        server = None
        client = socketio.AsyncClient(handle_sigint=False, reconnection=False)
        try:
            try:
                server = await SocketIOServer(watched_server(crashes), "event-chat.html", "127.0.0.1", 0, close_timeout=1)
            except Exception as error:
                raise NotYet(_("create_server(...) raised {error}").format(error=describe(error))) from None
            if "scream" not in server.sio.handlers.get("/", {}):
                raise NotYet(_("your server has no handler for the event 'scream' yet"))
            await client.connect(f"http://127.0.0.1:{server.port}/", transports=["websocket"])
            for text in ["hi", "Socket.IO"]:
                reply = await crashes.race(client.call("scream", text, timeout=judging.TIMEOUT + 1))  # waits for the ack
                if reply != text.upper() + "!!!":
                    raise NotYet(_("'scream' with {text!r} was acknowledged with {reply!r}; expected {expected!r}").format(
                        text=text, reply=reply, expected=text.upper() + "!!!"))
            chat = asyncio.get_running_loop().create_future()
            client.on("mes", lambda data: chat.done() or chat.set_result(data))
            await client.emit("message", "still a chat room?")
            if await crashes.race(chat) != "user1 says: still a chat room?":
                raise NotYet(_("the chat room's own events stopped working"))
        finally:
            if client.connected:
                await client.disconnect()
            if server is not None:
                await server.aclose()
        return _("'scream' is acknowledged with the text screamed, and the room still chats.")

    return await judge(conversation, _(
        "no acknowledgement within {seconds} s (does the 'scream' handler return the reply?)").format(seconds=judging.TIMEOUT))
