"""``ws-course serve event-chat`` in a classroom (issue 18): who said what, by nickname and address, and the rate limit."""

from __future__ import annotations

import asyncio

import socketio

from ws_course.classroom.event_room import moderated_demo
from ws_course.classroom.roster import RATE_LIMIT
from ws_course.runtime.background import start


class Member:
    """A python-socketio client that records every event it receives, in order."""

    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(handle_sigint=False, reconnection=False)
        self.events: asyncio.Queue[tuple[str, object]] = asyncio.Queue()

        @self.sio.on("*")
        async def any_event(event, data):
            await self.events.put((event, data))

    async def join(self, url: str) -> Member:
        await self.sio.connect(url, transports=["websocket"], wait_timeout=5)
        return self

    async def until(self, event: str, data: object, timeout: float = 15) -> list[tuple[str, object]]:
        """Every event received up to and including ``(event, data)``."""
        seen = []
        while seen[-1:] != [(event, data)]:
            seen.append(await asyncio.wait_for(self.events.get(), timeout))
        return seen


async def test_the_event_chat_logs_who_said_what_and_drops_a_flood_with_one_refusal():
    with start(moderated_demo(), ping_interval=1, ping_timeout=2) as server:
        watcher = await Member().join(server.page_url)
        flooder = await Member().join(server.page_url)
        await watcher.until("enter", "user2 comes in")
        for number in range(200):
            await flooder.sio.emit("message", f"flood {number}")
        await flooder.sio.emit("message", ["not", "text"])  # refused by the room itself, as before
        # python-socketio handles each event in a task of its own, started in the order the events
        # came: once the last one is answered, the roster has seen all 200.
        told = await flooder.until("refused", "a message must be text, not list")
        refusals = [data for event, data in told if event == "refused"]
        assert refusals[0] == "too fast: at most 5 messages a second are sent on; your extra messages were not sent"
        line = await server.wait_for_log("user2 (127.0.0.1, program) sends too fast")
        assert line.endswith("their extra messages are dropped")
        says = [line for line in server.log if line.startswith("user2 (127.0.0.1, program) says: flood ")]
        assert RATE_LIMIT <= len(says) < 200 and len(refusals) - 1 == sum("sends too fast" in x for x in server.log)
        heard = []
        while len(heard) < len(says):  # the watcher hears what passed, and nothing else
            event, data = await asyncio.wait_for(watcher.events.get(), 15)
            heard.append(data)
        assert heard == ["user2 " + line.removeprefix("user2 (127.0.0.1, program) ") for line in says]
        assert heard[:RATE_LIMIT] == [f"user2 says: flood {n}" for n in range(RATE_LIMIT)]
        await watcher.sio.emit("message", "still heard")
        await server.wait_for_log("user1 (127.0.0.1, program) says: still heard")
        await flooder.sio.disconnect()
        await watcher.until("leave", "user2 left")
        await server.wait_for_log("user2 (127.0.0.1, program): ")  # the flood's count, when it ends
        await watcher.sio.disconnect()
