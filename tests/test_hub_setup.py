"""The teacher's set-up of the class room (ws_course.hub.config, ws_course.classroom.on_a_hub).

On the session's real hub, whose configuration had an idle culler before the class
room's lines (``hub.IDLE_CULLER``): the culler keeps running and working, the room
works, a student's kernel joins it through the hub's public address, and the room
writes its own log. In-process, with JupyterHub's own configuration loader and role
set-up (no hub started): what the lines add to a configuration that had a ``user``
role, server token scopes, a callable, or The Littlest JupyterHub's and Zero to
JupyterHub's ways of loading them.
"""

from __future__ import annotations

import json
import os
import re
import textwrap
import time
from pathlib import Path

import psutil
import pytest
from hub import IDLE_CULLER

from ws_course.hub import config as hub_config
from ws_course.hub.class_chat import class_chat_page, join_class_chat

HERE = Path(__file__).resolve().parent
ROOM_SCOPES = ["access:services!service=class-chat", "read:services!service=class-chat"]


def wait_for(condition, what: str, timeout: float = 15):
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(0.2)
    return result


# -- on the real hub ---------------------------------------------------------------------


def test_the_idle_culler_survives_the_class_rooms_lines(hub):
    services = hub.api("GET", "/services")
    assert {"idle-culler", "class-chat"} <= services.keys()
    # Its process runs (the hub started it)...
    culler = psutil.Process(services["idle-culler"]["pid"])
    assert culler.is_running() and "jupyterhub_idle_culler" in culler.cmdline()
    # ...and its role still gives it what it needs: its first round of API calls (list the
    # users with their servers: list:users, read:servers, read:users:activity) was answered.
    answered = re.compile(r"200 GET /hub/api/users\S* \(idle-culler@")
    wait_for(lambda: answered.search(hub.log_path.read_text(errors="replace")), "the culler's first round")
    assert not re.search(r"40[13] \w+ /hub/api/\S* \(idle-culler@", hub.log_path.read_text(errors="replace"))


def kernel_environment(hub, user: str) -> dict[str, str]:
    """The ``JUPYTERHUB_*`` variables of ``user``'s server: what each of its kernels inherits."""
    hub.wait_for_server(user)
    for pid, command in hub.processes().items():
        if "jupyterhub.singleuser" in command:
            environment = psutil.Process(pid).environ()
            if environment.get("JUPYTERHUB_USER") == user:
                return {name: value for name, value in environment.items() if name.startswith("JUPYTERHUB_")}
    raise AssertionError(f"no running server of {user}'s")


