"""Progress at a glance: the students' exercise verdicts and "stuck" flags, on a JupyterHub.

In a workshop the teacher wants to know, without walking round the room, who has
passed which exercise and who is stuck. Software Carpentry uses sticky notes for
that: a red one on the laptop lid when stuck, a green one when done. On a hub the
notebook can put them up itself:

- every "Your turn" check (``check_ask``, ``check_rate_limit``...) reports its
  verdict, pass or not yet, as soon as it has printed it (:func:`report`);
- a learner raises or lowers a red note from the notebook (:func:`set_stuck`, or
  :mod:`ws_course.workshop`'s ``stuck()``, ``unstuck()`` and ``sticky_note()``).

Both travel to the class room (the hub service of :mod:`ws_course.hub.room`) over a
WebSocket at ``/services/class-chat/progress``, opened with the kernel's own
``$JUPYTERHUB_API_TOKEN``: the room asks the hub whose token it is, so nobody can
report under someone else's name. One JSON text frame per message::

    {"exercise": "check_rate_limit", "passed": true}
    {"stuck": true, "note": "my room never says who left"}
    {"stuck": false}

and the room answers each with ``{"ok": true}`` or ``{"ok": false, "error": "why"}``.
The room keeps what it heard in a :class:`Board`, which the teacher's view shows as
a grid: one row per student, one column per exercise (:data:`EXERCISES`).

Outside a hub (a laptop, Binder) nothing is sent anywhere and no thread starts.
On a hub, sending happens in a background thread: a check's printout never waits
for the room, and a room that is not there (the teacher runs none) or does not
answer is not the learner's problem: it is logged at debug level, and that is all.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from websockets.sync.client import connect

from .on_a_hub import hub_token, on_a_hub, room_url

__all__ = ["EXERCISES", "MAX_NOTE", "Board", "flush", "problem", "report", "set_stuck"]

logger = logging.getLogger(__name__)

#: Every "Your turn" exercise of the lessons, in the order a learner meets them:
#: ``(lesson, exercise id)``, where the id is the name of the exercise's check.
#: (tests/test_progress.py checks this list against the notebooks.)
EXERCISES: list[tuple[str, str]] = [
    ("00a", "check_boil_all"),
    ("01", "check_ask"),
    ("02", "check_whisper"),
    ("03", "check_headcount"),
    ("04", "check_nick"),
    ("05", "check_scream_event"),
    ("06a", "check_origin_rule"),
    ("06a", "check_host_rule"),
    ("06b", "check_buffer_cap"),
    ("06b", "check_member_cap"),
    ("06c", "check_message_shape"),
    ("06c", "check_rate_limit"),
    ("07a", "check_sse_reader"),
    ("07a", "check_poll_bytes"),
    ("07b", "check_sooner_or_later"),
    ("07b", "check_long_poll"),
    ("08a", "check_accept_key"),
    ("08a", "check_client_frame"),
    ("08b", "check_parse_frame"),
    ("08b", "check_sans_io_echo"),
    ("09a", "check_new_nickname"),
    ("09a", "check_hear"),
    ("09b", "check_deliveries"),
    ("09b", "check_count_members"),
]
_EXERCISE_IDS = frozenset(exercise for _, exercise in EXERCISES)

#: The longest note a stuck learner may add, in characters: a sticky note, not a letter.
MAX_NOTE = 200

#: Seconds the background thread waits for the room: to connect, and for each answer.
TIMEOUT = 5


# -- the messages, checked the same way on both ends -----------------------------------


def problem(message: Any) -> str | None:
    """What is wrong with a progress message (a decoded JSON value), or None when it is right.

    The three shapes are ``{"exercise": ID, "passed": BOOL}`` with an ID of
    :data:`EXERCISES`, ``{"stuck": true}`` with an optional ``"note"`` (printable
    text, at most :data:`MAX_NOTE` characters), and ``{"stuck": false}``. Anything
    else, an extra key included, is refused: a room trusts nothing a client sends.
    """
    if not isinstance(message, dict):
        return f"a progress message is a JSON object, not {type(message).__name__}"
    keys = set(message)
    if "exercise" in keys:
        if keys != {"exercise", "passed"}:
            return 'a verdict is {"exercise": ..., "passed": ...}, with nothing else'
        if not isinstance(message["exercise"], str) or message["exercise"] not in _EXERCISE_IDS:
            return f"no exercise is called {str(message['exercise'])[:50]!r}"
        if not isinstance(message["passed"], bool):
            return '"passed" is true or false'
        return None
    if "stuck" in keys:
        if not isinstance(message["stuck"], bool):
            return '"stuck" is true or false'
        if not keys <= ({"stuck", "note"} if message["stuck"] else {"stuck"}):
            return 'a sticky note is {"stuck": true, "note": ...} or {"stuck": false}, with nothing else'
        note = message.get("note", "")
        if not isinstance(note, str):
            return 'a "note" is text'
        if len(note) > MAX_NOTE:
            return f"a note has at most {MAX_NOTE} characters, not {len(note)}"
        if not note.isprintable():
            return "a note is one line of printable text"
        return None
    return 'a progress message has "exercise" or "stuck"'


# -- the room's side ---------------------------------------------------------------------


class Board:
    """What the class room knows of everyone's progress: the teacher's grid.

    The room calls :meth:`record` with each message a student's kernel sends,
    under the hub user name the room checked (never a name from the message), and
    the teacher's view shows :meth:`snapshot`. A student's latest verdict on an
    exercise is the one shown: a failing run after a passing one shows "not yet".
    It lives in the room's event loop: one thread uses it.
    """

    def __init__(self) -> None:
        self.verdicts: dict[str, dict[str, bool]] = {}  # user -> exercise id -> passed
        self.stuck: dict[str, str] = {}  # user -> their note ("" for none), while stuck

    def record(self, user: str, message: Any) -> str | None:
        """Note ``message`` from ``user``; None when accepted, else why not (for ``{"ok": false, "error": ...}``).

        ``message`` is the frame's text (a ``str``, JSON) or the JSON already
        decoded; bytes, text that is not JSON and anything :func:`problem` refuses
        change nothing.
        """
        if not isinstance(user, str) or not user:
            return "no user name"
        if isinstance(message, (bytes, bytearray, memoryview)):
            return "a progress message is JSON text, not bytes"
        if isinstance(message, str):
            try:
                message = json.loads(message)
            except (ValueError, RecursionError):  # not JSON, or nested too deep
                return "a progress message is JSON"
        why = problem(message)
        if why is not None:
            return why
        if "exercise" in message:
            self.verdicts.setdefault(user, {})[message["exercise"]] = message["passed"]
        elif message["stuck"]:
            self.stuck[user] = message.get("note", "")
        else:
            self.stuck.pop(user, None)
        return None

    def snapshot(self) -> dict[str, Any]:
        """The grid, ready for ``json.dumps``: the columns, each student's verdicts, who is stuck."""
        return {
            "exercises": [[lesson, exercise] for lesson, exercise in EXERCISES],
            "verdicts": {user: dict(verdicts) for user, verdicts in self.verdicts.items()},
            "stuck": dict(self.stuck),
        }


