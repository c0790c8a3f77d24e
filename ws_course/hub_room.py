"""The class room's former address, kept for teachers' ``jupyterhub_config.py``: see :mod:`ws_course.hub.room`.

``python -m ws_course.hub_room`` runs the room as ``python -m ws_course.hub.room`` does.
"""

from .hub.room import jupyterhub_config, main, serve

__all__ = ["jupyterhub_config", "main", "serve"]

if __name__ == "__main__":
    main()
