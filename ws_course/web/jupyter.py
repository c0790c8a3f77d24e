"""Pages through the Jupyter server: where a browser finds a demo server.

A demo server listens on ``127.0.0.1`` on the machine that runs the kernel. When
JupyterLab runs on your own computer, your browser is on that machine too, and
``http://127.0.0.1:PORT/`` works. On a JupyterHub, on Binder or on any remote
JupyterLab it does not: ``127.0.0.1`` in your browser is your own computer.

What your browser *can* reach is the Jupyter server itself. With the
`jupyter-server-proxy <https://jupyter-server-proxy.readthedocs.io/>`_ extension
installed, the Jupyter server forwards ``{base_url}proxy/PORT/anything`` to
``http://localhost:PORT/anything``, WebSockets and long-polling included, for
logged-in users only. So a page's address through the Jupyter server is a path
on the Jupyter server's own origin::

    http://127.0.0.1:43117/?transports=polling      (the kernel's view)
    /user/alice/proxy/43117/?transports=polling      (the browser's view, on a hub)

The course's pages build their ``ws://`` and Socket.IO addresses from ``location``,
so they work under that path prefix unchanged.

How does code in a kernel know which Jupyter server it runs under? Two clues,
both read here:

- ``JPY_PARENT_PID``: ``jupyter_client`` puts the process id of whoever started
  the kernel into the kernel's environment. A Jupyter server writes a file
  ``jpserver-<pid>.json`` (its URL, ``base_url``, port) into the Jupyter runtime
  folder, and the kernel shares that folder. A kernel started by something else
  (nbval, nbconvert, pytest) finds no such file: there is no Jupyter server.
- ``JUPYTERHUB_SERVICE_PREFIX``: a JupyterHub single-user server has it in its
  environment, and its kernels inherit it: ``/user/alice/``.

With neither, as in a plain script, in pytest or under ``ws-course serve``,
:func:`browser_url` returns the address unchanged. The widgets in the kernel
keep connecting to ``127.0.0.1`` directly: they are on the server's machine.

Two things change for a page behind the proxy. Its requests carry the Jupyter
server's address in ``Host`` and ``Origin`` (and, behind JupyterHub's proxy,
``X-Forwarded-Host`` and ``X-Forwarded-Proto``), not the demo server's own. And
jupyter-server-proxy (4.6) does not pass WebSocket close codes on: when the server
closes with 1001, the page sees 1005, "no code".

    >>> from ws_course.web.jupyter import browser_url
    >>> browser_url("http://127.0.0.1:43117/")     # in a notebook on a JupyterLab at /
    '/proxy/43117/'
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

__all__ = ["JupyterServer", "browser_url", "browser_may_be_local", "find_server", "proxy_in_front"]

#: Host names that mean "this machine": only such addresses are reachable through the proxy.
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@dataclass(frozen=True)
class JupyterServer:
    """The Jupyter server a kernel runs under.

    Attributes:
        base_url: Where the server lives on its origin, as the browser sees it:
            ``/``, ``/some/prefix/``, ``/user/alice/``. Always ends with ``/``.
        url: How this machine reaches the server (``None`` if unknown).
        token: A token its API accepts (``""`` if unknown).
        proxy: True if ``{base_url}proxy/PORT/`` reaches a local port, that is,
            if the server runs jupyter-server-proxy.
    """

    base_url: str
    url: str | None = None
    token: str = ""
    proxy: bool = True

    def proxy_path(self, port: int, path: str = "/") -> str:
        """The path, on the Jupyter server's origin, that reaches ``localhost:port/path``."""
        return f"{self.base_url}proxy/{port}/{path.lstrip('/')}"