@pytest.fixture
def alices_kernel(hub, monkeypatch):
    """This process, with the hub's variables that alice's kernels have (her server's token among them)."""
    for name in ("WS_COURSE_HUB_URL", "JUPYTERHUB_PUBLIC_HUB_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in kernel_environment(hub, "alice").items():
        monkeypatch.setenv(name, value)
    return monkeypatch


async def joined(text: str):
    """Join the class room as this kernel's student, say ``text``, and return where the socket went."""
    member = join_class_chat()
    try:
        await member.wait_for_message(lambda message: json.loads(message)["data"] == "alice comes in", timeout=15)
        member.send(text)
        await member.wait_for_message(lambda message: json.loads(message)["data"] == f"alice says: {text}", timeout=15)
        return member._websocket.remote_address[1], member.url
    finally:
        member.close()
        await member.closed(timeout=15)


async def test_a_kernel_joins_the_room_through_the_hubs_public_address(hub, alices_kernel):
    service_port = int(hub.api("GET", "/services/class-chat")["url"].rsplit(":", 1)[1])
    # The teacher's WS_COURSE_HUB_URL (in c.Spawner.environment): through the proxy.
    alices_kernel.setenv("WS_COURSE_HUB_URL", hub.url)
    assert await joined("through the teacher's address") == (hub.port, f"ws://127.0.0.1:{hub.port}/services/class-chat/")
    # What the hub says when c.JupyterHub.public_url is set: through the proxy too.
    alices_kernel.delenv("WS_COURSE_HUB_URL")
    alices_kernel.setenv("JUPYTERHUB_PUBLIC_HUB_URL", hub.url + "/hub/")
    assert await joined("through the hub's public address") == (hub.port, f"ws://127.0.0.1:{hub.port}/services/class-chat/")
    # Neither: the hub's API says where the service listens, and the kernel goes there directly
    # (what works only when kernels run on the hub's machine).
    alices_kernel.delenv("JUPYTERHUB_PUBLIC_HUB_URL")
    assert (await joined("directly"))[0] == service_port
    # The page is a path either way: the student's browser is on the hub's address already.
    assert class_chat_page() == "/services/class-chat/"


async def test_the_room_logs_who_said_what_to_a_file_of_its_own(hub, alices_kernel):
    alices_kernel.setenv("WS_COURSE_HUB_URL", hub.url)
    await joined("a line for the log")
    room_log = hub.folder / "class-chat.log"  # the hub's working folder
    said = wait_for(
        # The roster's line (ws_course.classroom.roster): the hub user, the address, page or widget.
        lambda: re.search(r"alice \((\S+), widget\) says: a line for the log", room_log.read_text()),
        "alice's line in the room's log",
    )
    assert said[1] == "127.0.0.1"  # the address the hub's proxy saw
    assert re.search(r"\[alice \S+ via \S+\] connection open", room_log.read_text())
    # The hub's own log heard the room start, and nothing of who came in or said what.
    hub_log = hub.log_path.read_text(errors="replace")
    assert "The class room is listening on" in hub_log
    assert "says: a line for the log" not in hub_log and "alice comes in" not in hub_log


# -- in-process: the configuration, as JupyterHub loads it ----------------------------------


def hub_configured(tmp_path: Path, lines: str, main: str = "jupyterhub_config.py"):
    """Load ``lines`` (written to ``tmp_path/main``) with JupyterHub's loader; set up its roles in a database in memory.

    Returns the app, the ``user`` role's scopes in that database, and a spawner's
    ``server_token_scopes`` as configured.
    """
    import asyncio

    from jupyterhub import orm
    from jupyterhub.app import JupyterHub
    from jupyterhub.spawner import LocalProcessSpawner

    (tmp_path / main).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / main).write_text(lines)
    JupyterHub.clear_instance()
    app = JupyterHub()
    try:
        app.load_config_file(str(tmp_path / main))
        app.db_url = "sqlite:///:memory:"
        app.init_db()
        asyncio.run(app.init_role_creation())
        user_scopes = set(orm.Role.find(app.db, "user").scopes)
        token_scopes = LocalProcessSpawner(config=app.config).server_token_scopes
        return app, user_scopes, token_scopes
    finally:
        JupyterHub.clear_instance()


def test_a_configuration_with_its_own_user_role_keeps_it(tmp_path):
    existing = "import sys\n" + IDLE_CULLER + textwrap.dedent("""\
        c.JupyterHub.load_roles.append({"name": "user", "scopes": ["self", "read:groups"]})
        c.Spawner.server_token_scopes = ["users:activity!user", "access:servers!server", "read:users:name"]
        """)
    app, user_scopes, token_scopes = hub_configured(tmp_path, existing + hub_config.jupyterhub_config())
    # The user role is the configuration's own, with the room's two scopes added: not a second one.
    assert [role["name"] for role in app.load_roles] == ["idle-culler", "user"]
    assert user_scopes == {"self", "read:groups", *ROOM_SCOPES}
    assert token_scopes == ["users:activity!user", "access:servers!server", "read:users:name", *ROOM_SCOPES]
    assert [service["name"] for service in app.services] == ["idle-culler", "class-chat"]


