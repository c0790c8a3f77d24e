"""Slow and half-open clients of the aiohttp servers (hardening, points 4 and 9), over real sockets.

- A member's socket has a bounded kernel send buffer.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from websockets.asyncio.client import connect

from ws_course import start
from ws_course.safety.limits import SEND_BUFFER


# -- what a member costs the kernel (hardening, point 9) -------------------------------------------


def send_buffers(port: int) -> list[int]:
    """The kernel send buffer (bytes) of each established connection whose local port is ``port``, from ``ss``."""
    out = subprocess.run(
        ["ss", "-tmnH", "state", "established", f"( sport = :{port} )"], capture_output=True, text=True, check=True
    ).stdout
    return [int(size) for size in re.findall(r"\btb(\d+)", out)]


@pytest.mark.skipif(shutil.which("ss") is None, reason="needs ss (iproute2) to read the server's sockets")
@pytest.mark.parametrize("demo", ["chat"])
async def test_a_members_socket_has_a_bounded_kernel_send_buffer(demo):
    """Before: Linux let each member's send buffer grow to 4 MiB (3.9 MB here, on loopback):
    1000 members that never read held 1.5 GB of kernel memory, though all were cut at max_buffer."""
    with start(demo) as server:
        client = await connect(server.ws_url, proxy=None)
        buffers = send_buffers(server.port)
        assert buffers and all(size <= 2 * SEND_BUFFER for size in buffers), buffers  # (Linux counts twice the size)
        await client.close()
