"""How course servers start, are replaced and stop.

- :mod:`~ws_course.runtime.server`: a demo's record, and one handle to any listening server;
- :mod:`~ws_course.runtime.background`: a server in a thread of the notebook's own process;
- :mod:`~ws_course.runtime.processes`: a server in a process of its own (``ws-course serve``);
- :mod:`~ws_course.runtime.redis_server`: a private Redis (lesson 09);
- :mod:`~ws_course.runtime.registry`: one registry of all of them: a name started
  again replaces the old one, and ``stop_all`` stops them;
- :mod:`~ws_course.runtime.child`: children that end with the Python that started them.
"""
