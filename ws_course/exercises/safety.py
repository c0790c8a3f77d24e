"""The checks of lessons 06a-06c, keeping a room safe: each runs your code in a real server and attacks it.

- 06a, who may join: :func:`check_origin_rule` (your origin rule, knocked on with
  forged ``Origin`` headers, ``null`` among them) and :func:`check_host_rule` (your
  host rule, called by names a DNS-rebinding page would use);
- 06b, slow members and full rooms: :func:`check_buffer_cap` (your room, with a
  member that never reads) and :func:`check_member_cap` (your room's door, with a
  fourth newcomer and then a free place);
- 06c, never trust a message: :func:`check_message_shape` (your room, sent
  messages of every wrong shape) and :func:`check_rate_limit` (your room, flooded).

Every server a check starts is the course's own (:func:`ws_course.demos.start`),
with the guard's protection that the exercise is about switched off, so that what
admits or refuses is your code, not the course's.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import Any
from urllib.parse import urlsplit

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.protocol import State

from ..classroom.roster import RATE_LIMIT as CLASSROOM_RATE_LIMIT
from ..demos import start
from ..language import _
from .judging import (
    Crashes,
    NotYet,
    Result,
    describe,
    exercise,
    join_room,
    judge,
    receive,
    wait_for_text,
    watched_room,
)

# Beyond websockets' documented API: protocol.close_rcvd, protocol, transport, loop (see ws_course.contract).

# -- 06a: who may join -------------------------------------------------------------------


async def admitted(url: str, crashes: Crashes, **options: Any) -> int | None:
    """Knock on a server: None if the handshake was admitted, else the HTTP status that refused it.

    A refusal because your code raised (500) is that exception, as the verdict.
    """
    try:
        async with connect(url, proxy=None, **options):
            return None
    except InvalidStatus as refused:
        if crashes:
            raise NotYet(crashes.verdict()) from None
        return refused.response.status_code


async def stays(websocket: Any) -> None:
    """A member of a check's plain room: it stays until it leaves."""
    await websocket.wait_closed()


def door(rule: Any, crashes: Crashes, name: str, called_as: str, arguments: Any) -> Any:
    """A ``process_request`` hook that admits a request when ``rule(*arguments(request))`` is true, else 403.

    When your rule raises, the request gets 500 and ``crashes`` has the exception,
    which becomes the verdict, with your line.
    """
    guarded = crashes.guard(rule, name, called_as)

    def process_request(connection: Any, request: Any) -> Any:
        try:
            allowed = guarded(*arguments(request))
        except Exception:
            return connection.respond(500, "your rule raised an exception\n")
        return None if allowed else connection.respond(403, "Forbidden\n")

    return process_request


def origin_cases(port: int) -> list[tuple[str | None, bool, str]]:
    """Each ``Origin`` the origin check knocks with, whether it must get in, and what to say if your rule gets it wrong."""
    own = f"http://127.0.0.1:{port}"
    other_port = port + 1 if port < 65535 else port - 1
    look_alike = f"http://127.0.0.1.evil.example:{port}"
    return [
        (None, True, _("a Python client (no Origin header: origin is None) was refused: only browsers send "
                       "Origin, so this check protects browsers' users; admit None")),
        (own, True, _("the room's own page (Origin: {origin}, Host: 127.0.0.1:{port}) was refused: admit the "
                      "origin that is 'http://' + host").format(origin=own, port=port)),
        ("http://evil.example", False, _("a page from http://evil.example got in: refuse every origin that is not "
                                         "the room's own page")),
        ("null", False, _("a page with Origin: null got in: any site's sandboxed frame sends null, so admitting it "
                          "admits every site; refuse it")),
        (f"http://127.0.0.1:{other_port}", False, _("a page from another port of this machine got in: the port is "
                                                    "part of an origin, another port is another site; compare the "
                                                    "whole origin")),
        (look_alike, False, _("{origin} got in: a name that only begins like the room's is another site's; compare "
                              "the whole origin, not its beginning").format(origin=look_alike)),
    ]


