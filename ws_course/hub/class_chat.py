"""The class room on a JupyterHub, from a student's notebook.

When the teacher runs the class chat as a hub service (:mod:`ws_course.hub.room`
says how), everyone on the hub can meet in it::

    from ws_course.hub.class_chat import show_class_chat, join_class_chat
    show_class_chat()            # a link to the room's page, and the page itself
    member = join_class_chat()   # a chat widget in the room
    member

The page is on the hub's own address, ``/services/class-chat/``: your browser
logs in to it with your hub login. The widget runs in your kernel, which has no
browser and no cookie; it proves who you are with the token the hub gave your
server, ``$JUPYTERHUB_API_TOKEN``, sent in the handshake's ``Authorization``
header. Either way the room calls you by your hub user name.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from IPython.display import HTML

from ..notebook import show_page
from ..widgets.chat_client import ChatClient

__all__ = ["class_chat_page", "join_class_chat", "show_class_chat"]

#: The service's name in the teacher's ``jupyterhub_config.py``.
DEFAULT_NAME = "class-chat"


def _hub_variable(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(
            f"no ${name}: the class chat is a JupyterHub service, and this kernel does not run on a JupyterHub"
        )
    return value


def class_chat_page(name: str = DEFAULT_NAME) -> str:
    """The room's page, as a path on the hub's address: ``/services/class-chat/``."""
    base_url = os.environ.get("JUPYTERHUB_BASE_URL") or "/"
    _hub_variable("JUPYTERHUB_API_URL")
    return f"{base_url.rstrip('/')}/services/{name}/"


def show_class_chat(name: str = DEFAULT_NAME, height: int = 300) -> HTML:
    """Link to the room's page and embed it (your browser logs in with your hub login)."""
    return show_page(class_chat_page(name), height=height)


def join_class_chat(name: str = DEFAULT_NAME) -> ChatClient:
    """A :class:`~ws_course.widgets.chat_client.ChatClient` in the room, under your hub user name.

    It asks the hub where the service listens (the hub's API, with this kernel's
    token), and connects there directly: the kernel runs on the hub's side.
    """
    api_url = _hub_variable("JUPYTERHUB_API_URL")
    token = _hub_variable("JUPYTERHUB_API_TOKEN")
    request = urllib.request.Request(f"{api_url.rstrip('/')}/services/{name}", headers={"Authorization": f"token {token}"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # the hub is near: no http_proxy
    try:
        with opener.open(request, timeout=10) as response:
            service = json.load(response)
    except urllib.error.HTTPError as error:
        raise RuntimeError(
            f"the hub would not tell where its service {name!r} is (HTTP {error.code}): the teacher's "
            "jupyterhub_config.py must give users read:services!service=... (see ws_course.hub.room)"
        ) from None
    if not service.get("url"):
        raise RuntimeError(f"the hub's service {name!r} has no address: is it running? {service}")
    address = urlsplit(service["url"])
    scheme = "wss" if address.scheme == "https" else "ws"
    prefix = service.get("prefix") or f"/services/{name}/"
    return ChatClient(f"{scheme}://{address.netloc}{prefix}", json=True, headers={"Authorization": f"token {token}"})
