"""A WebSocket client you can see and click: the browser's WebSocket API as a widget.

:class:`WebSocketClient` behaves like ``new WebSocket(url)`` in a browser page. It
connects as soon as it is created and reports the same four events:

========  =============================================  ==========================
event     when                                           data
========  =============================================  ==========================
open      the opening handshake succeeded                ``None``
message   the server sent a message                      the text (or bytes)
error     the connection failed or broke                 what went wrong
close     the connection is over (always the last one)   ``(code, reason)``
========  =============================================  ==========================

and has the same two methods, :meth:`~WebSocketClient.send` and
:meth:`~WebSocketClient.close`. Its text box sends with Enter or the Send button
(and empties itself, as the pages do); Send and Close work with the mouse, and from
code (``client.text.value = "hi"; client.send_button.click()``). Notebooks and tests
wait for what comes back::

    client = WebSocketClient(server.ws_url)
    await client.opened()
    client.send("hi")
    reply = await client.wait_for_message("hi", timeout=5)

A learner may click Send between two cells: a cell that waits for *its own* reply
with :meth:`~ClientWidget.wait_for_message` skips whatever else arrived meanwhile,
where :meth:`~ClientWidget.next_message` would return the learner's message.

Widget callbacks run synchronously, so the buttons schedule the real work as
tasks on the running event loop (the kernel's, in a notebook). The log is an HTML
widget whose value we set: unlike ``print()`` in an Output widget, that shows up
for real clicks in JupyterLab too.

:class:`ClientWidget` is what every client widget of the course shares (the
Socket.IO one of lesson 05 too); :class:`WebSocketClient` adds the WebSocket.
"""

from __future__ import annotations

import asyncio
import html
import weakref
from collections import defaultdict, deque
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import (
    ConnectionClosed,
    ConnectionClosedError,
    InvalidHandshake,
    InvalidURI,
)
from websockets.frames import CloseCode

from ..language import _, ngettext
from .message_box import MessageBox

__all__ = ["ClientWidget", "WebSocketClient", "open_clients"]

#: Colours of the log's lines, by event.
COLOURS = {"open": "#080", "message": "inherit", "error": "#c00", "close": "#888", "send": "#06c"}

#: The log view keeps this many lines (the :attr:`ClientWidget.events` list keeps all).
LOG_LINES = 200

#: The log view's height; it scrolls, and always shows the newest line.
LOG_HEIGHT = "16em"

#: Every client widget made so far that is still alive (see :func:`open_clients`).
_clients: weakref.WeakSet[ClientWidget] = weakref.WeakSet()


def open_clients() -> list[ClientWidget]:
    """Every client widget whose connection is open now: the ones a learner can type into."""
    return [client for client in list(_clients) if client.ready_state == "OPEN"]

#: The log view shortens longer messages to this many characters.
LOG_LINE_CHARACTERS = 300


def shorten(text: str) -> str:
    """``text`` as the log shows it: whole, or cut with a note of its length."""
    if len(text) <= LOG_LINE_CHARACTERS:
        return text
    return ngettext("{start}… ({count} character)", "{start}… ({count} characters)", len(text)).format(
        start=text[:LOG_LINE_CHARACTERS], count=len(text))


