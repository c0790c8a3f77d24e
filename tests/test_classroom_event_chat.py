"""``ws-course serve event-chat`` in a classroom (issue 18): log, rate limit, teacher's view, kick, mute, big screen.

Real servers on real sockets: the command line as a subprocess where what it prints
matters, the same moderated room started in this process otherwise. Members are the
course's page with the official socket.io JavaScript client, in the module's one
headless Chromium, and python-socketio clients.
"""

from __future__ import annotations

import json
import queue
import re
import socket
import time
import urllib.request

import pytest
import socketio
from playwright.sync_api import expect
from test_classroom_serve import DEADLINE, Served, status_of
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from ws_course.classroom import aiohttp_desk
from ws_course.classroom.event_room import moderated_demo
from ws_course.classroom.roster import MUTED, RATE_LIMIT
from ws_course.runtime.background import start

KEY = "the-teachers-secret"

#: Socket.IO's pings every second: a closed tab is noticed at once.
FAST = {"ping_interval": 1, "ping_timeout": 2}

#: What a banned address is told when it connects again.
KEPT_OUT = ("the teacher removed you from this room. You may come back in 10 minutes, "
            "or as soon as the teacher lets you in.")


class Member:
    """A python-socketio client (the threaded one) that records every event it receives, in order.

    websocket-client sends an ``Origin`` of its own unless told not to: without one,
    the teacher sees a program, not a page.
    """

    def __init__(self) -> None:
        self.sio = socketio.Client(reconnection=False, websocket_extra_options={"suppress_origin": True})
        self.events: queue.Queue[tuple[str, object]] = queue.Queue()
        self.sio.on("*", lambda event, data: self.events.put((event, data)))
        self.sio.on("connect_error", lambda data: self.events.put(("connect_error", data)))

    def join(self, url: str) -> Member:
        self.sio.connect(url, transports=["websocket"], wait_timeout=DEADLINE)
        return self

    def until(self, event: str, data: object) -> list[tuple[str, object]]:
        """Every event received up to and including ``(event, data)``."""
        seen = []
        while seen[-1:] != [(event, data)]:
            seen.append(self.events.get(timeout=DEADLINE))
        return seen

    def leave(self) -> None:
        self.sio.disconnect()


def wait_for_log(server, text: str) -> str:
    """The first line of the server's log with ``text``, waited for."""
    deadline = time.monotonic() + DEADLINE
    while not (lines := [line for line in server.log if text in line]):
        assert time.monotonic() < deadline, f"no {text!r} in the log within {DEADLINE} s: {server.log[-20:]}"
        time.sleep(0.05)
    return lines[0]


# -- the command line, the log, the rate limit ------------------------------------------


def test_serve_event_chat_prints_the_teachers_view_and_the_big_screen_and_refuses_a_wrong_key(tmp_path):
    served = Served(tmp_path, "event-chat")
    try:
        assert served.printed[1].startswith(f"(Socket.IO clients connect to http://127.0.0.1:{served.port}/)")
        teacher = re.search(r"The teacher's view: (http://127\.0\.0\.1:\d+/teacher\?key=(\S+))", served.printed[2])
        assert teacher, served.printed
        assert re.fullmatch(rf"The big screen: http://127\.0\.0\.1:{served.port}/screen\n", served.printed[3])
        teacher_url, key = teacher[1], teacher[2]
        assert len(key) >= 16
        with urllib.request.urlopen(teacher_url, timeout=DEADLINE) as response:
            assert "Teacher's view" in response.read().decode()
        assert status_of(served.url + "screen") == 200
        for wrong in ("teacher", "teacher?key=", "teacher?key=guess", f"teacher?key={key}x"):
            assert status_of(served.url + wrong) == 403, wrong
            with pytest.raises(InvalidStatus) as refused:
                connect(f"ws://127.0.0.1:{served.port}/{wrong}", proxy=None).close()
            assert refused.value.response.status_code == 403
        assert b"the teacher's view needs its key" in refused.value.response.body
        with connect(teacher_url.replace("http:", "ws:"), proxy=None) as websocket:
            snapshot = json.loads(websocket.recv(timeout=DEADLINE))
        assert snapshot["type"] == "snapshot" and snapshot["members"] == [] and snapshot["rate_limit"] == RATE_LIMIT
        served.wait_for_log("refused GET /teacher: the teacher's view needs its key")
    finally:
        served.stop()
    assert served.process.returncode == 0


