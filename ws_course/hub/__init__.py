"""One chat room for a whole class on JupyterHub: two sides of one room.

- :mod:`~ws_course.hub.room`: the room, run by the hub as a service
  (``python -m ws_course.hub.room``; ``ws_course.hub_room`` is the same, for
  configurations written before it moved);
- :mod:`~ws_course.hub.config`: the teacher's lines for the hub's configuration,
  which add the room and replace nothing;
- :mod:`~ws_course.hub.class_chat`: the students' side, in a notebook.
"""
