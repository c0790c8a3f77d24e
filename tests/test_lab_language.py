"""The Chinese edition in the JupyterLab that ``python3 course.py lab --lang zh`` starts.

JupyterLab with the course's options for Chinese (its language pack chosen by an
``overrides.json`` of the course's: :func:`course.lab_options`), on a copy of the
lessons. A learner opens a lesson of ``zh/`` and runs it all from JupyterLab's
Chinese menus, with no error; then:

- 01 (echo): the client widget's button says 发送, Chinese text typed into the widget
  comes back from the echo server whole;
- 03 (chat) and 05 (Socket.IO event chat): the members' widgets and the page shown in
  the notebook (through JupyterLab's server, ``?lang=zh``) have Chinese labels, and
  Chinese typed into one member's box reaches another member and the page, and
  Chinese typed into the page reaches the members;
- each exercise's check says [通过] in Chinese.

What these lessons do in JupyterLab beyond that (many lines, the XSS demo, the last
step's effect on the pages) is played with in English, in tests/test_jupyterlab.py:
here only what proves the language.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
from pathlib import Path

import pytest
from lab_helpers import JupyterLab, menu, open_notebook, type_and_press_enter
from playwright.sync_api import expect

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def course_module():
    """course.py, loaded from its file (it is not a module of the package)."""
    spec = importlib.util.spec_from_file_location("course", NOTEBOOKS.parent / "course.py")
    course = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(course)
    return course


@pytest.fixture(scope="module")
def chinese_lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("lessons")
    shutil.copytree(NOTEBOOKS, root / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    home = tmp_path_factory.mktemp("lab-home")
    lab = JupyterLab(root / "notebooks", home, args=tuple(course_module().lab_options("zh", home / "venv")))
    yield lab
    lab.stop()


def test_jupyterlab_speaks_chinese_with_the_chinese_edition(chinese_lab):
    # The course's overrides.json changes the setting's default (a learner's own choice still wins).
    settings = chinese_lab.api("GET", "/lab/api/settings/@jupyterlab/translation-extension:plugin")
    assert settings["schema"]["properties"]["locale"]["default"] == "zh_CN"
    assert "locale" not in settings["settings"]
    assert chinese_lab.api("GET", "/lab/api/translations/zh_CN")["data"], "the Chinese language pack is not installed"


@pytest.fixture
def lab(chinese_lab):
    """The Chinese JupyterLab, for one lesson: afterwards the lesson's kernel is shut down (its servers with it)."""
    yield chinese_lab
    chinese_lab.shutdown_kernels()


def open_lesson(page, lab, name: str):
    """Open lesson ``zh/<name>`` in JupyterLab's Chinese UI; its panel."""
    panel = open_notebook(page, f"{lab.url}/?token={lab.token}", f"zh/{name}", idle="空闲")
    expect(page.locator(".lm-MenuBar-itemLabel").first).to_have_text(re.compile("文件"))  # File, in Chinese
    return panel


def run_all_in_chinese(page, panel) -> None:
    """Edit → Clear Outputs of All Cells, Run → Run All Cells, from the Chinese menus; no error, no stderr.

    (Cleared, the prompts lose their stored execution counts: a count on the last cell is this run's.)
    """
    menu(page, "编辑", "清除所有单元格的输出")  # Edit → Clear Outputs of All Cells
    expect(panel.locator(".jp-OutputArea-output")).to_have_count(0)
    menu(page, "运行", "运行所有单元格")  # Run → Run All Cells
    expect(panel.locator(".jp-CodeCell").last.locator(".jp-InputPrompt")).to_have_text(
        re.compile(r"\[\d+\]:"), timeout=90_000)
    expect(page.locator("#jp-main-statusbar")).to_contain_text("空闲", timeout=90_000)
    for kind in ("error", "stderr"):
        expect(panel.locator(f".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.{kind}']")).to_have_count(0)


def check_passes_in_chinese(panel) -> None:
    """The exercise: the learner's unfinished cell says [再试一次], the hidden solution [通过]; no English verdict."""
    expect(panel.locator(".jp-OutputArea-output", has_text="[通过] 做得好")).to_have_count(1)
    expect(panel.locator(".jp-OutputArea-output", has_text="[再试一次] 还差一点")).to_have_count(1)
    assert not panel.locator(".jp-OutputArea-output", has_text=re.compile(r"\[PASS\]|\[TRY AGAIN\]")).count()


def test_a_learner_runs_lesson_01_in_chinese_and_chinese_text_round_trips(lab, page):
    panel = open_lesson(page, lab, "01-echo.ipynb")
    expect(panel.locator(".jp-MarkdownCell h1").first).to_contain_text("你的第一个 WebSocket")
    run_all_in_chinese(page, panel)

    # The client widget speaks Chinese; what the learner types in Chinese comes back whole.
    client = panel.locator(".jp-CodeCell", has_text='client = WebSocketClient(server.ws_url, title="echo client")')
    box = client.locator(".message-box input")
    expect(client.locator(".message-box button")).to_have_text("发送")
    expect(client.locator("button.jupyter-button", has_text="关闭")).to_be_visible()
    type_and_press_enter(page, box, "你好，WebSocket！全双工通信")
    expect(client.locator(".jp-OutputArea-output")).to_contain_text("message: 你好，WebSocket！全双工通信")

    # The exercise: the hidden solution passes, and the check says so in Chinese.
    check_passes_in_chinese(panel)
    done = panel.locator(".jp-CodeCell").last.locator("button.jupyter-button", has_text="我学完了")
    done.click()
    expect(done).to_be_disabled()


#: What a page's words may hold in Latin letters in Chinese: the names of Socket.IO's transports
#: (``已连接（websocket）``) and of Socket.IO itself. Anything else is an English label left untranslated.
LATIN_ALLOWED = {"Socket.IO", "websocket", "polling"}

