"""Lessons 06a-06c's checks accept a right answer and explain what is wrong with each wrong one.

Each check runs the answer in a real server and attacks it with real clients;
each wrong answer here is a mistake a learner makes, and the test asserts the
hint that names it (and, when the answer raises, the learner's own line).
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import time
from collections import deque

import pytest
from websockets.frames import CloseCode
from websockets.protocol import State

from ws_course.broadcast import broadcast
from ws_course.chat import ChatRoom
from ws_course.exercises import (
    check_buffer_cap,
    check_host_rule,
    check_member_cap,
    check_message_shape,
    check_origin_rule,
    check_rate_limit,
)

# -- 06a: the origin rule -----------------------------------------------------------------


def right_origin(origin, host):
    if origin is None:
        return True  # not a browser
    return origin == f"http://{host}"


async def test_check_origin_rule_accepts_the_rooms_own_page_and_clients_without_origin():
    result = await check_origin_rule(right_origin)
    assert result and "refused another site, null, another port and a look-alike name with 403" in repr(result)


async def test_check_origin_rule_names_each_wrong_rule():
    def everyone(origin, host):
        return True

    def nobody(origin, host):
        return False

    def browsers_only(origin, host):
        return origin == f"http://{host}"

    def with_null(origin, host):
        return origin in (None, "null", f"http://{host}")

    def same_machine(origin, host):
        return origin is None or origin.startswith("http://127.0.0.1")

    def same_address(origin, host):
        return origin is None or origin.removeprefix("http://").split(":")[0] == host.split(":")[0]

    assert "a page from http://evil.example got in" in repr(await check_origin_rule(everyone))
    assert "a Python client (no Origin header: origin is None) was refused" in repr(await check_origin_rule(nobody))
    assert "a Python client (no Origin header" in repr(await check_origin_rule(browsers_only))
    assert "Origin: null got in: any site's sandboxed frame sends null" in repr(await check_origin_rule(with_null))
    assert "another port of this machine got in" in repr(await check_origin_rule(same_machine))
    assert "another port of this machine got in" in repr(await check_origin_rule(same_address))


async def test_check_origin_rule_shows_the_rules_exception_and_line():
    def forgets_none(origin, host):
        return origin.lower() == f"http://{host}"  # AttributeError: None has no lower()

    result = await check_origin_rule(forgets_none)
    assert repr(result).startswith("[TRY AGAIN] Not yet: your forgets_none raised AttributeError")
    assert "of your code: return origin.lower() == f\"http://{host}\"" in repr(result)


async def test_check_origin_rule_refuses_a_lookalike_name():
    def prefix(origin, host):
        return origin is None or origin.startswith(f"http://{host}".rsplit(":", 1)[0]) and origin.endswith(
            host.rsplit(":", 1)[1]
        )

    assert "127.0.0.1.evil.example" in repr(await check_origin_rule(prefix))


# -- 06a: the host rule -------------------------------------------------------------------


def right_host(name):
    if name == "localhost":
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


async def test_check_host_rule_accepts_addresses_and_localhost():
    result = await check_host_rule(right_host)
    assert result and "refused rebind.example and its look-alikes with 403" in repr(result)


async def test_check_host_rule_names_each_wrong_rule():
    def everyone(name):
        return True

    def loopback_only(name):
        return name in ("127.0.0.1", "localhost")

    def contains(name):
        return "localhost" in name or name[0].isdigit()

    def digits(name):
        return name == "localhost" or name.replace(".", "").isdigit() or name.startswith("127.")

    assert "a page at rebind.example got in" in repr(await check_host_rule(everyone))
    assert "the teacher's address (192.168.1.10) was refused" in repr(await check_host_rule(loopback_only))
    assert "localhost.rebind.example got in" in repr(await check_host_rule(contains))
    assert "127.0.0.1.rebind.example got in: it only looks like an address" in repr(await check_host_rule(digits))


async def test_check_host_rule_shows_the_rules_exception_and_line():
    def no_try(name):
        return name == "localhost" or ipaddress.ip_address(name) is not None  # ValueError for a name

    result = await check_host_rule(no_try)
    assert "your no_try raised ValueError: 'rebind.example' does not appear to be an IPv4 or IPv6 address" in repr(result)
    assert "of your code: return name == \"localhost\" or ipaddress.ip_address(name) is not None" in repr(result)


# -- 06b: the buffer cap ------------------------------------------------------------------


def capped(cap, *, unsent=lambda member: member.transport.get_write_buffer_size()):
    class Room(ChatRoom):
        def tell_everyone(self, message):
            super().tell_everyone(message)
            for member in list(self.members):
                if unsent(member) > cap:
                    member.transport.abort()

    return Room


async def test_check_buffer_cap_accepts_a_room_that_cuts_past_256_kib():
    result = await check_buffer_cap(capped(256 * 1024))
    assert result and "the frozen member was cut after" in repr(result)


async def test_check_buffer_cap_accepts_a_room_that_checks_before_it_sends():
    class Room(ChatRoom):
        def tell_everyone(self, message):
            for member in list(self.members):
                if member.transport.get_write_buffer_size() > 256 * 1024:
                    member.transport.abort()
            super().tell_everyone(message)

    assert await check_buffer_cap(Room)


async def test_check_buffer_cap_names_each_wrong_room():
    result = await check_buffer_cap(ChatRoom)
    assert "bytes behind and still in the room: cut a member as soon as" in repr(result)
    result = await check_buffer_cap(capped(256 * 1024 * 1024))  # a cap in KiB, written as if bytes
    assert "bytes behind and still in the room" in repr(result)
    result = await check_buffer_cap(capped(-1))  # cuts everyone, even those who read
    # Which member notices first depends on the threads' timing: either hint names the mistake.
    assert "was cut as it came in, with nothing unsent yet" in repr(result) or (
        "a member that reads everything was cut" in repr(result)
    )
    result = await check_buffer_cap(capped(50_000))  # too strict: a slow phone would be cut too
    assert "bytes unsent: a member may be up to MAX_UNSENT (262144) bytes behind" in repr(result)


async def test_check_buffer_cap_wants_a_member_past_the_cap_cut_not_skipped():
    class Skips(ChatRoom):  # sends nothing more to a member past the cap, and keeps it in the room
        def tell_everyone(self, message):
            broadcast([member for member in self.members if member.transport.get_write_buffer_size() <= 256 * 1024],
                      message)

    result = await check_buffer_cap(Skips)
    assert "never left the room (40 texts of 54 KB later): cut it with member.transport.abort()" in repr(result)


async def test_check_buffer_cap_shows_the_rooms_exception_and_line():
    class Crashing(ChatRoom):
        def tell_everyone(self, message):
            super().tell_everyone(message)
            for member in self.members:
                if member.transport.get_write_buffer_size() > 256 * 1024:
                    member.transport.abort()
                    del self.members[member]  # RuntimeError: the dict changed size during the loop

    result = await check_buffer_cap(Crashing)
    assert "your Crashing raised RuntimeError: dictionary changed size during iteration" in repr(result)
    assert "of your code: for member in self.members:" in repr(result)


# -- 06b: the member cap ------------------------------------------------------------------


def with_door(full):
    class Room(ChatRoom):
        def door(self, connection, request):
            if full(self):
                return connection.respond(503, "the room is full\n")
            return None

    return Room


async def test_check_member_cap_accepts_a_room_of_three():
    result = await check_member_cap(with_door(lambda room: len(room.members) >= 3))
    assert result and "refused a 4th member with 503, and let the next one in" in repr(result)


async def test_check_member_cap_names_each_wrong_door():
    assert "a 4th member got in a room of 3" in repr(await check_member_cap(with_door(lambda room: len(room.members) > 3)))
    assert "member 3 of 3 was refused (503)" in repr(await check_member_cap(with_door(lambda room: len(room.members) >= 2)))
    assert "count the members in the room now, len(self.members)" in repr(
        await check_member_cap(with_door(lambda room: room.count >= 3))
    )

    class Forbidden(ChatRoom):
        def door(self, connection, request):
            return connection.respond(403, "full\n") if len(self.members) >= 3 else None

    assert "the 4th member was refused with 403; a full room answers 503" in repr(await check_member_cap(Forbidden))
    assert "ChatRoom has no door(connection, request) method" in repr(await check_member_cap(ChatRoom))


async def test_check_member_cap_shows_the_doors_exception_and_line():
    class Crashing(ChatRoom):
        def door(self, connection, request):
            if len(self.members) >= self.limit:  # AttributeError: no limit was set
                return connection.respond(503, "the room is full\n")
            return None

    result = await check_member_cap(Crashing)
    assert "your Crashing.door raised AttributeError: 'Crashing' object has no attribute 'limit'" in repr(result)
    assert "of your code: if len(self.members) >= self.limit:" in repr(result)


# -- 06c: the shape of a message ----------------------------------------------------------


class RightShape(ChatRoom):
    async def receive(self, websocket, text):
        try:
            message = json.loads(text)
        except (ValueError, RecursionError):
            message = None
        if not (isinstance(message, dict) and isinstance(message.get("text"), str) and len(message["text"]) <= 200):
            await websocket.close(CloseCode.POLICY_VIOLATION, "bad message")
            return
        self.tell_everyone(f"{self.members[websocket]} says: {message['text']}")


async def test_check_message_shape_accepts_a_room_that_checks_every_message():
    result = await check_message_shape(RightShape)
    assert result and "closed 6 senders of bad ones with 1008" in repr(result)


def shaped(valid, *, code=CloseCode.POLICY_VIOLATION, reason="bad message"):
    class Room(ChatRoom):
        async def receive(self, websocket, text):
            try:
                message = json.loads(text)
            except (ValueError, RecursionError):
                message = None
            if not valid(message):
                await websocket.close(code, reason)
                return
            self.tell_everyone(f"{self.members[websocket]} says: {message['text']}")

    return Room


async def test_check_message_shape_names_each_wrong_room():
    def no_length(message):
        return isinstance(message, dict) and isinstance(message.get("text"), str)

    def any_text(message):
        return isinstance(message, dict) and "text" in message and len(str(message["text"])) <= 200

    assert "its \"text\" is 201 characters long) and the room said" in repr(await check_message_shape(shaped(no_length)))
    assert "its \"text\" is a number, not a string) and the room said 'user" in repr(
        await check_message_shape(shaped(any_text))
    )
    result = await check_message_shape(shaped(lambda message: False))
    assert "a member sent {\"text\": \"hello\"} and the room said 'user2 left'" in repr(result)
    result = await check_message_shape(shaped(no_length, code=CloseCode.INVALID_DATA, reason="bad"))
    assert "was closed with code 1007, reason 'bad'; expected code 1008, reason 'bad message'" in repr(result)

    class PassesItOn(ChatRoom):  # the room of lesson 03: every text as it is
        pass

    assert "a member sent {\"text\": \"hello\"} and the room said '{\"text\": \"hello\"}'" in repr(
        await check_message_shape(PassesItOn)
    )


async def test_check_message_shape_shows_the_recursion_error_and_the_learners_line():
    class CatchesOnlyValueError(ChatRoom):
        async def receive(self, websocket, text):
            try:
                message = json.loads(text)
            except ValueError:
                message = None
            if not (isinstance(message, dict) and isinstance(message.get("text"), str) and len(message["text"]) <= 200):
                await websocket.close(CloseCode.POLICY_VIOLATION, "bad message")
                return
            self.tell_everyone(f"{self.members[websocket]} says: {message['text']}")

    result = await check_message_shape(CatchesOnlyValueError)
    assert "your CatchesOnlyValueError raised RecursionError" in repr(result)
    assert "of your code: message = json.loads(text)" in repr(result)

    class Trusting(ChatRoom):
        async def receive(self, websocket, text):
            self.tell_everyone(f"{self.members[websocket]} says: {json.loads(text)['text']}")

    result = await check_message_shape(Trusting)
    assert "your Trusting raised JSONDecodeError" in repr(result)
    assert "of your code: self.tell_everyone(f\"{self.members[websocket]} says: {json.loads(text)['text']}\")" in repr(result)


# -- 06c: the rate limit ------------------------------------------------------------------


def rate_limited(limit_of, close, *, drop_after_close=True):
    """A room that closes a member with ``close(websocket)`` past 5 messages in the window ``limit_of(room, websocket)``.

    With ``drop_after_close``, what a member sent before it heard the close goes nowhere.
    """

    class Room(ChatRoom):
        def __init__(self):
            super().__init__()
            self.recent = {}

        async def receive(self, websocket, text):
            if drop_after_close and websocket.state is not State.OPEN:
                return
            times = limit_of(self, websocket)
            now = time.monotonic()
            while times and now - times[0] >= 1:
                times.popleft()
            times.append(now)
            if len(times) > 5:
                await close(websocket)
                return
            super().receive(websocket, text)

    return Room


def per_member(room, websocket):
    return room.recent.setdefault(websocket, deque())


async def too_fast(websocket):
    await websocket.close(CloseCode.POLICY_VIOLATION, "too fast")


async def test_check_rate_limit_accepts_a_per_member_limit_of_5_a_second():
    result = await check_rate_limit(rate_limited(per_member, too_fast))
    assert result and "a flooder was closed with 1008 'too fast' after 5 of its 40 messages" in repr(result)


async def test_check_rate_limit_accepts_a_room_that_closes_without_waiting():
    """Its close is over at once (the server reads on), so the check itself waits out the polite member's second."""
    closing = set()

    async def close_in_a_task(websocket):
        task = asyncio.ensure_future(too_fast(websocket))
        closing.add(task)
        task.add_done_callback(closing.discard)

    assert await check_rate_limit(rate_limited(per_member, close_in_a_task))


