"""ws_course: the companion package of the WebSockets course.

- :func:`start` runs a demo server (or your own handler) in the background and
  returns its handle; :func:`stop_all` stops every one still running.
- :mod:`ws_course.client`, :mod:`ws_course.chat_client` and
  :mod:`ws_course.socketio_client` are the widgets that talk to the servers.
- :mod:`ws_course.notebook` shows sources and pages (through the Jupyter server
  when there is one: :mod:`ws_course.jupyter`); :mod:`ws_course.exercises`
  checks the lessons' exercises.
- :mod:`ws_course.hub_room` runs one chat room for a whole class as a JupyterHub
  service; :mod:`ws_course.class_chat` is the students' side of it.
- The demo servers, one module each: :mod:`~ws_course.echo`, :mod:`~ws_course.scream`,
  :mod:`~ws_course.chat`, :mod:`~ws_course.json_chat`, :mod:`~ws_course.news`,
  :mod:`~ws_course.event_chat`; and beyond the article, lesson 07's
  :mod:`~ws_course.news_feed` (served four ways; measured with :mod:`~ws_course.meter`,
  :mod:`~ws_course.feed_clients` and :mod:`~ws_course.measure`) and lesson 08's
  :mod:`~ws_course.handmade` (a WebSocket server from scratch; :mod:`~ws_course.frames`
  shows frames byte by byte).
- One room across processes (lesson 09): :mod:`~ws_course.redis_room` (a chat room
  shared through Redis), :mod:`~ws_course.redis_socketio` (the same for Socket.IO),
  :mod:`~ws_course.redis_server` (a private Redis), :mod:`~ws_course.processes`
  (servers in processes of their own), :mod:`~ws_course.load` (lean clients, and a
  room's fan-out measured); :mod:`~ws_course.broadcast` builds each frame once for a room.
- What keeps a room safe, applied to every server by :mod:`ws_course.guard`:
  :mod:`~ws_course.origins` (which pages may connect), :mod:`~ws_course.limits`
  (members and unsent data), :mod:`~ws_course.socketio_guard` and
  :mod:`~ws_course.socketio_packets` (the same for Socket.IO, and what a packet may
  not say), :mod:`~ws_course.logs` (logs that stay small).
"""

from .runtime import BackgroundServer, PortInUseError, start, stop_all

__all__ = ["BackgroundServer", "PortInUseError", "start", "stop_all"]
