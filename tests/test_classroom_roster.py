"""The classroom's roster (issue 18): members and their connections, kick and ban, mute, the rate limit, history.

The roster does no networking, so its rules are tested directly, with plain objects
as connections; the moderated room around it, with real sockets, at the end.
"""

from __future__ import annotations

import json
import logging
import time

import pytest
from websockets.asyncio.server import serve as websockets_serve
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from ws_course.classroom.desk import Desk, key_check
from ws_course.classroom.moderated import KICKED, Moderated
from ws_course.classroom.roster import HISTORY_LINES, MUTED, RATE_LIMIT, Roster
from ws_course.exercises.safety import RATE_LIMIT as EXERCISE_RATE_LIMIT
from ws_course.json_chat import JSONChatRoom
from ws_course.runtime.background import start
from ws_course.runtime.server import Demo
from ws_course.web.pages import page


class Handle:
    """A stand-in for a connection: the roster only keeps it and gives it back."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


def test_the_rate_limit_is_lesson_06cs_and_on_by_default():
    assert RATE_LIMIT == EXERCISE_RATE_LIMIT == 5
    assert Roster().rate_limit == RATE_LIMIT


def test_one_member_however_many_connections():
    roster = Roster()
    page, widget = Handle("page"), Handle("widget")
    alice = roster.join("alice", page, kind="page", address="10.0.0.5")
    assert roster.join("alice", widget, kind="widget", address="10.0.0.5") is alice
    assert roster.names() == ["alice"] and [c.kind for c in alice.connections] == ["page", "widget"]
    snapshot = roster.snapshot()["members"]
    assert len(snapshot) == 1 and snapshot[0]["key"] == "alice"
    assert [(c["kind"], c["address"]) for c in snapshot[0]["connections"]] == [("page", "10.0.0.5"), ("widget", "10.0.0.5")]
    assert roster.leave(page) is alice and alice.connections and roster.names() == ["alice"]
    assert roster.leave(widget) is alice and not alice.connections and roster.names() == []
    assert roster.leave(widget) is None  # twice: nothing happens


def test_bad_arguments_are_refused_clearly():
    roster = Roster()
    with pytest.raises(ValueError, match="kind must be one of"):
        roster.join("bob", Handle("x"), kind="telepathy")
    handle = Handle("y")
    roster.join("bob", handle)
    with pytest.raises(ValueError, match="has joined already, as bob"):
        roster.join("carol", handle)
    with pytest.raises(ValueError, match="rate_limit"):
        Roster(rate_limit=-1)
    assert roster.admit(Handle("stranger"), "hi").reason == "not a member"


def test_a_flood_passes_the_limit_drops_the_rest_tells_once_and_logs_a_name(caplog):
    roster = Roster()
    flooder, polite = Handle("flooder"), Handle("polite")
    roster.join("user2", flooder, kind="program", address="192.168.1.20")
    roster.join("user3", polite, kind="page", address="192.168.1.21")
    with caplog.at_level(logging.INFO, logger="ws_course.classroom"):
        verdicts = [roster.admit(flooder, f"flood {n}") for n in range(3000)]
        assert roster.admit(polite, "still here").passed  # the limit is each member's own
    passed = [v for v in verdicts if v.passed]
    notices = [v.notice for v in verdicts if v.notice]
    # 3000 calls take far less than a second here, but a loaded machine may pause: each
    # second, RATE_LIMIT more may pass. Whatever passed, the rest was dropped, with one notice per flood.
    assert RATE_LIMIT <= len(passed) < 3000 and verdicts[:RATE_LIMIT] == passed[:RATE_LIMIT]
    assert {v.reason for v in verdicts if not v.passed} == {"too fast"}
    assert notices and all("at most 5 messages a second" in n for n in notices)
    lines = [r.getMessage() for r in caplog.records]
    says = [line for line in lines if line.startswith("user2 (192.168.1.20, program) says: flood ")]
    assert len(says) == len(passed)
    too_fast = [line for line in lines if "user2 (192.168.1.20, program) sends too fast" in line]
    assert len(too_fast) == len(notices)  # one line when a flood starts, as one notice
    assert "user3 (192.168.1.21, page) says: still here" in lines
    member = roster.members["user2"]
    assert (member.sent, member.passed, member.dropped) == (3000, len(passed), 3000 - len(passed))
    with caplog.at_level(logging.INFO, logger="ws_course.classroom"):
        roster.leave(flooder)  # the flood ends with them: its count in the log
    assert caplog.records[-1].getMessage().startswith("user2 (192.168.1.20, program): ")
    assert caplog.records[-1].getMessage().endswith(" messages dropped (too fast)")


def test_the_limit_counts_the_last_window_only():
    roster = Roster(rate_limit=2, rate_window=0.2)
    handle = Handle("h")
    roster.join("user1", handle)
    assert [roster.admit(handle, "x").passed for _ in range(3)] == [True, True, False]
    time.sleep(0.25)  # a whole window later
    assert roster.admit(handle, "again").passed


def test_a_rate_limit_of_zero_is_off():
    roster = Roster(rate_limit=0)
    handle = Handle("h")
    roster.join("user1", handle)
    assert all(roster.admit(handle, str(n)).passed for n in range(1000))


def test_mute_drops_with_a_notice_each_time_and_unmute_lets_through():
    roster = Roster()
    handle = Handle("h")
    roster.join("user1", handle)
    assert roster.mute("user1").muted and roster.snapshot()["members"][0]["muted"] is True
    verdict = roster.admit(handle, "can you hear me?")
    assert (verdict.passed, verdict.notice, verdict.reason) == (False, MUTED, "muted")
    assert roster.admit(handle, "hello?").notice == MUTED
    assert not roster.unmute("user1").muted
    assert roster.admit(handle, "now?").passed
    assert roster.mute("nobody") is None


def test_kick_returns_the_connections_and_bans_the_key_and_what_identifies_it():
    roster = Roster()
    page, widget = Handle("page"), Handle("widget")
    roster.join("user7", page, kind="page", address="192.168.1.30", identifiers=["192.168.1.30"])
    roster.join("user7", widget, kind="widget", address="192.168.1.30", identifiers=["192.168.1.30"])
    assert roster.kick("user7") == [page, widget]
    assert roster.names() == ["user7"]  # listed until its connections have left
    ban = roster.banned("192.168.1.30")
    assert ban is not None and ban.key == "user7" and ban.identifiers == ("192.168.1.30",)
    assert roster.banned("user7") is ban and roster.banned("192.168.1.31", "user8") is None
    assert 590 <= ban.seconds_left() <= 600  # BAN_SECONDS, ten minutes
    assert roster.snapshot()["banned"][0]["key"] == "user7"
    assert roster.let_in("192.168.1.30") is ban  # by address or by key
    assert roster.banned("192.168.1.30") is None and roster.let_in("user7") is None


def test_a_ban_ends_by_itself():
    roster = Roster(ban_seconds=0.1)
    roster.join("user1", Handle("h"), identifiers=["10.0.0.1"])
    roster.kick("user1")
    assert roster.banned("10.0.0.1")
    time.sleep(0.15)
    assert roster.banned("10.0.0.1") is None and roster.snapshot()["banned"] == []


def test_history_keeps_the_last_lines_and_listeners_hear_every_change():
    roster = Roster()
    heard = []
    unsubscribe = roster.on_change(lambda what, line: heard.append((what, line and line.text)))
    handle = Handle("h")
    roster.join("user1", handle)
    for n in range(HISTORY_LINES + 10):
        roster.heard("message", "user1", f"line {n}")
    assert len(roster.history) == HISTORY_LINES == 50
    assert roster.history[0].text == "line 10" and roster.history[-1].text == "line 59"
    assert heard[0] == ("members", None) and heard[-1] == ("line", "line 59")
    roster.kick("user1")
    assert heard[-1] == ("banned", None)
    unsubscribe()
    roster.mute("user1")
    assert heard[-1] == ("banned", None)  # no longer listening


# -- the moderated room, with real sockets ---------------------------------------------


class NamedRoom(Moderated, JSONChatRoom):
    """A moderated JSON room whose members are keyed by a name, as the hub's class room keys them by hub user."""

    def arrive(self, websocket, nickname):
        super().arrive(websocket, websocket.name_for_the_test)  # not user3: the name

    def ban_identifiers(self, connection):
        return (connection.name_for_the_test,)