#: The runs of Latin letters a reader sees in a page, but not in what its server sent (``#messages``):
#: the text of its body, its title, its text boxes' placeholders and tooltips.
LATIN_IN_PAGE = r"""body => {
    const copy = body.cloneNode(true);
    copy.querySelectorAll("#messages, script, style").forEach(node => node.remove());
    const hints = [...body.querySelectorAll("[placeholder], [title]")].map(e => e.placeholder || e.title);
    const words = [document.title, copy.textContent, ...hints].join(" ");
    return words.match(/[A-Za-z][A-Za-z.]*[A-Za-z]/g) || [];
}"""


def expect_chinese_labels(frame, state: re.Pattern | str) -> None:
    """A chat page shown in the notebook speaks Chinese: its heading, box, button and state, and no other English."""
    expect(frame.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(frame.locator("h1")).to_have_text("聊天室")
    expect(frame.locator("#sendTxt")).to_have_attribute("placeholder", "说点什么")
    expect(frame.locator("#sendBtn")).to_have_text("发送")
    expect(frame.locator("p", has=frame.locator("#state"))).to_contain_text("套接字：")
    expect(frame.locator("#state")).to_have_text(state)
    expect_no_english(frame)


def expect_no_english(frame) -> None:
    """No English left in what the page itself says (what its server sent, in ``#messages``, may be)."""
    english = set(frame.locator("body").evaluate(LATIN_IN_PAGE)) - LATIN_ALLOWED
    assert not english, f"untranslated words in a Chinese page: {sorted(english)}"


def expect_members_in_chinese(room, count: int, closed: int) -> list:
    """A ``ChatRoomView`` after Run All: ``count`` members with 发送 and 关闭; member ``closed`` the lesson sent away.

    Returns the members' boxes (``.widget-vbox``), in the order they joined: user1 first.
    """
    members = room.locator(".widget-hbox > .widget-vbox")
    expect(members).to_have_count(count)
    expect(room.locator(".message-box button")).to_have_text(["发送"] * count)
    expect(room.locator("button.jupyter-button", has_text="关闭")).to_have_count(count)
    for index in range(count):
        box = members.nth(index).locator(".message-box input")
        placeholder = "已关闭：请再运行一次这个单元格" if index == closed else "输入一条消息"
        expect(box).to_have_attribute("placeholder", placeholder)
    expect(members.nth(closed)).to_contain_text("想再通信，请先运行启动服务器的单元格")
    return [members.nth(index) for index in range(count)]


def test_lesson_03_chat_in_chinese_widgets_and_page_carry_chinese_both_ways(lab, page):
    panel = open_lesson(page, lab, "03-chat.ipynb")
    run_all_in_chinese(page, panel)

    # The room's members (the lesson sent user2 away) and the chat page, through JupyterLab's server.
    room = panel.locator(".jp-CodeCell", has_text="room = await ChatRoomView.join(server.ws_url")
    user1, _user2, user3 = expect_members_in_chinese(room, count=3, closed=1)
    chat = panel.locator(".jp-CodeCell", has_text="show_page(server.page_url").frame_locator("iframe")
    expect_chinese_labels(chat, "已打开")

    # Chinese typed into user1's box reaches user3 and the page, as it was typed...
    said = "大家好，我是第一位成员：听得到吗？"
    type_and_press_enter(page, user1.locator(".message-box input"), said)
    expect(user3.locator(".client-log")).to_contain_text(said)
    expect(chat.locator("#messages div").last).to_have_text(said)
    # ... and Chinese typed into the page reaches the members.
    typed = "页面里的问候：你好，控件！"
    type_and_press_enter(page, chat.locator("#sendTxt"), typed)
    for member in (user1, user3):
        expect(member.locator(".client-log")).to_contain_text(typed)

    check_passes_in_chinese(panel)


def test_lesson_05_event_chat_in_chinese_widgets_and_page_carry_chinese_both_ways(lab, page):
    panel = open_lesson(page, lab, "05-socketio.ipynb")
    run_all_in_chinese(page, panel)

    # The news page, in Chinese; the event's name and data stay as the server sent them.
    news = panel.locator(".jp-CodeCell", has_text="show_page(news.page_url").frame_locator("iframe")
    expect(news.locator("h1")).to_have_text("Socket.IO 新闻")
    expect(news.locator("#messages div").first).to_have_text('news: {"hello":"world"}')
    expect_no_english(news)

    # The room's members (the lesson sent user3 away) and the event chat's page.
    room = panel.locator(".jp-CodeCell", has_text="room = await ChatRoomView.join(server.page_url")
    user1, user2, _user3 = expect_members_in_chinese(room, count=3, closed=2)
    chat = panel.locator(".jp-CodeCell", has_text="show_page(server.page_url").frame_locator("iframe")
    expect_chinese_labels(chat, re.compile(r"^已连接（(websocket|polling)）$"))

    # Chinese emitted from user1's box comes back to everyone as the server's "mes", whole...
    said = "你好，事件！这是第一位成员"
    type_and_press_enter(page, user1.locator(".message-box input"), said)
    expect(user2.locator(".client-log")).to_contain_text(f"user1 says: {said}")
    expect(chat.locator("#messages div").last).to_have_text(f"user1 says: {said}")
    # ... and so does Chinese typed into the page.
    typed = "从页面发出的中文消息"
    type_and_press_enter(page, chat.locator("#sendTxt"), typed)
    for member in (user1, user2):
        expect(member.locator(".client-log")).to_contain_text(re.compile(rf"user\d+ says: {typed}"))

    check_passes_in_chinese(panel)
