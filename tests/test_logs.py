"""Logs that stay small (issue 8, points 3, 4 and 8; hardening, point 5): bounded in lines and characters,
long messages cut, storms collapsed, one line per client error."""

from __future__ import annotations

import logging
import sys

from websockets.sync.client import connect

from ws_course import start
from ws_course.safety.logs import (
    EVERY_TIME,
    LOG_LINES,
    BoundedLog,
    Detail,
    OneLineTracebacks,
    QuietRepeats,
    ShortLines,
)


def record(message: str, level: int = logging.WARNING, name: str = "asyncio", exc_info=None) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, message, None, exc_info)


def test_a_storm_of_identical_warnings_becomes_a_handful_of_lines_that_count():
    repeats = QuietRepeats()
    passed = [r.getMessage() for r in (record("socket.send() raised exception.") for _ in range(148_000)) if repeats.filter(r)]
    assert len(passed) == 6  # the 1st, 10th, 100th, 1000th, 10 000th, 100 000th
    assert passed[0] == "socket.send() raised exception."
    assert passed[1].startswith("socket.send() raised exception. (10 times in ")
    assert passed[-1].startswith("socket.send() raised exception. (100000 times in ")

    totals = logging.getLogger("test.totals")
    lines = []
    handler = logging.Handler()
    handler.emit = lambda r: lines.append(r.getMessage())
    totals.addHandler(handler)
    try:
        repeats.flush(totals)
    finally:
        totals.removeHandler(handler)
    assert lines == [lines[0]] and "socket.send() raised exception. (148000 times in" in lines[0]


def test_different_or_ordinary_records_all_pass():
    repeats = QuietRepeats()
    assert all(repeats.filter(record(f"user{n} left", logging.INFO, "ws_course.chat")) for n in range(50))
    assert all(repeats.filter(record("connection open", logging.INFO, "ws_course.chat")) for _ in range(50))
    assert all(repeats.filter(record(f"refused origin http://site{n}.example")) for n in range(50))


def test_a_client_error_traceback_becomes_one_line_but_a_handler_bug_keeps_its_traceback():
    try:
        raise ValueError("Invalid header value: abc")
    except ValueError:
        error = sys.exc_info()
    one_line = OneLineTracebacks()

    client_error = record("Error handling request from %s", logging.ERROR, "aiohttp.server", error)
    client_error.args = ("127.0.0.1",)
    assert one_line.filter(client_error)
    assert client_error.exc_info is None
    assert client_error.getMessage() == "Error handling request from 127.0.0.1: ValueError: Invalid header value: abc"

    handler_bug = record("connection handler failed", logging.ERROR, "ws_course.whisper", error)
    assert one_line.filter(handler_bug)
    assert handler_bug.exc_info is error  # your own code's traceback: kept


def test_bounded_log_keeps_the_last_lines_and_says_how_many_went():
    log = BoundedLog(maxlen=100)
    for number in range(250):
        log.append(f"line {number}")
    assert len(log) == 101
    assert log[0] == "... 150 earlier lines dropped (a log keeps the last 100)"
    assert log[1] == "line 150" and log[-1] == "line 249"
    assert "line 200" in log and "line 10" not in log
    assert [line for line in log if line.endswith("7")][:2] == ["line 157", "line 167"]
    assert list(log)[-2:] == ["line 248", "line 249"] == log[-2:]
    assert repr(log).startswith("['... 150 earlier lines dropped")
    assert BoundedLog() == [] and LOG_LINES == 10_000


def test_a_servers_log_stays_bounded_and_still_reads_like_a_list():
    """200 000 messages once kept 200 004 lines (+24 MB); now the last LOG_LINES, and a line says so."""
    with start("scream") as server:
        with connect(server.ws_url, proxy=None) as websocket:
            for number in range(LOG_LINES + 2_000):
                websocket.send(f"m{number}")
            while websocket.recv() != f"M{LOG_LINES + 1_999}!!!":
                pass
    assert len(server.log) == LOG_LINES + 1
    assert server.log[0].startswith("... ") and "earlier lines dropped (a log keeps the last 10000)" in server.log[0]
    assert server.log[-1] == "server closed"
    received = [line for line in server.log if line.startswith("received")]
    assert received[-1] == f"received 'm{LOG_LINES + 1_999}'"
    assert "received 'm0'" not in server.log  # gone with the oldest lines
    print(server.log[:2])  # print() shows it as a list


def test_a_storm_in_a_servers_thread_is_collapsed_in_its_log():
    """A learner's handler that warns on every message: identical warnings fill no log."""

    async def noisy(websocket):
        async for message in websocket:
            websocket.logger.warning("this handler warns too much")
            await websocket.send(message)

    with start(noisy) as server:
        with connect(server.ws_url, proxy=None) as websocket:
            for number in range(1_000):
                websocket.send(str(number))
                assert websocket.recv() == str(number)
    storm = [line for line in server.log if "warns too much" in line]
    assert storm[0] == "this handler warns too much"
    assert storm[1].startswith("this handler warns too much (10 times in ")
    assert len(storm) == 4 and storm[-1].startswith("this handler warns too much (1000 times in ")


