"""Pages through the Jupyter server: a JupyterLab under a path prefix, as on a hub.

A notebook's ``show_page(server.page_url)`` must give the browser an address on
the Jupyter server's own origin (``{base_url}proxy/PORT/``), because on a remote
Jupyter the browser cannot reach ``127.0.0.1:PORT``. Here a real JupyterLab runs
with ``--ServerApp.base_url=/some/prefix/``; a notebook starts two demo servers
and embeds their pages; the test checks that messages cross both ways between each
page and a widget in the kernel, over a WebSocket and over Socket.IO long-polling,
and that the browser never went to a demo server's own port.

The small tests at the top check :mod:`ws_course.web.jupyter` against the same real
server, and against the cases without one (pytest, nbval, scripts).
"""

from __future__ import annotations

import os

import pages_notebook
import pytest
from lab_helpers import JupyterLab, Traffic, run_all
from pages_notebook import check_pages_and_widgets_talk, write_notebook
from playwright.sync_api import expect
from proxy_headers import HeaderRecorder, origin_matches_host

from ws_course.web import jupyter
from ws_course.web.jupyter import browser_url, find_server

PREFIX = "/some/prefix/"


@pytest.fixture(scope="module")
def prefixed_lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("prefixed-lab-root")
    write_notebook(root / "through-the-proxy.ipynb", pages_notebook.CELLS)
    lab = JupyterLab(root, tmp_path_factory.mktemp("prefixed-lab-home"), base_url=PREFIX)
    yield lab
    lab.stop()


@pytest.fixture
def no_jupyter(monkeypatch):
    """This process as a plain script sees it: no Jupyter server, no hub."""
    for variable in ("JPY_PARENT_PID", "JUPYTERHUB_SERVICE_PREFIX", "JUPYTERHUB_API_TOKEN"):
        monkeypatch.delenv(variable, raising=False)
    return monkeypatch


def as_kernel_of(monkeypatch, lab: JupyterLab) -> None:
    """Give this process the environment a kernel of ``lab`` has."""
    monkeypatch.setenv("JPY_PARENT_PID", str(lab.process.pid))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(lab.runtime_dir))


def test_without_a_jupyter_server_a_page_keeps_its_address(no_jupyter):
    assert find_server() is None
    assert browser_url("http://127.0.0.1:8001/?transports=polling") == "http://127.0.0.1:8001/?transports=polling"
    # A kernel started by nbval or nbconvert: its parent (this process) is no Jupyter server.
    no_jupyter.setenv("JPY_PARENT_PID", str(os.getpid()))
    assert find_server() is None
    assert browser_url("http://127.0.0.1:8001/") == "http://127.0.0.1:8001/"


def test_on_a_hub_the_service_prefix_says_where_pages_are(no_jupyter):
    no_jupyter.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/alice/")
    assert browser_url("http://127.0.0.1:8001/?transports=polling") == "/user/alice/proxy/8001/?transports=polling"
    # Only this machine's pages go through the proxy; other addresses are left alone.
    assert browser_url("http://192.0.2.7:8001/") == "http://192.0.2.7:8001/"
    assert browser_url("ws://127.0.0.1:8001/") == "ws://127.0.0.1:8001/"


def test_a_kernel_finds_its_jupyter_server_and_its_proxy(prefixed_lab, no_jupyter):
    as_kernel_of(no_jupyter, prefixed_lab)
    server = find_server()
    assert server is not None
    assert (server.base_url, server.proxy) == (PREFIX, True)
    assert browser_url("http://localhost:8001/page?x=1") == "/some/prefix/proxy/8001/page?x=1"


@pytest.mark.jupyterlab  # it starts one itself (the fixtures' marks are automatic)
def test_a_jupyter_server_without_the_proxy_keeps_the_direct_address(tmp_path, no_jupyter):
    # What "jupyter server extension disable jupyter_server_proxy" writes.
    config = tmp_path / "home" / "config" / "jupyter_server_config.json"
    config.parent.mkdir(parents=True)
    config.write_text('{"ServerApp": {"jpserver_extensions": {"jupyter_server_proxy": false}}}')
    lab = JupyterLab(tmp_path / "root", tmp_path / "home")
    try:
        as_kernel_of(no_jupyter, lab)
        assert find_server().proxy is False
        assert browser_url("http://127.0.0.1:8001/") == "http://127.0.0.1:8001/"
    finally:
        lab.stop()
    jupyter._has_proxy.cache_clear()


