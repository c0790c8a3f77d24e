"""A real JupyterHub for the tests, on free loopback ports, with every file in one folder.

:class:`JupyterHub` starts the ``jupyterhub`` command with a configuration file it
writes: JupyterHub's own proxy, ``configurable-http-proxy`` (from npm, pinned in
``package-lock.json``), in front; ``SharedPasswordAuthenticator`` (the allowed user
names, one shared password); ``SimpleLocalProcessSpawner`` (each user's JupyterLab is a local
process, run with ``--allow-root`` because the tests may run as root). The hub's
database, cookie secret, PID files and log, and each user's home folder (where
their JupyterLab keeps its Jupyter and IPython files), are all in ``folder``.

The browser reaches everything through one address, :attr:`JupyterHub.url` (the
proxy's): ``/hub/`` for the hub, ``/user/NAME/`` for a user's JupyterLab,
``/services/NAME/`` for a service. :meth:`JupyterHub.stop` stops every process the
hub started (proxy, users' servers, their kernels, services) and the hub itself, by
PID, and checks that none is left.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import psutil
from lab_helpers import QUIET_LAB, free_port, wait_until_up
from playwright.sync_api import expect

CONFIGURABLE_HTTP_PROXY = Path(__file__).resolve().parent.parent / "node_modules" / ".bin" / "configurable-http-proxy"

#: The password of every user of the test hub (SharedPasswordAuthenticator).
PASSWORD = "class-password"

#: A teacher's existing configuration, written the way jupyterhub-idle-culler's README
#: writes it (assignments): the idle culler as a hub service, and its role. The session's
#: hub runs these lines *before* the class room's, which must keep them. Its timeout
#: (a day) culls nothing during the tests; its first round of API calls runs at once.
IDLE_CULLER = """\
c.JupyterHub.services = [
    {
        "name": "idle-culler",
        "command": [sys.executable, "-m", "jupyterhub_idle_culler", "--timeout=86400"],
    }
]
c.JupyterHub.load_roles = [
    {
        "name": "idle-culler",
        "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
        "services": ["idle-culler"],
    }
]
"""

#: The password of the hub's admins (``c.Authenticator.admin_users``): SharedPasswordAuthenticator
#: wants another one for them, of at least 32 characters.
ADMIN_PASSWORD = "the-teachers-own-password-for-the-hub"


class JupyterHub:
    """A JupyterHub with its proxy, started now; :meth:`stop` stops it all.

    Args:
        folder: Where every file of the hub and its users goes.
        users: The user names allowed to log in (all with :data:`PASSWORD`).
        services: More entries for ``c.JupyterHub.services``.
        config: More lines for ``jupyterhub_config.py`` (what a teacher would add).
        environment: More environment variables for the users' servers (and so their kernels).

    Attributes:
        url: The hub's public address (its proxy's), ``http://127.0.0.1:PORT``.
        admin_token: A token with admin rights, for :meth:`api`.
        started_in: Seconds from starting the command to the hub answering through its proxy.
    """

    def __init__(
        self,
        folder: Path,
        *,
        users: tuple[str, ...] = ("alice", "bob"),
        services: tuple[dict[str, Any], ...] = (),
        config: str = "",
        environment: dict[str, str] | None = None,
    ) -> None:
        if not CONFIGURABLE_HTTP_PROXY.exists():
            raise RuntimeError(f"no {CONFIGURABLE_HTTP_PROXY}: run 'python3 course.py install' (npm ci)")
        self.folder = folder
        self.users = users
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.admin_token = secrets.token_hex(32)
        self.log_path = folder / "jupyterhub.log"
        folder.mkdir(parents=True, exist_ok=True)
        # The users' runtime files, their kernels' Unix sockets among them (see _config), in a
        # short folder: a Unix socket's path has at most 107 bytes.
        self.runtime = Path(tempfile.mkdtemp(prefix="ws-hub-"))
        settings = folder / "lab-settings" / "@jupyterlab" / "notebook-extension"
        settings.mkdir(parents=True)
        # Render every cell, not only those in view, so the tests can read any output.
        (settings / "tracker.jupyterlab-settings").write_text('{"windowingMode": "none"}')
        (folder / "jupyterhub_config.py").write_text(self._config(services, environment or {}, config))
        hub_home = folder / "hub-home"
        env = {
            **os.environ,
            "HOME": str(hub_home),
            "JUPYTER_CONFIG_DIR": str(hub_home / "config"),
            "JUPYTER_DATA_DIR": str(hub_home / "data"),
            "JUPYTER_RUNTIME_DIR": str(hub_home / "runtime"),
            "IPYTHONDIR": str(hub_home / "ipython"),
        }
        started = time.monotonic()
        self.log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jupyterhub", "-f", str(folder / "jupyterhub_config.py")],
            cwd=folder, env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )
        # psutil.Process objects, not bare PIDs: signalling one checks it is still the same process.
        self._started_processes: dict[int, psutil.Process] = {self.process.pid: psutil.Process(self.process.pid)}
        try:
            # Through the proxy: a 404 until the hub has told the proxy its route.
            wait_until_up(f"{self.url}/hub/api/", self.process, "JupyterHub", self.log_path, any_status=False)
        except RuntimeError:
            self.stop()
            raise
        self.started_in = time.monotonic() - started
        self._remember_processes()

    def _config(self, services: tuple[dict[str, Any], ...], environment: dict[str, str], config: str) -> str:
        folder = self.folder
        user_env = {
            "JUPYTERLAB_SETTINGS_DIR": str(folder / "lab-settings"),
            "JUPYTER_PLATFORM_DIRS": "1",
            **environment,
        }
        return f"""\
