"""A student's notebook on a real JupyterHub: the browser reaches everything through the hub.

Alice logs in on the hub's login page, opens a notebook in her JupyterLab
(``/user/alice/lab``), runs it from the menu (Run → Run All Cells), and talks, in
the embedded pages and in the widgets, with the demo servers her kernel started,
over a WebSocket and over Socket.IO long-polling; then with the class room, the
hub service, from a page and from a widget. The browser records every request and
WebSocket of every frame: all of them go to the hub's address, none to a demo
server's port, which is what a browser on another machine would have to do.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from hub import log_in
from lab_helpers import Traffic, open_notebook, run_all
from pages_notebook import CELLS, check_pages_and_widgets_talk, write_notebook
from playwright.sync_api import expect
from proxy_headers import HeaderRecorder, origin_matches_host

CLASS_CHAT_CELLS = [
    "from ws_course.hub.class_chat import join_class_chat, show_class_chat\nclassmate = join_class_chat()\nclassmate",
    "show_class_chat()",
]


def test_a_notebook_on_the_hub_reaches_its_servers_through_the_hub(hub, browser):
    hub.wait_for_server("alice")
    write_notebook(hub.folder / "users" / "alice" / "on-the-hub.ipynb", CELLS + CLASS_CHAT_CELLS)
    context = browser.new_context()
    traffic = Traffic(context)
    page = context.new_page()
    try:
        log_in(page, hub, "alice")
        panel = open_notebook(page, f"{hub.url}/user/alice", "on-the-hub.ipynb")
        run_all(page, panel)
        demo_ports = check_pages_and_widgets_talk(panel, "/user/alice/")

        # The class room: the widget (with the kernel's hub token) and the page (with
        # alice's hub login) are both alice, in the hub's service.
        cells = panel.locator(".jp-CodeCell")
        widget, frame = cells.nth(5).locator(".jp-OutputArea-output"), cells.nth(6).locator("iframe")
        assert frame.get_attribute("data-src") == "/services/class-chat/"  # the page show_page opens
        room = frame.content_frame
        expect(room.locator("#state")).to_have_text("open")
        expect(widget).to_contain_text("alice comes in")
        room.locator("#sendTxt").fill("from alice's page")
        room.locator("#sendBtn").click()
        expect(widget).to_contain_text("alice says: from alice's page")
        widget.locator(".widget-text input").fill("from alice's widget")
        widget.locator("button.jupyter-button", has_text="Send").click()
        expect(room.locator("#messages div").last).to_have_text("alice says: from alice's widget")
    finally:
        hub.shutdown_kernels("alice")
        context.close()

    service_port = urlsplit(hub.api("GET", "/services/class-chat")["url"]).port
    traffic.check_only_through(hub.port, "/user/alice/", demo_ports | {service_port})
    assert any(urlsplit(url).path == "/services/class-chat/" and url.startswith("ws:") for url in traffic.urls)


def test_what_a_demo_server_sees_through_the_hub(hub, browser):
    """Headers for an origin check, through the hub's proxy and then alice's jupyter-server-proxy."""
    hub.wait_for_server("alice")
    recorder = HeaderRecorder()
    context = browser.new_context()
    page = context.new_page()
    try:
        log_in(page, hub, "alice")
        recorder.visit(page, f"{hub.url}/user/alice/proxy/{recorder.port}/")
    finally:
        context.close()
        recorder.stop()
    public = f"127.0.0.1:{hub.port}"
    seen = recorder.headers
    assert {seen[kind]["Host"] for kind in ("page", "websocket", "poll")} == {public}
    assert seen["websocket"]["Origin"] == seen["poll"]["Origin"] == f"http://{public}"
    # configurable-http-proxy adds X-Forwarded-*: on HTTP requests with the host, on the
    # WebSocket handshake without it, and with the scheme "ws".
    for kind in ("page", "poll"):
        assert (seen[kind]["X-Forwarded-Host"], seen[kind]["X-Forwarded-Proto"]) == (public, "http")
        assert seen[kind]["X-Forwarded-Prefix"] == f"/user/alice/proxy/{recorder.port}"
    assert "X-Forwarded-Host" not in seen["websocket"]
    assert seen["websocket"]["X-Forwarded-Proto"] == "ws"
    assert {seen[kind]["X-Forwarded-Port"] for kind in seen} == {str(hub.port)}
    assert origin_matches_host(seen["websocket"]) and origin_matches_host(seen["poll"])
