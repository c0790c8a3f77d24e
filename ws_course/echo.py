"""Demo 1: the echo server.

The article's first page talked to a public echo server, ``ws://echo.websocket.org/``,
which no longer exists. This is the course's own: every message a client sends
comes straight back to that client, unchanged (text as text, bytes as bytes).
"""

from websockets.asyncio.server import ServerConnection
from websockets.asyncio.server import serve as websockets_serve
from websockets.exceptions import ConnectionClosed

from .web.pages import page


async def handler(websocket: ServerConnection) -> None:
    """Handle one connection: send every message back to the client that sent it."""
    try:
        async for message in websocket:
            await websocket.send(message)
    except ConnectionClosed:
        pass  # the client vanished, or closed while we answered it: nothing to clean up


def serve(host: str = "127.0.0.1", port: int = 8001, **options):
    """Create the echo server, with its page at ``http://host:port/``.

    ``await`` the result inside a running event loop; ``options`` go to
    :func:`websockets.asyncio.server.serve`.
    """
    return websockets_serve(handler, host, port, process_request=page("echo.html"), **options)
