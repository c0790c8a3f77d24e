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
from ws_course.hub.room import STOP_SECONDS


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


def test_told_to_stop_the_room_stops_even_while_a_handshake_waits_for_the_hub(tmp_path):
    """The hub stops its services as it shuts down, and may no longer answer the room meanwhile.

    Here the hub's API is a socket that accepts and never answers; a program's handshake
    with a token makes the room ask it who that is. SIGTERM must still end the room within
    seconds (it once waited as long as the hub would let it, and held up the hub's shutdown).
    """
    import os
    import signal
    import socket
    import subprocess
    import sys
    import threading
    import time

    silent = socket.create_server(("127.0.0.1", 0))  # the hub, too busy shutting down to answer
    accepted = []
    threading.Thread(target=lambda: accepted.append(silent.accept()), daemon=True).start()
    port = free_port()
    env = {
        **os.environ, "JUPYTERHUB_SERVICE_URL": f"http://127.0.0.1:{port}", "JUPYTERHUB_SERVICE_PREFIX": "/services/class-chat/",
        "JUPYTERHUB_API_URL": f"http://127.0.0.1:{silent.getsockname()[1]}/hub/api", "JUPYTERHUB_API_TOKEN": "service-token",
        "JUPYTERHUB_CLIENT_ID": "service-class-chat", "JUPYTERHUB_SERVICE_NAME": "class-chat",
    }
    room = subprocess.Popen([sys.executable, "-m", "ws_course.hub.room", "--log-file", str(tmp_path / "room.log")],
                            env=env, stderr=subprocess.PIPE, text=True)
    try:
        assert "listening" in room.stderr.readline() + room.stderr.readline()
        waiting = socket.create_connection(("127.0.0.1", port))  # a widget's handshake, with a token
        waiting.sendall(b"GET /services/class-chat/ HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                        b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                        b"Sec-WebSocket-Version: 13\r\nAuthorization: token alice-token\r\n\r\n")
        deadline = time.monotonic() + 10
        while not accepted and time.monotonic() < deadline:  # the room is asking the silent hub
            time.sleep(0.05)
        assert accepted, "the room never asked the hub who the token is"
        room.send_signal(signal.SIGTERM)
        room.wait(timeout=30)
        # It did not wait for the hub's answer: it gave up on it after STOP_SECONDS, and says so.
        assert f"The class room stopped after {STOP_SECONDS} s, without waiting any longer" in room.stderr.read()
        waiting.close()
    finally:
        if room.poll() is None:
            room.kill()
            room.wait()
        silent.close()