def test_a_bounded_log_tells_the_lines_since_a_point_even_after_dropping_some():
    log = BoundedLog(maxlen=3)
    log.extend(["one", "two"])
    mark = log.total
    assert mark == 2 and log.since(mark) == []
    log.extend(["three", "four", "five"])  # "one" and "two" dropped
    assert log.total == 5 and log.since(mark) == ["three", "four", "five"]
    assert log.since(0) == ["three", "four", "five"] and log.since(4) == ["five"]


def test_a_record_logged_every_time_is_never_collapsed():
    repeats = QuietRepeats()

    def passes(**kwargs) -> bool:
        record = logging.LogRecord("ws_course.chat", logging.WARNING, __file__, 1, "rejoined the room", None, None)
        record.__dict__.update(kwargs)
        return repeats.filter(record)

    assert [passes() for _ in range(3)] == [True, False, False]  # the same warning, collapsed
    assert all(passes(**EVERY_TIME) for _ in range(3))  # a change of state, each time


# -- bounded by characters, not only lines (hardening, point 5) ---------------------------------------


def test_a_long_message_is_logged_cut_with_its_full_length():
    """Before: the scream server logged each text whole (a 500 KB text, a 500 KB line)."""
    with start("scream") as server:
        with connect(server.ws_url, proxy=None) as websocket:
            websocket.send("x" * 500_000)
            assert websocket.recv() == "X" * 500_000 + "!!!"
            websocket.send("short")
            assert websocket.recv() == "SHORT!!!"
    received = [line for line in server.log if line.startswith("received")]
    assert len(received[0]) < 400, len(received[0])
    assert received[0].startswith("received 'xxxx") and received[0].endswith("... (500011 characters)")
    assert received[1] == "received 'short'"  # a short message is left whole


def test_a_servers_log_stays_small_whatever_the_size_of_the_messages():
    """Before: 40 texts of 200 KB kept 8 MB of log in the kernel (the issue: 200 of 1 MiB, +206 MB)."""
    with start("scream") as server:
        with connect(server.ws_url, proxy=None) as websocket:
            for number in range(40):
                websocket.send(f"{number:02} " + "y" * 200_000)
                assert websocket.recv().startswith(f"{number:02} YYY")
    assert sum(len(line) for line in server.log) < 40 * 400, sum(len(line) for line in server.log)


def test_a_bounded_log_keeps_at_most_its_characters():
    log = BoundedLog(maxlen=100, max_chars=1_000)
    log.extend(f"{number:03} " + "z" * 96 for number in range(50))  # 100 characters each
    assert len(log) == 11 and log.chars == 1_000
    assert log[0] == "... 40 earlier lines dropped (a log keeps the last 100 lines, 1000 characters at most)"
    assert log[1].startswith("040 ") and log[-1].startswith("049 ") and log.total == 50
    log.append("w" * 5_000)  # longer than the whole log on its own: cut
    assert log[-1].endswith("... (5000 characters)") and log.chars <= 1_000


def test_by_default_a_log_keeps_at_most_a_mebibyte_of_even_the_longest_lines():
    """Before: 10 000 lines of any length (with lines cut to a few hundred characters, 3 MB)."""
    log = BoundedLog()
    cut = ShortLines()
    for number in range(20_000):
        line = record("received %r")
        line.args = (f"{number} " + "v" * 100_000,)
        cut.filter(line)
        log.append(line.getMessage())
    assert sum(len(line) for line in log) <= 2**20 + 200
    assert log[-1].startswith("received '19999 vvv") and log[-1].endswith("... (100017 characters)")


def test_one_refusal_repeated_by_many_sessions_collapses():
    """A line that names each session still collapses when only the session differs (a :class:`Detail`)."""
    repeats = QuietRepeats()
    passed = []
    for number in range(25):
        line = record("a malformed packet from %s: %s; disconnecting it")
        line.args = (Detail(f"session{number}"), "the event 'message' takes 1 argument, not 2")
        if repeats.filter(line):
            passed.append(line.getMessage())
    assert passed[0] == "a malformed packet from session0: the event 'message' takes 1 argument, not 2; disconnecting it"
    assert len(passed) == 2 and passed[1].startswith("a malformed packet from session9: ") and "(10 times in " in passed[1]
    other = record("a malformed packet from %s: %s; disconnecting it")
    other.args = (Detail("session99"), "the event name 'connect' is reserved")
    assert repeats.filter(other)  # another refusal: a line of its own
