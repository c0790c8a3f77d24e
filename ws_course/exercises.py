"""Automatic checks for the "your turn" exercises.

Each check runs your code against a real server, prints "✅ Well done: ..." or
"❌ Not yet: ...", and returns a :class:`Result` that is true or false, so that
``assert await check_...(...)`` works too. A check never raises because of your
code, so "Run All" goes on to the next cell either way.
"""

from __future__ import annotations

import asyncio
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
