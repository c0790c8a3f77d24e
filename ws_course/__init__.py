"""ws_course: the companion package of the WebSockets course.

- :func:`start` runs a demo server in the background and returns its handle.
- :class:`WebSocketClient` is a widget that talks to a server the way a browser page does.
- :func:`show_source` shows the real source of a demo in a notebook.
"""

from .runtime import BackgroundServer, PortInUseError, start, stop_all

__all__ = ["BackgroundServer", "PortInUseError", "start", "stop_all"]