def find_server() -> JupyterServer | None:
    """Find the Jupyter server this process is a kernel of, or ``None`` when there is none."""
    info = _server_info(os.environ.get("JPY_PARENT_PID", ""), _runtime_dir())
    hub_prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX")
    if info is None and not hub_prefix:
        return None
    if info is None:  # on a hub, without the server's file: the hub says where we are
        return JupyterServer(base_url=_slashed(hub_prefix), token=os.environ.get("JUPYTERHUB_API_TOKEN", ""))
    token = info.get("token") or os.environ.get("JUPYTERHUB_API_TOKEN", "")
    url = info.get("url")
    return JupyterServer(
        base_url=_slashed(info.get("base_url", "/")), url=url, token=token, proxy=_has_proxy(url, token)
    )


def browser_url(url: str) -> str:
    """The address a browser should use for a page at ``url``, as the kernel knows it.

    Under a Jupyter server that runs jupyter-server-proxy, a page on this machine
    (``http://127.0.0.1:PORT/...``) is reached through that server, at
    ``{base_url}proxy/PORT/...``; otherwise, and for any other address, ``url`` itself.
    """
    address = urlsplit(url)
    if address.scheme not in ("http", "https") or address.hostname not in LOOPBACK or address.port is None:
        return url
    server = find_server()
    if server is None or not server.proxy:
        return url
    path = server.proxy_path(address.port, address.path or "/")
    return f"{path}?{address.query}" if address.query else path


def browser_may_be_local() -> bool:
    """Whether the browser may be on this machine, so that ``127.0.0.1`` addresses reach it.

    True without a Jupyter server (a script, a test), and under one that listens on
    this machine only and is not a JupyterHub's. False on a hub (Binder included)
    and under a Jupyter server open to the network. (A JupyterLab reached through
    an SSH tunnel looks local and is not: it cannot be told from here.)
    """
    if os.environ.get("JUPYTERHUB_SERVICE_PREFIX"):
        return False
    info = _server_info(os.environ.get("JPY_PARENT_PID", ""), _runtime_dir())
    if info is None:
        return True
    return urlsplit(info.get("url") or "").hostname in LOOPBACK


def proxy_in_front() -> bool:
    """Whether browsers reach this kernel's servers through its Jupyter server's proxy, from elsewhere.

    True on a JupyterHub (Binder included) and under a Jupyter server with
    jupyter-server-proxy that is open to the network: the browser then names the
    Jupyter server in ``Host``, by whatever name it has (the servers' host check,
    :mod:`ws_course.safety.origins`, needs to know). False without a Jupyter server,
    and under one that listens on this machine only: that one refuses requests sent
    to a name that is not this machine's, so what it forwards names this machine.
    """
    server = find_server()
    return server is not None and server.proxy and not browser_may_be_local()


def _runtime_dir() -> Path:
    try:
        from jupyter_core.paths import jupyter_runtime_dir
    except ImportError:  # no Jupyter here at all: a plain script
        return Path(os.environ.get("JUPYTER_RUNTIME_DIR", "/nonexistent"))
    return Path(jupyter_runtime_dir())


def _server_info(pid: str, runtime_dir: Path) -> dict | None:
    """What the Jupyter server with process id ``pid`` wrote about itself, if it is one."""
    if not pid.isdigit():
        return None
    try:
        return json.loads((runtime_dir / f"jpserver-{pid}.json").read_text())
    except (OSError, ValueError):
        return None


@lru_cache(maxsize=8)
def _has_proxy(url: str | None, token: str) -> bool:
    """Ask the server whether jupyter-server-proxy runs in it (once per server).

    The extension answers ``{base_url}server-proxy/servers-info``; a server without
    it answers 404. If the server cannot be asked (an address this machine cannot
    reach, say), assume it has the extension: this course installs it.
    """
    if not url or not url.startswith(("http://", "https://")):
        return True
    request = urllib.request.Request(
        url.rstrip("/") + "/server-proxy/servers-info", headers={"Authorization": f"token {token}"}
    )
    try:
        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(request, timeout=3):
            return True
    except urllib.error.HTTPError as error:
        return error.code != 404
    except (OSError, ValueError):
        return True


def _slashed(path: str) -> str:
    return "/" + path.strip("/") + "/" if path.strip("/") else "/"
