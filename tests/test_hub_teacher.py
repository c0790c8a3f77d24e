"""The teacher's side of the hub's class room (ws_course.hub.room), on a real hub.

The session ``hub`` fixture's hub has three users: alice and bob, students, and
"teacher", the hub's admin. Students come in as the class room's tests show
(tests/test_hub_class_room.py): a page logged in through the hub, or a program
with a hub token; the room must know each of them as one member, see them go when
the hub stops knowing them, and give the teacher a view to see and steer it.
"""

from __future__ import annotations

import json
import re
import time
import urllib.error

import pytest
from hub import ADMIN_PASSWORD, PASSWORD, log_in
from playwright.sync_api import expect
from websockets.exceptions import ConnectionClosed, InvalidMessage, InvalidStatus
from test_hub_class_room import handshake_status
from websockets.sync.client import connect

from ws_course.classroom import progress
from ws_course.hub.identity import RECHECK_SECONDS

ROOM = "/services/class-chat/"

#: Seconds to wait for what the room does "within seconds": a few re-check rounds.
WITHIN_SECONDS = 15


def room_socket(hub, path: str = "") -> str:
    return hub.url.replace("http://", "ws://") + ROOM + path


def widget(hub, token: str, path: str = ""):
    """A program's connection to the room, proving who it is with ``token`` (as a notebook's widget does)."""
    return connect(room_socket(hub, path), additional_headers={"Authorization": f"token {token}"}, proxy=None, open_timeout=10)


def student(browser, hub, name: str, path: str = ""):
    """A student's own browser context, logged in to the hub, on one of the class room's pages."""
    context = browser.new_context()
    page = context.new_page()
    log_in(page, hub, name, next_url=ROOM + path, password=ADMIN_PASSWORD if name == "teacher" else PASSWORD)
    expect(page).to_have_url(hub.url + ROOM + path)  # after the hub's OAuth round trip
    return context, page


def messages(websocket, until: str, timeout: float = WITHIN_SECONDS) -> list[str]:
    """The ``data`` of each message ``websocket`` receives, up to the first whose data is ``until``."""
    seen = []
    deadline = time.monotonic() + timeout
    while not seen or seen[-1] != until:
        seen.append(json.loads(websocket.recv(timeout=max(0.1, deadline - time.monotonic())))["data"])
    return seen


@pytest.fixture(scope="module", autouse=True)
def room_is_up(hub):
    """Wait until the hub's proxy routes to the class room (the hub starts it in the background)."""
    deadline = time.monotonic() + 60
    while True:
        try:
            if handshake_status(room_socket(hub)) == 403:  # the room's own answer to a stranger
                return
        except (OSError, InvalidMessage):
            pass  # no route yet: the proxy hangs up, or the hub answers
        if time.monotonic() > deadline:
            raise RuntimeError(f"the class room did not come up: see {hub.log_path}")
        time.sleep(0.2)


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


# -- the teacher's view -------------------------------------------------------------------


@pytest.fixture(scope="module")
def teacher(browser, hub):
    """The teacher's view, in one browser context logged in as the hub's admin, for every test here."""
    context, page = student(browser, hub, "teacher", "teacher")
    expect(page.locator("#state")).to_have_text("open")
    yield page
    context.close()


def member_row(teacher, name: str):
    return teacher.locator(f'#members tbody tr[data-key="{name}"]')


def test_the_teachers_view_lists_a_student_once_with_each_connection(hub, browser, teacher):
    expect(teacher.locator("#rate-limit")).to_have_text("5 messages a second")  # on by default
    context, alice_page = student(browser, hub, "alice")
    try:
        expect(alice_page.locator("#state")).to_have_text("open")
        with widget(hub, hub.new_token("alice")) as alice_widget:
            alice_widget.send("hello from my notebook")
            row = member_row(teacher, "alice")
            expect(row).to_have_count(1)
            expect(row.locator(".connections")).to_have_text(re.compile(r"^page, 127\.0\.0\.1, .*; widget, 127\.0\.0\.1, "))
            expect(row.locator(".sent")).to_have_text("1")
        expect(row.locator(".connections")).to_have_text(re.compile(r"^page, [^;]*$"))  # the widget has gone
    finally:
        context.close()
    expect(member_row(teacher, "alice")).to_have_count(0)


def test_the_teachers_view_is_for_the_hubs_admins_only(hub, browser):
    url = room_socket(hub, "teacher")
    assert handshake_status(url, Authorization=f"token {hub.new_token('alice')}") == 403
    assert handshake_status(url, Authorization=f"token {hub.new_token('teacher')}") == 101
    context, page = student(browser, hub, "alice")  # a student's browser, logged in: the page is refused too
    try:
        response = page.goto(hub.url + ROOM + "teacher")
        assert response.status == 403
        assert "for the hub's admins only" in page.content()
    finally:
        context.close()


def test_an_admin_who_stops_being_one_loses_the_teachers_view_within_seconds(hub):
    head = hub.new_token("teacher")  # only an admin may make another
    hub.api("POST", "/users/assistant", {"admin": True}, token=head)
    try:
        with widget(hub, hub.new_token("assistant"), "teacher") as view:
            assert json.loads(view.recv(timeout=WITHIN_SECONDS))["type"] == "snapshot"
            hub.api("PATCH", "/users/assistant", {"admin": False}, token=head)
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    view.recv(timeout=WITHIN_SECONDS)
        assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (1008, "you are no longer one of the hub's admins")
    finally:
        hub.api("DELETE", "/users/assistant")


