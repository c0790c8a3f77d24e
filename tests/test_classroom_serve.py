"""``ws-course serve chat`` in a classroom (issue 18): the teacher's view, kick, mute, the rate limit, the big screen.

Real servers on real sockets: the command line as a subprocess where what it prints,
logs or survives matters; the same moderated rooms started in this process
otherwise. Pages in the module's one headless Chromium.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from functools import partial
from pathlib import Path

import pytest
from lab_helpers import free_port, stop_process
from playwright.sync_api import expect
from websockets.asyncio.server import serve as websockets_serve
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from ws_course.classroom.desk import Desk, key_check
from ws_course.classroom.moderated import ModeratedJSONChatRoom
from ws_course.classroom.roster import MUTED, RATE_LIMIT
from ws_course.classroom.server import moderated_demo
from ws_course.runtime.background import start
from ws_course.runtime.server import Demo
from ws_course.web.pages import page as page_hook

KEY = "the-teachers-secret"

#: How long a test waits for what the server logs or a socket hears (seconds).
DEADLINE = 15


class Served:
    """``ws-course serve DEMO`` in a subprocess: the addresses it printed, and its log (stderr) in a file."""

    def __init__(self, folder: Path, demo: str = "chat", *args: str, port: int = 0) -> None:
        self.log_path = folder / f"serve-{time.monotonic_ns()}.log"
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "ws_course", "serve", demo, "--port", str(port), *args],
                stdout=subprocess.PIPE, stderr=log, text=True,
            )
        try:
            self.printed = [self.process.stdout.readline() for _ in range(4)]
            running = re.search(r"Open http://127\.0\.0\.1:(\d+)/", self.printed[0])
            assert running, f"ws-course serve printed {self.printed}; its log: {self.log()}"
        except BaseException:
            self.stop()
            raise
        self.port = int(running[1])
        self.url = f"http://127.0.0.1:{self.port}/"

    def log(self) -> str:
        return self.log_path.read_text()

    def wait_for_log(self, text: str) -> str:
        deadline = time.monotonic() + DEADLINE
        while text not in (log := self.log()):
            assert time.monotonic() < deadline, f"no {text!r} in the log within {DEADLINE} s:\n{log[-3000:]}"
            time.sleep(0.1)
        return log

    def stop(self) -> None:
        stop_process(self.process)
        self.process.stdout.close()


def status_of(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        error.close()
        return error.code


def wait_for_answer(teacher) -> dict:
    while (message := json.loads(teacher.recv(timeout=DEADLINE)))["type"] != "answer":
        pass
    return message


def snapshot_where(teacher, condition) -> dict:
    """The first snapshot the teacher's socket receives for which ``condition(snapshot)`` is true."""
    deadline = time.monotonic() + DEADLINE
    while True:
        message = json.loads(teacher.recv(timeout=max(0.1, deadline - time.monotonic())))
        if message["type"] == "snapshot" and condition(message):
            return message


# -- the command line ----------------------------------------------------------------


def test_serve_prints_the_teachers_view_with_a_fresh_key_and_refuses_a_wrong_one(tmp_path):
    served = Served(tmp_path, "json-chat")
    try:
        teacher = re.search(r"The teacher's view: (http://127\.0\.0\.1:\d+/teacher\?key=(\S+))", served.printed[2])
        assert teacher, served.printed
        assert re.fullmatch(rf"The big screen: http://127\.0\.0\.1:{served.port}/screen\n", served.printed[3])
        teacher_url, key = teacher[1], teacher[2]
        assert len(key) >= 16
        with urllib.request.urlopen(teacher_url, timeout=10) as response:
            assert "Teacher's view" in response.read().decode()
        assert status_of(served.url + "screen") == 200
        for wrong in ("teacher", "teacher?key=", "teacher?key=guess", f"teacher?key={key}x"):
            assert status_of(served.url + wrong) == 403, wrong
            with pytest.raises(InvalidStatus) as refused:
                connect(f"ws://127.0.0.1:{served.port}/{wrong}", proxy=None).close()
            assert refused.value.response.status_code == 403
        assert b"the teacher's view needs its key" in refused.value.response.body
        with connect(teacher_url.replace("http:", "ws:"), proxy=None) as websocket:
            assert json.loads(websocket.recv(timeout=DEADLINE))["type"] == "snapshot"
        served.wait_for_log("refused GET /teacher: the teacher's view needs its key")
    finally:
        served.stop()
    assert served.process.returncode == 0


