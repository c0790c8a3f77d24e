"""Sticky notes for a workshop on a JupyterHub: tell the teacher you are stuck, or fine.

Software Carpentry workshops give every learner two sticky notes. A red one on the
laptop lid says "I'm stuck, please come"; a green one says "I'm done" (or "I'm
fine"). The teacher sees the whole room at a glance, and nobody has to raise a hand
and wait. On a JupyterHub your notebook can put the note up on the teacher's screen::

    from ws_course.workshop import stuck, unstuck, sticky_note

    stuck("my room never says who left")   # the red note, with a line for the teacher
    unstuck()                              # the green one: the red note comes down
    sticky_note()                          # both as buttons, with a box for the note

Your exercise checks report themselves: the teacher's grid shows which ones you
passed without your doing anything (see :mod:`ws_course.classroom.progress`).

Outside a JupyterHub (your own laptop, Binder) there is no class room to tell:
each of these says so and sends nothing.
"""

from __future__ import annotations

import threading

import ipywidgets

from .classroom import progress
from .classroom.on_a_hub import on_a_hub
from .language import _

__all__ = ["stuck", "sticky_note", "unstuck"]



def not_on_a_hub() -> str:
    """What is said outside a hub, in the current language."""
    return _("not on a JupyterHub: nothing is sent")


def __getattr__(name: str) -> str:
    if name == "NOT_ON_A_HUB":  # the name this sentence had, before it spoke two languages
        return not_on_a_hub()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def stuck(note: str = "") -> None:
    """Put up your red sticky note: the teacher sees you are stuck, and ``note`` (a line, optional)."""
    _put_up(True, note)


def unstuck() -> None:
    """Take your red sticky note down: the teacher sees you are fine again (or done)."""
    _put_up(False)


def _put_up(on: bool, note: str = "") -> None:
    """Send the note and say how it went, waiting a few seconds at most for the class room."""
    if not on_a_hub():
        print(_("{not_sent} (in a room, a real sticky note on your laptop works too)").format(not_sent=not_on_a_hub()))
        return
    answered = threading.Event()
    heard: list[str | None] = []

    def done(error: str | None) -> None:
        heard.append(error)
        answered.set()

    try:
        progress.set_stuck(on, note, done)
    except ValueError as wrong:
        print(_("not sent: {error}").format(error=wrong))
        return
    if not answered.wait(2 * progress.TIMEOUT):
        print(_("sent; the class room has not answered yet"))
    elif heard[0] is not None:
        print(_("not sent: {error}").format(error=heard[0]))
    else:
        print(_("the teacher sees: {note}").format(note=_said(on, note)))


def _said(on: bool, note: str = "") -> str:
    note = " ".join(note.split())
    if not on:
        return _("I'm fine (your red note is down)")
    return _("I'm stuck: {note}").format(note=note) if note else _("I'm stuck")


def sticky_note() -> ipywidgets.VBox:
    """Your two sticky notes as buttons: red "I'm stuck" (with a box for a note), green "I'm fine / done".

    The line under the buttons says what the teacher sees once the class room has
    it. Outside a JupyterHub the buttons are greyed out and nothing is sent.
    """
    note = ipywidgets.Text(placeholder=_("what are you stuck on? (optional, {count} characters)").format(
        count=progress.MAX_NOTE))
    red = ipywidgets.Button(description=_("I'm stuck"), button_style="danger")
    green = ipywidgets.Button(description=_("I'm fine / done"), button_style="success")
    status = ipywidgets.Label()

    if not on_a_hub():
        red.disabled = green.disabled = note.disabled = True
        status.value = not_on_a_hub()

    def send(on: bool) -> None:
        if not on_a_hub():
            status.value = not_on_a_hub()
            return
        text = note.value if on else ""
        said = _said(on, text)

        def done(error: str | None) -> None:  # called from the sender's thread: setting a value is safe
            status.value = (_("not sent: {error}").format(error=error) if error
                            else _("the teacher sees: {note}").format(note=said))

        status.value = _("sending: {note}").format(note=said)  # before sending: the answer may come at once
        try:
            progress.set_stuck(on, text, done)
        except ValueError as wrong:
            status.value = _("not sent: {error}").format(error=wrong)

    red.on_click(lambda _button: send(True))
    green.on_click(lambda _button: send(False))
    return ipywidgets.VBox([ipywidgets.HBox([red, green]), note, status])