def named_room() -> Demo:
    """A moderated hub-like room where a test says who it is in a header (the hub's login does it for real)."""

    def serve_it(host, port, **options):
        room = NamedRoom()
        desk = Desk(room)
        hook = desk.process_request(page("json-chat.html"), key_check("k"))

        def login(connection, request):  # what HubLogin does after it has asked the hub
            connection.name_for_the_test = request.headers.get("X-Test-Name", "anonymous")
            return hook(connection, request)

        return websockets_serve(desk.handler(room.handler), host, port, process_request=login, **options)

    return Demo("named", serve_it)


def texts(websocket, until: str) -> list[str]:
    heard = []
    while True:
        data = json.loads(websocket.recv(timeout=10))
        heard.append(f"{data['type']}: {data['data']}")
        if data["data"] == until:
            return heard


def test_a_member_with_two_connections_comes_in_once_and_leaves_once():
    with start(named_room()) as server:
        with connect(server.ws_url, proxy=None, additional_headers={"X-Test-Name": "bob"}) as watcher:
            texts(watcher, "bob comes in")
            with connect(server.ws_url, proxy=None, additional_headers={"X-Test-Name": "alice"}) as page:
                texts(watcher, "alice comes in")
                with connect(server.ws_url, proxy=None, additional_headers={"X-Test-Name": "alice"}) as widget:
                    # The second connection hears its own greeting (a widget learns its name from it) ...
                    assert texts(widget, "alice comes in") == ["enter: alice comes in"]
                    widget.send("from the widget")  # ... and the watcher heard no second "alice comes in":
                    assert texts(watcher, "alice says: from the widget") == ["message: alice says: from the widget"]
                page.close()  # not her last connection: nothing said; then the widget closes, her last
            assert texts(watcher, "alice left") == ["leave: alice left"]
    assert sum("alice (127.0.0.1, program) says: from the widget" in line for line in server.log) == 1


