"""A notebook that embeds two demo pages, and the check that they talk with its widgets.

Its cells start the JSON chat and the Socket.IO chat in the kernel, put a widget
member in each room, and embed each room's page with ``show_page``: the JSON chat's
over a WebSocket, the Socket.IO chat's over long-polling only (``?transports=polling``).
:func:`check_pages_and_widgets_talk` types in each page and in each widget and sees
every message arrive on the other side. The JupyterLab-under-a-prefix test and the
JupyterHub test both run it.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
from playwright.sync_api import expect

CELLS = [
    "import ws_course\n"
    "from ws_course.notebook import show_page\n"
    "from ws_course.widgets import ChatClient\n"
    "from ws_course.widgets import EventChatClient",
    'chat = ws_course.start("json_chat")\nmember = ChatClient(chat.ws_url, json=True)\nmember',
    "show_page(chat.page_url)",
    'io_chat = ws_course.start("event_chat")\nio_member = EventChatClient(io_chat.page_url)\nio_member',
    'show_page(io_chat.page_url + "?transports=polling")',
]


def write_notebook(path: Path, cells: list[str]) -> None:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in cells])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, path)


def check_pages_and_widgets_talk(panel, base_url: str) -> set[int]:
    """Messages cross both ways between each embedded page and its widget; return the demos' ports.

    ``panel`` is the notebook's panel after Run All; ``base_url`` the Jupyter
    server's (``/some/prefix/``, ``/user/alice/``), under which the frames must be.
    """
    cells = panel.locator(".jp-CodeCell")
    chat_frame, io_frame = cells.nth(2).locator("iframe"), cells.nth(4).locator("iframe")
    chat_src, io_src = chat_frame.get_attribute("data-src"), io_frame.get_attribute("data-src")  # show_page: the page it opens
    proxy = re.escape(base_url) + r"proxy/(\d+)/"
    assert re.fullmatch(proxy, chat_src), chat_src
    assert re.fullmatch(proxy + r"\?transports=polling", io_src), io_src

    # JSON chat over a WebSocket. Two members: the widget and the page (in whichever
    # order they got in; a newcomer's first message is its own arrival, and the
    # second one in, user2, is announced to both).
    chat, member = chat_frame.content_frame, cells.nth(1).locator(".jp-OutputArea-output")
    expect(chat.locator("#state")).to_have_text("open")
    page_user, widget_user = arrivals(chat)
    expect(member).to_contain_text("user2 comes in")
    expect(chat.locator("#messages")).to_contain_text("user2 comes in")
    chat.locator("#sendTxt").fill("hello from the page")
    chat.locator("#sendBtn").click()
    expect(member).to_contain_text(f"{page_user} says: hello from the page")
    member.locator(".widget-text input").fill("hello from the widget")
    member.locator("button.jupyter-button", has_text="Send").click()
    expect(chat.locator("#messages div").last).to_have_text(f"{widget_user} says: hello from the widget")

    # Socket.IO, long-polling only: every packet is an HTTP request through the proxy.
    io, io_member = io_frame.content_frame, cells.nth(3).locator(".jp-OutputArea-output")
    expect(io.locator("#state")).to_have_text("connected (polling)")
    page_user, widget_user = arrivals(io)
    io.locator("#sendTxt").fill("polled from the page")
    io.locator("#sendBtn").click()
    expect(io_member).to_contain_text(f"{page_user} says: polled from the page")
    io_member.locator(".widget-text input").fill("emitted by the widget")
    io_member.locator("button.jupyter-button", has_text="Send").click()
    expect(io.locator("#messages div").last).to_have_text(f"{widget_user} says: emitted by the widget")
    expect(io.locator("#state")).to_have_text("connected (polling)")  # it never upgraded
    return {int(re.fullmatch(proxy, chat_src)[1]), int(re.match(proxy, io_src)[1])}


def arrivals(frame) -> tuple[str, str]:
    """The nicknames of a room's page and of the widget, the room's only other member."""
    first = frame.locator("#messages div").first
    expect(first).to_have_text(re.compile(r"user[12] comes in"))
    page_user = first.text_content().split()[0]
    return page_user, {"user1": "user2", "user2": "user1"}[page_user]
