"""Lesson 06's check: a room that limits how fast a member may talk."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.protocol import State

from ..demos import start
from .judging import (
    Crashes,
    NotYet,
    Result,
    join_room,
    judge,
    receive,
    watched_room,
)

# Beyond websockets' documented API: protocol.close_rcvd, protocol, transport (see ws_course.contract).

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
        with start(watched_room(room_class, crashes), name="check-rate-limit") as server:
            async with contextlib.AsyncExitStack() as clients:
                polite, _ = await join_room(server.ws_url, clients, crashes)
                flooder, arrival = await join_room(server.ws_url, clients, crashes)
                await receive(polite, crashes)  # the flooder's arrival
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

    return await judge(conversation)