def test_the_event_chat_logs_who_said_what_and_drops_a_flood_with_one_refusal():
    with start(moderated_demo(teacher_key=KEY), **FAST) as server:
        watcher = Member().join(server.page_url)
        flooder = Member().join(server.page_url)
        watcher.until("enter", "user2 comes in")
        for number in range(200):
            flooder.sio.emit("message", f"flood {number}")
        flooder.sio.emit("message", ["not", "text"])  # refused by the room itself, as before
        # python-socketio handles each event in a task of its own, started in the order the events
        # came: once the last one is answered, the roster has seen all 200.
        told = flooder.until("refused", "a message must be text, not list")
        refusals = [data for event, data in told if event == "refused"]
        assert refusals[0] == "too fast: at most 5 messages a second are sent on; your extra messages were not sent"
        line = wait_for_log(server, "user2 (127.0.0.1, program) sends too fast")
        assert line.endswith("their extra messages are dropped")
        says = [line for line in server.log if line.startswith("user2 (127.0.0.1, program) says: flood ")]
        assert RATE_LIMIT <= len(says) < 200 and len(refusals) - 1 == sum("sends too fast" in x for x in server.log)
        heard = [data for event, data in watcher.until("mes", "user2 says: " + says[-1].rpartition("says: ")[2])]
        assert heard == ["user2 " + line.removeprefix("user2 (127.0.0.1, program) ") for line in says]
        assert heard[:RATE_LIMIT] == [f"user2 says: flood {n}" for n in range(RATE_LIMIT)]
        watcher.sio.emit("message", "still heard")
        wait_for_log(server, "user1 (127.0.0.1, program) says: still heard")
        flooder.leave()
        watcher.until("leave", "user2 left")
        wait_for_log(server, "user2 (127.0.0.1, program): ")  # the flood's count, when it ends
        watcher.leave()


# -- the teacher's view, in Chromium ---------------------------------------------------------


@pytest.fixture
def room():
    with start(moderated_demo(teacher_key=KEY), **FAST) as server:
        yield server


@pytest.fixture
def context(browser):
    context = browser.new_context()
    yield context
    context.close()


def open_student(context, server):
    student = context.new_page()
    student.goto(server.page_url)
    expect(student.locator("#state")).to_have_text("connected (websocket)")
    return student


def open_teacher(context, server):
    teacher = context.new_page()
    teacher.goto(server.page_url + f"teacher?key={KEY}")
    expect(teacher.locator("#state")).to_have_text("open")
    return teacher


def say(page, text: str) -> None:
    page.fill("#sendTxt", text)
    page.press("#sendTxt", "Enter")


def row(teacher, key: str):
    return teacher.locator(f'#members tbody tr[data-key="{key}"]')


def test_the_teachers_view_lists_pages_and_programs_with_address_and_counts(room, context):
    teacher = open_teacher(context, room)
    expect(teacher.locator("#members tbody")).to_contain_text("nobody yet")
    student = open_student(context, room)
    program = Member().join(room.page_url)
    try:
        expect(teacher.locator("#members tbody tr")).to_have_count(2)
        expect(teacher.locator("#count")).to_have_text("2")
        for key, kind in (("user1", "page"), ("user2", "program")):
            expect(row(teacher, key).locator(".connections")).to_contain_text(f"{kind}, 127.0.0.1, ")
        say(student, "one")
        say(student, "two")
        program.sio.emit("message", "three")
        expect(row(teacher, "user1").locator(".sent")).to_have_text("2")
        expect(row(teacher, "user1").locator(".passed")).to_have_text("2")
        expect(row(teacher, "user2").locator(".sent")).to_have_text("1")
        expect(teacher.locator("#rate-limit")).to_have_text("5 messages a second")
        expect(student.locator("#messages div").last).to_have_text("user2 says: three")
    finally:
        program.leave()
    expect(teacher.locator("#members tbody tr")).to_have_count(1)  # the program left
    student.close()
    expect(teacher.locator("#members tbody")).to_contain_text("nobody yet")  # the tab closed
    expect(teacher.locator("#progress")).to_be_hidden()  # no progress board on ws-course serve


