"""The widget client, driven by its own buttons, against real servers."""

from __future__ import annotations

import socket

import pytest

from ws_course import start
from ws_course.widgets import WebSocketClient


@pytest.fixture
def scream():
    with start("scream") as server:
        yield server


async def test_buttons_send_and_close_like_a_browser_page(scream):
    client = WebSocketClient(scream.ws_url)
    assert client.ready_state == "CONNECTING" and client.send_button.disabled
    await client.opened()
    assert client.ready_state == "OPEN" and not client.send_button.disabled

    client.text.value = "hi"
    client.send_button.click()  # runs the same handler as a click in the browser
    assert await client.next_message() == "HI!!!"

    client.close_button.click()
    assert await client.closed() == (1000, "")
    assert client.ready_state == "CLOSED" and client.send_button.disabled and client.close_button.disabled
    assert [kind for kind, _ in client.events] == ["open", "send", "message", "close"]


async def test_messages_are_read_in_order_and_once(scream):
    client = WebSocketClient(scream.ws_url)
    await client.opened()
    for word in ["one", "two", "three"]:
        client.send(word)
    assert [await client.next_message() for _ in range(3)] == ["ONE!!!", "TWO!!!", "THREE!!!"]
    with pytest.raises(TimeoutError, match="no message event within 0.2 s"):
        await client.next_message(timeout=0.2)
    client.close()
    await client.closed()


async def test_close_code_and_reason_reach_the_server(scream):
    client = WebSocketClient(scream.ws_url)
    await client.opened()
    client.close(4000, "see you")
    assert await client.closed() == (4000, "see you")
    assert await scream.wait_for_log("closed:") == "closed: code 4000, reason 'see you'"


async def test_the_server_going_away_gives_close_1001():
    server = start("echo")
    client = WebSocketClient(server.ws_url)
    await client.opened()
    server.stop()
    assert await client.closed() == (1001, "")
    assert "error" not in [kind for kind, _ in client.events]


async def test_nothing_listening_gives_error_then_close_1006():
    with socket.socket() as probe:  # a port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = WebSocketClient(f"ws://127.0.0.1:{port}/")
    with pytest.raises(ConnectionError, match=f"cannot connect to ws://127.0.0.1:{port}/"):
        await client.opened()
    assert [kind for kind, _ in client.events] == ["error", "close"]
    assert await client.closed() == (1006, "")
    with pytest.raises(RuntimeError, match="the connection is CLOSED, not OPEN"):
        client.send("into the void")


async def test_a_server_rejecting_bytes_closes_with_its_code(scream):
    client = WebSocketClient(scream.ws_url)
    await client.opened()
    client.send(b"\x00")
    assert await client.closed() == (1003, "scream accepts text only")


async def test_the_log_shows_text_as_text(scream):
    client = WebSocketClient(scream.ws_url)
    await client.opened()
    client.send("<b>bold?</b>")
    await client.next_message()
    assert "&lt;b&gt;bold?&lt;/b&gt;" in client.log_view.value
    assert "<b>bold?" not in client.log_view.value
    client.close()
    await client.closed()


def test_it_needs_a_running_loop():
    with pytest.raises(RuntimeError, match="needs a running event loop"):
        WebSocketClient("ws://127.0.0.1:1/")


async def test_the_server_stops_while_its_client_cannot_answer(scream):
    # A notebook cell calling server.stop() blocks the kernel's loop, and with it the
    # widget clients on that loop: they cannot answer the close frame. The server
    # gives up waiting after demos.CLOSE_TIMEOUT and stops anyway.
    client = WebSocketClient(scream.ws_url)
    await client.opened()
    scream.stop()  # blocks this loop, as a notebook cell would
    assert not scream.running
    assert (await client.closed())[0] in (1001, 1006)


async def test_wait_for_message_skips_others_and_says_what_it_saw(scream):
    client = WebSocketClient(scream.ws_url)
    await client.opened()
    for word in ["a", "b", "c"]:
        client.send(word)
    assert await client.wait_for_message("C!!!") == "C!!!"
    client.send("d")
    with pytest.raises(TimeoutError, match=r"'nothing' did not arrive within 0.3 s; the last messages were \['D!!!'\]"):
        await client.wait_for_message("nothing", timeout=0.3)
    client.close()
    await client.closed()


async def test_enter_in_the_text_box_sends_the_text_that_comes_with_it(scream):
    client = WebSocketClient(scream.ws_url)
    await client.opened()
    client.text.value = "g"  # what the kernel last heard of the box: the browser's later state may lag
    # What the browser sends on Enter or Send: the text in the box, with the request (the JupyterLab test presses the real key).
    client.text._handle_custom_msg({"event": "send", "text": "guest says hi"}, [])
    assert await client.next_message() == "GUEST SAYS HI!!!"
    client.text.value = ""
    client.send_button.click()  # an empty box sends nothing, as in the pages
    with pytest.raises(TimeoutError):
        await client.next_message(timeout=0.3)
    assert [kind for kind, _ in client.events] == ["open", "send", "message"]
    client.close()
    await client.closed()


async def test_a_closed_clients_box_is_disabled_and_says_why(scream):
    client = WebSocketClient(scream.ws_url)
    await client.opened()
    assert not client.text.disabled and client.text.placeholder == "type a message"
    client.close()
    await client.closed()
    assert client.text.disabled and client.text.placeholder == "closed: run this cell again"
    assert "run the cell that starts the server" in client.state.value
    client.text.value = "too late"
    client.send_button.click()  # a disabled box sends nothing, and keeps its text
    assert client.text.value == "too late"
    # A text already on its way when the connection closed is not lost silently.
    client.text._handle_custom_msg({"event": "send", "text": "on its way"}, [])
    assert client.events[-1] == ("error", "not sent, the connection is CLOSED: 'on its way'")


async def test_a_cell_waits_for_its_own_reply_whatever_else_arrives(scream):
    from ws_course.widgets import open_clients

    client = WebSocketClient(scream.ws_url)
    await client.opened()
    assert client in open_clients()
    client.text.value = "sent by a learner meanwhile"
    client.send_button.click()
    client.send("the cell's own")
    assert await client.wait_for_message("THE CELL'S OWN!!!") == "THE CELL'S OWN!!!"
    client.send("another")
    assert await client.wait_for_message(lambda message: message.startswith("ANOTHER")) == "ANOTHER!!!"
    client.close()
    await client.closed()
    assert client not in open_clients()


async def test_waiting_on_a_closed_client_says_what_happened_at_once(scream):
    client = WebSocketClient(scream.ws_url, title="scream client")
    await client.opened()
    client.close_button.click()  # the learner clicked Close a few cells ago
    await client.closed()
    with pytest.raises(ConnectionError, match=r"was closed \(code 1000\)\. Did you click Close.*Re-run the cell"):
        await client.next_message(timeout=30)
    with pytest.raises(RuntimeError, match=r"the connection is CLOSED, not OPEN \(.*Re-run the cell that created it"):
        client.send("hello?")
