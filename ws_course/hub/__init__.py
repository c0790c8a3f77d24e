"""One chat room for a whole class on JupyterHub: two sides of one room.

- :mod:`~ws_course.hub.room`: the room, run by the hub as a service
  (``python -m ws_course.hub.room``; ``ws_course.hub_room`` is the same, for
  configurations written before it moved), with the teacher's view and the big screen;
  :mod:`~ws_course.hub.identity`, who each of its connections is, checked with the hub
  while it stays open; :mod:`~ws_course.hub.progress_socket`, where students' kernels
  report their exercises and sticky notes;
- :mod:`~ws_course.hub.config`: the teacher's lines for the hub's configuration,
  which add the room and replace nothing;
- :mod:`~ws_course.hub.class_chat`: the students' side, in a notebook.
"""
