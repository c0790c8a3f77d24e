"""Who is in a class's room, and the teacher's rules for it: kick, mute, a rate limit, a history.

A :class:`Roster` knows the room's *members*, each under a **member key**: on
``ws-course serve`` the room's nickname (``user3``, one per connection: a reload
is a new member), on the hub's class room the hub user name (``alice``, however
many pages and widgets she has open). A member has one or more *connections*,
each with its kind (``"page"``, ``"widget"`` or ``"program"``), its address and
when it came. The roster does no networking: the room tells it who joined, who
left and what each one sent, and does what it answers (send, drop, close). So the
same roster serves any transport, and its rules can be tested without a server::

    roster = Roster()
    roster.join("user3", websocket, kind="page", address="192.168.1.20", identifiers=["192.168.1.20"])
    verdict = roster.admit(websocket, "hi")   # logs: user3 (192.168.1.20, page) says: hi
    if verdict.passed: ...                     # send it to everyone
    elif verdict.notice: ...                   # tell the sender why not, once
    for websocket in roster.kick("user3"):     # the connections to close; the key and
        ...                                    # the identifiers are banned for 10 min

The teacher's rules:

- **kick** (:meth:`Roster.kick`): returns the member's connections for the caller
  to close, and bans the member key *and the identifiers the caller gave at*
  :meth:`~Roster.join` for :data:`BAN_SECONDS` (10 minutes), or until
  :meth:`~Roster.let_in`. On ``serve``, the identifier is the client's IP address,
  since a reload gets a new nickname; on the hub, the hub user name is the key
  already. The room checks :meth:`~Roster.banned` at each handshake. (Several
  students behind one address, a NAT, are then all refused: the teacher's "let in"
  button undoes a kick at once.)
- **mute** (:meth:`Roster.mute`, :meth:`Roster.unmute`): the member stays and
  hears the room, but nothing they send is passed on; each message gets a notice.
- **rate limit**, on by default: at most :data:`RATE_LIMIT` messages a member
  passes on in any one second (:data:`RATE_WINDOW`); the extra ones are dropped.

Why drop, and not close the connection as lesson 06c's exercise does? In a class
the course's pages reconnect by themselves (``course.js``), under a new nickname:
a closed flooder would be back a second later as ``user4``, then ``user5``, each a
new "comes in" line for the whole room, and the teacher would chase a name that
keeps changing. Dropping keeps the flooder in the room under one name, costs the
room nothing (dropped messages are not sent to anyone), tells the flooder once
(:attr:`Verdict.notice`), and logs one line with the name and the address: the
teacher can then kick. A student who holds down Enter is not thrown out either.
The exercise's close is the right policy for a room with no teacher watching.

Every message a member sends is one line on the ``ws_course.classroom`` logger,
who said what (its :data:`LOG_FORMAT`)::

    user3 (192.168.1.20, page) says: hi

A flood is one line when it starts and one with its count when it ends.

The roster also keeps the room's last :data:`HISTORY_LINES` lines as members heard
them (:meth:`Roster.heard`, :attr:`Roster.history`), for a big screen opened late,
and calls its listeners (:meth:`Roster.on_change`) on every change, so that the
teacher's view and the big screen (:mod:`ws_course.classroom.desk`) stay live.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

__all__ = [
    "BAN_SECONDS",
    "HISTORY_LINES",
    "KINDS",
    "RATE_LIMIT",
    "RATE_WINDOW",
    "Ban",
    "Connection",
    "Line",
    "Member",
    "Roster",
    "Verdict",
]

logger = logging.getLogger("ws_course.classroom")

#: At most this many messages of one member are passed on in any :data:`RATE_WINDOW`.
#: Lesson 06c's exercise (:mod:`ws_course.exercises.safety`) uses the same number.
RATE_LIMIT = 5

#: The rate limit's window, in seconds.
RATE_WINDOW = 1.0

#: How long a kicked member (and what identifies them) stays out, in seconds.
BAN_SECONDS = 10 * 60

#: How many of the room's last lines the roster keeps, for a big screen opened late.
HISTORY_LINES = 50

#: The kinds of connection a member may have.
KINDS = ("page", "widget", "program")

#: What the teacher's log says for each message: ``user3 (192.168.1.20, page) says: hi``.
LOG_FORMAT = "%s says: %s"

#: What a member is told when their extra messages are dropped (``{limit}``: :data:`RATE_LIMIT`).
TOO_FAST = "too fast: at most {limit} messages a second are sent on; your extra messages were not sent"

#: What a muted member is told about each message they send.
MUTED = "the teacher has muted you: your messages are not sent"


@dataclasses.dataclass
class Connection:
    """One connection of a member.

    Attributes:
        handle: The caller's object for it (a websocket): what :meth:`Roster.kick` returns.
        kind: ``"page"``, ``"widget"`` or ``"program"``.
        address: Where it comes from, as the teacher should see it (an IP address).
        since: When it came (seconds since the epoch, :func:`time.time`).
        identifiers: What else identifies its member for a ban (the IP address on ``serve``).
    """

    handle: Any
    kind: str
    address: str
    since: float
    identifiers: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "address": self.address, "since": self.since}


@dataclasses.dataclass
class Member:
    """A member of the room, with every connection they have open.

    Attributes:
        key: The member key (``user3`` on serve, the hub user name on the hub).
        connections: Their connections, oldest first.
        since: When their first connection came (seconds since the epoch).
        sent: Messages they sent, passed on or not.
        passed: Of those, the ones the room passed on.
        dropped: Of those, the ones dropped for going too fast.
        muted: True while the teacher has muted them.
    """

    key: str
    connections: list[Connection]
    since: float
    sent: int = 0
    passed: int = 0
    dropped: int = 0
    muted: bool = False
    # The rate limit's state: when the messages it counted were sent (time.monotonic()),
    # and the flood in progress, if any (when its last message was dropped, how many so far).
    recent: collections.deque = dataclasses.field(default_factory=collections.deque, repr=False)
    flood_last: float | None = dataclasses.field(default=None, repr=False)
    flood_dropped: int = dataclasses.field(default=0, repr=False)

    def describe(self, handle: Any = None) -> str:
        """``user3 (192.168.1.20, page)``: who, from where, by what (of ``handle``'s connection, or the first)."""
        connection = next((c for c in self.connections if c.handle is handle), None) or (
            self.connections[0] if self.connections else None
        )
        if connection is None:
            return self.key
        return f"{self.key} ({connection.address}, {connection.kind})"

    def as_dict(self) -> dict[str, Any]:
        """What the teacher's view shows of this member (JSON-ready)."""
        return {
            "key": self.key,
            "since": self.since,
            "connections": [connection.as_dict() for connection in self.connections],
            "sent": self.sent,
            "passed": self.passed,
            "dropped": self.dropped,
            "muted": self.muted,
        }


@dataclasses.dataclass(frozen=True)
class Ban:
    """A kicked member's ban: their key and identifiers, out until ``until`` (seconds since the epoch)."""

    key: str
    identifiers: tuple[str, ...]
    until: float

    def covers(self, identifier: str) -> bool:
        return identifier == self.key or identifier in self.identifiers

    def seconds_left(self, now: float | None = None) -> int:
        return max(0, round(self.until - (time.time() if now is None else now)))

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "identifiers": list(self.identifiers), "until": self.until,
                "seconds_left": self.seconds_left()}