def test_a_configuration_that_set_nothing_gets_the_defaults_and_the_room(tmp_path):
    app, user_scopes, token_scopes = hub_configured(tmp_path, hub_config.jupyterhub_config())
    assert user_scopes == {"self", *ROOM_SCOPES}
    assert app.load_roles == []  # JupyterHub's own way to add to the default role (6.0), not a role of ours
    assert token_scopes == ["users:activity!user", "access:servers!server", *ROOM_SCOPES]
    [service] = app.services
    assert service["url"] == "http://127.0.0.1:10101" and service["command"][1:] == ["-m", "ws_course.hub.room"]


def test_extra_user_scopes_and_a_token_scopes_function_are_kept(tmp_path):
    existing = textwrap.dedent("""\
        c.JupyterHub.extra_user_scopes = {"read:groups"}
        def token_scopes(spawner):
            return ["users:activity!user", "access:servers!server", f"read:users:name!user={spawner.user.name}"]
        c.Spawner.server_token_scopes = token_scopes
        """)
    app, user_scopes, token_scopes = hub_configured(tmp_path, existing + hub_config.jupyterhub_config())
    assert user_scopes == {"self", "read:groups", *ROOM_SCOPES}

    class Spawner:
        class user:
            name = "alice"

    import asyncio

    assert asyncio.run(token_scopes(Spawner)) == [
        "users:activity!user", "access:servers!server", "read:users:name!user=alice", *ROOM_SCOPES
    ]


def test_the_littlest_jupyterhubs_config_d_file_adds_to_its_idle_culler(tmp_path):
    """TLJH's own jupyterhub_config.py sets its culler, then loads each jupyterhub_config.d/*.py."""
    (tmp_path / "jupyterhub_config.d").mkdir()
    (tmp_path / "jupyterhub_config.d" / "ws-course.py").write_text(hub_config.jupyterhub_config(flavour="tljh"))
    tljh_like = textwrap.dedent(f"""\
        import sys
        from glob import glob
        c.JupyterHub.services = []
        c.JupyterHub.services.append({{"name": "cull-idle", "admin": True, "command": [sys.executable, "-m", "jupyterhub_idle_culler"]}})
        for extra in sorted(glob({str(tmp_path / "jupyterhub_config.d" / "*.py")!r})):
            load_subconfig(extra)
        """)
    app, user_scopes, _ = hub_configured(tmp_path, tljh_like)
    assert [service["name"] for service in app.services] == ["cull-idle", "class-chat"]
    assert user_scopes == {"self", *ROOM_SCOPES}


def test_zero_to_jupyterhubs_extra_config_adds_to_the_charts_services(tmp_path):
    """The chart's jupyterhub_config.py assigns its lists, appends hub.services, then runs each hub.extraConfig."""
    chart_like = textwrap.dedent(f"""\
        c.JupyterHub.services = []
        c.JupyterHub.load_roles = []
        c.JupyterHub.services.append({{"name": "jupyterhub-idle-culler", "command": ["python3", "-m", "jupyterhub_idle_culler"]}})
        c.JupyterHub.load_roles.append({{"name": "jupyterhub-idle-culler", "scopes": ["list:users"], "services": ["jupyterhub-idle-culler"]}})
        exec({hub_config.jupyterhub_config(flavour="z2jh")!r})
        """)
    app, user_scopes, _ = hub_configured(tmp_path, chart_like)
    assert [service["name"] for service in app.services] == ["jupyterhub-idle-culler", "class-chat"]
    room = app.services[1]
    assert room["url"] == "http://hub:10101" and room["command"][-2:] == ["--listen", "0.0.0.0"]
    assert user_scopes == {"self", *ROOM_SCOPES}


def test_a_second_room_of_the_same_name_is_refused_clearly(tmp_path):
    twice = hub_config.jupyterhub_config() + hub_config.jupyterhub_config()
    with pytest.raises(ValueError, match="a JupyterHub service named 'class-chat' is configured already"):
        hub_configured(tmp_path, twice)


