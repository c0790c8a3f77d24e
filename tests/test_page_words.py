"""The browser pages in Chinese (``?lang=zh``), in headless Chromium through Playwright.

The words come from the catalogs (:mod:`ws_course.language.pages`): the HTML's
written in Chinese by the server, the scripts' through their ``_()``. What the
server sends (``user1 comes in``, a close code) stays as the protocol says it.
"""

from __future__ import annotations

import re
import urllib.request

import pytest
from playwright.sync_api import expect

from ws_course import start
from ws_course.web.static import STATIC

NOT_RUNNING = "服务器没有在运行。请重新运行启动它的单元格，再运行显示这个页面的单元格"


def test_the_echo_page_in_chinese_sends_chinese_and_says_what_to_do_when_its_server_stops(page):
    server = start("echo")
    try:
        page.goto(server.page_url + "?lang=zh")
        expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
        expect(page.locator("h1")).to_have_text("回显测试（Echo Test）")
        expect(page.locator("#sendBtn")).to_have_text("发送")
        expect(page.locator("#sendTxt")).to_have_attribute("placeholder", "输入一条消息")
        expect(page.locator("#state")).to_have_text("已打开")
        expect(page.locator("#recv")).to_have_text("已连接")
        page.fill("#sendTxt", "你好，世界！WebSocket")
        page.click("#sendBtn")
        expect(page.locator("#recv")).to_have_text("你好，世界！WebSocket")
    finally:
        server.stop()
    expect(page.locator("#state")).to_have_text("已关闭（关闭码 1001）")
    expect(page.locator("#hint")).to_contain_text(NOT_RUNNING)
    expect(page.locator("#hint")).to_contain_text(" 秒后再试。）")
    expect(page.locator("#sendBtn")).to_be_disabled()


def test_the_chat_page_in_chinese_keeps_the_servers_words_and_says_what_to_do_when_it_stops(page):
    server = start("chat")
    try:
        page.goto(server.page_url + "?lang=zh")
        expect(page.locator("h1")).to_have_text("聊天室")
        expect(page.locator("#sendBtn")).to_have_text("发送")
        expect(page.locator("#sendTxt")).to_have_attribute("placeholder", "说点什么")
        expect(page.locator("p").first).to_have_text(re.compile(r"^套接字：\s*已打开$"))
        expect(page.locator("#messages div")).to_have_text(["user1 comes in"])  # the server's words: as sent
        page.fill("#sendTxt", "大家好 👋")
        page.press("#sendTxt", "Enter")
        expect(page.locator("#messages div")).to_have_text(["user1 comes in", "大家好 👋"])
    finally:
        server.stop()
    expect(page.locator("#state")).to_have_text("已关闭（关闭码 1001）")
    expect(page.locator("#hint")).to_contain_text(NOT_RUNNING)
    expect(page.locator("#hint")).to_contain_text("页面会自动重新连接：1 秒后再试。）")


def test_a_socketio_page_in_chinese_says_its_state_in_chinese(page):
    with start("news") as server:
        page.goto(server.page_url + "?transports=polling&lang=zh")
        expect(page.locator("h1")).to_have_text("Socket.IO 新闻")
        expect(page.locator("#state")).to_have_text("已连接（polling）")
        expect(page.locator("#messages div").first).to_contain_text("news: ")  # the event's name: as sent


def test_the_feeds_page_in_chinese_labels_its_four_ways_and_says_what_to_do_when_the_feed_stops(page):
    with start("news_feed", period=0.1) as server:
        page.goto(server.page_url + "?interval=100&lang=zh")
        expect(page.locator("h1")).to_have_text("同一个新闻源，四种方式")
        expect(page.locator("#short-poll h2")).to_have_text("短轮询，间隔 100 ms")
        expect(page.locator("#websocket dt")).to_have_text(["条数", "请求数", "最新", "耗时"])
        expect(page.locator("#websocket .state")).to_have_text("已打开")
        expect(page.locator("#short-poll .state")).to_have_text("轮询中")
        expect(page.locator("#websocket .latest")).to_have_text(re.compile(r"news item \d+"))  # the feed's words
    restart = "请运行启动新闻源的单元格（第 07a 课），然后刷新这个页面"
    expect(page.locator("#websocket .state")).to_have_text(f"已关闭：服务器不在了（关闭码 1001）；{restart}")
    expect(page.locator("#long-poll .state")).to_have_text(re.compile(rf"^已停止：服务器不在了（.+）：{restart}$"))


def test_another_sites_pages_say_joined_heard_and_refused_in_chinese_and_are_unchanged_without_lang(page):
    """Lesson 06a's attack pages, as ``show_another_site`` shows them in Chinese (``&lang=zh``).

    One room, which admits the other site's own origin but not ``null``: its page
    joins and hears, its sandboxed frame is refused. What the room says stays as sent.
    Without ``lang`` each page is served as it is on disk.
    """
    from ws_course.web import another_site

    site = another_site.start()
    try:
        for sandboxed, filename in ((False, "another-site.html"), (True, "another-site-sandboxed.html")):
            with urllib.request.urlopen(site.page_url("ws://127.0.0.1:9/", sandboxed=sandboxed), timeout=5) as response:
                assert response.read() == (STATIC / filename).read_bytes(), filename
        with start("chat", allow_origins=[site.origin]) as room:
            page.goto(site.page_url(room.ws_url) + "&lang=zh")
            expect(page.locator("h1")).to_have_text("另一个站点")
            expect(page.locator("p").first).to_contain_text("这个页面的源：")
            expect(page.locator("#state")).to_have_text("已加入")
            expect(page.locator("#heard div").first).to_have_text("收到：user1 comes in")
            page.goto(site.page_url(room.ws_url, sandboxed=True) + "&lang=zh")
            expect(page.locator("h1")).to_have_text("另一个站点，通过沙箱框架")
            expect(page.locator("#frame-origin")).to_have_text("null")
            expect(page.locator("#state")).to_have_text("被拒绝（关闭码 1006）")
    finally:
        site.stop()


def test_the_teachers_view_and_the_big_screen_in_chinese_from_serve_lang_zh(page, tmp_path):
    """``ws-course serve event-chat --lang zh`` prints Chinese addresses; the view links to a Chinese big screen."""
    from test_classroom_serve import Served

    served = Served(tmp_path, "event-chat", "--lang", "zh")
    try:
        assert served.printed[0].startswith(f"The event_chat server is running. Open {served.url}?lang=zh "), served.printed
        teacher = re.search(r"The teacher's view: (\S+)", served.printed[2])[1]
        assert teacher.endswith("&lang=zh"), served.printed
        assert served.printed[3] == f"The big screen: {served.url}screen?lang=zh\n"
        page.goto(teacher)
        expect(page.locator("h1")).to_have_text("教师视图")
        expect(page.locator("#rate-limit")).to_have_text("每秒 5 条消息")
        expect(page.locator("#members tbody")).to_have_text("还没有人")
        page.goto(page.locator("#screen-link").get_attribute("href"))
        expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
        expect(page.locator("header")).to_have_text(re.compile(r"^套接字：\s*已打开 · 0 人在聊天室里$"))
    finally:
        served.stop()


@pytest.mark.parametrize("demo, filename", [("echo", "echo.html"), ("chat", "chat.html"), ("news", "news.html"),
                                            ("news_feed", "feeds.html")])
def test_without_lang_a_demo_serves_its_page_byte_for_byte(demo, filename):
    with start(demo) as server:
        with urllib.request.urlopen(server.page_url, timeout=5) as response:
            served = response.read()
    assert served == (STATIC / filename).read_bytes()