def test_a_flood_of_3000_is_rate_limited_and_the_log_names_the_flooder(tmp_path):
    served = Served(tmp_path, "chat", "--teacher-key", KEY)
    ws = f"ws://127.0.0.1:{served.port}/"
    try:
        with connect(ws + f"teacher?key={KEY}", proxy=None) as teacher, connect(ws, proxy=None) as watcher, \
                connect(ws, proxy=None) as flooder:
            assert watcher.recv(timeout=DEADLINE) == "user1 comes in"
            assert watcher.recv(timeout=DEADLINE) == "user2 comes in"
            started = time.monotonic()
            for number in range(3000):  # as a script's loop does
                flooder.send(f"flood {number}")
            member = snapshot_where(teacher, lambda s: any(m["key"] == "user2" and m["sent"] == 3000
                                                          for m in s["members"]))["members"]
            seconds = time.monotonic() - started
            flood = next(m for m in member if m["key"] == "user2")
            # Each second lets RATE_LIMIT more through; the rest is dropped.
            assert RATE_LIMIT <= flood["passed"] <= RATE_LIMIT * (seconds + 1)
            assert flood["dropped"] == 3000 - flood["passed"] and not flood["muted"]
            watcher.send("the watcher is still heard")
            heard = []
            while (text := watcher.recv(timeout=DEADLINE)) != "the watcher is still heard":
                heard.append(text)
            numbers = [int(text.removeprefix("flood ")) for text in heard]
            assert numbers == sorted(numbers)  # whatever passed, in the order it was sent
            assert len(heard) == flood["passed"] and heard[:RATE_LIMIT] == [f"flood {n}" for n in range(RATE_LIMIT)]
            notices = []
            while (text := flooder.recv(timeout=DEADLINE)) != "the watcher is still heard":
                if text.startswith("too fast"):
                    notices.append(text)
        log = served.wait_for_log("user2 (127.0.0.1, program): ")  # the flood's count, when it ends
        says = re.findall(r"user2 \(127\.0\.0\.1, program\) says: flood \d+", log)
        assert len(says) == flood["passed"]
        starts = log.count("user2 (127.0.0.1, program) sends too fast (more than 5 messages in 1 s)")
        assert starts >= 1 and len(notices) == starts  # one notice per flood, not 2995
        assert "user1 (127.0.0.1, program) says: the watcher is still heard" in log
    finally:
        served.stop()


def test_a_page_and_the_big_screen_reconnect_after_the_server_restarts_on_the_same_port(tmp_path, browser):
    port = free_port()
    served = Served(tmp_path, "chat", "--teacher-key", KEY, port=port)
    context = browser.new_context()
    try:
        student, screen = context.new_page(), context.new_page()
        student.goto(served.url)
        screen.goto(served.url + "screen")
        for page in (student, screen):
            expect(page.locator("#state")).to_have_text("open")
        served.stop()
        for page in (student, screen):
            expect(page.locator("#state")).to_have_text("closed (code 1001)")
        expect(student.locator("#hint")).to_contain_text("reconnects by itself")
        served = Served(tmp_path, "chat", "--teacher-key", KEY, port=port)
        for page in (student, screen):
            expect(page.locator("#state")).to_have_text("open", timeout=DEADLINE * 1000)
        student.fill("#sendTxt", "back again")
        student.press("#sendTxt", "Enter")
        expect(student.locator("#messages")).to_contain_text("back again")
        expect(screen.locator("#messages")).to_contain_text("back again")
    finally:
        context.close()
        served.stop()


# -- the teacher's view, in Chromium -------------------------------------------------


@pytest.fixture
def room():
    with start(moderated_demo("json_chat", teacher_key=KEY)) as server:
        yield server


@pytest.fixture
def context(browser):
    context = browser.new_context()
    yield context
    context.close()


def open_student(context, server):
    student = context.new_page()
    student.goto(server.page_url)
    expect(student.locator("#state")).to_have_text("open")
    return student


def say(page, text: str) -> None:
    page.fill("#sendTxt", text)
    page.press("#sendTxt", "Enter")


