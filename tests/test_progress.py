"""Progress at a glance: the Board's rules, the kernel's reports, the sticky notes (no hub needed).

The class room's side is played by a real websockets server (a small handler below,
:class:`Room`) that runs a real :class:`~ws_course.classroom.progress.Board` behind the
protocol: ``/services/class-chat/progress``, ``Authorization: token ...``, a JSON text
frame in, ``{"ok": ...}`` out, 1008 on garbage. A kernel on a hub is played by this
process with the variables a hub gives its kernels; outside a hub, without them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import socket
import threading
from pathlib import Path

import pytest
from websockets.frames import CloseCode
from websockets.sync.server import serve

from test_lesson_shape import CHECK_CALL, NOTEBOOKS, headings, read, source
import ws_course
from ws_course import exercises, workshop
from ws_course.classroom import progress
from ws_course.classroom.progress import EXERCISES, MAX_NOTE, Board
from ws_course.exercises import check_boil_all, check_poll_bytes

ROOM_PATH = "/services/class-chat/progress"
#: The tokens the pretend hub knows, and whose they are.
TOKENS = {"token-of-alice": "alice", "token-of-bob": "bob"}
#: Seconds a test waits for the background thread to be done with the room.
DEADLINE = 15


# -- the Board's rules --------------------------------------------------------------------

ACCEPTED = {
    "a pass": {"exercise": "check_ask", "passed": True},
    "a not yet": {"exercise": "check_rate_limit", "passed": False},
    "stuck with a note": {"stuck": True, "note": "my room never says who left"},
    "stuck without a note": {"stuck": True},
    "stuck with an empty note": {"stuck": True, "note": ""},
    f"a note of {MAX_NOTE} characters": {"stuck": True, "note": "x" * MAX_NOTE},
    "a note in any script": {"stuck": True, "note": "我卡住了 🙋"},
    "fine again": {"stuck": False},
    "JSON text": json.dumps({"exercise": "check_boil_all", "passed": True}),
}
REFUSED = {
    "an unknown exercise": ({"exercise": "check_nothing", "passed": True}, "no exercise is called 'check_nothing'"),
    "an exercise that is not text": ({"exercise": ["check_ask"], "passed": True}, "no exercise is called"),
    "a verdict that is a number": ({"exercise": "check_ask", "passed": 1}, '"passed" is true or false'),
    "a verdict that is text": ({"exercise": "check_ask", "passed": "true"}, '"passed" is true or false'),
    "a verdict without passed": ({"exercise": "check_ask"}, 'a verdict is {"exercise": ..., "passed": ...}'),
    "a verdict with more": ({"exercise": "check_ask", "passed": True, "user": "bob"}, "with nothing else"),
    f"a note of {MAX_NOTE + 1} characters": (
        {"stuck": True, "note": "x" * (MAX_NOTE + 1)}, f"at most {MAX_NOTE} characters, not {MAX_NOTE + 1}"),
    "a note that is not text": ({"stuck": True, "note": 42}, 'a "note" is text'),
    "a note with a new line": ({"stuck": True, "note": "one\ntwo"}, "one line of printable text"),
    "a note with a control character": ({"stuck": True, "note": "\x1b[31mred"}, "one line of printable text"),
    "stuck that is a number": ({"stuck": 1}, '"stuck" is true or false'),
    "fine with a note": ({"stuck": False, "note": "hi"}, "with nothing else"),
    "stuck with more": ({"stuck": True, "note": "", "user": "bob"}, "with nothing else"),
    "an empty object": ({}, 'has "exercise" or "stuck"'),
    "a list": ([{"stuck": True}], "a JSON object, not list"),
    "text that is not JSON": ("I'm stuck", "a progress message is JSON"),
    "JSON that is not an object": ("42", "a JSON object, not int"),
    "JSON nested too deep": ("[" * 100_000 + "]" * 100_000, "a progress message is JSON"),
    "bytes": (b'{"stuck": true}', "JSON text, not bytes"),
}


@pytest.mark.parametrize("message", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_the_board_accepts_each_right_shape(message):
    board = Board()
    assert board.record("alice", message) is None
    decoded = json.loads(message) if isinstance(message, str) else message
    snapshot = board.snapshot()
    if "exercise" in decoded:
        assert snapshot["verdicts"] == {"alice": {decoded["exercise"]: decoded["passed"]}}
    elif decoded["stuck"]:
        assert snapshot["stuck"] == {"alice": decoded.get("note", "")}
    else:
        assert snapshot["stuck"] == {}


@pytest.mark.parametrize(("message", "why"), REFUSED.values(), ids=REFUSED.keys())
def test_the_board_refuses_each_wrong_shape_says_why_and_changes_nothing(message, why):
    board = Board()
    board.record("alice", {"exercise": "check_ask", "passed": True})
    board.record("alice", {"stuck": True, "note": "before"})
    before = board.snapshot()
    error = board.record("alice", message)
    assert error is not None and why in error
    assert board.snapshot() == before


def test_the_board_refuses_a_message_without_a_user():
    board = Board()
    assert board.record("", {"stuck": True}) == "no user name"
    assert board.snapshot()["stuck"] == {}


def test_the_board_shows_the_latest_verdict_and_the_flags_of_those_still_stuck():
    board = Board()
    for user, message in [
        ("alice", {"exercise": "check_ask", "passed": False}),
        ("alice", {"exercise": "check_ask", "passed": True}),
        ("bob", {"exercise": "check_ask", "passed": True}),
        ("bob", {"exercise": "check_ask", "passed": False}),
        ("alice", {"stuck": True, "note": "help"}),
        ("bob", {"stuck": True}),
        ("bob", {"stuck": False}),
        ("carol", {"stuck": False}),  # never stuck: nothing to take down
    ]:
        assert board.record(user, message) is None
    snapshot = board.snapshot()
    assert snapshot == {
        "exercises": [[lesson, exercise] for lesson, exercise in EXERCISES],
        "verdicts": {"alice": {"check_ask": True}, "bob": {"check_ask": False}},
        "stuck": {"alice": "help"},
    }
    assert json.loads(json.dumps(snapshot)) == snapshot
    snapshot["verdicts"]["alice"]["check_ask"] = False  # a copy: the view cannot change the board
    snapshot["stuck"].clear()
    assert board.snapshot()["verdicts"]["alice"] == {"check_ask": True}
    assert board.snapshot()["stuck"] == {"alice": "help"}


# -- EXERCISES and the notebooks -------------------------------------------------------


def exercise_checks(notebook: dict) -> list[str]:
    """The checks a notebook's exercises call: for each ``## Your turn`` heading, the first
    code cell that calls a ``check_`` function before the next heading (test_lesson_shape's rule)."""
    found, cells = [], notebook["cells"]
    for index, cell in enumerate(cells):
        if cell["cell_type"] != "markdown":
            continue
        if not any(level == 2 and text.startswith("Your turn") for level, text in headings(source(cell))):
            continue
        for later in cells[index + 1:]:
            if later["cell_type"] == "markdown" and headings(source(later)):
                break
            if later["cell_type"] == "code" and CHECK_CALL.search(source(later)):
                found += [call.rstrip("( \t\n") for call in CHECK_CALL.findall(source(later))]
                break
    return found


def test_exercises_lists_every_exercise_of_the_lessons_in_order_and_nothing_else():
    in_notebooks = [
        (path.name.partition("-")[0], check)
        for path in sorted(NOTEBOOKS.glob("*.ipynb"))
        for check in exercise_checks(read(path))
    ]
    assert len(in_notebooks) >= 20  # the lessons were read
    assert EXERCISES == in_notebooks


def test_every_check_in_exercises_reports_and_no_other():
    reporting = {name for name in dir(exercises) if getattr(getattr(exercises, name), "exercise", None) == name}
    assert reporting == {exercise for _, exercise in EXERCISES}


def test_every_check_of_the_package_says_which_exercise_it_judges():
    for path in sorted(Path(exercises.__file__).parent.glob("*.py")):
        text = path.read_text(encoding="utf-8")
        undecorated = re.findall(r"^(?!@exercise\n)(.*)\n(?:async )?def (check_\w+)", text, re.MULTILINE)
        assert not undecorated, f"{path.name}: checks without @exercise: {[name for _, name in undecorated]}"


# -- a class room, and a kernel on a hub ------------------------------------------------


class Room:
    """The class room's progress address, as a real websockets server with a real Board.

    ``served_path`` is where it answers (any other path: 404, as the hub's proxy says
    for a service that is not there); each token of :data:`TOKENS` is that user's.
    """

    def __init__(self, served_path: str = ROOM_PATH, board: Board | None = None) -> None:
        self.served_path = served_path
        self.board = board or Board()
        self.lock = threading.Lock()
        self.handshakes = 0
        self.heard: list[dict] = []  # every message, in the order it arrived
        self.server = serve(self.handler, "127.0.0.1", 0, process_request=self.door)
        self.port = self.server.socket.getsockname()[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def door(self, connection, request):
        with self.lock:
            self.handshakes += 1
        if request.path != self.served_path:
            return connection.respond(404, "Not found\n")
        token = request.headers.get("Authorization", "").removeprefix("token ")
        if token not in TOKENS:
            return connection.respond(403, "Log in to the hub first\n")
        connection.hub_user = TOKENS[token]  # as HubLogin does: the name comes from the hub, not the message
        return None

    def handler(self, websocket):
        for frame in websocket:
            try:
                message = json.loads(frame)
            except (TypeError, ValueError, RecursionError):
                websocket.close(CloseCode.POLICY_VIOLATION, "progress messages are JSON text")
                return
            with self.lock:
                self.heard.append(message)
                error = self.board.record(websocket.hub_user, message)
            websocket.send(json.dumps({"ok": True} if error is None else {"ok": False, "error": error}))

    def snapshot(self) -> dict:
        with self.lock:
            return self.board.snapshot()

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join()


@pytest.fixture
def room():
    room = Room()
    yield room
    room.stop()


@pytest.fixture(autouse=True)
def sender_done():
    """Every test ends with the background sender done: no thread left, nothing left to send."""
    yield
    assert progress.flush(DEADLINE), "the progress sender still runs"
    assert "ws-course-progress" not in [thread.name for thread in threading.enumerate()]


@pytest.fixture
def thread_errors(monkeypatch):
    """Exceptions that escaped any thread (they would print under a learner's cell)."""
    escaped = []
    monkeypatch.setattr(threading, "excepthook", lambda args: escaped.append(args.exc_value))
    return escaped


def kernel_on_a_hub(monkeypatch, port: int, token: str = "token-of-alice") -> None:
    """The variables a hub gives a student's kernel, with the teacher's WS_COURSE_HUB_URL to the proxy."""
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", token)
    monkeypatch.setenv("JUPYTERHUB_API_URL", "http://127.0.0.1:1/hub/api")  # never asked: the proxy's address is known
    monkeypatch.setenv("WS_COURSE_HUB_URL", f"http://127.0.0.1:{port}")
    monkeypatch.delenv("JUPYTERHUB_PUBLIC_HUB_URL", raising=False)
    monkeypatch.setenv("JUPYTERHUB_BASE_URL", "/")


def kernel_elsewhere(monkeypatch, port: int) -> None:
    """A laptop or Binder: no hub variables, even with WS_COURSE_HUB_URL pointing at a room."""
    for variable in ("JUPYTERHUB_API_TOKEN", "JUPYTERHUB_API_URL", "JUPYTERHUB_PUBLIC_HUB_URL", "JUPYTERHUB_BASE_URL"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("WS_COURSE_HUB_URL", f"http://127.0.0.1:{port}")


async def boil_all_at_once(boil, kettles):
    return await asyncio.gather(*(boil(kettle) for kettle in kettles))


async def boil_all_in_turn(boil, kettles):
    return [await boil(kettle) for kettle in kettles]


# -- the kernel's reports -----------------------------------------------------------------


async def test_a_check_run_on_a_hub_reaches_the_room_as_not_yet_then_pass(room, monkeypatch, capsys, thread_errors):
    kernel_on_a_hub(monkeypatch, room.port)

    wrong = await check_boil_all(boil_all_in_turn)
    assert not wrong and wrong.exercise == "check_boil_all"
    assert progress.flush(DEADLINE)
    assert room.snapshot()["verdicts"] == {"alice": {"check_boil_all": False}}

    right = await check_boil_all(boil_all_at_once)
    assert right and right.exercise == "check_boil_all"
    assert progress.flush(DEADLINE)
    assert room.snapshot()["verdicts"] == {"alice": {"check_boil_all": True}}

    # The learner sees the verdicts, and nothing of the reporting.
    assert capsys.readouterr().out == f"{wrong!r}\n{right!r}\n"
    assert thread_errors == []


def test_a_check_that_is_a_plain_function_reports_too(room, monkeypatch):
    kernel_on_a_hub(monkeypatch, room.port, token="token-of-bob")
    result = check_poll_bytes(lambda up, down, interval, period: (up + down) * period / interval, 150, 170)
    assert result and result.exercise == "check_poll_bytes"
    assert progress.flush(DEADLINE)
    assert room.snapshot()["verdicts"] == {"bob": {"check_poll_bytes": True}}


def test_reports_in_a_row_arrive_in_order(room, monkeypatch):
    kernel_on_a_hub(monkeypatch, room.port)
    sent = [("check_ask", False), ("check_ask", True), ("check_rate_limit", False), ("check_ask", False),
            ("check_ask", True)]
    for exercise, passed in sent:
        progress.report(exercise, passed)
    assert progress.flush(DEADLINE)
    assert room.heard == [{"exercise": exercise, "passed": passed} for exercise, passed in sent]
    assert room.snapshot()["verdicts"] == {"alice": {"check_ask": True, "check_rate_limit": False}}
    # One connection for them all, unless the sender ended between two reports and a new one started.
    assert 1 <= room.handshakes < len(sent)


def test_only_the_exercises_of_the_course_are_reported(room, monkeypatch):
    kernel_on_a_hub(monkeypatch, room.port)
    progress.report("check_nothing", True)
    assert progress.flush(DEADLINE)
    assert room.handshakes == 0
    progress.report("check_nick", True)
    assert progress.flush(DEADLINE)
    assert room.snapshot()["verdicts"] == {"alice": {"check_nick": True}}


async def test_outside_a_hub_nothing_connects_even_to_a_listening_room(room, monkeypatch, capsys, caplog):
    caplog.set_level(logging.DEBUG, logger=progress.logger.name)  # a sender that started would say why it failed
    kernel_elsewhere(monkeypatch, room.port)
    assert await check_boil_all(boil_all_at_once)
    assert check_poll_bytes(lambda up, down, interval, period: up + down, 150, 170).exercise == "check_poll_bytes"
    progress.report("check_ask", True)
    assert progress.set_stuck(True, "help") is False
    workshop.stuck("help")
    workshop.unstuck()
    note = workshop.sticky_note()
    (red, green), text, status = note.children[0].children, note.children[1], note.children[2]
    assert red.disabled and green.disabled and text.disabled
    red.click()
    green.click()
    assert status.value == "not on a JupyterHub: nothing is sent"
    out = capsys.readouterr().out
    assert out.count("not on a JupyterHub: nothing is sent") == 2
    assert progress.flush(DEADLINE)  # had anything started, it would have reached the room by now
    assert room.handshakes == 0
    assert caplog.records == []

    kernel_on_a_hub(monkeypatch, room.port)  # the same room, from a hub: it is reachable
    progress.report("check_ask", True)
    assert progress.flush(DEADLINE)
    assert room.handshakes == 1


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens there once the probe is closed


#: What can stand between a kernel and the room, and what the sender is told (the learner is told nothing).
TROUBLES = {
    "no class room": "HTTP 404",
    "nothing listens": "ConnectionRefusedError",
    "a token the hub does not know": "HTTP 403",
    "a room without a progress address": "not an answer of the class room's progress address",
    "no hub URL, and the hub's API does not answer": "URLError",
}


@pytest.mark.parametrize("trouble", TROUBLES)
async def test_a_room_that_is_not_there_never_raises_into_the_learner_s_cell(trouble, monkeypatch, capsys, thread_errors):
    room = Room(served_path="/services/other-room/progress" if trouble == "no class room" else ROOM_PATH)
    # A JSON chat room answers a WebSocket at any path, as the class room did before it had a progress address.
    chat = ws_course.start("json_chat") if trouble == "a room without a progress address" else None
    try:
        port = closed_port() if trouble == "nothing listens" else chat.port if chat else room.port
        kernel_on_a_hub(monkeypatch, port, token="token-of-eve" if "token" in trouble else "token-of-alice")
        if trouble.startswith("no hub URL"):  # room_url() asks the hub's API where the room is
            monkeypatch.delenv("WS_COURSE_HUB_URL")
            monkeypatch.setenv("JUPYTERHUB_API_URL", f"http://127.0.0.1:{closed_port()}/hub/api")
        result = await check_boil_all(boil_all_at_once)
        told = []
        assert progress.set_stuck(True, "help", told.append)
        assert progress.flush(DEADLINE)
        assert capsys.readouterr() == (f"{result!r}\n", "")
        assert len(told) == 1 and told[0].startswith("the class room did not answer") and TROUBLES[trouble] in told[0]
        assert thread_errors == []
        assert room.snapshot() == Board().snapshot()
    finally:
        room.stop()
        if chat:
            chat.stop()


async def test_a_room_that_never_answers_does_not_hold_up_the_check(monkeypatch, capsys, thread_errors):
    # A socket that listens and never answers: the sender's handshake hangs there.
    monkeypatch.setattr(progress, "TIMEOUT", 60)  # so it hangs until this test lets go
    with socket.create_server(("127.0.0.1", 0)) as silent:
        silent.settimeout(DEADLINE)
        kernel_on_a_hub(monkeypatch, silent.getsockname()[1])
        result = await check_boil_all(boil_all_at_once)
        assert capsys.readouterr().out == f"{result!r}\n"  # the verdict is out...
        hanging, _ = silent.accept()  # ...and the sender is only now knocking (or still is)
        assert not progress.flush(0)  # it waits for an answer that does not come; the check did not
        hanging.close()  # the room hangs up in the middle of the handshake
        assert progress.flush(DEADLINE)
    assert capsys.readouterr() == ("", "")
    assert thread_errors == []


# -- the sticky notes -----------------------------------------------------------------------


def test_stuck_and_unstuck_put_the_red_note_up_and_down(room, monkeypatch, capsys):
    kernel_on_a_hub(monkeypatch, room.port)
    workshop.stuck("my room never\nsays who left")
    assert room.snapshot()["stuck"] == {"alice": "my room never says who left"}
    workshop.unstuck()
    assert room.snapshot()["stuck"] == {}
    workshop.stuck("x" * (MAX_NOTE + 1))
    assert capsys.readouterr().out.splitlines() == [
        "the teacher sees: I'm stuck: my room never says who left",
        "the teacher sees: I'm fine (your red note is down)",
        f"not sent: a note has at most {MAX_NOTE} characters, not {MAX_NOTE + 1}",
    ]
    assert room.snapshot()["stuck"] == {}


def wait_for_value(widget, start: str) -> str:
    """The widget's value once it starts with ``start`` (the sender's thread sets it)."""
    assert progress.flush(DEADLINE)
    assert widget.value.startswith(start), widget.value
    return widget.value


def test_the_sticky_note_widget_sends_what_its_buttons_say(room, monkeypatch):
    kernel_on_a_hub(monkeypatch, room.port)
    note = workshop.sticky_note()
    (red, green), text, status = note.children[0].children, note.children[1], note.children[2]
    assert (red.button_style, green.button_style) == ("danger", "success")
    assert not (red.disabled or green.disabled or text.disabled)

    text.value = "which close code?"
    red.click()
    assert wait_for_value(status, "the teacher sees") == "the teacher sees: I'm stuck: which close code?"
    assert room.snapshot()["stuck"] == {"alice": "which close code?"}

    green.click()
    assert wait_for_value(status, "the teacher sees") == "the teacher sees: I'm fine (your red note is down)"
    assert room.snapshot()["stuck"] == {}

    text.value = "x" * (MAX_NOTE + 1)
    red.click()
    assert status.value == f"not sent: a note has at most {MAX_NOTE} characters, not {MAX_NOTE + 1}"
    assert room.snapshot()["stuck"] == {}


class OlderBoard(Board):
    """The board of a room that runs an older course, where some exercise does not exist yet."""

    def record(self, user, message):
        if isinstance(message, dict) and message.get("stuck"):
            return "this room has no sticky notes yet"
        return super().record(user, message)


def test_what_the_room_refuses_is_shown_on_the_widget(monkeypatch):
    room = Room(board=OlderBoard())
    try:
        kernel_on_a_hub(monkeypatch, room.port)
        note = workshop.sticky_note()
        (red, green), status = note.children[0].children, note.children[2]
        red.click()
        assert wait_for_value(status, "not sent") == "not sent: this room has no sticky notes yet"
        green.click()
        assert wait_for_value(status, "the teacher sees") == "the teacher sees: I'm fine (your red note is down)"
    finally:
        room.stop()
