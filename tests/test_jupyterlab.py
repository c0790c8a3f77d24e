"""End to end: a learner's JupyterLab in headless Chromium, driven with the mouse.

nbval runs the notebooks, but it cannot see what a learner sees: output written
from a task started by a real click in the browser can be lost, while output from
``button.click()`` in code never is. So this test opens a notebook in a real
JupyterLab, runs it from the menu, then types into the widget client and clicks
its Send button with the mouse, and reads the reply in the page.
"""

from __future__ import annotations

import json
import re
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect

NOTEBOOKS = Path(__file__).parent.parent / "notebooks"
NOTEBOOK_PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class JupyterLab:
    """A JupyterLab server on a copy of the notebooks, with all its files in a temporary folder."""

    def __init__(self, root: Path, home: Path) -> None:
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}"
        # Render every cell, not only those in view, so the test can read any output.
        settings = home / "settings" / "@jupyterlab" / "notebook-extension"
        settings.mkdir(parents=True)
        (settings / "tracker.jupyterlab-settings").write_text('{"windowingMode": "none"}')
        env = {
            **os.environ,
            "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
            "HOME": str(home),
            "JUPYTER_CONFIG_DIR": str(home / "config"),
            "JUPYTER_DATA_DIR": str(home / "data"),
            "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
            "IPYTHONDIR": str(home / "ipython"),
        }
        self.log = open(home / "jupyterlab.log", "wb")
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root",
                "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}",
                f"--ServerApp.token={self.token}", f"--ServerApp.root_dir={root}",
                "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            ],
            env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                self.api("GET", "/api/status")
                break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"JupyterLab did not start: see {home / 'jupyterlab.log'}")
                time.sleep(0.25)

    def api(self, method: str, path: str):
        request = urllib.request.Request(
            self.url + path, method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
            return json.loads(body) if body else None

    def shutdown_kernels(self) -> None:
        for kernel in self.api("GET", "/api/kernels"):
            self.api("DELETE", f"/api/kernels/{kernel['id']}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory):
    root = tmp_path_factory.mktemp("lab-root")
    for notebook in NOTEBOOKS.glob("*.ipynb"):  # a copy: JupyterLab may save what it opens
        shutil.copy(notebook, root)
    lab = JupyterLab(root, tmp_path_factory.mktemp("lab-home"))
    yield lab
    lab.stop()


def open_notebook(page, lab: JupyterLab, name: str):
    page.goto(f"{lab.url}/lab/tree/{name}?reset&token={lab.token}")
    panel = page.locator(NOTEBOOK_PANEL)
    expect(panel.locator(".jp-Cell").first).to_be_visible(timeout=60_000)
    expect(page.locator("#jp-main-statusbar")).to_contain_text("Idle", timeout=60_000)
    news = page.locator(".jp-toast-button", has_text="No")  # "get notified about Jupyter news?"
    if news.count():
        news.first.click()
    return panel


def menu(page, *items: str) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text=items[0]).click()
    for item in items[1:]:
        page.locator(".lm-Menu-itemLabel", has_text=item).first.click()


def run_cell(page, cell) -> None:
    """Select a cell (click its prompt, as a learner would) and run it with Shift+Enter."""
    cell.locator(".jp-InputPrompt").click()
    page.keyboard.press("Shift+Enter")


def newest_line_in_view(cell) -> bool:
    """Whether a widget's event log has more lines than it shows, and shows its newest one."""
    return cell.evaluate(
        """cell => {
            const logs = [...cell.querySelectorAll("div")].filter(d => d.style.flexDirection === "column-reverse");
            const log = logs[logs.length - 1];
            const lines = log.firstElementChild.children;
            const newest = lines[lines.length - 1].getBoundingClientRect();
            const box = log.getBoundingClientRect();
            return log.scrollHeight > log.clientHeight && newest.top >= box.top - 1 && newest.bottom <= box.bottom + 1;
        }"""
    )


def type_and_press_enter(page, box, text: str) -> None:
    box.click()
    box.fill(text)
    box.press("Enter")


def run_all_from_scratch(page, panel) -> None:
    """Clear every output, Run All, wait for the last cell; check it went through without errors."""
    menu(page, "Edit", "Clear Outputs of All Cells")
    expect(panel.locator(".jp-OutputArea-output")).to_have_count(0)
    menu(page, "Run", "Run All Cells")
    last_prompt = panel.locator(".jp-CodeCell").last.locator(".jp-InputPrompt")
    expect(last_prompt).to_have_text(re.compile(r"\[\d+\]:"), timeout=90_000)
    expect(panel.locator(".jp-OutputArea-output", has_text="[PASS] Well done")).to_have_count(1)
    expect(panel.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")).to_have_count(0)


def test_a_real_click_on_send_shows_the_reply_in_jupyterlab(jupyterlab, page):
    page.set_default_timeout(30_000)
    panel = open_notebook(page, jupyterlab, "01-echo.ipynb")
    try:
        # Run All, from cleared outputs: every output seen below comes from this run.
        run_all_from_scratch(page, panel)
        last_cell = panel.locator(".jp-CodeCell").last
        expect(last_cell.locator(".jp-OutputArea-output")).to_have_text("(1000, '')")

        # The hidden solution: one click on its grey line shows the code, as the lesson says.
        solution_code = panel.locator(".jp-InputArea-editor", has_text="assert await check_ask(ask)")
        expect(solution_code).to_have_count(0)
        placeholder = panel.locator(".jp-InputPlaceholder")
        expect(placeholder).to_have_count(1)
        placeholder.click()
        expect(solution_code).to_be_visible()

        # The clean-up stopped the server. Re-run the cells that start the server, the
        # client widget and the embedded page, as a learner coming back to them would.
        for source in ['server = ws_course.start("echo")', "client = WebSocketClient(", "show_page(server.page_url)"]:
            run_cell(page, panel.locator(".jp-CodeCell", has_text=source))
        client_cell = panel.locator(".jp-CodeCell", has_text="client = WebSocketClient(")
        expect(client_cell.locator(".jp-OutputArea-output")).to_contain_text("OPEN")

        # The widget client, driven with the keyboard and the mouse: Enter sends and empties the box.
        box = client_cell.locator(".widget-text input")
        type_and_press_enter(page, box, "typed in the browser")
        expect(client_cell.locator(".jp-OutputArea-output")).to_contain_text("message: typed in the browser")
        expect(box).to_have_value("")
        box.fill("clicked")
        client_cell.locator("button.jupyter-button", has_text="Send").click()
        expect(client_cell.locator(".jp-OutputArea-output")).to_contain_text("message: clicked")
        expect(box).to_have_value("")
        # More lines than the log shows: it keeps the newest in view.
        for number in range(12):
            type_and_press_enter(page, box, f"line {number}")
        expect(client_cell.locator(".jp-OutputArea-output")).to_contain_text("message: line 11")
        assert newest_line_in_view(client_cell)

        # The embedded page connects to the server running in the kernel's process,
        # and works with a real click too.
        frame = panel.locator(".jp-CodeCell", has_text="show_page(server.page_url)").frame_locator("iframe")
        expect(frame.locator("#recv")).to_have_text("Connected")
        frame.locator("#sendTxt").fill("from the page")
        frame.locator("#sendBtn").click()
        expect(frame.locator("#recv")).to_have_text("from the page")

        # The clean-up cell again: it closes the client and stops the server.
        run_cell(page, last_cell)
        expect(frame.locator("#state")).to_have_text("closed (code 1001)")
        expect(client_cell.locator(".jp-OutputArea-output")).to_contain_text("close: code 1000")
    finally:
        jupyterlab.shutdown_kernels()


def test_chat_markup_runs_in_the_articles_sandboxed_page_and_stays_text_in_ours(jupyterlab, page):
    """Lesson 03's XSS demo: the payload runs in the article's page (sandboxed), and is text everywhere else."""
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.set_default_timeout(30_000)
    panel = open_notebook(page, jupyterlab, "03-chat.ipynb")
    try:
        # The embedded pages join the room while the notebook runs, whenever the
        # browser gets to them: the cells after them cope (they wait for their message).
        run_all_from_scratch(page, panel)

        # Again, step by step, so that the pages are surely in the room for the payload.
        for source in ["room = await ChatRoomView.join", 'user1.text.value = "Hello, everyone!"',
                       "newcomer = ChatClient(", "show_page(server.page_url", "show_xss_demo(server.page_url)"]:
            run_cell(page, panel.locator(".jp-CodeCell", has_text=source))
        demo = panel.locator(".jp-CodeCell", has_text="show_xss_demo(server.page_url)")
        article, ours = demo.frame_locator("iframe.article-page"), demo.frame_locator("iframe.our-page")
        expect(ours.locator("#state")).to_have_text("open")
        expect(ours.locator("#messages div").first).to_have_text(re.compile(r"user\d+ comes in"))
        # The article's page has no state line: it is in the room once it hears our page arrive after it.
        expect(article.locator("body > div").first).to_have_text(re.compile(r"user\d+ comes in"))
        expect(article.locator("h1")).to_have_text("Chat Room")
        run_cell(page, panel.locator(".jp-CodeCell", has_text="payload = "))

        payload = ("<img src=x onerror=\"document.body.style.background='crimson'; "
                   "document.querySelector('h1').textContent='Hacked by a chat message!'\">")
        # In the article's page, the markup ran: its title changed.
        expect(article.locator("h1")).to_have_text("Hacked by a chat message!")
        # In ours, in the other page and in the widgets, it is the characters, as typed.
        expect(ours.locator("#messages div").last).to_have_text(payload)
        expect(ours.locator("h1")).to_have_text("Chat Room")
        chat_page = panel.locator(".jp-CodeCell", has_text="show_page(server.page_url").frame_locator("iframe")
        expect(chat_page.locator("#messages div").last).to_have_text(payload)
        room = panel.locator(".jp-CodeCell", has_text="room = await ChatRoomView.join").locator(".jp-OutputArea-output")
        expect(room).to_contain_text(payload)
        assert panel.locator(".jp-OutputArea-output img[src='x']").count() == 0
        assert ours.locator("#messages img").count() == 0
        assert dialogs == []
        run_cell(page, panel.locator(".jp-CodeCell").last)  # clean up
        expect(chat_page.locator("#state")).to_have_text("closed (code 1001)")
    finally:
        jupyterlab.shutdown_kernels()


def test_the_socketio_lesson_runs_in_jupyterlab_with_its_pages(jupyterlab, page):
    """Lesson 05 in a real JupyterLab: widgets on python-socketio, pages on the official JS client."""
    page.set_default_timeout(30_000)
    panel = open_notebook(page, jupyterlab, "05-socketio.ipynb")
    try:
        run_all_from_scratch(page, panel)
        news = panel.locator(".jp-CodeCell", has_text="show_page(news.page_url").frame_locator("iframe")
        expect(news.locator("#messages div").first).to_have_text('news: {"hello":"world"}')
        chat = panel.locator(".jp-CodeCell", has_text="show_page(server.page_url").frame_locator("iframe")
        expect(chat.locator("#messages div").first).to_contain_text("comes in")  # the page joined the room

        # The clean-up stopped the servers: the pages saw it, and will not reconnect.
        for frame in (news, chat):
            expect(frame.locator("#state")).to_have_text("disconnected (io server disconnect)")

        # Back to the room, as a learner would: a new server and members, the page joins it,
        # and a member typed into with real key presses is heard, the newest lines in view.
        for source in ["room = await ChatRoomView.join", "show_page(server.page_url"]:
            run_cell(page, panel.locator(".jp-CodeCell", has_text=source))
        room = panel.locator(".jp-CodeCell", has_text="room = await ChatRoomView.join")
        expect(chat.locator("#state")).to_contain_text("connected (")
        first_box = room.locator(".widget-text input").first
        for number in range(12):
            type_and_press_enter(page, first_box, f"line {number}")
        expect(room.locator(".jp-OutputArea-output")).to_contain_text("user1 says: line 11")
        expect(chat.locator("#messages div").last).to_have_text("user1 says: line 11")
        expect(first_box).to_have_value("")
        assert newest_line_in_view(room)
        run_cell(page, panel.locator(".jp-CodeCell").last)  # clean up
    finally:
        jupyterlab.shutdown_kernels()


def test_the_measured_lesson_runs_in_jupyterlab_with_its_plot_table_and_page(jupyterlab, page):
    """Lesson 07 in a real JupyterLab: the measurements, the plot and table, the four ways in the page."""
    page.set_default_timeout(30_000)
    panel = open_notebook(page, jupyterlab, "07-polling-measured.ipynb")
    try:
        run_all_from_scratch(page, panel)
        measured = panel.locator(".jp-CodeCell", has_text="display(plot(runs), table(runs))")
        expect(measured.locator(".jp-RenderedImage img")).to_have_count(1)
        expect(measured.locator("table tbody tr")).to_have_count(15)
        feeds = panel.locator(".jp-CodeCell", has_text="show_page(server.page_url").frame_locator("iframe")
        for way in ("short-poll", "long-poll", "events", "websocket"):
            expect(feeds.locator(f"#{way} .latest")).to_have_text(re.compile(r"news item \d+"))
        # The clean-up stopped the server: the page saw it.
        expect(feeds.locator("#websocket .state")).to_have_text("closed (code 1001)")
        expect(feeds.locator("#short-poll .state")).to_have_text("stopped: the server is gone")
    finally:
        jupyterlab.shutdown_kernels()


def test_the_protocol_lesson_runs_in_jupyterlab_and_its_server_answers_the_page_and_the_widget(jupyterlab, page):
    """Lesson 08 in a real JupyterLab: frames as tables, and the handmade server talking to a real page."""
    page.set_default_timeout(30_000)
    panel = open_notebook(page, jupyterlab, "08-protocol-by-hand.ipynb")
    try:
        run_all_from_scratch(page, panel)
        hello = panel.locator(".jp-CodeCell", has_text="hello = handmade.encode_frame(")
        expect(hello.locator(".jp-RenderedMarkdown table tr")).to_have_count(5)  # the header and four fields
        expect(hello.locator(".jp-RenderedMarkdown table")).to_contain_text("unmasked: 5 bytes of text: 'Hello'")

        # Back to the handmade server, as a learner would: the server, the widget, the page.
        for source in ['server = ws_course.start("handmade")', "client = WebSocketClient(", "show_page(server.page_url)"]:
            run_cell(page, panel.locator(".jp-CodeCell", has_text=source))
        echo_page = panel.locator(".jp-CodeCell", has_text="show_page(server.page_url)").frame_locator("iframe")
        expect(echo_page.locator("#recv")).to_have_text("Connected")
        echo_page.locator("#sendTxt").fill("typed in the page")
        echo_page.locator("#sendBtn").click()
        expect(echo_page.locator("#recv")).to_have_text("typed in the page")
        client_cell = panel.locator(".jp-CodeCell", has_text="client = WebSocketClient(")
        expect(client_cell.locator(".jp-OutputArea-output")).to_contain_text("OPEN")
        type_and_press_enter(page, client_cell.locator(".widget-text input"), "typed in the widget")
        expect(client_cell.locator(".jp-OutputArea-output")).to_contain_text("message: typed in the widget")

        run_cell(page, panel.locator(".jp-CodeCell").last)  # clean up
        expect(echo_page.locator("#state")).to_have_text("closed (code 1001: going away)")
    finally:
        jupyterlab.shutdown_kernels()