def open_teacher(context, server):
    teacher = context.new_page()
    teacher.goto(server.page_url + f"teacher?key={KEY}")
    expect(teacher.locator("#state")).to_have_text("open")
    return teacher


def row(teacher, key: str):
    return teacher.locator(f'#members tbody tr[data-key="{key}"]')


def test_the_teachers_view_lists_each_member_once_with_address_and_counts(room, context):
    teacher = open_teacher(context, room)
    expect(teacher.locator("#members tbody")).to_contain_text("nobody yet")
    first, second = open_student(context, room), open_student(context, room)
    with connect(room.ws_url, proxy=None) as program:
        program.recv(timeout=DEADLINE)
        expect(teacher.locator("#members tbody tr")).to_have_count(3)
        expect(teacher.locator("#count")).to_have_text("3")
        for key, kind in (("user1", "page"), ("user2", "page"), ("user3", "program")):
            expect(row(teacher, key)).to_have_count(1)
            expect(row(teacher, key).locator(".connections")).to_contain_text(f"{kind}, 127.0.0.1, ")
        say(first, "one")
        say(first, "two")
        program.send("three")
        expect(row(teacher, "user1").locator(".sent")).to_have_text("2")
        expect(row(teacher, "user1").locator(".passed")).to_have_text("2")
        expect(row(teacher, "user3").locator(".sent")).to_have_text("1")
        expect(row(teacher, "user2").locator(".sent")).to_have_text("0")
        expect(teacher.locator("#rate-limit")).to_have_text("5 messages a second")
    expect(teacher.locator("#members tbody tr")).to_have_count(2)  # the program left
    second.close()
    expect(teacher.locator("#members tbody tr")).to_have_count(1)
    expect(teacher.locator("#progress")).to_be_hidden()  # no progress board on ws-course serve


def test_kick_closes_the_page_its_reconnect_gets_403_and_let_in_undoes_it(room, context):
    teacher = open_teacher(context, room)
    student = open_student(context, room)
    expect(row(teacher, "user1")).to_have_count(1)
    row(teacher, "user1").get_by_role("button", name="Kick").click()
    expect(student.locator("#state")).to_have_text("closed (code 1008: removed by the teacher)")
    expect(student.locator("#hint")).to_contain_text("The server closed this connection: removed by the teacher")
    expect(teacher.locator("#members tbody")).to_contain_text("nobody yet")
    banned = teacher.locator('#banned tbody tr[data-key="user1"]')
    expect(banned).to_contain_text("127.0.0.1")
    with pytest.raises(InvalidStatus) as refused:  # the same address, a new connection
        connect(room.ws_url, proxy=None).close()
    assert refused.value.response.status_code == 403
    assert b"the teacher removed you from this room. You may come back in 10 minutes" in refused.value.response.body
    assert status_of(room.page_url) == 403  # a reload says so too
    deadline = time.monotonic() + DEADLINE
    while not any(line.startswith("refused GET /: user1 is banned") for line in room.log):
        assert time.monotonic() < deadline, "the kicked page did not try to come back"
        time.sleep(0.1)
    banned.get_by_role("button", name="Let in").click()
    expect(teacher.locator("#banned tbody")).to_contain_text("nobody")
    expect(student.locator("#state")).to_have_text("open", timeout=45_000)  # its next try (backoff up to 30 s)
    expect(row(teacher, "user2")).to_have_count(1)


def test_mute_drops_a_members_messages_and_the_page_shows_the_notice(room, context):
    teacher = open_teacher(context, room)
    muted, other = open_student(context, room), open_student(context, room)
    expect(row(teacher, "user1")).to_have_count(1)
    row(teacher, "user1").get_by_role("button", name="Mute").click()
    expect(muted.locator("#messages .notice")).to_have_text("the teacher has muted you")
    expect(row(teacher, "user1").locator(".muted")).to_have_text("muted")
    say(muted, "can anyone hear me?")
    expect(muted.locator("#messages .notice").last).to_have_text(MUTED)
    expect(row(teacher, "user1").locator(".sent")).to_have_text("1")
    row(teacher, "user1").get_by_role("button", name="Unmute").click()
    expect(muted.locator("#messages .notice").last).to_have_text(
        "the teacher has unmuted you: your messages are sent again")
    say(muted, "now you can")
    expect(other.locator("#messages")).to_contain_text("user1 says: now you can")
    expect(other.locator("#messages")).not_to_contain_text("can anyone hear me?")
    expect(row(teacher, "user1").locator(".passed")).to_have_text("1")
    assert "user1 (127.0.0.1, page) is muted, not sent: can anyone hear me?" in room.log
    assert "user1 (127.0.0.1, page) says: now you can" in room.log