def test_the_teacher_kicks_a_student_who_cannot_come_straight_back(hub, browser, teacher):
    bob_token = hub.new_token("bob")
    try:
        with widget(hub, bob_token) as bob:
            assert messages(bob, "bob comes in")
            member_row(teacher, "bob").get_by_role("button", name="Kick").click()
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    bob.recv(timeout=WITHIN_SECONDS)
        assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (1008, "removed by the teacher")
        expect(member_row(teacher, "bob")).to_have_count(0)
        # His widget's reconnection and his browser's page are refused, until the teacher lets him in.
        try:
            widget(hub, bob_token).close()
        except InvalidStatus as refused:
            assert refused.response.status_code == 403
            assert b"the teacher removed you from this room" in refused.response.body
        else:
            raise AssertionError("bob's widget came straight back in")
        context, bob_page = student(browser, hub, "bob")
        try:
            expect(bob_page.locator("body")).to_contain_text("the teacher removed you from this room")
        finally:
            context.close()
    finally:
        teacher.locator('#banned tbody tr[data-key="bob"]').get_by_role("button", name="Let in").click()
        expect(teacher.locator('#banned tbody tr[data-key="bob"]')).to_have_count(0)
    assert handshake_status(room_socket(hub), Authorization=f"token {bob_token}") == 101


def test_the_teacher_mutes_a_student(hub, teacher):
    with widget(hub, hub.new_token("bob")) as bob:
        assert messages(bob, "bob comes in")
        with widget(hub, hub.new_token("alice")) as alice:
            assert messages(bob, "alice comes in")
            member_row(teacher, "alice").get_by_role("button", name="Mute").click()
            expect(member_row(teacher, "alice").locator(".muted")).to_have_text("muted")
            alice.send("can you hear me?")
            assert messages(alice, "the teacher has muted you: your messages are not sent")
            member_row(teacher, "alice").get_by_role("button", name="Unmute").click()
            expect(member_row(teacher, "alice").locator(".muted")).to_have_text("")
            alice.send("and now?")
            # Bob heard nothing of what she said while muted.
            assert messages(bob, "alice says: and now?") == ["alice says: and now?"]


def test_the_big_screen_shows_a_late_joiner_what_was_said(hub, browser):
    with widget(hub, hub.new_token("alice")) as alice:
        alice.send("said before the screen opened")
        assert messages(alice, "alice says: said before the screen opened")
        context, screen = student(browser, hub, "bob", "screen")  # any hub user may open it
        try:
            expect(screen.locator("#messages div", has_text="said before")).to_have_text(
                "alice says: said before the screen opened"
            )
            expect(screen.locator("#members li")).to_have_text(["alice"])
            alice.send("said while it is open")
            expect(screen.locator("#messages div").last).to_have_text("alice says: said while it is open")
        finally:
            context.close()


# -- progress at a glance -----------------------------------------------------------------


def test_a_students_verdict_and_sticky_note_reach_the_teachers_grid(hub, teacher, monkeypatch):
    # This process plays alice's kernel on the hub: the variables the hub gives a kernel, her token.
    monkeypatch.setenv("JUPYTERHUB_API_URL", hub.url + "/hub/api")
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", hub.new_token("alice"))
    monkeypatch.setenv("JUPYTERHUB_BASE_URL", "/")
    monkeypatch.setenv("WS_COURSE_HUB_URL", hub.url)  # through the hub's proxy, as a kernel elsewhere would
    answers = []
    progress.report("check_rate_limit", False)
    progress.report("check_rate_limit", True)
    progress.set_stuck(True, "which close code?", done=answers.append)
    assert progress.flush(timeout=WITHIN_SECONDS)
    assert answers == [None]  # the room accepted it
    row = teacher.locator('#grid tbody tr[data-user="alice"]')
    expect(row.locator('td[data-exercise="check_rate_limit"]')).to_have_text("pass")
    expect(row.locator('td[data-exercise="check_ask"]')).to_have_text("–")  # not tried
    expect(row.locator(".flag")).to_have_text("stuck which close code?")
    progress.set_stuck(False)
    assert progress.flush(timeout=WITHIN_SECONDS)
    expect(row.locator(".flag")).to_have_count(0)


def test_the_progress_address_refuses_what_no_kernel_sends(hub, browser):
    with widget(hub, hub.new_token("bob"), "progress") as kernel:
        kernel.send(json.dumps({"exercise": "check_everything", "passed": True}))
        assert json.loads(kernel.recv(timeout=WITHIN_SECONDS)) == {"ok": False, "error": "no exercise is called 'check_everything'"}
        kernel.send(json.dumps({"exercise": "check_ask", "passed": True, "user": "alice"}))
        assert json.loads(kernel.recv(timeout=WITHIN_SECONDS))["ok"] is False
        kernel.send("not JSON")
        with pytest.raises(ConnectionClosed) as closed:
            kernel.recv(timeout=WITHIN_SECONDS)
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (1008, "progress messages are JSON text")
    # A browser page's login (its cookie) is not a kernel's token.
    context, _ = student(browser, hub, "bob")
    try:
        cookie = "; ".join(f"{c['name']}={c['value']}" for c in context.cookies(hub.url + ROOM))
    finally:
        context.close()
    assert handshake_status(room_socket(hub, "progress"), Cookie=cookie, Origin=hub.url) == 403
    assert handshake_status(room_socket(hub, "progress")) == 403
