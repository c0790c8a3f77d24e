"""One room across many server processes, through Redis (lesson 09).

- :mod:`~ws_course.scaleout.redis_room`: a websockets chat room shared through Redis
  pub/sub (``ws-course serve chat --redis URL``);
- :mod:`~ws_course.scaleout.redis_socketio`: the same for the Socket.IO event chat.
"""