# -- the big screen ------------------------------------------------------------------


def test_the_big_screen_shows_history_to_a_late_opener_and_then_each_new_line(context):
    room = start(moderated_demo("json_chat", teacher_key=KEY, rate_limit=0))  # 0: no rate limit
    with room, connect(room.ws_url, proxy=None) as alice, connect(room.ws_url, proxy=None) as bob:
        bob.recv(timeout=DEADLINE)
        for number in range(60):  # more than the screen's history (50), more than a window's height
            alice.send(f"line {number}")
        for websocket in (alice, bob):  # (a sync client that reads nothing cannot close quickly either)
            while websocket.recv(timeout=DEADLINE) != '{"type":"message","data":"user1 says: line 59"}':
                pass
        screen = context.new_page()
        screen.goto(room.page_url + "screen")
        expect(screen.locator("#state")).to_have_text("open")
        lines = screen.locator("#messages div")
        expect(lines).to_have_count(50)
        expect(lines.first).to_have_text("user1 says: line 10")  # 2 "comes in" and lines 0-9 went
        expect(lines.last).to_have_text("user1 says: line 59")
        expect(lines.last).to_be_in_viewport()
        expect(screen.locator("#members li")).to_have_text(["user1", "user2"])
        bob.send("a new line")
        alice.recv(timeout=DEADLINE)
        expect(lines.last).to_have_text("user2 says: a new line")
        expect(lines.last).to_be_in_viewport()
        assert "127.0.0.1" not in screen.locator("body").inner_text()
        bob.close()
        expect(lines.last).to_have_text("user2 left")
        expect(screen.locator("#members li")).to_have_text(["user1"])


# -- the progress grid -----------------------------------------------------------------


class Board:
    """What the teacher's view reads of a progress board: ``snapshot()`` (``progress.Board``'s shape)."""

    def __init__(self) -> None:
        self.state = {"exercises": [["06a", "check_origin_rule"], ["06c", "check_rate_limit"]],
                      "verdicts": {"alice": {"check_origin_rule": True}}, "stuck": {}}

    def snapshot(self) -> dict:
        return json.loads(json.dumps(self.state))


def test_the_teachers_view_shows_the_progress_grid_live(context):
    board = Board()
    desks = []

    def serve_with_board(host, port, **options):
        room = ModeratedJSONChatRoom()
        desk = Desk(room, progress=board)
        desks.append(desk)
        hook = desk.process_request(page_hook("json-chat.html"), key_check(KEY))
        return websockets_serve(desk.handler(room.handler), host, port, process_request=hook, **options)

    with start(Demo("with-board", serve_with_board)) as server:
        teacher = open_teacher(context, server)
        grid = teacher.locator("#grid")
        expect(teacher.locator("#progress")).to_be_visible()
        expect(grid.locator("thead")).to_contain_text("06c check_rate_limit")
        alice = grid.locator('tr[data-user="alice"]')
        expect(alice.locator('[data-exercise="check_origin_rule"]')).to_have_text("pass")
        expect(alice.locator('[data-exercise="check_rate_limit"]')).to_have_text("–")

        def change():
            board.state["verdicts"]["alice"]["check_rate_limit"] = False
            board.state["stuck"]["ben"] = "my room closes everyone"
            desks[0].changed()

        server._loop.call_soon_threadsafe(change)
        expect(alice.locator('[data-exercise="check_rate_limit"]')).to_have_text("not yet")
        ben = grid.locator('tr[data-user="ben"]')
        expect(ben.locator(".stuck")).to_have_text("stuck")
        expect(ben.locator(".flag")).to_have_text("stuck my room closes everyone")
        expect(ben.locator('[data-exercise="check_origin_rule"]')).to_have_text("–")
        expect(ben.locator(".stuck")).to_have_css("background-color", "rgb(204, 0, 0)")