def test_a_kicked_members_connections_close_and_it_cannot_come_back():
    with start(named_room()) as server:
        with connect(server.ws_url + "teacher?key=k", proxy=None) as teacher:
            assert json.loads(teacher.recv(timeout=10))["type"] == "snapshot"
            with connect(server.ws_url, proxy=None, additional_headers={"X-Test-Name": "mallory"}) as one, \
                    connect(server.ws_url, proxy=None, additional_headers={"X-Test-Name": "mallory"}) as two:
                teacher.send(json.dumps({"do": "kick", "key": "mallory"}))
                for websocket in (one, two):
                    with pytest.raises(ConnectionClosed) as closed:
                        while True:
                            websocket.recv(timeout=10)
                    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (1008, KICKED)
            with pytest.raises(InvalidStatus) as refused:
                connect(server.ws_url, proxy=None, additional_headers={"X-Test-Name": "mallory"}).close()
            assert refused.value.response.status_code == 403
            assert b"the teacher removed you from this room" in refused.value.response.body
            with connect(server.ws_url, proxy=None, additional_headers={"X-Test-Name": "trent"}) as other:
                assert "trent comes in" in other.recv(timeout=10)  # the ban is mallory's, not the address's
            teacher.send(json.dumps({"do": "let_in", "key": "mallory"}))
            while json.loads(teacher.recv(timeout=10))["type"] != "answer":
                pass
            with connect(server.ws_url, proxy=None, additional_headers={"X-Test-Name": "mallory"}) as back:
                assert "comes in" in back.recv(timeout=10)


def test_the_teachers_socket_answers_bad_commands_and_keeps_serving():
    with start(named_room()) as server:
        with connect(server.ws_url + "teacher?key=k", proxy=None) as teacher:
            teacher.recv(timeout=10)
            answers = []
            for command in ["not json", json.dumps({"do": "dance", "key": "x"}), json.dumps({"do": "mute", "key": "x"}),
                            json.dumps({"do": "let_in", "key": "x"}), json.dumps([1, 2])]:
                teacher.send(command)
                while (message := json.loads(teacher.recv(timeout=10)))["type"] != "answer":
                    pass
                answers.append(message)
            assert [a["ok"] for a in answers] == [False] * 5
            assert [a["error"] for a in answers] == [
                'a command is JSON text like {"do": "kick", "key": "user3"}',
                "no command 'dance': kick, mute, unmute, let_in",
                "x is not in the room",
                "x is not banned",
                'a command is JSON text like {"do": "kick", "key": "user3"}',
            ]
