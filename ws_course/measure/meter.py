"""Count the bytes between clients and a server, at the socket, both ways.

A :class:`Meter` is a TCP relay: clients connect to it instead of the server,
and it connects each of them on to the server and copies the bytes both ways,
counting them. It knows nothing of HTTP or WebSocket, so it leaves nothing out:
request lines, headers, bodies, chunk sizes, handshakes, frames, all count::

    async with Meter("127.0.0.1", server.port) as meter:
        ...  # clients connect to 127.0.0.1:meter.port
    print(meter.up, meter.down, meter.connections)

What it counts is what the programs at either end wrote into their sockets. The
network adds its own headers to every packet (TCP and IP, about 52 bytes a
packet here) and TLS would add more: those are not counted, for any transport.
"""

from __future__ import annotations

import asyncio
import contextlib

#: How many bytes of each direction :attr:`Meter.sample_up` and :attr:`Meter.sample_down` keep.
SAMPLE = 4096


class Meter:
    """A counting relay in front of the server at ``host:port``; it listens on 127.0.0.1.

    Attributes:
        port: Where clients connect (a free port, once entered).
        up: Bytes the clients sent to the server.
        down: Bytes the server sent to the clients.
        connections: TCP connections the clients opened.
        sample_up, sample_down: The first :data:`SAMPLE` bytes each way, to look at.
    """

    def __init__(self, host: str, port: int) -> None:
        self.server_address = (host, port)
        self.port = 0
        self.up = self.down = self.connections = 0
        self.sample_up, self.sample_down = bytearray(), bytearray()
        self._listener: asyncio.Server | None = None
        self._relays: set[asyncio.Task] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    async def __aenter__(self) -> Meter:
        self._listener = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        self.port = self._listener.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._listener.close()
        for writer in self._writers:
            writer.transport.abort()  # every relay sees its ends close, and ends
        await asyncio.gather(*self._relays, return_exceptions=True)
        await self._listener.wait_closed()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT/``: the server's address, through the meter."""
        return f"http://127.0.0.1:{self.port}/"

    async def _relay(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        """One client's connection: connect it on to the server, copy both ways until both ends close."""
        relay = asyncio.current_task()
        self._relays.add(relay)
        self._writers.add(client_writer)
        self.connections += 1
        server_writer = None
        try:
            server_reader, server_writer = await asyncio.open_connection(*self.server_address)
            self._writers.add(server_writer)
            await asyncio.gather(
                self._copy(client_reader, server_writer, "up"),
                self._copy(server_reader, client_writer, "down"),
            )
        except OSError:
            pass  # one end went away: the relay ends here
        finally:
            for writer in (client_writer, server_writer):
                if writer is not None:
                    writer.transport.abort()  # no lingering: the bytes that count have been counted
                    self._writers.discard(writer)
            self._relays.discard(relay)

    async def _copy(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, direction: str) -> None:
        sample = self.sample_up if direction == "up" else self.sample_down
        while data := await reader.read(65536):
            if direction == "up":
                self.up += len(data)
            else:
                self.down += len(data)
            sample += data[: SAMPLE - len(sample)]
            writer.write(data)
            await writer.drain()
        with contextlib.suppress(OSError):
            writer.write_eof()  # pass the end on: this side has no more to say
