"""The background runtime: start, stop, replace, report, over real sockets."""

from __future__ import annotations

import gc
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request

import pytest
from websockets.exceptions import ConnectionClosedOK
from websockets.sync.client import connect

import ws_course
from ws_course import PortInUseError, start


def talk(url: str, message: str) -> str:
    with connect(url, proxy=None, open_timeout=5) as websocket:
        websocket.send(message)
        return websocket.recv(timeout=5)


def refused(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_start_gives_urls_on_a_free_port_and_stop_ends_everything():
    server = start("echo")
    assert server.port != 0
    assert server.ws_url == f"ws://127.0.0.1:{server.port}/"
    assert server.page_url == f"http://127.0.0.1:{server.port}/"
    assert talk(server.ws_url, "ping") == "ping"
    server.stop()
    assert not server.running
    assert refused(server.port)
    assert "running" not in repr(server) and "stopped" in repr(server)


def test_start_and_stop_twenty_times_leaks_no_thread_port_or_file():
    gc.collect()  # let what earlier tests dropped close its files now, not during the count
    threads, fds = threading.active_count(), open_fds()
    ports = []
    for _ in range(20):
        server = start("scream")
        assert talk(server.ws_url, "hi") == "HI!!!"
        server.stop()
        ports.append(server.port)
    gc.collect()
    assert threading.active_count() <= threads  # (fewer is fine: some other thread ended)
    assert open_fds() <= fds
    assert all(refused(port) for port in ports)


def test_context_manager_stops_the_server():
    with start("echo") as server:
        assert talk(server.ws_url, "x") == "x"
    assert not server.running


def test_starting_a_demo_again_replaces_the_old_server():
    first = start("echo")
    second = start("echo")  # what a re-run notebook cell does
    assert not first.running and second.running
    assert talk(second.ws_url, "still here") == "still here"


def test_rerun_on_a_fixed_port_does_not_clash():
    with socket.socket() as probe:  # find a free port, then ask for it twice
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    start("scream", port=port)
    again = start("scream", port=port)
    assert again.port == port
    assert talk(again.ws_url, "again") == "AGAIN!!!"


def test_a_taken_port_gives_a_clear_error_and_the_holder_keeps_serving():
    holder = start("echo")
    with pytest.raises(PortInUseError, match=rf"the address 127.0.0.1:{holder.port} is already in use"):
        start("scream", port=holder.port)
    assert talk(holder.ws_url, "unharmed") == "unharmed"
    assert not [t for t in threading.enumerate() if t.name == "ws-course-scream"]


def test_stop_is_idempotent_and_stop_all_stops_everything():
    echo, scream = start("echo"), start("scream")
    echo.stop()
    echo.stop()
    ws_course.stop_all()
    assert not echo.running and not scream.running


def test_log_records_what_the_server_did_without_printing(capfd):
    with start("scream") as server:
        talk(server.ws_url, "hello")
    assert "received 'hello'" in server.log
    assert server.log[0] == f"server listening on 127.0.0.1:{server.port}"
    assert server.log[-1] == "server closed"
    assert capfd.readouterr() == ("", "")


def test_logs_of_two_servers_stay_apart():
    with start("scream") as one, start("echo") as other:
        talk(one.ws_url, "for one")
        talk(other.ws_url, "for other")
    assert "received 'for one'" in one.log
    assert not [line for line in other.log if "for one" in line]


def test_your_own_handler_runs_on_the_same_runtime():
    async def whisper(websocket):
        async for message in websocket:
            await websocket.send(message.lower() + "...")

    with start(whisper) as server:
        assert server.name == "whisper"
        assert talk(server.ws_url, "HEY") == "hey..."


def test_unknown_demo_and_wrong_argument():
    with pytest.raises(ValueError, match="no demo named 'nope'; the demos are: echo, scream"):
        start("nope")
    with pytest.raises(TypeError):
        start(42)


def test_the_page_is_served_on_the_socket_port():
    with start("scream") as server:
        with urllib.request.urlopen(server.page_url, timeout=5) as response:
            assert response.headers["Content-Type"] == "text/html; charset=utf-8"
            assert b"<title>Scream</title>" in response.read()
        with urllib.request.urlopen(server.page_url + "course.js", timeout=5) as response:
            assert response.headers["Content-Type"] == "text/javascript; charset=utf-8"
            assert b"function showLine" in response.read()
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(server.page_url + "nothing-here", timeout=5)
        assert missing.value.code == 404
        missing.value.close()  # an HTTP client left open delays the server's shutdown (close_timeout)
        assert talk(server.ws_url, "after http") == "AFTER HTTP!!!"


def test_binding_every_interface_still_gives_a_loopback_url():
    with start("echo", host="0.0.0.0") as server:
        assert server.ws_url == f"ws://127.0.0.1:{server.port}/"
        assert talk(server.ws_url, "lan") == "lan"


# -- the command line --------------------------------------------------------------


def run_cli(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "ws_course", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def test_cli_serves_until_ctrl_c():
    process = run_cli("serve", "scream", "--port", "0")
    try:
        first_line = process.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:(\d+)/", first_line)
        assert url, first_line
        assert talk(f"ws://127.0.0.1:{url[1]}/", "cli") == "CLI!!!"
        with urllib.request.urlopen(url[0], timeout=5) as response:
            assert b"Scream" in response.read()
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=15)
    finally:
        process.kill()
    assert process.returncode == 0
    assert "Stopped." in out
    assert "received 'cli'" in err and "server closed" in err
    assert "Traceback" not in err


def test_cli_reports_a_taken_port_plainly():
    with start("echo") as holder:
        process = run_cli("serve", "echo", "--port", str(holder.port))
        out, err = process.communicate(timeout=15)
    assert process.returncode == 2
    assert f"the address 127.0.0.1:{holder.port} is already in use" in err
    assert "Traceback" not in err


def test_cli_lists_the_demos():
    process = run_cli("list")
    out, _ = process.communicate(timeout=15)
    assert out.split() == list(ws_course.demos.NAMES)


def test_a_different_name_runs_beside_instead_of_replacing():
    mine = start("echo")
    check = start("echo", name="check-echo")  # what an exercise's check does
    assert mine.running and check.running and mine.port != check.port
    assert talk(mine.ws_url, "mine") == "mine"


async def test_stop_does_not_wait_forever_for_a_client_that_never_hangs_up():
    """A client sends its close frame, then freezes without closing its TCP connection."""
    from websockets.asyncio.client import connect as async_connect

    server = start("chat")
    frozen = await async_connect(server.ws_url, proxy=None)
    frozen.transport.pause_reading()  # it will never read the server's answer
    frozen.protocol.send_close(1000, "")  # ...after saying goodbye
    frozen.send_data()
    await server.wait_for_log("user1 comes in")
    server.stop()  # raised TimeoutError, a 15 s wait, before demos.close() cut such connections
    assert not server.running
    assert "user1 left: code 1000" in server.log
    frozen.transport.abort()


def test_cli_serves_a_socketio_demo_too():
    import socketio

    process = run_cli("serve", "event-chat", "--port", "0")
    try:
        url = re.search(r"http://127\.0\.0\.1:\d+/", process.stdout.readline())[0]
        assert "Socket.IO clients connect to" in process.stdout.readline()
        with urllib.request.urlopen(url + "socket.io.js", timeout=5) as response:
            assert b"Socket.IO v4." in response.read(200)
        client = socketio.SimpleClient()
        client.connect(url, transports=["websocket"])
        assert client.receive(timeout=5) == ["enter", "user1 comes in"]
        client.emit("message", "from the command line")
        assert client.receive(timeout=5) == ["mes", "user1 says: from the command line"]
        client.disconnect()
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=15)
    finally:
        process.kill()
    assert process.returncode == 0 and "Stopped." in out
    assert "user1 left" in err and "Traceback" not in err