# -- the student's side: a background thread that tells the room -----------------------

#: A callback that hears how a message went: None when the room accepted it, else why not.
Done = Callable[[str | None], None]

_lock = threading.Lock()
_outbox: deque[tuple[dict[str, Any], Done | None]] = deque()
_sender: threading.Thread | None = None  # the thread emptying the outbox, while there is one
_running: set[threading.Thread] = set()  # senders started and not seen ended (one may still be closing)


def report(exercise: str, passed: bool) -> None:
    """Tell the class room this learner's verdict on ``exercise`` (a check's name): on a hub only.

    Returns at once; an id that is not in :data:`EXERCISES` is not sent.
    """
    if not on_a_hub():
        return
    if exercise not in _EXERCISE_IDS:
        logger.debug("%r is not an exercise of the course: not reported", exercise)
        return
    _send({"exercise": exercise, "passed": bool(passed)})


def set_stuck(on: bool, note: str = "", done: Done | None = None) -> bool:
    """Raise (``on``) or lower this learner's red sticky note in the class room: on a hub only.

    Returns at once: True when the message is on its way, False when not on a hub
    (nothing is sent). ``done``, if given, is called from the background thread
    with None once the room has accepted it, or with the reason it did not.

    Raises:
        ValueError: ``note`` is longer than :data:`MAX_NOTE` or not one line of text.
    """
    note = " ".join(str(note).split())  # one line: new lines and tabs become spaces
    message: dict[str, Any] = {"stuck": True, "note": note} if on else {"stuck": False}
    why = problem(message)
    if why is not None:
        raise ValueError(why)
    if not on_a_hub():
        return False
    _send(message, done)
    return True


