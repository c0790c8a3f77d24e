"""Where this kernel runs, and how it reaches the class room, on a JupyterHub.

A JupyterHub starts each student's server with a few ``JUPYTERHUB_*`` variables,
and every kernel of that server inherits them: the hub's API address
(``JUPYTERHUB_API_URL``) and a token that proves who the student is
(``JUPYTERHUB_API_TOKEN``). Their presence is how a notebook knows it runs on a hub::

    from ws_course.classroom.on_a_hub import on_a_hub, room_url, hub_token
    on_a_hub()      # True on a hub, False on a laptop or on Binder
    room_url()      # 'wss://hub.example.org/services/class-chat/'
    hub_token()     # the kernel's token, for an ``Authorization: token ...`` header

The class room is a hub *service*; the hub's proxy routes ``/services/class-chat/``
to it. A kernel reaches it through that same public proxy, as a browser does, and
not at the service's own address (``http://127.0.0.1:10101``): with DockerSpawner
or on Kubernetes the kernel runs on another machine, where ``127.0.0.1`` is the
kernel's own. Where the proxy is, in this order:

1. ``$WS_COURSE_HUB_URL``: what the teacher put into ``c.Spawner.environment``.
   It wins because the teacher set it for this very purpose, for example when the
   students' machines reach the proxy by an inside name (Zero to JupyterHub:
   ``http://proxy-public``) rather than the public one.
2. ``$JUPYTERHUB_PUBLIC_HUB_URL``: the hub sets it when its configuration says
   ``c.JupyterHub.public_url`` (the address students type into their browser).
3. Otherwise the hub's API is asked for the service's record, and the kernel uses
   the service's own address: that works only when kernels run on the hub's
   machine (the hub's default spawner, The Littlest JupyterHub).

Of the first two, only the scheme and host (``https://hub.example.org``) count; the
path is the hub's ``base_url``, which the hub always tells the kernel
(``$JUPYTERHUB_BASE_URL``).
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from urllib.parse import quote, urlsplit

__all__ = ["on_a_hub", "room_url", "room_path", "hub_token", "hub_variable"]

#: The class room's service name in the teacher's ``jupyterhub_config.py``.
DEFAULT_NAME = "class-chat"


def on_a_hub() -> bool:
    """True when this process runs on a JupyterHub: its API address and token are set."""
    return bool(os.environ.get("JUPYTERHUB_API_TOKEN") and os.environ.get("JUPYTERHUB_API_URL"))


def hub_variable(name: str) -> str:
    """The hub's variable ``name`` (``JUPYTERHUB_API_URL``...); a clear error when not on a hub."""
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(
            f"no ${name}: the class room is a JupyterHub service, and this kernel does not run on a JupyterHub"
        )
    return value


def hub_token() -> str:
    """This kernel's token (``$JUPYTERHUB_API_TOKEN``): the hub knows it as this student's."""
    return hub_variable("JUPYTERHUB_API_TOKEN")


def room_url(name: str = DEFAULT_NAME, scheme: str = "ws") -> str:
    """The class room's address through the hub's proxy: ``ws://hub.example/services/class-chat/``.

    Args:
        name: The service's name in the teacher's configuration.
        scheme: ``"ws"`` for a WebSocket, ``"http"`` for the page. Either becomes
            its secure twin (``wss``, ``https``) when the hub is on HTTPS.

    Raises:
        RuntimeError: not on a hub, or the hub would not say where the service is.
    """
    hub_variable("JUPYTERHUB_API_URL")
    if scheme not in ("ws", "http"):
        raise ValueError(f"scheme must be 'ws' or 'http', not {scheme!r}")
    prefix = room_path(name)
    for variable in ("WS_COURSE_HUB_URL", "JUPYTERHUB_PUBLIC_HUB_URL"):
        if os.environ.get(variable):
            origin = urlsplit(os.environ[variable])
            if origin.scheme not in ("http", "https") or not origin.netloc:
                raise RuntimeError(f"${variable} must be an http:// or https:// address, not {os.environ[variable]!r}")
            return f"{_scheme(scheme, origin.scheme)}://{origin.netloc}{prefix}"
    service = _service_record(name)
    address = urlsplit(service["url"])
    return f"{_scheme(scheme, address.scheme)}://{address.netloc}{service.get('prefix') or prefix}"


def room_path(name: str = DEFAULT_NAME) -> str:
    """The room's path on the hub's address, ``/services/class-chat/`` (after the hub's base URL)."""
    base_url = os.environ.get("JUPYTERHUB_BASE_URL") or "/"  # "/" or "/prefix/", as the hub tells its servers
    return base_url.rstrip("/") + f"/services/{quote(name)}/"


def _scheme(wanted: str, http_scheme: str) -> str:
    secure = http_scheme == "https"
    return {"ws": "wss" if secure else "ws", "http": "https" if secure else "http"}[wanted]


def _service_record(name: str) -> dict:
    """The hub's record of service ``name`` (its own address, ``url``), from the hub's API."""
    api_url = hub_variable("JUPYTERHUB_API_URL")
    request = urllib.request.Request(
        f"{api_url.rstrip('/')}/services/{quote(name)}", headers={"Authorization": f"token {hub_token()}"}
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # the hub's API is near: no http_proxy
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
    return service