def test_kick_disconnects_the_page_its_reconnect_is_refused_with_why_and_let_in_undoes_it(room, context):
    teacher = open_teacher(context, room)
    student = open_student(context, room)
    watcher = Member().join(room.page_url)
    try:
        expect(row(teacher, "user2")).to_have_count(1)
        row(teacher, "user1").get_by_role("button", name="Kick").click()
        watcher.until("leave", "user1 left")
        expect(student.locator("#messages .refused")).to_have_text("removed by the teacher")
        # Its page tries again (as after any server's goodbye): refused, with the reason, and it says so.
        expect(student.locator("#hint")).to_contain_text(f"The server refused this page: {KEPT_OUT}",
                                                         timeout=DEADLINE * 1000)
        expect(student.locator("#hint")).to_contain_text("This page tries again by itself")
        expect(student.locator("#sendBtn")).to_be_disabled()
        wait_for_log(room, "refused a Socket.IO connect from 127.0.0.1: user1 is banned")
        expect(row(teacher, "user1")).to_have_count(0)
        banned = teacher.locator('#banned tbody tr[data-key="user1"]')
        expect(banned).to_contain_text("127.0.0.1")
        assert "user1 (127.0.0.1, page) kicked out by the teacher, banned for 600 s (and 127.0.0.1)" in room.log

        # The same address, a new python-socketio client: refused too, and told why.
        newcomer = Member()
        with pytest.raises(socketio.exceptions.ConnectionError):
            newcomer.join(room.page_url)
        assert newcomer.until("connect_error", {"message": KEPT_OUT})
        # A student page opened now is refused at once, and says why in its state.
        late = context.new_page()
        late.goto(room.page_url)
        expect(late.locator("#state")).to_have_text(f"error: {KEPT_OUT}")
        late.close()

        banned.get_by_role("button", name="Let in").click()
        expect(teacher.locator("#banned tbody")).to_contain_text("nobody")
        expect(student.locator("#state")).to_have_text("connected (websocket)", timeout=45_000)  # its next try
        expect(student.locator("#hint")).to_be_hidden()
        expect(teacher.locator("#members tbody tr")).to_have_count(2)  # the watcher and the page, back
        # Back as user3: the refused connects took no nickname, and the room heard none of them.
        assert watcher.events.get(timeout=DEADLINE) == ("enter", "user3 comes in")
        say(student, "back again")
        assert watcher.events.get(timeout=DEADLINE) == ("mes", "user3 says: back again")
    finally:
        watcher.leave()


def test_mute_drops_a_members_messages_with_a_refused_notice(room, context):
    teacher = open_teacher(context, room)
    muted = open_student(context, room)
    other = Member().join(room.page_url)
    try:
        expect(row(teacher, "user2")).to_have_count(1)
        row(teacher, "user1").get_by_role("button", name="Mute").click()
        expect(row(teacher, "user1").locator(".muted")).to_have_text("muted")
        say(muted, "can anyone hear me?")
        expect(muted.locator("#messages .refused").last).to_have_text(MUTED)
        expect(row(teacher, "user1").locator(".sent")).to_have_text("1")
        expect(row(teacher, "user1").locator(".passed")).to_have_text("0")
        row(teacher, "user1").get_by_role("button", name="Unmute").click()
        expect(row(teacher, "user1").locator(".muted")).to_have_text("")
        say(muted, "now you can")
        heard = other.until("mes", "user1 says: now you can")
        assert ("mes", "user1 says: can anyone hear me?") not in heard
        expect(muted.locator("#messages div").last).to_have_text("user1 says: now you can")
        expect(row(teacher, "user1").locator(".passed")).to_have_text("1")
        assert "user1 (127.0.0.1, page) is muted, not sent: can anyone hear me?" in room.log
        assert "user1 (127.0.0.1, page) says: now you can" in room.log
    finally:
        other.leave()


