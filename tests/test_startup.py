"""What a server loads when it starts: a plain demo does not load the Socket.IO stack, nor Redis.

A course server that only speaks WebSocket has no use for python-socketio,
python-engineio and aiohttp (about 25 MB of memory and a slower start), nor for
the Redis client unless its room is shared (``--redis``). These tests start real
servers in fresh interpreters and look at what they imported.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys

import pytest

#: The packages a plain WebSocket demo must not load.
HEAVY = ("socketio", "engineio", "aiohttp", "redis")

LOADED = """
import json, sys
import ws_course
with ws_course.start({demo!r}) as server:
    pass
print(json.dumps(sorted({{name.split(".")[0] for name in sys.modules}})))
"""


@pytest.mark.parametrize("demo", ["echo", "scream", "chat", "json_chat"])
def test_a_plain_demo_started_in_python_loads_neither_socketio_nor_redis(demo):
    result = subprocess.run([sys.executable, "-c", LOADED.format(demo=demo)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    loaded = set(json.loads(result.stdout.splitlines()[-1]))
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))
    assert "websockets" in loaded


def imported_by_the_command_line(*arguments: str) -> tuple[set[str], str]:
    """Start ``ws-course serve ...`` with ``-X importtime``, stop it when it listens; its top-level imports, and its log."""
    process = subprocess.Popen(
        [sys.executable, "-X", "importtime", "-m", "ws_course", "serve", *arguments, "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert "is running" in process.stdout.readline()
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    modules = {match[1].split(".")[0] for match in re.finditer(r"^import time:\s+\d+ \|\s+\d+ \|\s*(\S+)", stderr, re.M)}
    return modules, stderr


def test_the_command_line_serves_the_chat_without_socketio_or_redis_and_on_uvloop():
    modules, log = imported_by_the_command_line("chat")
    assert not modules & set(HEAVY), sorted(modules & set(HEAVY))
    assert "event loop: uvloop" in log  # installed by the course: the command line picks it up


def test_the_event_chat_does_load_the_socketio_stack():
    """The other side of the tests above: they would see the packages if they were loaded.

    (python-socketio imports the Redis client itself, for its Redis manager, whenever
    it is installed: the event chat loads it with or without ``--redis``.)
    """
    modules, log = imported_by_the_command_line("event-chat", "--loop", "asyncio")
    assert {"socketio", "engineio", "aiohttp", "redis"} <= modules
    assert "event loop: asyncio" in log


#: What importing the package might change in the process: loggers, library globals, threads, exit hooks.
STATE = """
import atexit, json, logging, sys, threading
import engineio.packet, socketio.packet  # imported first: their globals are part of the state

def state():
    loggers = {name: (logging.getLogger(name).level, [type(h).__name__ for h in logging.getLogger(name).handlers],
                      [type(f).__name__ for f in logging.getLogger(name).filters])
               for name in ("", "ws_course", "asyncio", "aiohttp.server", "aiohttp.web", "aiohttp.access",
                            "websockets", "socketio", "engineio")}
    return {"loggers": loggers, "srcfile": str(logging._srcfile), "threads": threading.active_count(),
            "atexit": atexit._ncallbacks(), "engineio json": repr(engineio.packet.Packet.json),
            "socketio json": repr(socketio.packet.Packet.json)}

before = state()
import importlib, pkgutil, ws_course
for module in pkgutil.walk_packages(ws_course.__path__, "ws_course."):
    if not module.name.endswith("__main__"):
        importlib.import_module(module.name)
print(json.dumps([before, state()]))
"""


def test_importing_the_package_changes_nothing_in_the_process():
    """Logging is set up when a server starts, exit hooks when a process or a Redis starts: never on import."""
    result = subprocess.run([sys.executable, "-c", STATE], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    before, after = json.loads(result.stdout.splitlines()[-1])
    assert after == before
