"""The class room's re-check of its members' hub tokens when the hub does not answer (ws_course.hub.identity).

On the real hub (tests/test_hub_teacher.py) a user the hub removes is cut within
seconds. Here the hub is down: the service's real ``HubOAuth`` asks a port where
nothing listens, and the room must keep everyone, and say so in its log.
"""

from __future__ import annotations

import asyncio
import logging

from jupyterhub.services.auth import HubOAuth
from lab_helpers import free_port
from websockets.asyncio.client import connect
from websockets.asyncio.server import serve
from websockets.protocol import State

from ws_course.hub.identity import PAGE, WIDGET, HubIdentity, IdentityWatch


async def test_a_hub_that_does_not_answer_cuts_nobody(caplog):
    hub_down = HubOAuth(api_url=f"http://127.0.0.1:{free_port()}/hub/api", api_token="service-token",
                        oauth_client_id="service-class-chat")
    watch = IdentityWatch(hub_down, interval=0.05)
    identities = iter([HubIdentity("alice", "alice-token", PAGE), HubIdentity("bob", "bob-token", WIDGET)])

    async def handler(websocket):
        watch.add(websocket, next(identities))
        try:
            await websocket.wait_closed()
        finally:
            watch.discard(websocket)

    caplog.set_level(logging.WARNING, "ws_course.hub.identity")
    async with serve(handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        async with connect(f"ws://127.0.0.1:{port}", proxy=None) as alice, connect(f"ws://127.0.0.1:{port}", proxy=None) as bob:
            async with asyncio.timeout(15):  # three rounds that could not reach the hub
                while sum("could not re-check 2 of 2 hub token(s)" in r.message for r in caplog.records) < 3:
                    await asyncio.sleep(0.05)
            assert (alice.state, bob.state) == (State.OPEN, State.OPEN)
            assert not watch.revoked
    assert watch.task is None  # nobody left to watch: the watch stopped
