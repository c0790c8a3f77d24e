"""The text box and Send button of a client widget: what is in the box is what goes.

Why not ipywidgets' ``Text`` and ``Button``? Their browser side sends what you type
as widget state, and holds an update back while the kernel has not finished with
the one before (ipywidgets' message throttling); a click, or Enter, is a message of
another kind, which it sends at once. On a busy kernel the click overtook the last
characters typed: ``guest says hi`` went out as ``g``. Waiting a moment before
reading the box only makes that rarer.

So here the browser sends the text *with* the click: Enter or Send makes one
message, ``{"event": "send", "text": <what is in the box>}``, and empties the box,
as the course's pages do. Nothing can overtake it, and the kernel never guesses.
The box is an `anywidget <https://anywidget.dev>`_: a few lines of JavaScript
(:data:`MessageBox._esm`) in place of a JupyterLab extension of our own.

From code, :meth:`MessageBox.click` does what a click does, with the box's
:attr:`~MessageBox.value` as the text (``client.text.value = "hi"``, then
``client.send_button.click()``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anywidget
import traitlets

from ..language import _

__all__ = ["MessageBox"]


class MessageBox(anywidget.AnyWidget):
    """A text box with a Send button; Enter or Send hands the box's text to ``on_send`` callbacks.

    Attributes:
        value: What the box holds (the browser keeps it up to date as you type;
            set it from code to type into it).
        placeholder: The grey hint an empty box shows.
        send_label: The Send button's word, in the course's language.
        disabled: A disabled box takes no typing, and Enter and Send do nothing.
        width: The text box's width, a CSS length.
    """

    _esm = """
    function render({ model, el }) {
        el.classList.add("widget-text", "message-box");
        el.style.display = "flex";
        el.style.gap = "4px";
        const input = document.createElement("input");
        input.type = "text";
        input.className = "widget-input";
        const send = document.createElement("button");
        send.className = "jupyter-button widget-button mod-primary";
        send.textContent = model.get("send_label");
        el.append(input, send);

        function show() {
            if (input.value !== model.get("value")) input.value = model.get("value");
            input.placeholder = model.get("placeholder");
            send.textContent = model.get("send_label");
            input.disabled = send.disabled = model.get("disabled");
            input.style.width = model.get("width");
        }
        show();
        model.on("change", show);

        // The text travels with the request to send it: nothing can overtake it.
        function submit() {
            if (!input.value || model.get("disabled")) return;
            model.send({ event: "send", text: input.value });
            input.value = "";
            model.set("value", "");
            model.save_changes();
        }
        input.addEventListener("input", () => {
            model.set("value", input.value);
            model.save_changes();
        });
        input.addEventListener("keydown", (event) => {
            event.stopPropagation();  // keys typed here are text, not JupyterLab's shortcuts
            if (event.key === "Enter") submit();
        });
        send.addEventListener("click", submit);
    }
    export default { render };
    """

    value = traitlets.Unicode("").tag(sync=True)
    placeholder = traitlets.Unicode("type a message").tag(sync=True)
    send_label = traitlets.Unicode("Send").tag(sync=True)
    disabled = traitlets.Bool(False).tag(sync=True)
    width = traitlets.Unicode("20em").tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        # The words are looked up now, in the language the notebook speaks (see ws_course.language).
        kwargs.setdefault("placeholder", _("type a message"))
        kwargs.setdefault("send_label", _("Send"))
        super().__init__(**kwargs)
        self._senders: list[Callable[[str], Any]] = []
        self.on_msg(self._on_browser_message)

    def on_send(self, callback: Callable[[str], Any]) -> None:
        """Call ``callback(text)`` when Enter or Send is pressed in the browser, or :meth:`click` is called."""
        self._senders.append(callback)

    def click(self) -> None:
        """Send from code, as a click on Send does: the box's text goes, and the box empties."""
        text = self.value
        if text and not self.disabled:
            self.value = ""
            self._hand_over(text)

    def _on_browser_message(self, _widget: Any, content: dict[str, Any], _buffers: Any) -> None:
        if content.get("event") == "send" and isinstance(content.get("text"), str):
            self._hand_over(content["text"])

    def _hand_over(self, text: str) -> None:
        for callback in self._senders:
            callback(text)