def flush(timeout: float | None = None) -> bool:
    """Wait until every message so far has been delivered or given up; False if ``timeout`` ran out first.

    A learner never needs it; a script that reports and then ends, and the tests, do.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        with _lock:
            running = list(_running)
        if not running:
            return True
        for sender in running:
            sender.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
            if sender.is_alive():
                return False
            with _lock:
                _running.discard(sender)
        # Those are done; a message queued meanwhile may have started another: wait for it too.


def _send(message: dict[str, Any], done: Done | None = None) -> None:
    """Queue ``message``, and start the sender thread unless it is running."""
    global _sender
    with _lock:
        _outbox.append((message, done))
        if _sender is None:
            # A daemon: a kernel that shuts down does not wait for the room.
            _sender = threading.Thread(target=_deliver_all, name="ws-course-progress", daemon=True)
            _running.difference_update([sender for sender in _running if not sender.is_alive()])
            _running.add(_sender)
            _sender.start()


def _next() -> tuple[dict[str, Any], Done | None] | None:
    """The next message to send; None, and the sender's end, when there is none."""
    global _sender
    with _lock:
        if _outbox:
            return _outbox.popleft()
        _sender = None  # decided under the lock: a message queued after this starts a new sender
        return None


def _deliver_all() -> None:
    """The sender thread: one connection to the room while there are messages, then end.

    Nothing may escape this function: an exception in a thread is printed under
    whatever cell the learner runs.
    """
    item = _next()
    while item is not None:
        try:
            with _open() as websocket:
                while item is not None:
                    message, done = item
                    error = _exchange(websocket, message)
                    item = _next()
                    _tell(done, error)
        except Exception as failure:  # no room, a refused token, a timeout: never the learner's problem
            if item is None:  # the last message is answered; only the closing went wrong
                logger.debug("closing the connection to the class room: %r", failure)
                return
            message, done = item
            logger.debug("could not tell the class room %s: %r", message, failure)
            _tell(done, f"the class room did not answer ({type(failure).__name__}: {failure})")
            item = _next()


def _open() -> Any:
    """A connection to the room's progress address, as this kernel's hub user."""
    return connect(
        room_url() + "progress",
        additional_headers={"Authorization": f"token {hub_token()}"},
        proxy=None,  # the hub's own proxy is the only one between a kernel and the room
        open_timeout=TIMEOUT,
        close_timeout=TIMEOUT,
        max_size=2**16,
    )


def _exchange(websocket: Any, message: dict[str, Any]) -> str | None:
    """Send ``message``, wait for the room's answer: None when accepted, else its error.

    Raises:
        ValueError: the answer is no ``{"ok": ...}``: whatever answered is not the
            class room's progress address (an older room, say), so the sender lets go of it.
    """
    websocket.send(json.dumps(message))
    answer = json.loads(websocket.recv(timeout=TIMEOUT))
    if not isinstance(answer, dict) or not isinstance(answer.get("ok"), bool):
        raise ValueError(f"not an answer of the class room's progress address: {str(answer)[:100]}")
    if answer["ok"]:
        return None
    logger.debug("the class room refused %s: %r", message, answer)
    return str(answer.get("error") or "the class room refused it")


def _tell(done: Done | None, error: str | None) -> None:
    if done is None:
        return
    try:
        done(error)
    except Exception:
        logger.debug("a progress callback raised", exc_info=True)
