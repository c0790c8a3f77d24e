"""What keeps a room safe when a class shares it: the subject of lessons 06a-06c, in one place.

- :mod:`~ws_course.safety.origins`: which web pages may connect, and by which names (DNS rebinding);
- :mod:`~ws_course.safety.limits`: how many members, and how much unsent data each;
- :mod:`~ws_course.safety.guard`: one server's protections, applied to every
  websockets server the course starts;
- :mod:`~ws_course.safety.socketio_guard` and :mod:`~ws_course.safety.socketio_packets`:
  the same for Socket.IO (half-open sessions included), and what a packet may not say;
- :mod:`~ws_course.safety.connections`: how long an aiohttp server waits for a
  request, and for how many connections at once;
- :mod:`~ws_course.safety.logs`: logs that stay small whatever a client sends;
- :mod:`~ws_course.safety.upgrade`: whether a request asks to become a WebSocket,
  one answer for every server.
"""