def test_readme_gives_each_kind_of_hubs_lines():
    readme = (HERE.parent / "README.md").read_text()
    for flavour in hub_config.FLAVOURS:
        lines = hub_config.jupyterhub_config(flavour=flavour)
        assert any(textwrap.indent(lines, indent) in readme for indent in ("", "  ", "        ")), flavour


def test_room_url_says_what_is_wrong_outside_a_hub_and_with_a_bad_address(monkeypatch):
    from ws_course.classroom import on_a_hub

    for name in list(os.environ):
        if name.startswith("JUPYTERHUB_") or name == "WS_COURSE_HUB_URL":
            monkeypatch.delenv(name)
    assert not on_a_hub.on_a_hub()
    with pytest.raises(RuntimeError, match="does not run on a JupyterHub"):
        on_a_hub.room_url()
    monkeypatch.setenv("JUPYTERHUB_API_URL", "http://127.0.0.1:8081/hub/api")
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "a-token")
    monkeypatch.setenv("JUPYTERHUB_BASE_URL", "/course/")
    monkeypatch.setenv("JUPYTERHUB_PUBLIC_HUB_URL", "https://hub.example.org/course/hub/")
    assert on_a_hub.on_a_hub()
    assert on_a_hub.room_url() == "wss://hub.example.org/course/services/class-chat/"
    assert on_a_hub.room_url("other", scheme="http") == "https://hub.example.org/course/services/other/"
    monkeypatch.setenv("WS_COURSE_HUB_URL", "http://proxy-public")  # the teacher's, for kernels: it wins
    assert on_a_hub.room_url() == "ws://proxy-public/course/services/class-chat/"
    monkeypatch.setenv("WS_COURSE_HUB_URL", "proxy-public")
    with pytest.raises(RuntimeError, match=r"\$WS_COURSE_HUB_URL must be an http:// or https:// address"):
        on_a_hub.room_url()


def test_the_rooms_log_file_stays_bounded_and_the_hubs_log_hears_little(tmp_path):
    """A flood of lines (in a process of its own: the room's logging takes over the root logger)."""
    import subprocess
    import sys

    script = textwrap.dedent("""\
        import logging, sys
        from pathlib import Path
        from ws_course.hub.room import FOR_THE_HUB, log_to_file
        repeats = log_to_file(Path(sys.argv[1]))
        room = logging.getLogger("ws_course.hub.room")
        room.info("The class room is listening", extra=FOR_THE_HUB)
        for number in range(30_000):  # about 9 MB of lines
            room.info("user%d says: %s", number, "x" * 1000)
        room.warning("a warning for the hub's log too")
        logging.shutdown()
        """)
    log = tmp_path / "logs" / "class-chat.log"
    done = subprocess.run([sys.executable, "-c", script, str(log)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    files = sorted(path.name for path in log.parent.iterdir())
    assert files == ["class-chat.log", "class-chat.log.1", "class-chat.log.2", "class-chat.log.3"]
    assert all((log.parent / name).stat().st_size <= 1_000_000 for name in files)
    newest = log.read_text().splitlines()[-2]  # the newest lines are kept, each cut short
    assert re.search(r"INFO user29999 says: x{200}x*\.\.\. \(1016 characters\)$", newest)
    # The hub's log (the room's stderr): the start, and the warning; none of the chat.
    assert done.stderr.count("\n") == 2 and "listening" in done.stderr and "a warning" in done.stderr


def test_a_log_file_that_cannot_be_written_leaves_the_log_on_stderr(tmp_path):
    import subprocess
    import sys

    (tmp_path / "a-file").write_text("")
    script = textwrap.dedent("""\
        import logging, sys
        from pathlib import Path
        from ws_course.hub.room import log_to_file
        log_to_file(Path(sys.argv[1]))
        logging.getLogger("ws_course.hub.room").info("alice says: hi")
        logging.shutdown()
        """)
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "a-file" / "class-chat.log")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "cannot write the room's log to" in done.stderr and "alice says: hi" in done.stderr
