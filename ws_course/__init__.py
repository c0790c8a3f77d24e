"""ws_course: the companion package of the WebSockets course.

What a lesson shows you sits at the top of the package: the demo servers
(:mod:`~ws_course.echo`, :mod:`~ws_course.scream`, :mod:`~ws_course.chat`,
:mod:`~ws_course.json_chat`, :mod:`~ws_course.news`, :mod:`~ws_course.event_chat`;
beyond the article, :mod:`~ws_course.news_feed` and :mod:`~ws_course.handmade`),
:mod:`~ws_course.frames` and :mod:`~ws_course.broadcast`, the table of demos
(:mod:`~ws_course.demos`), :mod:`~ws_course.notebook` (sources and pages in a
notebook) and the ``ws-course`` command (:mod:`~ws_course.cli`). The machinery is
one level down, a folder for each job:

- :mod:`ws_course.widgets`: the clients you click in a notebook;
- :mod:`ws_course.exercises`: the checks of the lessons' exercises;
- :mod:`ws_course.safety`: what keeps a room safe (lessons 06a-06c);
- :mod:`ws_course.web`: how a browser reaches a server (pages, Socket.IO on aiohttp, the Jupyter proxy);
- :mod:`ws_course.runtime`: how servers start, are replaced and stop (threads, processes, Redis);
- :mod:`ws_course.measure`: the instruments of lessons 07 and 09;
- :mod:`ws_course.scaleout`: one room across processes through Redis (lesson 09);
- :mod:`ws_course.hub`: the class room as a JupyterHub service, and the students' side of it.

:func:`start` runs a demo server (or your own handler) in the background and
returns its handle; :func:`stop_all` stops everything the course started.
"""

from .demos import start
from .runtime.background import BackgroundServer
from .runtime.server import PortInUseError

__all__ = ["BackgroundServer", "PortInUseError", "start", "stop_all"]


def stop_all() -> None:
    """Stop everything the course started and that still runs: server processes, Redis, servers, the other site."""
    from .runtime import background, processes, redis_server
    from .web import another_site

    processes.stop_all()  # before Redis, so that they leave the room cleanly
    redis_server.stop_all()
    background.stop_all()
    another_site.stop_all()
