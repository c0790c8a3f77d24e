"""How a browser reaches a course server.

- :mod:`~ws_course.web.static`: where the pages are (package data);
- :mod:`~ws_course.web.pages`: a demo's page on the same port as its WebSocket;
  :mod:`~ws_course.web.article`: the article's own pages, in a sandbox;
- :mod:`~ws_course.web.socketio_app`: python-socketio on aiohttp, with its page and
  the JavaScript client; :mod:`~ws_course.web.socketio_manager`: a room's message
  to each member in turn;
- :mod:`~ws_course.web.aiohttp_app`: an aiohttp application run like every demo;
- :mod:`~ws_course.web.jupyter`: the Jupyter server's proxy addresses, for pages
  seen through JupyterLab or JupyterHub;
- :mod:`~ws_course.web.another_site`: another web site, for lesson 06a.
"""
