"""Who is on the other end of a class-room connection, checked again and again.

The hub says who a token belongs to when a connection opens
(:class:`~ws_course.hub.room.HubLogin`). But a handshake is one moment: a user the
teacher deletes on the hub, or whose token is revoked, would keep an open socket
for as long as it stays open. So while connections are open, :class:`IdentityWatch`
asks the hub about each distinct token again every :data:`RECHECK_SECONDS`
(without the service's cache: ``use_cache=False``), and closes the connections of
a token the hub no longer knows with code 1008 ("policy violation") and a reason;
the teacher's view also closes when its user is no longer one of the hub's admins.

A hub that does not answer is not a user who is gone: if the hub is down or slow,
the watch keeps everyone in, logs it, and asks again next time.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.frames import CloseCode

__all__ = ["PAGE", "RECHECK_SECONDS", "WIDGET", "HubIdentity", "IdentityWatch", "may_use", "token_key"]

logger = logging.getLogger("ws_course.hub.identity")

#: Seconds between two checks of every open connection's token with the hub.
RECHECK_SECONDS = 5.0

#: What the room calls a connection by how it proved who it is.
PAGE = "page"  #: a browser page: the service's login cookie (hub OAuth)
WIDGET = "widget"  #: a program, a notebook's widget: an ``Authorization: token ...`` header


@dataclasses.dataclass(frozen=True)
class HubIdentity:
    """Who a connection is, as the hub said when it opened.

    Attributes:
        name: The hub user name (``alice``): the name the room calls them by.
        token: The hub token that proved it (the cookie's or the header's).
        kind: :data:`PAGE` (cookie) or :data:`WIDGET` (token header).
        admin: The hub says this user is an admin (a teacher).
    """

    name: str
    token: str = dataclasses.field(repr=False)
    kind: str
    admin: bool = False


def token_key(token: str) -> str:
    """A digest of ``token``, to keep and compare instead of the token itself."""
    return hashlib.sha256(token.encode()).hexdigest()


def may_use(auth: Any, user: dict | None) -> bool:
    """May the hub's answer ``user`` (a user model, or None) use this service?

    Only users (not services), and only with the service's access scope
    (``access:services!service=class-chat``) when the service has one.
    """
    if not user or user.get("kind", "user") != "user":
        return False
    return not auth.access_scopes or auth.check_scopes(auth.access_scopes, user)


class IdentityWatch:
    """Re-check the tokens of open connections with the hub, every ``interval`` seconds.

    :meth:`add` a connection when it opens and :meth:`discard` it when it ends;
    the watch runs while there is anything to watch. Each round asks the hub once
    per distinct token (a user's page and widgets share one answer when they share
    a token), all at once, and closes with 1008 every connection of a token the
    hub no longer accepts. :attr:`revoked` remembers those tokens, so that the
    login refuses them at once (the service's own cache would accept them a
    little longer).

    Args:
        auth: The service's :class:`jupyterhub.services.auth.HubOAuth`.
        interval: Seconds between rounds (:data:`RECHECK_SECONDS`).
    """

    def __init__(self, auth: Any, interval: float = RECHECK_SECONDS) -> None:
        self.auth = auth
        self.interval = interval
        self.connections: dict[ServerConnection, HubIdentity] = {}
        self.admin_only: set[ServerConnection] = set()  # the teacher's views: for admins only
        self.revoked: set[str] = set()  # token_key of each token the hub stopped accepting
        self.task: asyncio.Task | None = None
        self.closing: set[asyncio.Task] = set()  # references to the close() tasks, until they end

    def add(self, websocket: ServerConnection, identity: HubIdentity, *, admin: bool = False) -> None:
        """Watch ``websocket``; with ``admin=True``, close it too when its user stops being a hub admin."""
        self.connections[websocket] = identity
        if admin:
            self.admin_only.add(websocket)
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self.watch(), name="ws-course-identity-watch")

    def discard(self, websocket: ServerConnection) -> None:
        self.connections.pop(websocket, None)
        self.admin_only.discard(websocket)
        if not self.connections and self.task is not None:
            self.task.cancel()  # nobody left to watch; the next add() starts again
            self.task = None

    async def watch(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await self.check_all()

    async def check_all(self) -> None:
        """One round: ask the hub about each distinct token, close what it no longer accepts."""
        by_token: dict[str, list[ServerConnection]] = {}
        identities: dict[str, HubIdentity] = {}
        for websocket, identity in list(self.connections.items()):
            by_token.setdefault(identity.token, []).append(websocket)
            identities[identity.token] = identity
        tokens = list(by_token)
        answers = await asyncio.gather(
            *(self.auth.user_for_token(token, use_cache=False, sync=False) for token in tokens),
            return_exceptions=True,
        )
        failed = 0
        for token, answer in zip(tokens, answers):
            identity = identities[token]
            if isinstance(answer, BaseException):
                failed += 1  # the hub did not answer: not a reason to cut anyone
                continue
            reason = self.refusal(identity, answer)
            if reason is not None:
                self.revoked.add(token_key(identity.token))
                self.close(identity, by_token[token], reason)
            elif not answer.get("admin"):
                self.close(identity, [ws for ws in by_token[token] if ws in self.admin_only],
                           "you are no longer one of the hub's admins")
        if failed:
            logger.warning("could not re-check %d of %d hub token(s) (is the hub up?): keeping them", failed, len(tokens))

    def close(self, identity: HubIdentity, websockets: list[ServerConnection], reason: str) -> None:
        """Close ``websockets`` (all ``identity``'s) with 1008 and ``reason``, without waiting for them."""
        websockets = [ws for ws in websockets if ws in self.connections]
        if not websockets:
            return
        logger.info("%s: %s; closing %d connection(s)", identity.name, reason, len(websockets))
        for websocket in websockets:
            self.discard(websocket)
            # close() waits for the closing handshake: one slow client must not hold the round.
            closing = asyncio.create_task(websocket.close(CloseCode.POLICY_VIOLATION, reason))
            self.closing.add(closing)
            closing.add_done_callback(self.closing.discard)

    def refusal(self, identity: HubIdentity, user: dict | None) -> str | None:
        """Why the hub's fresh answer ``user`` ends ``identity``'s connections, or None."""
        if not user:
            return "your hub login ended (user removed or token revoked)"
        if user.get("name") != identity.name or not may_use(self.auth, user):
            return "your hub login no longer gives access to this room"
        return None
