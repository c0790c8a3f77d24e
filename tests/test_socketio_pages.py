"""The Socket.IO pages in headless Chromium, with the official JavaScript client, in one room with Python."""

from __future__ import annotations

import urllib.request

import pytest
from playwright.async_api import expect

from ws_course import start
from ws_course.web.static import SOCKETIO_CLIENT
from ws_course.widgets import EventChatClient

#: The module's Chromium (the async_browser fixture) lives on one event loop: its browser tests run on it.
on_the_modules_loop = pytest.mark.asyncio(loop_scope="module")

FAST = {"ping_interval": 1, "ping_timeout": 2}
XSS = '<img src=x onerror="window.pwned = 1"><script>window.pwned = 2</script>'


async def open_page(browser, url, state="connected (websocket)"):
    page = await browser.new_page()
    await page.goto(url)
    await expect(page.locator("#state")).to_have_text(state)
    return page


def test_the_page_loads_the_official_client_served_locally():
    with start("event_chat") as server:
        with urllib.request.urlopen(server.page_url + "socket.io.js", timeout=5) as response:
            served = response.read()
    assert served == SOCKETIO_CLIENT.read_bytes()
    assert b"Socket.IO v4." in served[:200]  # the library's own banner: socket.io-client 4.x


def test_the_client_served_is_the_one_npm_installs():
    """The package's copy of the client is byte for byte the version package-lock.json pins."""
    import json
    from pathlib import Path

    checkout = Path(__file__).resolve().parent.parent
    installed = checkout / "node_modules" / "socket.io-client"
    pinned = json.loads((checkout / "package-lock.json").read_text())["packages"]["node_modules/socket.io-client"]
    assert json.loads((installed / "package.json").read_text())["version"] == pinned["version"]
    assert SOCKETIO_CLIENT.read_bytes() == (installed / "dist" / "socket.io.js").read_bytes(), (
        f"ws_course/static/socket.io.js is not socket.io-client {pinned['version']}'s dist/socket.io.js: "
        "after changing the version in package.json, run npm ci and copy the new file"
    )


@on_the_modules_loop
async def test_news_round_trip_in_the_browser(async_browser):
    with start("news") as server:
        page = await open_page(async_browser, server.page_url)
        await expect(page.locator("#messages div")).to_have_text(
            ['news: {"hello":"world"}', 'sent "my other event": {"my":"data"}']
        )
        assert await server.wait_for_log("my other event:") == "my other event: {'my': 'data'}"


@pytest.mark.parametrize("transports", ["websocket", "polling"])
@on_the_modules_loop
async def test_the_javascript_client_chats_with_a_python_client(async_browser, transports):
    with start("event_chat", **FAST) as server:
        python = EventChatClient(server.page_url)  # user1
        await python.opened()
        assert await python.next_message() == ("enter", "user1 comes in")

        url = server.page_url if transports == "websocket" else server.page_url + "?transports=polling"
        page = await open_page(async_browser, url, f"connected ({transports})")  # user2
        assert await python.next_message() == ("enter", "user2 comes in")

        await page.fill("#sendTxt", "hello from the browser")
        await page.press("#sendTxt", "Enter")
        assert await python.next_message() == ("mes", "user2 says: hello from the browser")
        python.send("hello from Python")
        assert await python.next_message() == ("mes", "user1 says: hello from Python")
        lines = page.locator("#messages div")
        await expect(lines).to_have_text(
            ["user2 comes in", "user2 says: hello from the browser", "user1 says: hello from Python"]
        )
        await expect(lines.first).to_have_css("color", "rgb(0, 0, 255)")

        await page.close()  # the tab goes away: a disconnect
        assert await python.next_message() == ("leave", "user2 left")
        python.close()
        await python.closed()


@on_the_modules_loop
async def test_markup_is_shown_as_text_and_runs_nothing(async_browser):
    with start("event_chat") as server:
        sender = await open_page(async_browser, server.page_url)
        receiver = await open_page(async_browser, server.page_url)
        await sender.fill("#sendTxt", XSS)
        await sender.click("#sendBtn")
        await expect(receiver.locator("#messages div").last).to_have_text(f"user1 says: {XSS}")
        for page in (sender, receiver):
            assert await page.locator("#messages img, #messages script").count() == 0
            assert await page.evaluate("window.pwned") is None


@on_the_modules_loop
async def test_leave_is_red_and_the_page_shows_the_server_going_away(async_browser):
    server = start("event_chat")
    watcher = await open_page(async_browser, server.page_url)
    visitor = await open_page(async_browser, server.page_url)
    await visitor.close()
    lines = watcher.locator("#messages div")
    await expect(lines.last).to_have_text("user2 left")
    await expect(lines.last).to_have_css("color", "rgb(255, 0, 0)")
    server.stop()
    await expect(watcher.locator("#state")).to_have_text("disconnected (io server disconnect)")
    await expect(watcher.locator("#sendBtn")).to_be_disabled()
