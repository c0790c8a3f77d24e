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


@pytest.mark.parametrize("demo", ["echo", "chat", "news"])
def test_without_lang_a_demo_serves_its_page_byte_for_byte(demo):
    with start(demo) as server:
        with urllib.request.urlopen(server.page_url, timeout=5) as response:
            served = response.read()
    assert served == (STATIC / f"{demo}.html").read_bytes()