def test_pages_work_through_the_jupyter_server_under_a_prefix(prefixed_lab, browser):
    context = browser.new_context()
    traffic = Traffic(context)
    page = context.new_page()
    try:
        panel = prefixed_lab.open_notebook(page, "through-the-proxy.ipynb")
        run_all(page, panel)
        demo_ports = check_pages_and_widgets_talk(panel, PREFIX)

        # "Open the page in a new browser tab": a tab of its own, through the proxy too.
        with context.expect_page() as new_tab:
            panel.locator(".jp-CodeCell").nth(2).locator("a", has_text="Open the page").click()
        tab = new_tab.value
        expect(tab.locator("#state")).to_have_text("open")
        expect(tab.locator("#messages div").first).to_have_text("user3 comes in")
    finally:
        prefixed_lab.shutdown_kernels()
        context.close()

    # Where the browser went: only to the Jupyter server, never to a demo server's port.
    traffic.check_only_through(prefixed_lab.port, PREFIX, demo_ports)


def test_what_a_demo_server_sees_through_jupyter_server_proxy(prefixed_lab, page):
    """Headers for an origin check: Host and Origin both say the Jupyter server; nothing forwarded."""
    recorder = HeaderRecorder()
    try:
        page.goto(f"{prefixed_lab.url}/api/status?token={prefixed_lab.token}")  # logs in: a cookie
        recorder.visit(page, f"{prefixed_lab.url}/proxy/{recorder.port}/")
    finally:
        recorder.stop()
    jupyter = f"127.0.0.1:{prefixed_lab.port}"
    seen = recorder.headers
    assert {seen[kind]["Host"] for kind in ("page", "websocket", "poll")} == {jupyter}
    assert "Origin" not in seen["page"]  # a browser sends none when it navigates
    assert seen["websocket"]["Origin"] == seen["poll"]["Origin"] == f"http://{jupyter}"
    for kind in ("page", "websocket", "poll"):
        assert not {"X-Forwarded-Host", "X-Forwarded-Proto", "X-Forwarded-For"} & set(seen[kind]), seen[kind]
    # jupyter-server-proxy says where it serves the page, on plain HTTP requests only.
    assert seen["page"]["X-Forwarded-Prefix"] == seen["poll"]["X-Forwarded-Prefix"] == f"{PREFIX}proxy/{recorder.port}"
    assert "X-Forwarded-Prefix" not in seen["websocket"]
    assert origin_matches_host(seen["websocket"]) and origin_matches_host(seen["poll"])


def test_an_embedded_page_whose_server_is_not_running_says_so_instead_of_500(prefixed_lab, page, no_jupyter):
    """show_page's frame, drawn after its server stopped (as JupyterLab draws outputs late), through the proxy.

    The Jupyter server answers "500 : Internal Server Error" for a port nothing
    listens on; the frame says in words what to do instead, tries again, and opens
    the page once a server is back at that address.
    """
    from ws_course import start
    from ws_course.notebook import show_page

    as_kernel_of(no_jupyter, prefixed_lab)
    server = start("echo")
    port = server.port
    server.stop()
    embedded = show_page(server.page_url).data
    assert f'data-src="{PREFIX}proxy/{port}/"' in embedded
    # A page of the Jupyter server's own origin, logged in (a cookie), with the notebook's output in it.
    # (?reset: without it JupyterLab reopens the last test's notebook and starts a kernel, which
    # the server, stopped at the end of this module, then waits 20 s for.)
    page.goto(f"{prefixed_lab.url}/lab?reset&token={prefixed_lab.token}")
    page.set_content(embedded)
    frame = page.frame_locator("iframe")
    expect(frame.locator("#note")).to_contain_text("This page's server is not running (HTTP 500). Run the cell "
                                                   "that starts it, then this cell again")
    expect(frame.locator("body")).not_to_contain_text("Internal Server Error")
    with start("echo", port=port):
        expect(frame.locator("#state")).to_have_text("open")
        expect(frame.locator("#recv")).to_have_text("Connected")
