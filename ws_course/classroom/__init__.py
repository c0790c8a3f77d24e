"""The teacher's side of a room a whole class shares.

Used by ``ws-course serve`` on a classroom network and by the JupyterHub class room
(:mod:`ws_course.hub.room`): who is in the room and since when, what each member
said, kick and mute, a rate limit per member, the teacher's live view, the big
screen's view, and the students' exercise verdicts and "stuck" flags.

- :mod:`~ws_course.classroom.roster`: the members and the teacher's rules (kick and
  ban, mute, the rate limit, the room's last lines), with no networking;
- :mod:`~ws_course.classroom.moderated`: :class:`~ws_course.classroom.moderated.Moderated`,
  the mixin that puts a chat room (:mod:`ws_course.chat`, :mod:`ws_course.json_chat`)
  under a roster;
- :mod:`~ws_course.classroom.desk`: the teacher's view and the big screen, their live
  feeds and their pages (``static/teacher.html``, ``static/screen.html``), whatever
  login is in front; served by websockets there, and by aiohttp in
  :mod:`~ws_course.classroom.aiohttp_desk`;
- :mod:`~ws_course.classroom.server`: ``ws-course serve chat`` and ``json-chat``, moderated;
- :mod:`~ws_course.classroom.event_room`: ``ws-course serve event-chat`` (Socket.IO), moderated;
- :mod:`~ws_course.classroom.on_a_hub`: where a student's kernel runs, and the class room's address;
- :mod:`~ws_course.classroom.progress`: the students' verdicts and "stuck" flags.
"""
