"""The JSON chat's text is byte for byte what the article's JSON.stringify writes.

Checked against the real thing: Node.js's own JSON.stringify, for the same objects.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess

from websockets.asyncio.client import connect

from ws_course import start
from ws_course.json_chat import to_json

TRICKY = [
    "hi",
    'quotes " and \\ backslash',
    "new\nline, tab\t, return\r, backspace\b, form feed\f",
    "".join(chr(code) for code in range(0x20)) + "\x7f",
    "中文 and emoji 😀 and é",
    "line separator \u2028 and paragraph separator \u2029",
    "</script><img src=x onerror=alert(1)>",
    "slash / and unicode escape \\u0041",
    "",
]


def node_stringify(objects: list[dict]) -> list[str]:
    node = shutil.which("node")
    assert node, "these tests need Node.js (python3 course.py test installs it where it can)"
    script = (
        "let data = '';"
        "process.stdin.on('data', c => data += c);"
        "process.stdin.on('end', () => {"
        "  for (const o of JSON.parse(data)) {"
        "    const mes = {}; mes.type = o.type; mes.data = o.data;"  # the article's way of building it
        "    process.stdout.write(Buffer.from(JSON.stringify(mes)).toString('base64') + '\\n');"
        "  }"
        "});"
    )
    result = subprocess.run([node, "-e", script], input=json.dumps(objects), capture_output=True, text=True, check=True)
    return [base64.b64decode(line).decode("utf-8") for line in result.stdout.split()]


def test_to_json_matches_node_json_stringify():
    objects = [{"type": kind, "data": text} for kind in ("enter", "message", "leave") for text in TRICKY]
    assert [to_json(o["type"], o["data"]) for o in objects] == node_stringify(objects)


async def test_what_the_server_sends_matches_node_json_stringify():
    with start("json_chat") as server:
        async with connect(server.ws_url, proxy=None) as websocket:
            received = [await websocket.recv()]
            for text in TRICKY:
                await websocket.send(text)
                received.append(await websocket.recv())
    expected = node_stringify(
        [{"type": "enter", "data": "user1 comes in"}]
        + [{"type": "message", "data": f"user1 says: {text}"} for text in TRICKY]
    )
    assert [message.encode() for message in received] == [message.encode() for message in expected]