@exercise
async def check_origin_rule(origin_allowed: Any) -> Result:
    """Lesson 06a: ``origin_allowed(origin, host)``, true for the requests a room may admit.

    The check serves a room whose door is your function: it calls it with each
    handshake's ``Origin`` header (None when there is none) and its ``Host`` header
    (``127.0.0.1:PORT``), and answers 403 when it returns false. (The course's own
    origin check is off in this room.) Then it knocks, as a browser would, with a
    Python client's missing ``Origin``, the room's own page, another site, ``null``
    (any site's sandboxed frame), another port of this machine, and a name that
    only begins like the room's.
    """

    async def conversation(crashes: Crashes) -> str:
        hook = door(origin_allowed, crashes, getattr(origin_allowed, "__name__", "rule"), "origin_allowed(origin, host)",
                    lambda request: (request.headers.get("Origin"), request.headers.get("Host")))
        with start(stays, name="check-origin-rule", allow_origins=["*"], process_request=hook) as server:
            for origin, admit, wrong in origin_cases(server.port):
                status = await admitted(server.ws_url, crashes, origin=origin)
                if (status is None) != admit:
                    raise NotYet(wrong)
        return _("the room admitted a Python client and its own page, and refused another site, null, another "
                 "port and a look-alike name with 403.")

    return await judge(conversation)


def host_cases() -> list[tuple[str, bool, str]]:
    """The names lesson 06a's host check calls the room by, whether each must get in, and what to say if your rule gets it wrong."""
    return [
        ("127.0.0.1", True, _("the room called by its IP address (Host: 127.0.0.1) was refused: DNS decides nothing "
                              "about an IP address; admit it")),
        ("localhost", True, _("the room called localhost was refused: browsers resolve localhost to this machine "
                              "themselves; admit it")),
        ("192.168.1.10", True, _("the room called by the teacher's address (192.168.1.10) was refused: admit every IP "
                                 "address (ipaddress.ip_address(name) parses one, and raises ValueError for a name)")),
        ("rebind.example", False, _("a page at rebind.example got in: its owner's DNS can point that name at this "
                                    "machine (DNS rebinding); refuse every name that is not an IP address or localhost")),
        ("localhost.rebind.example", False, _("localhost.rebind.example got in: it is rebind.example's name, not this "
                                              "machine's; compare the whole name, not a part of it")),
        ("127.0.0.1.rebind.example", False, _("127.0.0.1.rebind.example got in: it only looks like an address; it is "
                                              "a name of rebind.example (ipaddress.ip_address refuses it)")),
    ]


@exercise
async def check_host_rule(host_allowed: Any) -> Result:
    """Lesson 06a: ``host_allowed(name)``, true for the names a room may be called by.

    The check serves a room whose door is your function: it calls it with the
    name in each handshake's ``Host`` header, without the port (``127.0.0.1``,
    ``rebind.example``), and answers 403 when it returns false. (The course's own
    host check is off in this room.) Then it connects to the room at 127.0.0.1, as
    a rebound page does, under each name of :func:`host_cases`, each with the
    ``Origin`` of a page at that name.
    """

    async def conversation(crashes: Crashes) -> str:
        hook = door(host_allowed, crashes, getattr(host_allowed, "__name__", "rule"), "host_allowed(name)",
                    lambda request: (urlsplit("//" + request.headers.get("Host", "")).hostname,))
        cases = host_cases()
        names = [name for name, admit, _wrong in cases if not admit]
        with start(stays, name="check-host-rule", allow_origins=["*"], allow_hosts=names,
                   process_request=hook) as server:
            for name, admit, wrong in cases:
                address = f"{name}:{server.port}"
                status = await admitted(f"ws://{address}/", crashes, host="127.0.0.1", port=server.port,
                                        origin=f"http://{address}")
                if (status is None) != admit:
                    raise NotYet(wrong)
        return _("the room answered to IP addresses and localhost, and refused rebind.example and its look-alikes "
                 "with 403.")

    return await judge(conversation)


# -- 06b: slow members and full rooms ----------------------------------------------------

#: Lesson 06b's buffer cap: a member with more unsent bytes than this is cut.
BUFFER_CAP = 256 * 1024

#: What the talker of lesson 06b's buffer check pastes, again and again (54 KB).
LONG_TEXT = "a long text, pasted again. " * 2000

def cut_a_reader(closed: ConnectionClosed) -> NotYet:
    """What lesson 06b's buffer check says when your room cut a member that reads."""
    return NotYet(_("a member that reads everything was cut ({closed}): cut only a member whose unsent data passes "
                    "MAX_UNSENT ({cap} bytes)").format(closed=closed, cap=BUFFER_CAP))

