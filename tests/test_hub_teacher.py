"""The teacher's side of the hub's class room (ws_course.hub.room), on a real hub.

The session ``hub`` fixture's hub has three users: alice and bob, students, and
"teacher", the hub's admin. Students come in as the class room's tests show
(tests/test_hub_class_room.py): a page logged in through the hub, or a program
with a hub token; the room must know each of them as one member, see them go when
the hub stops knowing them, and give the teacher a view to see and steer it.
"""

from __future__ import annotations

import json
import time
import urllib.error

import pytest
from hub import log_in
from playwright.sync_api import expect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from ws_course.hub.identity import RECHECK_SECONDS

ROOM = "/services/class-chat/"

#: Seconds to wait for what the room does "within seconds": a few re-check rounds.
WITHIN_SECONDS = 15


def room_socket(hub, path: str = "") -> str:
    return hub.url.replace("http://", "ws://") + ROOM + path


def widget(hub, token: str, path: str = ""):
    """A program's connection to the room, proving who it is with ``token`` (as a notebook's widget does)."""
    return connect(room_socket(hub, path), additional_headers={"Authorization": f"token {token}"}, proxy=None, open_timeout=10)


def handshake_status(url: str, **headers: str) -> int:
    """The HTTP status the room answers a WebSocket handshake with (101: let in)."""
    try:
        with connect(url, additional_headers=headers, proxy=None, open_timeout=10):
            return 101
    except InvalidStatus as refused:
        return refused.response.status_code


def student(browser, hub, name: str, path: str = ""):
    """A student's own browser context, logged in to the hub, on one of the class room's pages."""
    context = browser.new_context()
    page = context.new_page()
    log_in(page, hub, name, next_url=ROOM + path)
    expect(page).to_have_url(hub.url + ROOM + path)  # after the hub's OAuth round trip
    return context, page


def messages(websocket, until: str, timeout: float = WITHIN_SECONDS) -> list[str]:
    """The ``data`` of each message ``websocket`` receives, up to the first whose data is ``until``."""
    seen = []
    deadline = time.monotonic() + timeout
    while not seen or seen[-1] != until:
        seen.append(json.loads(websocket.recv(timeout=max(0.1, deadline - time.monotonic())))["data"])
    return seen


def test_a_student_with_a_page_and_two_widgets_is_one_member(hub, browser):
    bob_token = hub.new_token("bob")
    alice_token = hub.new_token("alice")
    with widget(hub, bob_token) as bob:
        assert messages(bob, "bob comes in") == ["bob comes in"]
        context, alice_page = student(browser, hub, "alice")
        try:
            expect(alice_page.locator("#state")).to_have_text("open")
            with widget(hub, alice_token) as first, widget(hub, alice_token) as second:
                first.send("from my first widget")
                second.send("from my second widget")
                # Bob heard alice come in once, then both messages: no second "comes in".
                assert messages(bob, "alice says: from my second widget") == [
                    "alice comes in", "alice says: from my first widget", "alice says: from my second widget",
                ]
            bob.send("still there?")  # her widgets closed: she did not leave, her page is open
            assert messages(bob, "bob says: still there?") == ["bob says: still there?"]
        finally:
            context.close()
        assert messages(bob, "alice left") == ["alice left"]


def test_a_user_removed_from_the_hub_is_cut_within_seconds(hub):
    hub.api("POST", "/users/carol")
    carol_token = hub.new_token("carol")
    try:
        with widget(hub, carol_token) as carol:
            assert messages(carol, "carol comes in")
            hub.api("DELETE", "/users/carol")
            deleted = time.monotonic()
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    carol.recv(timeout=WITHIN_SECONDS)
        assert closed.value.rcvd.code == 1008
        assert "hub login ended" in closed.value.rcvd.reason
        print(f"cut {time.monotonic() - deleted:.1f} s after the user was deleted (re-check every {RECHECK_SECONDS} s)")
        assert handshake_status(room_socket(hub), Authorization=f"token {carol_token}") == 403
    finally:
        try:
            hub.api("DELETE", "/users/carol")
        except urllib.error.HTTPError as error:
            if error.code != 404:
                raise
