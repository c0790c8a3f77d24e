"""The browser pages of demos 1 and 2, in headless Chromium through Playwright."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import expect

from ws_course import start

#: Where each page shows what the server sent.
OUTPUT = {"echo": "#recv", "scream": "#messages"}

XSS = '<img src=x onerror="document.title=\'pwned\'"><script>document.title="pwned"</script>'


@pytest.mark.parametrize("demo, reply", [("echo", "hello"), ("scream", "HELLO!!!")])
def test_connect_type_send_and_read_the_reply(page, demo, reply):
    with start(demo) as server:
        page.goto(server.page_url)
        expect(page.locator("#state")).to_have_text("open")
        expect(page.locator(OUTPUT[demo])).to_contain_text("Connected")
        page.fill("#sendTxt", "hello")
        page.click("#sendBtn")
        expect(page.locator(OUTPUT[demo])).to_contain_text(reply)


def test_enter_key_sends_too(page):
    with start("scream") as server:
        page.goto(server.page_url)
        expect(page.locator("#state")).to_have_text("open")
        page.fill("#sendTxt", "enter")
        page.press("#sendTxt", "Enter")
        expect(page.locator("#messages .reply")).to_have_text(["ENTER!!!"])
        expect(page.locator("#sendTxt")).to_have_value("")  # sending empties the box


@pytest.mark.parametrize("demo", ["echo", "scream"])
def test_the_page_shows_the_socket_closed_when_the_server_stops(page, demo):
    server = start(demo)
    page.goto(server.page_url)
    expect(page.locator("#state")).to_have_text("open")
    server.stop()
    expect(page.locator("#state")).to_have_text("closed (code 1001)")
    expect(page.locator("#sendBtn")).to_be_disabled()


@pytest.mark.parametrize("demo", ["echo", "scream"])
def test_markup_in_a_message_is_shown_as_text_and_runs_nothing(page, demo):
    with start(demo) as server:
        page.goto(server.page_url)
        expect(page.locator("#state")).to_have_text("open")
        page.fill("#sendTxt", XSS)
        page.click("#sendBtn")
        expected = XSS.upper() + "!!!" if demo == "scream" else XSS
        expect(page.locator(OUTPUT[demo])).to_contain_text(expected)
        assert page.locator(f"{OUTPUT[demo]} img, {OUTPUT[demo]} script").count() == 0
        assert page.title() != "pwned"


def test_scream_closes_on_bytes_and_the_page_shows_why(page):
    with start("scream") as server:
        page.goto(server.page_url)
        expect(page.locator("#state")).to_have_text("open")
        page.evaluate("websocket.send(new Uint8Array([1, 2, 3]))")
        expect(page.locator("#state")).to_have_text("closed (code 1003: scream accepts text only)")


ARTICLE = Path(__file__).parent.parent / "static" / "article"


@pytest.mark.parametrize("demo", ["echo", "handmade"])  # lesson 01's server, and lesson 08's from scratch
def test_the_articles_own_echo_page_from_disk_works_with_our_server(page, tmp_path, demo):
    """The article's demo 1 page, opened from disk with only the server address changed.

    It sends ``Origin: null``, which the echo server admits when told (``--allow-origin null``);
    lesson 08's server from scratch checks no origin at all.
    """
    with start(demo, allow_origins=["null"]) as server:
        original = (ARTICLE / "demo1-echo.html").read_text(encoding="utf-8")
        copy = tmp_path / "index.html"
        copy.write_text(original.replace("ws://echo.websocket.org/", server.ws_url), encoding="utf-8")
        page.goto(copy.as_uri())
        expect(page.locator("#recv")).to_have_text("Connected")
        page.fill("#sendTxt", "from the article")
        page.click("#sendBtn")
        expect(page.locator("#recv")).to_have_text("from the article")


def test_ws_course_serve_then_a_browser_on_the_printed_url(page):
    process = subprocess.Popen(
        [sys.executable, "-m", "ws_course", "serve", "scream", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        url = re.search(r"http://\S+/", process.stdout.readline())[0]
        page.goto(url)
        expect(page.locator("#state")).to_have_text("open")
        page.fill("#sendTxt", "from the command line")
        page.click("#sendBtn")
        expect(page.locator("#messages .reply")).to_have_text(["FROM THE COMMAND LINE!!!"])
        process.send_signal(signal.SIGINT)
        expect(page.locator("#state")).to_have_text("closed (code 1001)")
        assert process.wait(timeout=15) == 0
    finally:
        process.kill()
        process.wait()


#: Where each page tells whether it is connected.
CONNECTED = {"echo": "open", "scream": "open", "chat": "open", "json_chat": "open",
             "news": re.compile(r"connected \("), "event_chat": re.compile(r"connected \(")}


@pytest.mark.parametrize("demo", sorted(CONNECTED))
def test_a_page_whose_server_stops_says_what_to_do_and_reconnects_when_it_is_back(page, demo):
    server = start(demo)
    port = server.port
    page.goto(server.page_url)
    expect(page.locator("#state")).to_have_text(CONNECTED[demo])
    expect(page.locator("#hint")).to_be_hidden()
    server.stop()
    hint = page.locator("#hint")
    expect(hint).to_contain_text("The server is not running. Run the cell that starts it again, then the cell "
                                 "that shows this page: a server started again gets a new port.")
    expect(hint).to_contain_text("this page reconnects by itself")
    # Started again at the same address (as `ws-course serve` does): the page comes back by itself.
    with start(demo, port=port):
        expect(page.locator("#state")).to_have_text(CONNECTED[demo])
        expect(hint).to_be_hidden()


def test_an_embedded_page_whose_server_is_not_running_says_so_then_opens_when_it_is(page, monkeypatch):
    """show_page's frame, loaded while the server is down (JupyterLab draws outputs late), with no Jupyter server."""
    from ws_course.notebook import show_page

    for variable in ("JPY_PARENT_PID", "JUPYTERHUB_SERVICE_PREFIX", "JUPYTERHUB_API_TOKEN"):
        monkeypatch.delenv(variable, raising=False)
    server = start("echo")
    port = server.port
    server.stop()
    page.set_content(show_page(server.page_url).data)
    frame = page.frame_locator("iframe")
    expect(frame.locator("#note")).to_contain_text("This page's server is not running (no answer). Run the cell "
                                                   "that starts it, then this cell again")
    with start("echo", port=port):
        expect(frame.locator("#state")).to_have_text("open")
        expect(frame.locator("#recv")).to_have_text("Connected")
