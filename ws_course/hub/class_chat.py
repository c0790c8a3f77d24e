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
header. Either way the room calls you by your hub user name, and either way the
way in is the hub's proxy (when the hub says where it is; see
:mod:`ws_course.classroom.on_a_hub`), so it works wherever your kernel runs.
"""

from __future__ import annotations

from IPython.display import HTML

from ..classroom.on_a_hub import DEFAULT_NAME, hub_variable, hub_token, room_path, room_url
from ..notebook import show_page
from ..widgets.chat_client import ChatClient

__all__ = ["class_chat_page", "join_class_chat", "show_class_chat"]


def class_chat_page(name: str = DEFAULT_NAME) -> str:
    """The room's page, as a path on the hub's address: ``/services/class-chat/``.

    A path, not a full address: the browser that shows it is on the hub's pages
    already (JupyterLab at ``/user/NAME/``), so it resolves the path against the
    hub's address the student typed, whatever the kernel knows the hub by.
    """
    hub_variable("JUPYTERHUB_API_URL")
    return room_path(name)


def show_class_chat(name: str = DEFAULT_NAME, height: int = 300) -> HTML:
    """Link to the room's page and embed it (your browser logs in with your hub login)."""
    return show_page(class_chat_page(name), height=height)


def join_class_chat(name: str = DEFAULT_NAME) -> ChatClient:
    """A :class:`~ws_course.widgets.chat_client.ChatClient` in the room, under your hub user name.

    It connects through the hub's proxy, as your browser does
    (:func:`ws_course.classroom.on_a_hub.room_url` says how it finds it), and
    proves who you are with this kernel's token.
    """
    return ChatClient(room_url(name), json=True, headers={"Authorization": f"token {hub_token()}"})
