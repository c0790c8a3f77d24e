"""Members of the three chat rooms (chat, JSON chat, event chat), read the same way: as text.

The Redis tests run the same scenarios on the three rooms. A :class:`Member` hides
how each one talks: a plain WebSocket, JSON (``data`` is what a person reads), or
Socket.IO events (``enter``, ``mes``, ``leave``).
"""

from __future__ import annotations

import asyncio
import json

import socketio
from websockets.asyncio.client import connect


class Member:
    """One member of a room; :meth:`heard` is everything it heard, as text, oldest first."""

    def __init__(self, demo: str) -> None:
        self.demo = demo
        self.heard: list[str] = []
        self._new = asyncio.Event()
        self._websocket = None
        self._sio: socketio.AsyncClient | None = None

    @classmethod
    async def join(cls, demo: str, port: int) -> Member:
        member = cls(demo)
        if demo == "event_chat":
            member._sio = socketio.AsyncClient(handle_sigint=False, reconnection=False)
            for event in ("enter", "mes", "leave"):
                member._sio.on(event, member._hear)
            await member._sio.connect(f"http://127.0.0.1:{port}/", transports=["websocket"])
        else:
            member._websocket = await connect(f"ws://127.0.0.1:{port}/", proxy=None, max_queue=None)
            member._reader = asyncio.create_task(member._read())
        member.nickname = (await member.wait_for(lambda text: text.endswith(" comes in"))).split()[0]
        return member

    async def _read(self) -> None:
        async for message in self._websocket:
            self._hear(json.loads(message)["data"] if self.demo == "json_chat" else message)

    def _hear(self, text: str) -> None:
        self.heard.append(text)
        self._new.set()

    async def say(self, text: str) -> None:
        if self._sio is not None:
            await self._sio.emit("message", text)
        else:
            await self._websocket.send(text)

    def said(self, nickname: str, text: str) -> str:
        """What the room says when ``nickname`` says ``text`` (the plain chat: the text as it is)."""
        return text if self.demo == "chat" else f"{nickname} says: {text}"

    async def wait_for(self, wanted, timeout: float = 10, start: int = 0) -> str:
        """Wait until it heard ``wanted`` (a text, or a test on a text) at or after index ``start``."""
        test = wanted if callable(wanted) else (lambda text: text == wanted)
        async with asyncio.timeout(timeout):
            while True:
                for text in self.heard[start:]:
                    if test(text):
                        return text
                self._new.clear()
                await self._new.wait()

    async def leave(self) -> None:
        if self._sio is not None:
            if self._sio.connected:
                await self._sio.disconnect()
        else:
            await self._websocket.close()
            await self._reader