# Written by tests/hub.py: a hub on loopback ports, with every file under {folder}.
import sys

c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = {self.port}
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {free_port()}
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{free_port()}"
c.ConfigurableHTTPProxy.command = [{str(CONFIGURABLE_HTTP_PROXY)!r}]
c.ConfigurableHTTPProxy.auth_token = {secrets.token_hex(32)!r}
c.ConfigurableHTTPProxy.pid_file = {str(folder / "proxy.pid")!r}
c.JupyterHub.pid_file = {str(folder / "jupyterhub.pid")!r}
c.JupyterHub.db_url = "sqlite:///{folder / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = {str(folder / "jupyterhub_cookie_secret")!r}
c.JupyterHub.log_level = "INFO"
# The API's "start a server" answers at once (202) rather than after up to 10 s of waiting.
c.JupyterHub.tornado_settings = {{"slow_spawn_timeout": 0}}

c.JupyterHub.authenticator_class = "shared-password"
c.SharedPasswordAuthenticator.user_password = {PASSWORD!r}
c.Authenticator.allowed_users = {set(self.users)!r}

c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = {str(folder / "users" / "{username}")!r}
c.Spawner.cmd = [sys.executable, "-m", "jupyterhub.singleuser"]
# Kernels over Unix sockets, as in lab_helpers.JupyterLab: a TCP kernel's ports can be taken
# by another test's server between the moment they are chosen and the moment it binds them.
c.Spawner.args = ["--allow-root", *{QUIET_LAB!r}, "--KernelManager.transport=ipc"]
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 60
c.Spawner.http_timeout = 60
_user_env = {user_env!r}
c.Spawner.environment = {{
    **_user_env,
    # Each user's Jupyter and IPython files in their (temporary) home folder; runtime files in a short one.
    "JUPYTER_CONFIG_DIR": lambda spawner: spawner.home_dir + "/.jupyter",
    "JUPYTER_DATA_DIR": lambda spawner: spawner.home_dir + "/.local/share/jupyter",
    "JUPYTER_RUNTIME_DIR": lambda spawner: {str(self.runtime)!r} + "/" + spawner.user.name,
    "IPYTHONDIR": lambda spawner: spawner.home_dir + "/.ipython",
}}

c.JupyterHub.services = {list(services)!r}