#: At most this many long texts before the check gives up on your room cutting the frozen member (2 MB).
PASTES = 40


async def frozen_member(url: str, port: int, crashes: Crashes, clients: contextlib.AsyncExitStack) -> tuple[Any, str]:
    """A member that reads its own arrival and nothing more, with a tiny TCP window (as in lesson 03)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connecting: it sizes the TCP window
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    frozen = await clients.enter_async_context(
        connect(url, proxy=None, sock=sock, compression=None, max_queue=1, close_timeout=0.1)
    )
    return frozen, (await receive(frozen, crashes)).removesuffix(" comes in")


@exercise
async def check_buffer_cap(room_class: type) -> Result:
    """Lesson 06b: a ChatRoom that cuts a member with more than 256 KiB unsent.

    Two members read everything; a third, frozen, reads its own arrival and then
    nothing (a 4 KiB TCP window, as in lesson 03). A talker pastes a 54 KB text
    again and again, each time waiting until the two readers have it. After each,
    the check looks at how many bytes the server holds for the frozen member
    (``transport.get_write_buffer_size()``, read from the server's side): once
    that has passed 256 KiB by more than one text, the member should have been cut.
    Then the room must have heard the frozen member leave, with the readers and
    the talker still in it. (The course's own buffer cap is 1 GiB in this room.)
    """

    async def conversation(crashes: Crashes) -> str:
        room = room_class_instance(room_class)
        with start(crashes.guard(room.handler, room_class.__name__), name="check-buffer-cap",
                   max_buffer=2**30) as server:
            async with contextlib.AsyncExitStack() as clients:
                try:
                    readers = [await join_room(server.ws_url, clients, crashes) for _reader in range(2)]
                    _frozen, nickname = await frozen_member(server.ws_url, server.port, crashes, clients)
                    held = next((websocket for websocket, name in list(room.members.items()) if name == nickname), None)
                    if held is None:
                        raise NotYet(_("{nickname} was cut as it came in, with nothing unsent yet: cut only a member "
                                       "whose unsent data passes MAX_UNSENT ({cap} bytes)").format(
                            nickname=nickname, cap=BUFFER_CAP))
                    talker, _arrival = await join_room(server.ws_url, clients, crashes)
                    listeners = [reader for reader, _arrival in readers] + [talker]
                    unsent, left, heard_left = 0, f"{nickname} left", set()
                    for number in range(PASTES):
                        text = f"{number}: {LONG_TEXT}"
                        await talker.send(text)
                        for listener in listeners:
                            while (message := await receive_as(listener, crashes)) != text:
                                if message == left:
                                    heard_left.add(listener)
                        cut, now_unsent = await on_its_loop(held)
                        if cut:
                            if unsent + len(text) + 16 <= BUFFER_CAP:
                                raise NotYet(_(
                                    "the frozen member was cut with at most {unsent} bytes unsent: a member may be "
                                    "up to MAX_UNSENT ({cap}) bytes behind (a slow phone catches up); cut it only "
                                    "when its unsent data passes that"
                                ).format(unsent=unsent + len(text) + 16, cap=BUFFER_CAP))
                            return await stayed(listeners, left, heard_left, crashes, number + 1)
                        unsent = now_unsent
                        if unsent > BUFFER_CAP + len(text) + 16:
                            raise NotYet(_(
                                "the frozen member, {nickname}, is {unsent} bytes behind and still in the room: cut a "
                                "member as soon as its transport.get_write_buffer_size() passes MAX_UNSENT ({cap})"
                            ).format(nickname=nickname, unsent=unsent, cap=BUFFER_CAP))
                    raise NotYet(_("the frozen member, {nickname}, never left the room ({pastes} texts of 54 KB "
                                   "later): cut it with member.transport.abort() once it is MAX_UNSENT behind; a "
                                   "member that is skipped instead stays in the room, and misses messages without "
                                   "knowing it").format(nickname=nickname, pastes=PASTES))
                except ConnectionClosed as closed:
                    raise cut_a_reader(closed) from None

    async def receive_as(listener: Any, crashes: Crashes) -> str:
        try:
            return await crashes.race(listener.recv())
        except ConnectionClosed as closed:
            raise cut_a_reader(closed) from None

    async def stayed(listeners: list[Any], left: str, heard_left: set[Any], crashes: Crashes, texts: int) -> str:
        """The frozen member was cut: the room must hear it leave, and the others chat on."""
        for listener in listeners:
            while listener not in heard_left and await receive_as(listener, crashes) != left:
                pass
        await listeners[-1].send("is everyone still here?")
        for listener in listeners:
            while await receive_as(listener, crashes) != "is everyone still here?":
                pass
        return _("the frozen member was cut after {texts} texts of 54 KB, the room heard it leave, and the "
                 "members who read chat on.").format(texts=texts)

    return await judge(conversation)


async def on_its_loop(websocket: Any) -> tuple[bool, int]:
    """Whether the server has cut ``websocket``, and how many bytes it holds for it.

    Read on the server's own event loop (it runs in another thread): between two of
    its steps, never halfway through a broadcast or your room's loop over its members.
    """

    async def look() -> tuple[bool, int]:
        cut = websocket.state is not State.OPEN or websocket.transport.is_closing()
        return cut, websocket.transport.get_write_buffer_size()

    return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(look(), websocket.loop))


def room_class_instance(room_class: type) -> Any:
    """``room_class()``, or NotYet with what it raised and your line."""
    try:
        return room_class()
    except Exception as error:
        raise NotYet(_("{room}() raised {error}").format(room=room_class.__name__, error=describe(error))) from None


#: Lesson 06b's member cap: a room of at most this many members.
MEMBER_CAP = 3


@exercise
async def check_member_cap(room_class: type) -> Result:
    """Lesson 06b: a ChatRoom whose ``door(connection, request)`` keeps it to 3 members.

    The server calls your room's ``door`` with every request before its handshake,
    as websockets calls a ``process_request`` hook: it returns None to let the
    request go on, or a response (``connection.respond(503, "...")``) that refuses
    it. Three members join, one after the other; a fourth must get 503 (Service
    Unavailable: come back later); then one member leaves, and a newcomer must get
    its place. (The course's own member cap is 100 in this room.)
    """

    async def conversation(crashes: Crashes) -> str:
        room = room_class_instance(room_class)
        if not callable(getattr(room, "door", None)):
            raise NotYet(_("{room} has no door(connection, request) method").format(room=room_class.__name__))
        hook = crashes.guard(room.door, f"{room_class.__name__}.door", "door(connection, request)")

        def process_request(connection: Any, request: Any) -> Any:
            try:
                return hook(connection, request)
            except Exception:
                return connection.respond(500, "your door raised an exception\n")

        with start(crashes.guard(room.handler, room_class.__name__), name="check-member-cap", max_clients=100,
                   process_request=process_request) as server:
            async with contextlib.AsyncExitStack() as clients:
                members = []
                for number in range(1, MEMBER_CAP + 1):
                    try:
                        members.append(await join_room(server.ws_url, clients, crashes))
                    except InvalidStatus as refused:
                        raise NotYet(_("member {number} of {cap} was refused ({status}) by an empty enough room: "
                                       "refuse a newcomer only when the room already has {cap} members").format(
                            number=number, cap=MEMBER_CAP, status=refused.response.status_code)) from None
                status = await admitted(server.ws_url, crashes)
                if status is None:
                    raise NotYet(_("a 4th member got in a room of {cap}: with {cap} members in the room, "
                                   "len(self.members) is {cap}; refuse a newcomer when it is {cap} or more").format(
                        cap=MEMBER_CAP))
                if status != 503:
                    raise NotYet(_("the 4th member was refused with {status}; a full room answers 503 (Service "
                                   "Unavailable: come back later), with connection.respond(503, ...)").format(
                        status=status))
                (first, arrival), (second, _arrival) = members[0], members[1]
                await first.close()
                await wait_for_text(second, arrival.removesuffix(" comes in") + " left", crashes)
                try:
                    await join_room(server.ws_url, clients, crashes)
                except InvalidStatus as refused:
                    raise NotYet(_(
                        "a member left, and the next newcomer was still refused ({status}): count the members in "
                        "the room now, len(self.members), not everyone who ever came (self.count only goes up)"
                    ).format(status=refused.response.status_code)) from None
        return _("a room of {cap} refused a 4th member with 503, and let the next one in when a place was "
                 "free.").format(cap=MEMBER_CAP)

    return await judge(conversation)


# -- 06c: never trust a message ----------------------------------------------------------

#: Lesson 06c: the longest ``text`` a message may carry.
MAX_TEXT = 200

def bad_messages() -> list[tuple[str, str]]:
    """What lesson 06c's offenders send: each message, and what is wrong with it."""
    return [
        ("hello", _("it is not JSON")),
        ('["text", "hi"]', _("it is JSON, but a list, not an object")),
        ('{"nick": "teacher"}', _('it has no "text"')),
        ('{"text": 42}', _('its "text" is a number, not a string')),
        ('{"text": "' + "x" * (MAX_TEXT + 1) + '"}', _('its "text" is {length} characters long').format(
            length=MAX_TEXT + 1)),
        ("[" * 5000 + "]" * 5000, _("it is JSON nested 5000 deep (json.loads raises RecursionError, not ValueError)")),
    ]


@exercise
async def check_message_shape(room_class: type) -> Result:
    """Lesson 06c: a ChatRoom that passes on only ``{"text": <a string of at most 200 characters>}``.

    A member sends ``{"text": "hello"}``: the room must say ``userN says: hello``.
    Then, one after the other, offenders join and each sends one message of a
    wrong shape (:func:`bad_messages`): each must be closed with code 1008 and the
    reason ``"bad message"``, and nothing of what it sent may reach the room.
    """

    async def conversation(crashes: Crashes) -> str:
        with start(watched_room(room_class, crashes), name="check-message-shape") as server:
            async with contextlib.AsyncExitStack() as clients:
                bystander, _arrival = await join_room(server.ws_url, clients, crashes)
                polite, arrival = await join_room(server.ws_url, clients, crashes)
                await receive(bystander, crashes)  # the polite member's arrival
                nickname = arrival.removesuffix(" comes in")
                await polite.send('{"text": "hello"}')
                expected = f"{nickname} says: hello"
                if (said := await receive(bystander, crashes)) != expected:
                    raise NotYet(_('a member sent {{"text": "hello"}} and the room said {said!r}; expected '
                                   '{expected!r}').format(said=said[:80], expected=expected))
                bad = bad_messages()
                for message, wrong in bad:
                    async with connect(server.ws_url, proxy=None, max_queue=None) as offender:
                        offender_nickname = (await receive(offender, crashes)).removesuffix(" comes in")
                        await receive(bystander, crashes)  # its arrival
                        await offender.send(message)
                        said = await receive(bystander, crashes)  # its departure, or what the room made of its message
                        shown = message if len(message) < 40 else message[:30] + "..."
                        if said != f"{offender_nickname} left":
                            raise NotYet(_("a member sent {shown!r} ({wrong}) and the room said {said!r}: pass "
                                           "nothing of a bad message on").format(shown=shown, wrong=wrong,
                                                                                 said=said[:60]))
                        await offender.wait_closed()
                        closing = offender.protocol.close_rcvd
                    if closing is None or (closing.code, closing.reason) != (1008, "bad message"):
                        got = _("no close frame") if closing is None else _("code {code}, reason {reason!r}").format(
                            code=closing.code, reason=closing.reason)
                        raise NotYet(_("a member sent {shown!r} ({wrong}) and was closed with {got}; expected code "
                                       "1008, reason 'bad message'").format(shown=shown, wrong=wrong, got=got))
        return _("the room passed on a good message and closed {count} senders of bad ones with 1008, "
                 "their messages heard by nobody.").format(count=len(bad))

    return await judge(conversation, silence=_(
        "no answer in time: a member sent a message and the room neither passed it on nor closed the "
        "sender (close a bad message's sender with await websocket.close(1008, 'bad message'))"))


# -- 06c: the rate limit ---------------------------------------------------------------

#: Lesson 06c's rate limit: a member may send at most this many messages in any one second.
#: The class's rooms use the same one (:mod:`ws_course.classroom.roster`).
RATE_LIMIT = CLASSROOM_RATE_LIMIT


#: How many messages lesson 06c's flooder sends, all in one write. More than the 16 a
#: websockets server reads ahead (its ``max_queue``): the server has them all in hand,
#: and stops reading, before your room has looked at the first.
FLOOD = 40


#: How long the check waits for your room to send the flooder a close frame (seconds).
CLOSE_WAIT = 1.5


@exercise
async def check_rate_limit(room_class: type) -> Result:
    """Lesson 06c: a ChatRoom where a member may send at most 5 messages in any one second.

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
                raise NotYet(_(
                    "a member sent {flood} messages at once and is still in the room {seconds} s later: "
                    "close a member's connection at its {nth}th message within a second, with "
                    "await websocket.close(1008, 'too fast')"
                ).format(flood=FLOOD, seconds=CLOSE_WAIT, nth=RATE_LIMIT + 1))
            await asyncio.sleep(0.01)
        return websocket.protocol.close_rcvd

    async def heard_until(websocket: Any, crashes: Crashes, text: str, doing: str) -> list[str]:
        """The messages ``websocket`` hears before ``text``; NotYet if the room closes it meanwhile."""
        heard = []
        try:
            while (message := await crashes.race(websocket.recv())) != text:
                heard.append(message)
        except ConnectionClosed as closed:
            raise NotYet(_("the polite member was closed ({closed}) after it {doing}").format(
                closed=closed, doing=doing)) from None
        return heard

    async def conversation(crashes: Crashes) -> str:
        loop = asyncio.get_running_loop()
        with start(watched_room(room_class, crashes), name="check-rate-limit") as server:
            async with contextlib.AsyncExitStack() as clients:
                polite, _arrival = await join_room(server.ws_url, clients, crashes)
                flooder, arrival = await join_room(server.ws_url, clients, crashes)
                await receive(polite, crashes)  # the flooder's arrival
                for number in range(1, RATE_LIMIT + 1):
                    await polite.send(f"polite {number}")
                doing = _("sent {limit} messages at once (a member may send {limit} in a second)").format(
                    limit=RATE_LIMIT)
                await heard_until(polite, crashes, f"polite {RATE_LIMIT}", doing)
                polite_sent = loop.time()
                # 40 messages in one write: the frames a websockets client would send, all at once.
                for number in range(1, FLOOD + 1):
                    flooder.protocol.send_text(f"flood {number}".encode())
                flooder.transport.write(b"".join(flooder.protocol.data_to_send()))
                closing = await close_frame(flooder, crashes, CLOSE_WAIT)
                if closing is None:
                    raise NotYet(_(
                        "the flooder's connection was cut without a close frame (code 1006): close it with "
                        "await websocket.close(1008, 'too fast'), so that it learns why"
                    ))
                if (closing.code, closing.reason) != (1008, "too fast"):
                    raise NotYet(_(
                        "the flooder was closed with code {code}, reason {reason!r}; "
                        "expected code 1008 (policy violation), reason 'too fast'"
                    ).format(code=closing.code, reason=closing.reason))
                flooder_left = arrival.removesuffix(" comes in") + " left"
                heard = await heard_until(polite, crashes, flooder_left, _("the flooder was closed"))
                passed = [message for message in heard if message.startswith("flood ")]
                if len(passed) > RATE_LIMIT:
                    raise NotYet(_(
                        "{passed} of the flooder's {flood} messages reached the room; at most {limit} "
                        "should. (The ones it sent before it heard your close are already in the server: after "
                        "close() returns, the handler still hands them to receive(). Pass none of them on: the "
                        "connection's state is no longer State.OPEN.)"
                    ).format(passed=len(passed), flood=FLOOD, limit=RATE_LIMIT))
                if passed != [f"flood {number}" for number in range(1, RATE_LIMIT + 1)]:
                    raise NotYet(_(
                        "of the flooder's first {limit} messages, the room passed on {passed}: a member may "
                        "send {limit} in a second, whatever the others sent (is your room counting everyone's "
                        "messages together, not each member's?)"
                    ).format(limit=RATE_LIMIT, passed=passed))
                await asyncio.sleep(max(0.0, polite_sent + 1.1 - loop.time()))
                await polite.send("polite, a second later")
                doing = _("sent {limit} messages, waited a second and sent one more: the limit is per second "
                          "(forget the times that are more than a second old)").format(limit=RATE_LIMIT)
                await heard_until(polite, crashes, "polite, a second later", doing)
        return _("a flooder was closed with 1008 'too fast' after {limit} of its {flood} messages, "
                 "and a polite member kept chatting.").format(limit=RATE_LIMIT, flood=FLOOD)

    return await judge(conversation)
