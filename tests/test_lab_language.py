"""The Chinese edition in the JupyterLab that ``python3 course.py lab --lang zh`` starts.

JupyterLab with the course's options for Chinese (its language pack chosen by an
``overrides.json`` of the course's: :func:`course.lab_options`), on a copy of the
lessons. A learner opens ``zh/01-echo.ipynb`` and runs it all from JupyterLab's
Chinese menus; the client widget's button says 发送, Chinese text typed into the
widget comes back from the echo server whole, and the exercise's check says
[通过] in Chinese.
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


def test_a_learner_runs_lesson_01_in_chinese_and_chinese_text_round_trips(chinese_lab, browser):
    context = browser.new_context()
    page = context.new_page()
    try:
        panel = open_notebook(page, f"{chinese_lab.url}/?token={chinese_lab.token}", "zh/01-echo.ipynb", idle="空闲")
        expect(page.locator(".lm-MenuBar-itemLabel").first).to_have_text(re.compile("文件"))  # File, in Chinese
        expect(panel.locator(".jp-MarkdownCell h1").first).to_contain_text("你的第一个 WebSocket")
        menu(page, "编辑", "清除所有单元格的输出")  # Edit → Clear Outputs of All Cells
        expect(panel.locator(".jp-OutputArea-output")).to_have_count(0)
        menu(page, "运行", "运行所有单元格")  # Run → Run All Cells
        expect(panel.locator(".jp-CodeCell").last.locator(".jp-InputPrompt")).to_have_text(
            re.compile(r"\[\d+\]:"), timeout=90_000)
        for kind in ("error", "stderr"):
            expect(panel.locator(f".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.{kind}']")).to_have_count(0)

        # The client widget speaks Chinese; what the learner types in Chinese comes back whole.
        client = panel.locator(".jp-CodeCell", has_text='client = WebSocketClient(server.ws_url, title="echo client")')
        box = client.locator(".message-box input")
        expect(client.locator(".message-box button")).to_have_text("发送")
        expect(client.locator("button.jupyter-button", has_text="关闭")).to_be_visible()
        type_and_press_enter(page, box, "你好，WebSocket！全双工通信")
        expect(client.locator(".jp-OutputArea-output")).to_contain_text("message: 你好，WebSocket！全双工通信")

        # The exercise: the hidden solution passes, and the check says so in Chinese.
        expect(panel.locator(".jp-OutputArea-output", has_text="[通过] 做得好")).to_have_count(1)
        expect(panel.locator(".jp-OutputArea-output", has_text="[再试一次] 还差一点")).to_have_count(1)
        assert not panel.locator(".jp-OutputArea-output", has_text="Well done").count()
        done = panel.locator(".jp-CodeCell").last.locator("button.jupyter-button", has_text="我学完了")
        done.click()
        expect(done).to_be_disabled()
    finally:
        chinese_lab.shutdown_kernels()
        context.close()
