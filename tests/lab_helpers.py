"""Drive a real JupyterLab in headless Chromium: what the JupyterLab and JupyterHub tests share.

- :class:`JupyterLab` starts ``jupyter lab`` on a free loopback port (at ``/`` or under a
  ``base_url``), with every file it writes in a temporary folder.
- :func:`open_notebook`, :func:`menu`, :func:`run_cell` and :func:`run_all_from_scratch`
  do what a learner does with the mouse and the keyboard.
- :class:`Traffic` records every HTTP request and WebSocket a browser context opens, in
  every frame, so that a test can say where the browser went.
- :func:`stop_process` stops a process we started, by its PID, and waits for it.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import expect

NOTEBOOKS = Path(__file__).parent.parent / "notebooks"
NOTEBOOK_PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"

#: What a page embedded through jupyter-server-proxy shows when its server shuts down.
#: The server closes with 1001 (going away), but jupyter-server-proxy 4.6 closes the
#: browser's side without a code, which the browser reports as 1005 (no status). The page
#: then tries again by itself (static/course.js): a try that meets no server ends in 1006,
#: and on a busy machine that may be what the page shows by the time the test looks.
PROXIED_SERVER_SHUTDOWN = re.compile(r"closed \(code 100[56]\)")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def jupyter_env(home: Path) -> dict[str, str]:
    """An environment in which Jupyter, IPython and JupyterLab write only under ``home``."""
    # Render every cell, not only those in view, so the test can read any output.
    settings = home / "settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True, exist_ok=True)
    (settings / "tracker.jupyterlab-settings").write_text('{"windowingMode": "none"}')
    return {
        **os.environ,
        "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
        "HOME": str(home),
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_DATA_DIR": str(home / "data"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "IPYTHONDIR": str(home / "ipython"),
    }


#: Options that keep JupyterLab from asking the internet for news and updates.
QUIET_LAB = ["--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]


def wait_until_up(
    url: str, process: subprocess.Popen, what: str, log: Path, timeout: float = 60, any_status: bool = True
) -> None:
    """Wait until ``url`` answers (with any HTTP status, or only a success), or fail if ``process`` ended."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=5).close()
            return
        except OSError as error:
            if any_status and isinstance(error, urllib.error.HTTPError):
                return  # it answered
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not start: see {log}") from None
            time.sleep(0.2)


