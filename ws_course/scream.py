"""Demo 2: the scream server, ``"hi"`` -> ``"HI!!!"``.

The article's ``wsServer.js`` (demo 2) in Python. Like the article's server, it
logs each text it receives and handles the end of a connection, whether the
client closed it properly or it broke.
"""

from websockets.asyncio.server import ServerConnection
from websockets.asyncio.server import serve as websockets_serve
from websockets.exceptions import ConnectionClosedError, ConnectionClosedOK
from websockets.frames import CloseCode

from .web.pages import page


async def handler(websocket: ServerConnection) -> None:
    """Handle one connection: answer each text with it upper-cased plus ``"!!!"``."""
    log = websocket.logger  # the server's log, not print(): see ws_course.runtime.background
    try:
        async for message in websocket:
            if isinstance(message, bytes):
                # Bytes have no upper case. Say so with a close code instead of guessing:
                # 1003 means "I cannot accept this kind of data".
                await websocket.close(CloseCode.UNSUPPORTED_DATA, "scream accepts text only")
                break
            log.info("received %r", message)
            await websocket.send(message.upper() + "!!!")
    except ConnectionClosedError as error:
        # The article's conn.on("error"): the connection broke instead of closing
        # properly (the client vanished, sent an oversized message, ...).
        log.info("error: %s", error)
    except ConnectionClosedOK:
        pass  # the client closed properly while we answered it: no error, just a close
    log.info("closed: code %s, reason %r", websocket.close_code, websocket.close_reason)


def serve(host: str = "127.0.0.1", port: int = 8001, **options):
    """Create the scream server, with its page at ``http://host:port/``.

    ``await`` the result inside a running event loop; ``options`` go to
    :func:`websockets.asyncio.server.serve`.
    """
    return websockets_serve(handler, host, port, process_request=page("scream.html"), **options)
