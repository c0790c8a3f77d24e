"""What a learner uses in a workshop on a JupyterHub: the sticky notes (see :mod:`ws_course.classroom`)."""