@dataclasses.dataclass(frozen=True)
class Verdict:
    """What :meth:`Roster.admit` decided about one message.

    Attributes:
        passed: True: send it on to the room. False: drop it.
        notice: When not None, tell the sender this (once per flood; every time when muted).
        reason: Why it was dropped: ``""``, ``"muted"``, ``"too fast"`` or ``"not a member"``.
    """

    passed: bool
    notice: str | None = None
    reason: str = ""


@dataclasses.dataclass(frozen=True)
class Line:
    """One line of the room, as its members heard it.

    Attributes:
        kind: ``"enter"``, ``"message"`` or ``"leave"``.
        who: The member key of whoever it is about (or who said it).
        text: The text as members read it (for JSON rooms, the ``data``).
        at: When (seconds since the epoch).
    """

    kind: str
    who: str
    text: str
    at: float

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


#: A listener of a roster's changes: ``listener(what, line)``, where ``what`` is
#: ``"members"`` (someone came, went, sent, was muted), ``"banned"`` (the banned
#: list changed) or ``"line"`` (the room heard ``line``; otherwise ``line`` is None).
Listener = Callable[[str, "Line | None"], None]


class Roster:
    """The members of one room and the teacher's rules for it (see the module's documentation).

    Args:
        rate_limit: At most this many messages per member in any ``rate_window``
            seconds are passed on; 0 or None switches the rate limit off.
        rate_window: The rate limit's window, in seconds.
        ban_seconds: How long :meth:`kick` bans, unless told otherwise.
        history: How many lines :attr:`history` keeps.
    """

    def __init__(
        self,
        *,
        rate_limit: int | None = RATE_LIMIT,
        rate_window: float = RATE_WINDOW,
        ban_seconds: float = BAN_SECONDS,
        history: int = HISTORY_LINES,
    ) -> None:
        if rate_limit is not None and rate_limit < 0:
            raise ValueError("rate_limit must be 0 (off) or more")
        self.rate_limit = rate_limit or 0
        self.rate_window = rate_window
        self.ban_seconds = ban_seconds
        self.members: dict[str, Member] = {}
        self.bans: list[Ban] = []
        self.history: collections.deque[Line] = collections.deque(maxlen=history)
        self._by_handle: dict[Any, Member] = {}
        self._listeners: list[Listener] = []

    # -- who is here ------------------------------------------------------------------

    def join(
        self, key: str, handle: Any, *, kind: str = "program", address: str = "", identifiers: Iterable[str] = ()
    ) -> Member:
        """A connection joined as member ``key``; return the member (a new one, or one with one more connection).

        ``identifiers``: what, besides the key, a kick of this member bans (on
        ``serve``, the client's IP address).
        """
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
        if handle in self._by_handle:
            raise ValueError(f"this connection has joined already, as {self._by_handle[handle].key}")
        connection = Connection(handle, kind, address, time.time(), tuple(identifiers))
        member = self.members.get(key)
        if member is None:
            member = self.members[key] = Member(key, [], connection.since)
        member.connections.append(connection)
        self._by_handle[handle] = member
        self._changed("members")
        return member

    def leave(self, handle: Any) -> Member | None:
        """A connection left; return its member (with no connections left when it was their last), or None."""
        member = self._by_handle.pop(handle, None)
        if member is None:
            return None
        if len(member.connections) == 1:  # their last: the member goes
            self._end_flood(member)
            del self.members[member.key]
        member.connections = [c for c in member.connections if c.handle is not handle]
        self._changed("members")
        return member

    def member(self, handle: Any) -> Member | None:
        """The member a connection belongs to, or None."""
        return self._by_handle.get(handle)

    def names(self) -> list[str]:
        """The members' keys, in the order they came (what a big screen shows)."""
        return list(self.members)

    # -- what they say ----------------------------------------------------------------

    def admit(self, handle: Any, text: str) -> Verdict:
        """A member sent ``text`` on connection ``handle``: may the room pass it on?

        Counts it, applies the rate limit and the mute, and logs it (one line per
        message passed on; a flood's first drop and its total).
        """
        member = self._by_handle.get(handle)
        if member is None:
            return Verdict(False, reason="not a member")
        member.sent += 1
        now = time.monotonic()
        if self.rate_limit:
            while member.recent and now - member.recent[0] >= self.rate_window:
                member.recent.popleft()
            if len(member.recent) >= self.rate_limit:
                member.dropped += 1
                notice = None
                if member.flood_last is None:  # a flood starts: one notice, one line in the log
                    notice = TOO_FAST.format(limit=self.rate_limit)
                    logger.warning(
                        "%s sends too fast (more than %d messages in %g s): their extra messages are dropped",
                        member.describe(handle), self.rate_limit, self.rate_window,
                    )
                member.flood_last = now
                member.flood_dropped += 1
                self._changed("members")
                return Verdict(False, notice, "too fast")
            if member.flood_last is not None and now - member.flood_last >= self.rate_window:
                self._end_flood(member)  # a whole window without a drop: that flood is over
            member.recent.append(now)
        if member.muted:
            logger.info("%s is muted, not sent: %s", member.describe(handle), text)
            self._changed("members")
            return Verdict(False, MUTED, "muted")
        member.passed += 1
        logger.info(LOG_FORMAT, member.describe(handle), text)
        self._changed("members")
        return Verdict(True)

    def _end_flood(self, member: Member) -> None:
        if member.flood_dropped:
            logger.warning("%s: %d messages dropped (too fast)", member.describe(), member.flood_dropped)
        member.flood_last, member.flood_dropped = None, 0

    def heard(self, kind: str, who: str, text: str) -> Line:
        """The room said ``text`` to everyone (about or from ``who``): keep it in :attr:`history`."""
        line = Line(kind, who, text, time.time())
        self.history.append(line)
        self._changed("line", line)
        return line

    # -- the teacher's rules ----------------------------------------------------------

    def kick(self, key: str, *, seconds: float | None = None) -> list[Any]:
        """Ban member ``key`` (and their identifiers) for ``seconds`` (default :attr:`ban_seconds`).

        Returns the handles of their connections, for the caller to close; the
        member stays listed until each one has :meth:`leave`-d. Kicking someone who
        is not (or no longer) here still bans the key.
        """
        member = self.members.get(key)
        identifiers: list[str] = []
        for connection in member.connections if member else ():
            identifiers.extend(i for i in connection.identifiers if i != key and i not in identifiers)
        seconds = self.ban_seconds if seconds is None else seconds
        self.bans = [ban for ban in self.bans if ban.key != key]
        self.bans.append(Ban(key, tuple(identifiers), time.time() + seconds))
        logger.warning("%s kicked out by the teacher, banned for %d s%s", member.describe() if member else key,
                       seconds, f" (and {', '.join(identifiers)})" if identifiers else "")
        self._changed("banned")
        return [connection.handle for connection in member.connections] if member else []

    def banned(self, *identifiers: str) -> Ban | None:
        """The ban that covers any of ``identifiers`` (a key, an address), or None. Expired bans go."""
        now = time.time()
        if any(ban.until <= now for ban in self.bans):
            self.bans = [ban for ban in self.bans if ban.until > now]
            self._changed("banned")
        return next((ban for ban in self.bans for i in identifiers if i and ban.covers(i)), None)

    def let_in(self, identifier: str) -> Ban | None:
        """Lift the ban that covers ``identifier`` (a key or an address); return it, or None if there was none."""
        ban = self.banned(identifier)
        if ban is not None:
            self.bans.remove(ban)
            logger.info("%s let in again by the teacher", ban.key)
            self._changed("banned")
        return ban

    def mute(self, key: str) -> Member | None:
        """Mute member ``key``: their messages are not passed on. Returns the member, or None if absent."""
        return self._set_muted(key, True)

    def unmute(self, key: str) -> Member | None:
        """Unmute member ``key``. Returns the member, or None if absent."""
        return self._set_muted(key, False)

    def _set_muted(self, key: str, muted: bool) -> Member | None:
        member = self.members.get(key)
        if member is not None and member.muted != muted:
            member.muted = muted
            logger.warning("%s %s by the teacher", member.describe(), "muted" if muted else "unmuted")
            self._changed("members")
        return member

    # -- what the views show ----------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """Everything the teacher's view shows, JSON-ready: ``members``, ``banned``, ``rate_limit``."""
        self.banned()  # drop expired bans first
        return {
            "members": [member.as_dict() for member in self.members.values()],
            "banned": [ban.as_dict() for ban in self.bans],
            "rate_limit": self.rate_limit,
        }

    def on_change(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(what, line)`` after every change (see :data:`Listener`); return what unsubscribes it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _changed(self, what: str, line: Line | None = None) -> None:
        for listener in list(self._listeners):
            listener(what, line)