@pytest.mark.slow  # about 7 s of rate windows
async def test_check_rate_limit_rejects_wrong_limits_with_the_reason():
    everyone = deque()

    class Forever(ChatRoom):  # counts a member's messages since it came in, not in the last second
        def __init__(self):
            super().__init__()
            self.sent = {}

        async def receive(self, websocket, text):
            if websocket.state is not State.OPEN:
                return
            self.sent[websocket] = self.sent.get(websocket, 0) + 1
            if self.sent[websocket] > 5:
                await too_fast(websocket)
                return
            super().receive(websocket, text)

    class PassesTheSixthOn(ChatRoom):  # closes, but only after passing the message on
        def __init__(self):
            super().__init__()
            self.recent = {}

        async def receive(self, websocket, text):
            times = per_member(self, websocket)
            times.append(time.monotonic())
            super().receive(websocket, text)
            if len([t for t in times if time.monotonic() - t < 1]) > 5:
                await too_fast(websocket)

    async def cut(websocket):
        websocket.transport.abort()

    async def goodbye(websocket):
        await websocket.close()

    assert "a member sent 40 messages at once and is still in the room" in repr(await check_rate_limit(ChatRoom))
    result = await check_rate_limit(rate_limited(lambda room, websocket: everyone, too_fast))
    assert "of the flooder's first 5 messages, the room passed on []" in repr(result)
    assert "is your room counting everyone's messages together" in repr(result)
    assert "waited a second and sent one more: the limit is per second" in repr(await check_rate_limit(Forever))
    assert "of the flooder's 40 messages reached the room; at most 5 should" in repr(
        await check_rate_limit(PassesTheSixthOn)
    )
    assert "cut without a close frame (code 1006)" in repr(await check_rate_limit(rate_limited(per_member, cut)))
    result = await check_rate_limit(rate_limited(per_member, too_fast, drop_after_close=False))
    assert "10 of the flooder's 40 messages reached the room; at most 5 should" in repr(result)
    assert "after close() returns, the handler still hands them to receive()" in repr(result)
    assert "closed with code 1000, reason ''; expected code 1008" in repr(
        await check_rate_limit(rate_limited(per_member, goodbye))
    )


async def test_check_rate_limit_shows_the_rooms_exception_and_line():
    class Crashing(ChatRoom):
        def __init__(self):
            super().__init__()
            self.recent = {}

        async def receive(self, websocket, text):
            self.recent[websocket].append(time.monotonic())  # KeyError: nothing set for a newcomer
            super().receive(websocket, text)

    result = await check_rate_limit(Crashing)
    assert repr(result).startswith("[TRY AGAIN] Not yet: your Crashing raised KeyError")
    assert "of your code: self.recent[websocket].append(time.monotonic())" in repr(result)


