"""The last step of a lesson: when_done()'s button, and what it says about the kernel's memory."""

from __future__ import annotations

import subprocess

from ws_course import start
from ws_course.notebook import memory_in_use, memory_sentence, process_family, when_done
from ws_course.runtime.registry import RUNNING
from ws_course.widgets import WebSocketClient

MB = 2**20


def test_the_memory_sentence_says_what_the_numbers_say():
    assert memory_sentence(200 * MB, 150 * MB) == (
        "This kernel and the processes it started held 200 MB; now 150 MB: 50 MB given back.")
    assert memory_sentence(100 * MB, 120 * MB) == (
        "This kernel and the processes it started held 100 MB; now 120 MB: nothing given back, "
        "Python keeps freed memory for its next objects.")
    assert "nothing given back" in memory_sentence(100 * MB, 100 * MB - 1000)  # less than 1 MB is nothing
    assert memory_sentence(None, None) == "This system does not say how much memory the kernel holds."


def test_memory_counts_the_processes_under_this_one():
    alone = memory_in_use()
    child = subprocess.Popen(["sleep", "30"])
    try:
        assert child.pid in process_family()
        assert memory_in_use() > alone - 4 * MB  # its RSS is added (this process's own may move a little)
        assert memory_in_use(child.pid) > 0
    finally:
        child.kill()
        child.wait()
    assert child.pid not in process_family()


async def test_the_button_closes_the_clients_stops_the_servers_and_says_so():
    server = start("echo", name="when-done-echo")
    client = WebSocketClient(server.ws_url)
    await client.opened()
    done = when_done()
    assert not done.button.disabled
    done.button.click()  # what a click in the browser runs
    report = await done.finished()
    assert client.ready_state == "CLOSED" and client.text.disabled
    assert not server.running and RUNNING.count() == 0
    assert done.button.disabled
    assert "Closed 1 client widget(s) and stopped 1 server(s) or process(es)." in report
    assert "Kernel → Shut Down Kernel" in report
    before, after = done.memory
    assert memory_sentence(before, after) in report.replace("&#x27;", "'")