# -- stopping the command line: Ctrl-C, SIGTERM, and SIGINT in a background job ------------------


def ignore_sigint() -> None:
    """What a non-interactive shell does for a background job (``server &`` in a script)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.mark.parametrize(
    "signum, preexec",
    [(signal.SIGTERM, None), (signal.SIGINT, None), (signal.SIGINT, ignore_sigint)],
    ids=["SIGTERM", "SIGINT", "SIGINT-in-a-background-job"],
)
def test_cli_stops_cleanly_on_a_signal_and_websocket_clients_get_1001(signum, preexec):
    process = subprocess.Popen(
        [sys.executable, "-m", "ws_course", "serve", "chat", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=preexec,
    )
    try:
        port = re.search(r"http://127\.0\.0\.1:(\d+)/", process.stdout.readline())[1]
        with connect(f"ws://127.0.0.1:{port}/", proxy=None, open_timeout=5) as websocket:
            assert websocket.recv(timeout=5) == "user1 comes in"
            process.send_signal(signum)
            with pytest.raises(ConnectionClosedOK) as closed:
                websocket.recv(timeout=10)
        out, err = process.communicate(timeout=15)
    finally:
        process.kill()
    assert closed.value.rcvd.code == 1001  # "going away", not 1006
    assert process.returncode == 0 and "Stopped." in out
    assert f"stopped by {signal.Signals(signum).name}" in err and "user1 left: code 1001" in err
    assert "Traceback" not in err


def test_cli_sigterm_disconnects_socketio_clients():
    import socketio

    process = run_cli("serve", "event-chat", "--port", "0")
    try:
        url = re.search(r"http://127\.0\.0\.1:\d+/", process.stdout.readline())[0]
        client = socketio.Client(handle_sigint=False, reconnection=False)
        reasons = []
        client.on("disconnect", reasons.append)
        client.connect(url, transports=["websocket"], wait_timeout=5)
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=15)
        client.wait()  # returns once disconnected
    finally:
        process.kill()
    assert reasons == [socketio.Client.reason.SERVER_DISCONNECT]  # "io server disconnect", not a transport error
    assert process.returncode == 0 and "Stopped." in out
    assert "user1 left (server disconnect)" in err and "Traceback" not in err