class ClientWidget:
    """A client as a widget: a text box, Send and Close buttons, a state and an event log.

    Subclasses connect in :meth:`_run`, send in :meth:`_transmit` and close in
    :meth:`close`; they report what happens with :meth:`_record`.

    Create it inside a running event loop: in a notebook cell, or in ``async`` code.
    A notebook shows it when it is a cell's last expression; :attr:`view` is the widget
    itself. (It holds a widget rather than being one: a widget's ``close()`` means
    "remove this widget", and here ``close()`` means what it means in a browser.)

    Attributes:
        events: Every event so far, as ``(kind, data)`` pairs; ``kind`` is one of
            ``"open"``, ``"message"``, ``"error"``, ``"close"``, and also
            ``"send"`` for each message this client sent.
        ready_state: ``"CONNECTING"``, ``"OPEN"``, ``"CLOSING"`` or ``"CLOSED"``,
            as the browser's ``WebSocket.readyState``.
    """

    def __init__(self, url: str, *, title: str | None = None) -> None:
        self.url = url
        self.events: list[tuple[str, Any]] = []
        self.ready_state = "CONNECTING"
        self.title = widgets.HTML(f"<b>{html.escape(title or url)}</b>")
        self.state = widgets.HTML()
        # The box holds its Send button: Enter or Send brings the text with it (see message_box).
        self.text = MessageBox(disabled=True)
        self.send_button = self.text  # send_button.click() and send_button.disabled, as on a button
        self.close_button = widgets.Button(description=_("Close"), disabled=True)
        self.log_view = widgets.HTML()
        self.view = widgets.VBox(
            [
                widgets.HBox([self.title, self.state]),
                widgets.HBox([self.text, self.close_button]),
                self.log_view,
            ]
        )
        try:
            self._loop = asyncio.get_running_loop()
        except RuntimeError:
            raise RuntimeError(
                _("{widget} needs a running event loop: create it in a notebook cell, or inside async code "
                  "(async def ... / asyncio.run(...))").format(widget=type(self).__name__)
            ) from None
        self._unread: defaultdict[str, deque[Any]] = defaultdict(deque)
        self._arrived = asyncio.Event()
        self._outbox: asyncio.Queue[Any] = asyncio.Queue()
        self._tasks: set[asyncio.Task[Any]] = set()  # keep a reference, or a task can vanish
        self.text.on_send(lambda text: self._on_loop(lambda: self._send_typed(text)))
        self.close_button.on_click(lambda _button: self._on_loop(self.close))
        _clients.add(self)
        self._set_state("CONNECTING")
        self._spawn(self._run())
        self._sender = self._spawn(self._send_outbox())

    # -- sending ------------------------------------------------------------------------

    def send(self, message: Any) -> None:
        """Send a message. As in a browser, sending when the connection isn't open is an error."""
        if self.ready_state != "OPEN":
            said = _("cannot send: the connection is {state}, not OPEN").format(state=self.ready_state)
            if self.ready_state == "CLOSED":
                said += f" ({self._how_it_ended()})"
            raise RuntimeError(said)
        self._record("send", message)
        self._outbox.put_nowait(message)

    def _send_typed(self, text: str) -> None:
        """Send what was typed in the box (Enter or Send); the box has emptied itself, as the pages do."""
        if self.ready_state == "OPEN":
            self.send(text)
        else:  # it closed while the text was on its way
            self._record("error", _("not sent, the connection is {state}: {text!r}").format(state=self.ready_state, text=text))

    def _on_loop(self, callback: Callable[[], Any]) -> None:
        """Run a widget's callback on this client's event loop, the kernel's.

        A click in code (``send_button.click()``) runs its callbacks right here, on
        the kernel's loop. A click in JupyterLab may not: JupyterLab 4.6 can deliver
        widget messages on a kernel *subshell*, a thread with an event loop of its
        own, so that widgets answer while a cell runs. asyncio objects belong to one
        loop, so such a callback hands its work over with ``call_soon_threadsafe``.
        """
        try:
            here = asyncio.get_running_loop()
        except RuntimeError:
            here = None
        if here is self._loop:
            callback()
        else:
            self._loop.call_soon_threadsafe(callback)

    async def _send_outbox(self) -> None:
        # One sender, in order: messages reach the server in the order they were sent.
        while True:
            message = await self._outbox.get()
            try:
                await self._transmit(message)
            except Exception as exc:
                self._record("error", _("not sent ({error}): {message!r}").format(error=exc, message=message))

    # -- waiting for events ---------------------------------------------------------------

    async def opened(self, timeout: float = 5) -> None:
        """Wait until the connection is open; raise ``ConnectionError`` if it closed instead."""
        await self._wait(lambda: self.ready_state != "CONNECTING", "open", timeout)
        if not self._unread["open"]:
            raise ConnectionError(self._last("error"))
        self._unread["open"].popleft()

    async def next_message(self, timeout: float = 5) -> Any:
        """Wait for the next message not read yet, and return it.

        On a closed connection with nothing left to read, no message can ever come:
        that raises ``ConnectionError`` at once, saying how it ended.
        """
        await self._wait(lambda: bool(self._unread["message"]) or self.ready_state == "CLOSED", "message", timeout)
        if not self._unread["message"]:
            raise ConnectionError(_("no more messages can come: {how}").format(how=self._how_it_ended()))
        return self._unread["message"].popleft()

    def _how_it_ended(self) -> str:
        """A closed connection, said for a learner who may have clicked Close a few cells ago."""
        return _(
            "{client} was closed ({how}). Did you click Close, or stop its server? "
            "Re-run the cell that created it (and the cells after it)"
        ).format(client=repr(self), how=self._describe_close(self._last("close")))

    def _describe_close(self, data: Any) -> str:
        return str(data)

    async def wait_for_message(self, message: Any, timeout: float = 5) -> Any:
        """Read messages until ``message`` arrives, and return it.

        ``message`` is the message itself, or a function that says whether a
        message is the one: ``wait_for_message(lambda m: m.startswith("user"))``.
        Messages read on the way are skipped (they stay in :attr:`events` and in the
        log). That is how a cell waits for *its own* reply when others may arrive in
        between: something you sent from the widget or the page meanwhile, or a
        chat room's other members.
        """
        matches: Callable[[Any], bool] = message if callable(message) else (lambda received: received == message)
        seen = []
        try:
            async with asyncio.timeout(timeout):
                while not matches(received := await self.next_message(timeout=timeout)):
                    seen.append(received)
        except TimeoutError:
            wanted = _("the message you waited for") if callable(message) else repr(message)
            raise TimeoutError(
                _("{wanted} did not arrive within {seconds} s; the last messages were {seen}. If you closed a "
                  "client or stopped a server meanwhile, run the cell that starts the server again, and the "
                  "cells after it").format(wanted=wanted, seconds=timeout, seen=repr(seen[-5:]))
            ) from None
        return received

    async def closed(self, timeout: float = 5) -> Any:
        """Wait until the connection is closed; return the close event's data."""
        await self._wait(lambda: bool(self._unread["close"]), "close", timeout)
        return self._unread["close"][0]

    async def _wait(self, condition: Any, what: str, timeout: float) -> None:
        try:
            async with asyncio.timeout(timeout):
                while not condition():
                    self._arrived.clear()
                    await self._arrived.wait()
        except TimeoutError:
            raise TimeoutError(
                _("no {event} event within {seconds} s (state {state}; last events: {events})").format(
                    event=what, seconds=timeout, state=self.ready_state, events=self.events[-3:])
            ) from None

    def _last(self, kind: str) -> Any:
        return next((data for k, data in reversed(self.events) if k == kind), None)

    # -- for subclasses ----------------------------------------------------------------------

    async def _run(self) -> None:
        raise NotImplementedError

    async def _transmit(self, message: Any) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def _spawn(self, coroutine: Any) -> asyncio.Task[Any]:
        task = self._loop.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _ended(self, data: Any) -> None:
        """The connection is over: the last event, ``close``, with ``data``."""
        self._sender.cancel()
        self._set_state("CLOSED")
        self._record("close", data)

    def _set_state(self, state: str) -> None:
        self.ready_state = state
        self.state.value = f"&nbsp;&nbsp;<code>{state}</code>"
        self.text.disabled = state != "OPEN"
        self.text.placeholder = _("type a message") if state != "CLOSED" else _("closed: run this cell again")
        if state == "CLOSED":
            self.state.value += " " + html.escape(
                _("to talk again, run the cell that starts the server (if it stopped), then this cell"))
        self.close_button.disabled = state in ("CLOSING", "CLOSED")

    def _record(self, kind: str, data: Any) -> None:
        """Note an event, wake whoever waits for one, and show it in the log."""
        self.events.append((kind, data))
        self._unread[kind].append(data)
        self._arrived.set()
        lines = "".join(self.render(k, d) for k, d in self.events[-LOG_LINES:])
        # A column-reverse box starts scrolled to its end: the newest line is always in view.
        # overflow-wrap: a long line wraps, even a long word, instead of scrolling sideways.
        self.log_view.value = (
            f"<div class='client-log' style='max-height: {LOG_HEIGHT}; overflow-y: auto; display: flex; "
            f"flex-direction: column-reverse; font-family: monospace; overflow-wrap: anywhere'>"
            f"<div>{lines}</div></div>"
        )

    def render(self, kind: str, data: Any) -> str:
        """One event as a line of the log, in HTML (an empty string leaves it out).

        A line starts with the event's name as the API says it (``open``, ``message``,
        ``error``, ``close``, and ``send`` for this client's own messages), in every
        language: it is the name a learner writes in code. What follows is in the learner's
        language, but for the data itself: ``close: code 1000, reason ''``, in Chinese
        ``close: 关闭码 1000、原因 ''``.
        """
        if kind == "close":
            code, reason = data
            text = "close: " + _("code {code}, reason {reason!r}").format(code=code, reason=reason)
        elif kind == "open":
            text = "open"
        elif isinstance(data, bytes):
            size = ngettext("({count} byte)", "({count} bytes)", len(data)).format(count=len(data))
            text = f"{kind}: {size} {data[:40]!r}"
        else:
            text = f"{kind}: {data}"
        # html.escape: a message is text to show; in an HTML widget it would otherwise be markup.
        return f"<div style='color: {COLOURS.get(kind, 'inherit')}'>{html.escape(shorten(text))}</div>"

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = self.view._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = repr(self)
        return bundle

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"