# -- the big screen ----------------------------------------------------------------------------


def test_the_big_screen_shows_history_to_a_late_opener_then_each_new_line_and_the_servers_goodbye(context):
    room = start(moderated_demo(teacher_key=KEY, rate_limit=0), **FAST)  # 0: no rate limit
    try:
        alice, bob = Member().join(room.page_url), Member().join(room.page_url)
        for number in range(60):  # more than the screen's history (50), more than a window's height
            alice.sio.emit("message", f"line {number}")
        bob.until("mes", "user1 says: line 59")
        screen = context.new_page()
        screen.goto(room.page_url + "screen")
        expect(screen.locator("#state")).to_have_text("open")
        lines = screen.locator("#messages div")
        expect(lines).to_have_count(50)
        expect(lines.first).to_have_text("user1 says: line 10")  # 2 "comes in" and lines 0-9 went
        expect(lines.last).to_have_text("user1 says: line 59")
        expect(lines.last).to_be_in_viewport()
        expect(screen.locator("#members li")).to_have_text(["user1", "user2"])
        bob.sio.emit("message", "a new line")
        expect(lines.last).to_have_text("user2 says: a new line")
        expect(lines.last).to_be_in_viewport()
        assert "127.0.0.1" not in screen.locator("body").inner_text()
        bob.leave()
        expect(lines.last).to_have_text("user2 left")
        expect(screen.locator("#members li")).to_have_text(["user1"])
        alice.leave()
        expect(screen.locator("#members li")).to_have_count(0)
        room.stop()
        expect(screen.locator("#state")).to_have_text("closed (code 1001: going away)")
        expect(screen.locator("#hint")).to_contain_text("This screen reconnects by itself")
    finally:
        room.stop()


def frozen_screen(port: int) -> socket.socket:
    """A big screen's WebSocket that reads nothing after the handshake, with a small receive window."""
    frozen = socket.socket()
    frozen.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # the server's writes back up soon
    frozen.connect(("127.0.0.1", port))
    frozen.sendall(f"GET /screen HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())
    assert frozen.recv(12) == b"HTTP/1.1 101"
    return frozen


def test_a_big_screen_that_does_not_read_is_cut_the_room_goes_on_and_the_server_still_stops(monkeypatch):
    monkeypatch.setattr(aiohttp_desk, "MAX_PENDING", 50)  # cut it sooner: fewer messages to send
    room = start(moderated_demo(teacher_key=KEY, rate_limit=0))
    port = int(room.page_url.rsplit(":", 1)[1].strip("/"))
    padding = "x" * 2000  # large lines: a few fill the buffers, the rest wait in the viewer's outbox
    frozen = [frozen_screen(port)]
    try:
        talker = Member().join(room.page_url)
        for number in range(400):
            talker.sio.emit("message", f"line {number} {padding}")
        wait_for_log(room, "cut a viewer of /screen that does not read: 50 messages waiting for it")
        talker.until("mes", f"user1 says: line 399 {padding}")  # the room went on
        # Another one, backed up but not cut yet when the server stops: it cannot take its close.
        monkeypatch.setattr(aiohttp_desk, "MAX_PENDING", 10**6)
        frozen.append(frozen_screen(port))
        for number in range(400):
            talker.sio.emit("message", f"again {number} {padding}")
        talker.until("mes", f"user1 says: again 399 {padding}")
        talker.leave()
        room.stop()  # within its 15 s, or it raises TimeoutError
    finally:
        room.stop()
        for each in frozen:
            each.close()