# -- what the test adds ------------------------------------------------------------
{config}
# -- the tests' own admin token (appended: the lines above may set these lists) ---
c.JupyterHub.services.append({{"name": "pytest", "api_token": {self.admin_token!r}}})
c.JupyterHub.load_roles.append({{
    "name": "pytest-admin",
    "scopes": ["admin:users", "admin:servers", "admin:server_state", "tokens", "access:servers", "list:services", "read:services"],
    "services": ["pytest"],
}})
"""

    # -- the REST API -------------------------------------------------------------

    def api(self, method: str, path: str, body: dict | None = None, token: str | None = None) -> Any:
        """Call the hub's REST API (``/hub/api`` + ``path``) with the admin token, or ``token``."""
        request = urllib.request.Request(
            f"{self.url}/hub/api{path}", method=method,
            headers={"Authorization": f"token {token or self.admin_token}"},
            data=None if body is None else json.dumps(body).encode(),
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            data = response.read()
            return json.loads(data) if data else None

    def start_server(self, user: str) -> None:
        """Ask the hub to start ``user``'s JupyterLab (it carries on in the background)."""
        try:
            self.api("POST", f"/users/{user}")  # a user exists once created, or once logged in
        except urllib.error.HTTPError as error:
            if error.code != 409:  # 409: it exists
                raise
        try:
            self.api("POST", f"/users/{user}/server")
        except urllib.error.HTTPError as error:
            if error.code != 400:  # 400: it is already running
                raise

    def wait_for_server(self, user: str, timeout: float = 90) -> None:
        """Wait until ``user``'s JupyterLab is ready, and note its processes."""
        deadline = time.monotonic() + timeout
        while not self.api("GET", f"/users/{user}").get("servers", {}).get("", {}).get("ready"):
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError(f"{user}'s server did not start: see {self.log_path}")
            time.sleep(0.25)
        self._remember_processes()

    def shutdown_kernels(self, user: str) -> None:
        """Shut down every kernel of ``user``'s JupyterLab, through the hub's proxy."""
        server = f"{self.url}/user/{user}/api/kernels"
        for kernel in _get_json(server, self.admin_token):
            request = urllib.request.Request(
                f"{server}/{kernel['id']}", method="DELETE", headers={"Authorization": f"token {self.admin_token}"}
            )
            urllib.request.urlopen(request, timeout=30).close()

    def new_token(self, user: str, **body: Any) -> str:
        """A new API token of ``user``'s (what a user makes on the hub's token page)."""
        return self.api("POST", f"/users/{user}/tokens", {"note": "pytest", **body})["token"]

    # -- processes ------------------------------------------------------------------

    def _remember_processes(self) -> None:
        """Note every process the hub started so far: its proxy, users' servers, kernels, services."""
        try:
            for child in psutil.Process(self.process.pid).children(recursive=True):
                self._started_processes.setdefault(child.pid, child)
        except psutil.NoSuchProcess:
            pass

    def _services(self) -> list[psutil.Process]:
        """The services the hub runs (its direct children but the proxy)."""
        try:
            children = psutil.Process(self.process.pid).children()
        except psutil.NoSuchProcess:
            return []
        return [child for child in children if "configurable-http-proxy" not in _command(child)]

    def processes(self) -> dict[int, str]:
        """Every process the hub has started so far, by PID, with the start of its command line."""
        self._remember_processes()
        return {pid: _command(process) for pid, process in self._started_processes.items()}

    def stop(self) -> None:
        """Stop the hub: it stops its proxy, users' servers and services; then whatever is left, by PID."""
        self._remember_processes()
        if self.process.poll() is None:
            for user in self.users:  # users' servers first: they shut their kernels down
                try:
                    self.api("DELETE", f"/users/{user}/server")
                except (OSError, urllib.error.HTTPError):
                    pass
            # Then its services (the class room, the idle culler), SIGTERM by PID: the hub
            # stops them one after the other at its shutdown, and its stopping of the idle
            # culler has been seen to stall for over 30 s; stopped here, they are gone first.
            stop_processes(self._services())
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        left = stop_processes(list(self._started_processes.values()))
        self.log.close()
        shutil.rmtree(self.runtime, ignore_errors=True)
        if left:
            raise RuntimeError(f"processes the hub started were still running and had to be stopped: {left}")


def _get_json(url: str, token: str) -> Any:
    request = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def log_in(page, hub: JupyterHub, user: str, next_url: str = "/hub/home", password: str = PASSWORD) -> None:
    """Log in to the hub's login page as ``user``, as a student would; then go to ``next_url``.

    (An admin logs in with :data:`ADMIN_PASSWORD`.)

    (The default, the hub's home page, starts no server; after a plain login the
    hub would start the user's.)
    """
    page.goto(f"{hub.url}/hub/login?next={next_url}")
    page.locator("#username_input").fill(user)
    page.locator("#password_input").fill(password)
    page.locator("#login_submit").click()
    expect(page).not_to_have_url(re.compile(r"/hub/login"))


def _command(process: psutil.Process) -> str:
    try:
        return " ".join(process.cmdline()[:4])
    except psutil.Error:
        return "(ended)"


def stop_processes(processes: list[psutil.Process], timeout: float = 10) -> dict[int, str]:
    """Stop each process (SIGTERM, then SIGKILL); return those that had still been running.

    psutil checks, before each signal, that the PID still belongs to the process we
    noted (not to a newer process that got the same PID).
    """
    running = []
    for process in processes:
        try:
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                running.append((process, _command(process)))
        except psutil.NoSuchProcess:
            pass
    for process, _ in running:
        try:
            process.terminate()
        except psutil.NoSuchProcess:
            pass
    alive = _wait_until_ended([process for process, _ in running], timeout)
    for process in alive:
        try:
            process.kill()
        except psutil.NoSuchProcess:
            pass
    _wait_until_ended(alive, timeout)
    return {process.pid: command for process, command in running}


def _wait_until_ended(processes: list[psutil.Process], timeout: float) -> list[psutil.Process]:
    """Wait until each process has ended or ``timeout`` passed; return those still running.

    A process that has exited but that its parent has not reaped yet (a zombie: the
    hub's services, until the hub's event loop gets to them) counts as ended.
    ``psutil.wait_procs`` would wait for such a process (not our child) until the timeout.
    """
    deadline = time.monotonic() + timeout
    while True:
        alive = []
        for process in processes:
            try:
                if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                    alive.append(process)
            except psutil.NoSuchProcess:
                pass
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.05)
