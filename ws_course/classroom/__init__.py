"""The teacher's side of a room a whole class shares.

Used by ``ws-course serve`` on a classroom network and by the JupyterHub class room
(:mod:`ws_course.hub.room`): who is in the room and since when, what each member
said, kick and mute, a rate limit per member, the teacher's live view, the big
screen's view, and the students' exercise verdicts and "stuck" flags.
"""