def stop_process(process: subprocess.Popen, timeout: float = 20) -> None:
    """Stop a process we started (SIGTERM to its PID, then SIGKILL) and reap it."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class JupyterLab:
    """A JupyterLab server on a folder of notebooks, with all its files in a temporary folder.

    Args:
        root: The folder JupyterLab shows.
        home: A folder for its settings, runtime files, kernels' IPython files and log.
        base_url: Where JupyterLab lives on its server, ``/`` or e.g. ``/some/prefix/``.
        args: More options for ``jupyter lab``.
        env: More environment variables, for it and its kernels.

    Attributes:
        url: Its address, without a trailing slash: ``http://127.0.0.1:PORT/some/prefix``.
    """

    def __init__(
        self, root: Path, home: Path, base_url: str = "/", args: tuple[str, ...] = (), env: dict[str, str] | None = None
    ) -> None:
        root.mkdir(parents=True, exist_ok=True)
        home.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.base_url = base_url
        self.url = f"http://127.0.0.1:{self.port}{base_url.rstrip('/')}"
        self.home = home
        self.runtime_dir = home / "runtime"
        self.log_path = home / "jupyterlab.log"
        self.log = open(self.log_path, "wb")
        # Its kernels talk to it over Unix sockets, not TCP ports: a TCP kernel's ports are
        # chosen by the server, then bound by the kernel a second or two later, and on a
        # machine where tests open hundreds of ports another process took one in between
        # (the kernel died with "Address already in use" and JupyterLab said "Connecting"
        # for good). The sockets' paths must stay short (a Unix socket's path has at most
        # 107 bytes): a folder of their own in the temporary folder.
        self.kernel_sockets = tempfile.mkdtemp(prefix="ws-kernels-")
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root",
                "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}",
                f"--ServerApp.base_url={base_url}",
                f"--ServerApp.token={self.token}", f"--ServerApp.root_dir={root}", *QUIET_LAB,
                "--KernelManager.transport=ipc", f"--KernelManager.ip={self.kernel_sockets}/kernel", *args,
            ],
            env={**jupyter_env(home), **(env or {})}, stdout=self.log, stderr=subprocess.STDOUT,
        )
        try:
            wait_until_up(f"{self.url}/api/status", self.process, "JupyterLab", self.log_path)
        except RuntimeError:
            self.stop()
            raise

    def api(self, method: str, path: str, body: dict | None = None):
        request = urllib.request.Request(
            self.url + path, method=method, headers={"Authorization": f"token {self.token}"},
            data=None if body is None else json.dumps(body).encode(),
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            data = response.read()
            return json.loads(data) if data else None

    def open_notebook(self, page, name: str):
        """Open notebook ``name`` in ``page`` (logging in with the token); return its panel."""
        return open_notebook(page, f"{self.url}/?token={self.token}", name)

    def shutdown_kernels(self) -> None:
        for kernel in self.api("GET", "/api/kernels"):
            self.api("DELETE", f"/api/kernels/{kernel['id']}")

    def stop(self) -> None:
        stop_process(self.process)
        self.log.close()
        shutil.rmtree(self.kernel_sockets, ignore_errors=True)


def open_notebook(page, url: str, name: str, idle: str = "Idle"):
    """Open notebook ``name`` at the JupyterLab at ``url`` (with ``?token=`` or a login cookie).

    ``idle``: what the status bar says of an idle kernel, in JupyterLab's language (空闲 in Chinese).
    """
    address = urlsplit(url)
    query = f"reset&{address.query}" if address.query else "reset"
    page.goto(f"{address.scheme}://{address.netloc}{address.path.rstrip('/')}/lab/tree/{name}?{query}")
    panel = page.locator(NOTEBOOK_PANEL)
    expect(panel.locator(".jp-Cell").first).to_be_visible(timeout=60_000)
    expect(page.locator("#jp-main-statusbar")).to_contain_text(idle, timeout=60_000)
    news = page.locator(".jp-toast-button", has_text="No")  # "get notified about Jupyter news?"
    if news.count():
        news.first.click()
    return panel


def menu(page, *items: str) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text=items[0]).click()
    for item in items[1:]:
        page.locator(".lm-Menu-itemLabel", has_text=item).first.click()


#: How long a cell run from the keyboard may take, in milliseconds (some start servers, processes, Redis).
CELL_TIMEOUT = 60_000


def run_cell(page, cell, timeout: float = CELL_TIMEOUT) -> None:
    """Select a cell (click its prompt, as a learner would), run it with Shift+Enter, and wait until it ran.

    It ran when its prompt went to ``[*]:`` (waiting or running) and then to an execution
    count, and the kernel is idle again: what the test does next sees the cell's effects.
    (The count alone says nothing: a notebook opens with the counts it was saved with,
    and a fresh kernel counts from 1 again.)
    """
    # Shift+Enter on the last cell adds a new one below it: a locator like ``.last``
    # would then find the new cell. Find this one again by its place among the code cells.
    index = cell.evaluate("c => [...c.closest('.jp-Notebook').querySelectorAll('.jp-CodeCell')].indexOf(c)")
    prompt = page.locator(NOTEBOOK_PANEL).locator(".jp-CodeCell").nth(index).locator(".jp-InputPrompt")
    prompt.evaluate(WATCH_PROMPT)
    prompt.click()
    page.keyboard.press("Shift+Enter")
    expect(prompt).to_have_attribute("data-test-run", "ran", timeout=timeout)
    expect(page.locator("#jp-main-statusbar")).to_contain_text("Idle", timeout=timeout)


#: Watches a cell's prompt, from before the key press on: ``data-test-run`` becomes
#: "running" at ``[*]:`` and "ran" at the execution count that follows.
WATCH_PROMPT = r"""prompt => {
    prompt.dataset.testRun = "pressed";
    const watch = new MutationObserver(() => {
        if (prompt.textContent.includes("*")) {
            prompt.dataset.testRun = "running";
        } else if (prompt.dataset.testRun === "running" && /\[\d+\]/.test(prompt.textContent)) {
            prompt.dataset.testRun = "ran";
            watch.disconnect();
        }
    });
    watch.observe(prompt, {childList: true, characterData: true, subtree: true});
}"""


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
    """Type ``text`` into a widget's text box with the keyboard, and press Enter."""
    box.click()
    box.fill(text)
    box.press("Enter")


