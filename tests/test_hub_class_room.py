"""The class room as a JupyterHub service (ws_course.hub.room), on a real hub.

The hub (the ``hub`` fixture, tests/hub.py) is configured with the very lines
``ws_course.hub.room.jupyterhub_config()`` gives a teacher. Students log in with
the hub's login page in their own browser contexts and meet in
``/services/class-chat/``; programs come in with a hub token; nobody else does.
"""

from __future__ import annotations

import json
import textwrap
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from hub import log_in
from playwright.sync_api import expect
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect  # the sync client: these tests drive a sync Playwright too

from ws_course.hub import room as hub_room

ROOM = "/services/class-chat/"
HERE = Path(__file__).resolve().parent


def room_socket(hub) -> str:
    return hub.url.replace("http://", "ws://") + ROOM


def handshake_status(url: str, **headers: str) -> int:
    """The HTTP status the room answers a WebSocket handshake with (101: let in)."""
    try:
        with connect(url, additional_headers=headers, proxy=None, open_timeout=10):
            return 101
    except InvalidStatus as refused:
        return refused.response.status_code


def student(browser, hub, name: str):
    """A student's own browser context, logged in to the hub, on the class room's page."""
    context = browser.new_context()
    page = context.new_page()
    log_in(page, hub, name, next_url=ROOM)
    expect(page).to_have_url(hub.url + ROOM)  # after the hub's OAuth round trip
    expect(page.locator("#state")).to_have_text("open")
    return context, page


def say(page, text: str) -> None:
    page.locator("#sendTxt").fill(text)
    page.locator("#sendBtn").click()


def test_the_teachers_lines_are_the_documented_ones():
    """The hub in these tests runs exactly the lines that the module and the README give teachers."""
    assert textwrap.indent(hub_room.jupyterhub_config(), "    ") in hub_room.__doc__
    assert textwrap.indent(hub_room.jupyterhub_config(), "  ") in (HERE.parent / "README.md").read_text()


def test_two_students_chat_in_the_class_room_under_their_hub_names(hub, browser):
    alice_context, alice = student(browser, hub, "alice")
    bob_context, bob = student(browser, hub, "bob")
    try:
        expect(alice.locator("#messages div").last).to_have_text("bob comes in")
        say(alice, "hi Bob")
        say(bob, "hi Alice")
        for page in (alice, bob):
            expect(page.locator("#messages div", has_text="says:")).to_have_text(["alice says: hi Bob", "bob says: hi Alice"])
        bob_context.close()
        expect(alice.locator("#messages div").last).to_have_text("bob left")
    finally:
        alice_context.close()
        bob_context.close()


def test_without_a_hub_login_the_page_sends_you_to_the_hub(hub):
    class Stop(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None  # let the 302 through as an error, to read it

    with pytest.raises(urllib.error.HTTPError) as redirect:
        urllib.request.build_opener(Stop).open(hub.url + ROOM, timeout=10)
    assert redirect.value.code == 302
    assert redirect.value.headers["Location"].startswith("/hub/api/oauth2/authorize?")
    # Followed to the end, without a login: the hub's login page.
    with urllib.request.urlopen(hub.url + ROOM, timeout=10) as page:
        assert page.url.startswith(hub.url + "/hub/login")
        assert b'id="login_submit"' in page.read()


def test_a_websocket_without_a_hub_login_is_refused(hub):
    url = room_socket(hub)
    forged = json.dumps({"name": "alice"})
    assert handshake_status(url) == 403
    assert handshake_status(url, Authorization="token not-a-hub-token") == 403
    assert handshake_status(url, Cookie=f"service-class-chat={forged}") == 403
    # A real token of alice's, but one that may not use the service: refused too.
    no_access = hub.new_token("alice", scopes=["read:users:name!user=alice"])
    assert handshake_status(url, Authorization=f"token {no_access}") == 403
    # Alice's full token gets in: the refusals above were about the credentials.
    assert handshake_status(url, Authorization=f"token {hub.new_token('alice')}") == 101


def test_the_login_cookie_works_only_from_the_rooms_own_pages(hub, browser):
    context, page = student(browser, hub, "alice")
    try:
        cookie = "; ".join(f"{c['name']}={c['value']}" for c in context.cookies(hub.url + ROOM))
    finally:
        context.close()
    url = room_socket(hub)
    # The browser's cookie, from a page of the hub's own origin: in. From another site: refused.
    assert handshake_status(url, Cookie=cookie, Origin=hub.url) == 101
    assert handshake_status(url, Cookie=cookie, Origin="http://evil.example") == 403
    assert handshake_status(url, Cookie=cookie) == 403  # no Origin: not a browser page


def test_nobody_speaks_under_a_name_not_their_own(hub, browser):
    bob_context, bob = student(browser, hub, "bob")
    alice_token = hub.new_token("alice")

    try:
        # Whatever the client claims, the room names it after the token's owner.
        with connect(
            room_socket(hub) + "?user=bob", proxy=None,
            additional_headers={"Authorization": f"token {alice_token}", "X-Hub-User": "bob"},
        ) as websocket:
            assert json.loads(websocket.recv(timeout=10)) == {"type": "enter", "data": "alice comes in"}
            websocket.send("bob says: I am Bob")
            assert json.loads(websocket.recv(timeout=10)) == {"type": "message", "data": "alice says: bob says: I am Bob"}
        expect(bob.locator("#messages div", has_text="I am Bob")).to_have_text("alice says: bob says: I am Bob")
    finally:
        bob_context.close()


def test_the_rooms_former_address_still_runs_it():
    """Teachers' configurations written before the room moved run ``python -m ws_course.hub_room``."""
    import inspect

    import ws_course.hub.room
    import ws_course.hub_room

    assert ws_course.hub_room.main is ws_course.hub.room.main
    assert ws_course.hub_room.jupyterhub_config is ws_course.hub.room.jupyterhub_config
    assert 'if __name__ == "__main__":\n    main()' in inspect.getsource(ws_course.hub_room)