class WebSocketClient(ClientWidget):
    """A WebSocket client widget: ``new WebSocket(url)`` of a browser page, in a notebook.

    Args:
        url: The server's address, ``ws://host:port/``.
        title: A label shown above the controls (defaults to the URL).
        headers: More HTTP headers for the opening handshake, for a server that
            wants to know who you are: ``{"Authorization": "token ..."}``. (A
            browser page cannot add headers to its handshake; a program can.)

    Its ``close`` events carry ``(code, reason)``.
    """

    def __init__(self, url: str, *, title: str | None = None, headers: dict[str, str] | None = None) -> None:
        self._websocket: ClientConnection | None = None
        self.headers = headers
        super().__init__(url, title=title)

    def send(self, message: str | bytes) -> None:
        """Send a message, like the browser's ``websocket.send(data)``."""
        super().send(message)

    def close(self, code: int = CloseCode.NORMAL_CLOSURE, reason: str = "") -> None:
        """Start the closing handshake, like the browser's ``websocket.close(code, reason)``."""
        if self.ready_state in ("CLOSING", "CLOSED"):
            return
        self._set_state("CLOSING")
        if self._websocket is not None:
            self._spawn(self._websocket.close(code, reason))

    async def closed(self, timeout: float = 5) -> tuple[int, str]:
        """Wait until the connection is closed; return ``(code, reason)``."""
        return await super().closed(timeout)

    async def _run(self) -> None:
        try:
            # proxy=None: websockets honours http_proxy, even for 127.0.0.1.
            self._websocket = await connect(self.url, proxy=None, open_timeout=10, additional_headers=self.headers)
        except (OSError, InvalidHandshake, InvalidURI, TimeoutError) as exc:
            # A browser reports a failed connection as an error, then a close with 1006.
            self._record("error", _("cannot connect to {url}: {error}").format(url=self.url, error=exc))
            self._closed(CloseCode.ABNORMAL_CLOSURE, "")
            return
        if self.ready_state == "CLOSING":  # Close was clicked while connecting
            await self._websocket.close()
        else:
            self._set_state("OPEN")
            self._record("open", None)
        try:
            async for message in self._websocket:
                self._record("message", message)
        except ConnectionClosedError as exc:
            if exc.rcvd is None:  # no close frame: the connection broke, as a browser's "error"
                self._record("error", _("the connection broke without a close frame"))
        self._closed(self._websocket.close_code or CloseCode.ABNORMAL_CLOSURE, self._websocket.close_reason or "")

    async def _transmit(self, message: str | bytes) -> None:
        try:
            await self._websocket.send(message)
        except ConnectionClosed:
            raise ConnectionError(_("the connection is closed")) from None

    def _describe_close(self, data: Any) -> str:
        code, reason = data
        if reason:
            return _("code {code}, reason {reason!r}").format(code=code, reason=reason)
        return _("code {code}").format(code=code)

    def _closed(self, code: int, reason: str) -> None:
        self._ended((int(code), reason))
