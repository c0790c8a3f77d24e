"""What a teacher adds to a JupyterHub's configuration for the class room: adding, never replacing.

A hub's ``jupyterhub_config.py`` is Python, and ``c`` in it is a traitlets
``Config``. An assignment, ``c.JupyterHub.services = [...]``, throws away whatever
the lines above had put there: The Littlest JupyterHub's idle culler, nbgrader's
formgrader, a service of the teacher's own. So :func:`add_class_room` only adds:

- **the service**, appended to ``c.JupyterHub.services`` (``append`` works both on
  a list assigned above and on the placeholder traitlets hands out for a setting
  nobody has touched yet, a ``LazyConfigValue``, which applies the append to the
  default when the hub reads its configuration);
- **two scopes for every user**, ``access:services!service=class-chat`` (use the
  room) and ``read:services!service=class-chat`` (look it up), added to the
  ``user`` role that every hub user has. JupyterHub refuses a role defined twice,
  and a ``user`` role in ``load_roles`` replaces the default one's scopes, so:
  a ``user`` role already configured gets the two scopes added to its own;
  otherwise JupyterHub 6's ``c.JupyterHub.extra_user_scopes``, made for this,
  gets them; on JupyterHub 5 a ``user`` role is appended, with the default's
  ``self`` and the two scopes;
- **the same two scopes for the token each student's server gets**
  (``$JUPYTERHUB_API_TOKEN``, which the kernels inherit: the widget's way in),
  added to ``server_token_scopes``. Nobody configured that? Its default is "the
  ``server`` role's scopes", which are then written out, and the two added.

Run it after every line that assigns these settings (an assignment below it would
replace what it added): at the end of ``jupyterhub_config.py``, or, on The Littlest
JupyterHub, in a file of ``/opt/tljh/config/jupyterhub_config.d/`` (TLJH reads those
after its own settings). :func:`jupyterhub_config` writes out the lines for each kind
of hub.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

__all__ = ["FLAVOURS", "add_class_room", "class_room_scopes", "jupyterhub_config"]

#: The kinds of hub :func:`jupyterhub_config` writes the lines for.
FLAVOURS = ("plain", "tljh", "z2jh")


def class_room_scopes(name: str = "class-chat") -> list[str]:
    """What every student needs for the room: use it (access), and look it up (read)."""
    return [f"access:services!service={name}", f"read:services!service={name}"]


def add_class_room(
    c: Any,
    url: str = "http://127.0.0.1:10101",
    *,
    name: str = "class-chat",
    listen: str | None = None,
    log_file: str | None = None,
) -> dict[str, Any]:
    """Add the class room to the hub's configuration ``c``, keeping everything already there.

    Args:
        c: The configuration (``c`` in ``jupyterhub_config.py``).
        url: Where the hub's proxy finds the room: a free port on the hub's machine.
        name: The service's name: the room is at ``/services/NAME/`` on the hub.
        listen: The address the room listens on, when it is not ``url``'s host (on
            Kubernetes the proxy reaches it as ``http://hub:10101``, and it listens
            on ``0.0.0.0``).
        log_file: The room's own log (default: ``NAME.log`` in the hub's working
            folder, next to its database).

    Returns:
        The service's entry, as appended to ``c.JupyterHub.services``.
    """
    command = [sys.executable, "-m", "ws_course.hub.room"]
    if listen:
        command += ["--listen", listen]
    if log_file:
        command += ["--log-file", log_file]
    existing = _configured(c.JupyterHub.services)
    if any(service.get("name") == name for service in existing):
        raise ValueError(f"a JupyterHub service named {name!r} is configured already: give the class room another name")
    service = {
        "name": name,
        "url": url,
        "command": command,
        "oauth_no_confirm": True,  # students see no "authorize access?" page
    }
    c.JupyterHub.services.append(service)
    scopes = class_room_scopes(name)
    _add_user_scopes(c, scopes)
    for section in _sections_with(c, "server_token_scopes") | {"Spawner"}:
        _add_server_token_scopes(c, section, scopes)
    return service


# -- the user role -----------------------------------------------------------------------


def _configured(value: Any) -> list:
    """What a list setting holds so far: the list itself, or what a LazyConfigValue will add.

    (Not ``LazyConfigValue.get_value()``: it remembers its answer, and appends made
    after it would be lost. ``to_dict()`` shows the pending changes, the very objects.)
    """
    if isinstance(value, list):
        return value
    if callable(getattr(value, "to_dict", None)):
        pending = value.to_dict()
        return [*pending.get("prepend", []), *(item for _, item in pending.get("inserts", [])), *pending.get("extend", [])]
    return []


def _add_user_scopes(c: Any, scopes: list[str]) -> None:
    user_role = next((role for role in _configured(c.JupyterHub.load_roles) if role.get("name") == "user"), None)
    if user_role is not None and "scopes" in user_role:
        # The configuration's own user role: JupyterHub uses its scopes (and ignores extra_user_scopes).
        user_role["scopes"] = [*user_role["scopes"], *(s for s in scopes if s not in user_role["scopes"])]
    elif _hub_has_extra_user_scopes():
        extra = c.JupyterHub.extra_user_scopes
        if isinstance(extra, list):
            extra.extend(s for s in scopes if s not in extra)
        else:  # a set, or the LazyConfigValue of a setting nobody touched
            extra.update(set(scopes))
    elif user_role is not None:  # a user role without scopes of its own: it has the default's, "self"
        user_role["scopes"] = ["self", *scopes]
    else:
        c.JupyterHub.load_roles.append({"name": "user", "scopes": ["self", *scopes]})


def _hub_has_extra_user_scopes() -> bool:
    """JupyterHub 6 and later: ``c.JupyterHub.extra_user_scopes`` adds to the default user role."""
    from jupyterhub.app import JupyterHub  # the hub's own configuration runs inside JupyterHub

    return "extra_user_scopes" in JupyterHub.class_trait_names()


# -- the server's token ------------------------------------------------------------------


def _sections_with(c: Any, setting: str) -> set[str]:
    """The configuration's sections (``Spawner``, ``KubeSpawner``...) where ``setting`` is set."""
    return {section for section, values in c.items() if section[:1].isupper() and setting in values}