def run_all(page, panel, timeout: float = 90_000) -> None:
    """Run → Run All Cells from the menu bar; wait until the last cell has run, with no error."""
    menu(page, "Run", "Run All Cells")
    last_prompt = panel.locator(".jp-CodeCell").last.locator(".jp-InputPrompt")
    expect(last_prompt).to_have_text(re.compile(r"\[\d+\]:"), timeout=timeout)
    expect(panel.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")).to_have_count(0)
    expect(panel.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']")).to_have_count(0)


def run_all_from_scratch(page, panel) -> None:
    """Clear every output, Run All, wait for the last cell; check it went through without errors.

    Every exercise's hidden solution passes: one "[PASS] Well done" for each "Your turn".
    """
    menu(page, "Edit", "Clear Outputs of All Cells")
    expect(panel.locator(".jp-OutputArea-output")).to_have_count(0)
    run_all(page, panel)
    exercises = panel.locator(".jp-MarkdownCell h2", has_text=re.compile(r"^Your turn")).count()
    assert exercises >= 1, "no exercise found: is the lesson rendered?"
    expect(panel.locator(".jp-OutputArea-output", has_text="[PASS] Well done")).to_have_count(exercises)


class Traffic:
    """Every HTTP request and WebSocket URL a browser context opens, in every page and frame.

    Playwright reports a frame's requests on the context (``context.on("request")``)
    whichever page or iframe made them, service workers' requests too, and each
    page's WebSockets on the page (``page.on("websocket")``, frames included).
    """

    def __init__(self, context) -> None:
        self.requests: list[str] = []
        self.websockets: list[str] = []
        context.on("request", lambda request: self.requests.append(request.url))
        context.on("page", self.watch)
        for page in context.pages:
            self.watch(page)

    def watch(self, page) -> None:
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("websocket", lambda websocket: self.websockets.append(websocket.url))

    @property
    def urls(self) -> list[str]:
        return self.requests + self.websockets

    def ports(self) -> set[int | None]:
        """The ports the browser connected to (None for data: and other URLs without a host)."""
        return {urlsplit(url).port if urlsplit(url).hostname else None for url in self.urls}

    def check_only_through(self, port: int, base_url: str, demo_ports: set[int]) -> None:
        """Every URL went to ``port``; the demo pages' traffic went through ``{base_url}proxy/``.

        The JSON chat page's WebSocket and the Socket.IO page's long-polling
        requests (and no Socket.IO WebSocket) must be among them.
        """
        assert self.ports() <= {port, None}, [url for url in self.urls if urlsplit(url).port != port]
        assert not demo_ports & self.ports()
        proxied = [urlsplit(url) for url in self.urls if "/proxy/" in url]
        assert proxied and all(url.path.startswith(base_url + "proxy/") for url in proxied), proxied
        assert any(url.scheme == "ws" for url in proxied), "no WebSocket through the proxy"
        polls = [url for url in proxied if url.path.endswith("/socket.io/")]
        assert polls and all("transport=polling" in url.query for url in polls), polls