def _add_server_token_scopes(c: Any, section: str, scopes: list[str]) -> None:
    current = c[section].server_token_scopes
    if callable(current) and not hasattr(current, "to_dict"):
        c[section].server_token_scopes = _with_scopes(current, scopes)
    elif isinstance(current, list):
        current.extend(s for s in scopes if s not in current)
    elif current.to_dict():  # a LazyConfigValue someone appended to: it adds to []
        current.extend(scopes)
    else:  # nobody set it: empty means "the server role's scopes"; write them out, and add
        c[section].server_token_scopes = [*_server_role_scopes(c), *scopes]


def _with_scopes(scopes_of: Callable[[Any], Any], scopes: list[str]) -> Callable[[Any], Any]:
    """A ``server_token_scopes`` function that adds ``scopes`` to what ``scopes_of(spawner)`` gives."""

    async def scopes_with_the_room(spawner: Any) -> list[str]:
        given = scopes_of(spawner)
        if hasattr(given, "__await__"):
            given = await given
        return [*given, *(s for s in scopes if s not in given)]

    return scopes_with_the_room


def _server_role_scopes(c: Any) -> list[str]:
    """The ``server`` role's scopes: as configured in ``load_roles``, or JupyterHub's default."""
    from jupyterhub.roles import get_default_roles

    for role in _configured(c.JupyterHub.load_roles):
        if role.get("name") == "server" and "scopes" in role:
            return list(role["scopes"])
    return next(list(role["scopes"]) for role in get_default_roles() if role["name"] == "server")


# -- the lines, written out ------------------------------------------------------------


def jupyterhub_config(port: int = 10101, name: str = "class-chat", flavour: str = "plain") -> str:
    """The lines a teacher adds to the hub's configuration (README's "For teachers" shows them).

    Args:
        port: A free port on the hub's machine, for the room.
        name: The service's name (the room is at ``/services/NAME/``).
        flavour: ``"plain"``: the end of ``jupyterhub_config.py``. ``"tljh"``: a file of
            its own in The Littlest JupyterHub's ``/opt/tljh/config/jupyterhub_config.d/``.
            ``"z2jh"``: Zero to JupyterHub's ``hub.extraConfig`` (in the helm chart's
            values; the room runs in the hub's pod, the proxy's pod reaches it as
            ``http://hub:PORT``).
    """
    if flavour not in FLAVOURS:
        raise ValueError(f"flavour must be one of {FLAVOURS}, not {flavour!r}")
    arguments = "" if name == "class-chat" else f', name="{name}"'
    if flavour == "z2jh":
        return f"""\
# ws-course's class room, a hub service at /services/{name}/: it adds to the chart's services
# and roles, and replaces none of them. It runs in the hub's pod; the proxy's pod reaches it
# through the hub's Kubernetes service (hub.service.extraPorts, hub.networkPolicy).
from ws_course.hub.config import add_class_room

add_class_room(c, "http://hub:{port}", listen="0.0.0.0"{arguments})
"""
    if flavour == "tljh":
        return f"""\
# ws-course's class room, a hub service at /services/{name}/. TLJH reads this file after its
# own settings: it adds to them (the idle culler stays) and replaces none of them.
from ws_course.hub.config import add_class_room

add_class_room(c, "http://127.0.0.1:{port}"{arguments})  # a free port on the hub's machine
"""
    return f"""\
# ws-course's class room, a hub service at /services/{name}/. It adds to the services,
# roles and token scopes configured so far, and replaces none of them: keep these lines after them.
from ws_course.hub.config import add_class_room

add_class_room(c, "http://127.0.0.1:{port}"{arguments})  # a free port on the hub's machine
"""
