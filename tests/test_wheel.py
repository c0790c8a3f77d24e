"""Installable anywhere: a wheel built from the repository serves every demo's page and the Socket.IO client.

The pages and the official Socket.IO JavaScript client are package data
(``ws_course/static/``, see :mod:`ws_course.web.static`). These tests build a
wheel from a copy of the repository, check what it holds, install it into a
fresh virtual environment in a temporary folder outside the checkout, and, from
there, start every demo and fetch what a browser would: the page, the files it
loads (``course.js``, ``socket.io.js``), the article's page of the chat rooms.
Each must be the repository's bytes, served from the installed package.

Nothing is downloaded for the installation: the wheel is installed with
``--no-deps --no-index``, and the new environment sees the test environment's
packages (websockets, python-socketio, ...) through a ``.pth`` file that lists
their folders. Such a line only adds a folder to ``sys.path``, after the new
environment's own site-packages, and the ``.pth`` files in that folder are not
run: the test environment's editable install of ``ws_course`` (a ``.pth`` file
and an import hook) stays out, and the wheel's ``ws_course`` is the one found.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import threading
import urllib.request
import zipfile
from pathlib import Path

import pytest

from ws_course.demos import DEMOS, NAMES
from ws_course.runtime.server import Library
from ws_course.web.article import PAGES as ARTICLE_PAGES
from ws_course.web.article import PATH as ARTICLE_PATH
from ws_course.web.article import article_page

REPO = Path(__file__).resolve().parent.parent
#: The repository's pages: what the installed course must serve, byte for byte.
STATIC = REPO / "ws_course" / "static"

#: Not part of the package: what a copy of the repository leaves out before building.
NOT_SOURCES = shutil.ignore_patterns(
    ".git", ".venv", "node_modules", "build", "dist", "*.egg-info", "__pycache__", ".ipynb_checkpoints",
    ".pytest_cache", "my-notebooks", ".course-installed",
)

#: IPython's configuration for every kernel of an environment the wheel is installed in (see ws_course.restart_hint).
KERNEL_CONFIG = "etc/ipython/ipython_kernel_config.json"

#: The course's JupyterLab extension (glossary links land on their word), where JupyterLab finds it.
LAB_EXTENSION = "share/jupyter/labextensions/ws-course-links"
LAB_EXTENSION_FILES = ["package.json", "static/remoteEntry.js"]

#: Seconds for each step that starts a program.
TIMEOUT = 120

#: Fetches from 127.0.0.1 go straight there, whatever http_proxy says.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))

#: Run in the new environment: start every demo, say where, wait until stdin closes, stop them.
SERVE_EVERY_DEMO = """
import json, sys
import ws_course
from ws_course.demos import NAMES
from ws_course.web import static
servers = {name: ws_course.start(name) for name in NAMES}
print(json.dumps({
    "ws_course": ws_course.__file__,
    "static": str(static.STATIC),
    "editable_hook": any("editable" in type(finder).__name__.lower() or "editable" in repr(finder).lower()
                         for finder in sys.meta_path),
    "modules": sorted(name for name in sys.modules if "editable" in name),
    "pages": {name: server.page_url for name, server in servers.items()},
}), flush=True)
sys.stdin.read()
ws_course.stop_all()
print("stopped", flush=True)
"""


def build_wheel(source: Path, into: Path) -> Path:
    """Build ``source``'s wheel into ``into`` with pip, and return its path.

    Without build isolation when this environment's setuptools is one that
    ``[build-system] requires`` admits (fast, and offline); otherwise pip
    installs that setuptools into a temporary build environment first, as
    ``pip install`` does.
    """
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(into), str(source)]
    if _build_backend_is_installed(source):
        command.insert(-1, "--no-build-isolation")
    result = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT)
    assert result.returncode == 0, result.stdout + result.stderr
    (wheel,) = into.glob("*.whl")
    return wheel


def _build_backend_is_installed(source: Path) -> bool:
    import tomllib

    from packaging.requirements import Requirement

    for line in tomllib.loads((source / "pyproject.toml").read_text())["build-system"]["requires"]:
        requirement = Requirement(line)
        try:
            if not requirement.specifier.contains(importlib.metadata.version(requirement.name), prereleases=True):
                return False
        except importlib.metadata.PackageNotFoundError:
            return False
    return True


def environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment without the Python variables that would bring the checkout in."""
    env = {name: value for name, value in os.environ.items() if not name.startswith(("PYTHON", "COVERAGE_"))}
    env.update(extra or {})
    return env


@pytest.fixture(scope="module")
def outside(tmp_path_factory) -> Path:
    """A temporary folder, outside the checkout."""
    folder = tmp_path_factory.mktemp("installable-anywhere")
    assert not folder.resolve().is_relative_to(REPO)
    return folder


@pytest.fixture(scope="module")
def wheel(outside) -> Path:
    """The wheel, built once for this file from a copy of the repository's files (the checkout stays clean)."""
    source = outside / "source"
    shutil.copytree(REPO, source, symlinks=True, ignore=NOT_SOURCES)
    return build_wheel(source, outside / "dist")


@pytest.fixture(scope="module")
def venv(wheel, outside) -> Path:
    """A fresh virtual environment with the wheel installed; the packages it depends on come from ours."""
    venv = outside / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=TIMEOUT)
    python = venv / "bin" / "python"
    result = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps", "--no-index",
         str(wheel)],
        capture_output=True, text=True, timeout=TIMEOUT, env=environment(),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    site_packages = Path(subprocess.check_output(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True, env=environment(),
    ).strip())
    ours = dict.fromkeys(sysconfig.get_paths()[key] for key in ("purelib", "platlib"))
    (site_packages / "zz-dependencies-of-the-test-environment.pth").write_text("".join(f"{path}\n" for path in ours))
    return venv


def in_venv(venv: Path, code: str, cwd: Path) -> str:
    result = subprocess.run(
        [str(venv / "bin" / "python"), "-c", code], capture_output=True, text=True, timeout=TIMEOUT, cwd=cwd,
        env=environment(),
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def first_line(process: subprocess.Popen, log: Path, timeout: float = TIMEOUT) -> str:
    """The first line ``process`` prints, waiting at most ``timeout`` seconds (then it is killed)."""
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: lines.put(process.stdout.readline()), daemon=True).start()
    try:
        line = lines.get(timeout=timeout)
    except queue.Empty:
        process.kill()
        pytest.fail(f"it said nothing within {timeout} s; its log ends: {log.read_text()[-2000:]}")
    assert line, f"it ended without a word; its log ends: {log.read_text()[-2000:]}"
    return line


def fetch(url: str) -> tuple[bytes, dict[str, str]]:
    with OPENER.open(url, timeout=10) as response:
        assert response.status == 200, url
        return response.read(), dict(response.headers)


def loaded_by(page: bytes) -> list[str]:
    """The files a page loads from its own server: ``<script src="course.js">`` and the like."""
    return [src.decode() for src in re.findall(rb'\bsrc="([^":/?#]+)"', page)]


# The wheel


def test_the_wheel_holds_the_package_its_pages_and_the_socketio_client_and_nothing_else(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    static = {f"ws_course/static/{path.relative_to(STATIC).as_posix()}" for path in STATIC.rglob("*")
              if path.is_file() and not path.name.startswith(".")}
    modules = {
        path.relative_to(REPO).as_posix()
        for path in (REPO / "ws_course").rglob("*.py")
        if "__pycache__" not in path.parts
    }
    # The message catalogs, read at run time (ws_course.language): the template and the Chinese .po.
    catalogs = {path.relative_to(REPO).as_posix() for path in (REPO / "ws_course" / "language" / "locale").rglob("*.po*")}
    assert "ws_course/language/locale/zh_CN/LC_MESSAGES/ws_course.po" in catalogs
    assert static - names == set(), "files of ws_course/static/ missing from the wheel"
    assert modules - names == set(), "modules missing from the wheel"
    assert catalogs - names == set(), "message catalogs missing from the wheel"
    # By name too, in case a file went missing from ws_course/static/ itself:
    for demo in DEMOS.values():
        assert f"ws_course/static/{demo.page}" in names
    for name in ("course.js", "socket.io.js", "another-site.html", "article/demo1-echo.html",
                 "article/demo3-chat.html", "article/demo4-json-chat.html"):
        assert f"ws_course/static/{name}" in names
    dist_info = {name.split("/")[0] for name in names if ".dist-info/" in name}
    data = {name.split("/")[0] for name in names if ".data/" in name}
    assert {name.split("/")[0] for name in names} - dist_info - data == {"ws_course"}, "only the package, at the top"
    assert sorted(name.split("/", 1)[1] for name in names if ".data/" in name) == sorted(
        [f"data/{KERNEL_CONFIG}", *(f"data/{LAB_EXTENSION}/{file}" for file in LAB_EXTENSION_FILES)]
    ), "beside it, only the kernel configuration and the JupyterLab extension"
    not_the_package = re.compile(r"(^|/)(tests?|notebooks|benchmarks|seed)/|\.ipynb$|conftest")
    assert not [name for name in names if not_the_package.search(name)]


def test_the_installed_course_speaks_chinese_in_a_folder_named_zh_from_the_wheels_catalog(venv, outside):
    (outside / "zh").mkdir(exist_ok=True)
    said = json.loads(in_venv(venv, """
import json
from ws_course.language import _, catalogs
print(json.dumps({"catalog": str(catalogs.catalog_path("zh")), "send": _("Send")}))
""", cwd=outside / "zh"))
    assert Path(said["catalog"]).is_relative_to(venv)
    assert said["send"] == "发送"

def test_the_wheel_declares_the_ws_course_command(wheel, venv, outside):
    with zipfile.ZipFile(wheel) as archive:
        (entry_points,) = [name for name in archive.namelist() if name.endswith(".dist-info/entry_points.txt")]
        declared = archive.read(entry_points).decode()
    assert re.search(r"^\[console_scripts\]\s*\nws-course = ws_course\.cli:main$", declared, re.M), declared
    # pip installed it as a command, and the installed metadata says the same:
    installed = json.loads(in_venv(venv, """
import importlib.metadata, json
dist = importlib.metadata.distribution("ws-course")
print(json.dumps({"where": str(dist.locate_file("")), "scripts": {
    point.name: point.value for point in dist.entry_points.select(group="console_scripts")}}))
""", cwd=outside))
    assert Path(installed["where"]).is_relative_to(venv)
    assert installed["scripts"] == {"ws-course": "ws_course.cli:main"}
    listed = subprocess.run(
        [str(venv / "bin" / "ws-course"), "list"], capture_output=True, text=True, timeout=TIMEOUT, cwd=outside,
        env=environment(),
    )
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.split() == list(NAMES)


# The installed course, in a kernel


#: Run in the new environment: a kernel as Jupyter starts one (the python3 kernelspec: this
#: environment's Python) runs a notebook's first cell, is restarted, runs the second.
AFTER_A_RESTART = """
import asyncio, json, os, sys
import nbformat
from nbclient import NotebookClient

async def main():
    path = os.path.abspath("lesson.ipynb")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import ws_course\\nserver = 1"),
                                         nbformat.v4.new_code_cell("print(server)")])
    nbformat.write(nb, path)
    client = NotebookClient(nb, kernel_name="python3", timeout=60, allow_errors=True)
    async with client.async_setup_kernel(env={**os.environ, "JPY_SESSION_NAME": path}):
        await client.async_execute_cell(nb.cells[0], 0)
        await client.km.restart_kernel()
        await client.kc.wait_for_ready(timeout=60)
        await client.async_execute_cell(nb.cells[1], 1)
        print(json.dumps({"argv": client.km.kernel_spec.argv, "outputs": nb.cells[1].outputs}))

asyncio.run(main())
"""


def test_the_wheel_installs_the_kernel_configuration_and_its_kernels_give_the_restart_hint(wheel, venv, outside):
    """On a hub or Binder, ``pip install`` of the wheel is all: its kernels load the hint after a restart."""
    with zipfile.ZipFile(wheel) as archive:
        (carried,) = [name for name in archive.namelist() if name.endswith(f".data/data/{KERNEL_CONFIG}")]
        assert archive.read(carried) == (REPO / KERNEL_CONFIG).read_bytes()
    assert (venv / KERNEL_CONFIG).read_bytes() == (REPO / KERNEL_CONFIG).read_bytes()
    folder = outside / "after-a-restart"
    folder.mkdir()
    ran = json.loads(in_venv(venv, AFTER_A_RESTART, cwd=folder).splitlines()[-1])
    assert Path(ran["argv"][0]).is_relative_to(venv)  # the kernel is the installed course's Python
    (error,) = ran["outputs"]
    text = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(error["traceback"]))
    assert "NameError: name 'server' is not defined\nIf you restarted the kernel, the cells above have not run " \
           "in this one: Run → Run All Above Selected Cell, then this cell again.\n" \
           "(`server` is made by the cell above that runs: server = 1)" in text


# The installed course, serving


@pytest.fixture(scope="module")
def served(venv, outside):
    """Every demo, started by the installed course from outside the checkout: what it said about itself."""
    log = outside / "every-demo.log"
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [str(venv / "bin" / "python"), "-c", SERVE_EVERY_DEMO], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=stderr, text=True, cwd=outside, env=environment(),
        )
    try:
        yield json.loads(first_line(process, log))
    finally:
        try:
            stdout, _ = process.communicate("", timeout=30)  # stdin closes: the script stops every server
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            pytest.fail(f"the servers did not stop within 30 s; the log ends: {log.read_text()[-2000:]}")
    assert process.returncode == 0 and stdout.strip() == "stopped", log.read_text()[-2000:]


def test_the_wheel_installs_the_jupyterlab_extension_where_jupyterlab_finds_it(venv, outside):
    """On a hub or Binder, JupyterLab of the installed course lists its extension, enabled and OK."""
    result = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "jupyterlab.labextensions", "list"],
        capture_output=True, text=True, timeout=TIMEOUT, cwd=outside, env=environment(),
    )
    listed = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout + result.stderr)  # without its colours
    assert f"{venv}/share/jupyter/labextensions\n" in listed, listed  # from the environment the wheel went into
    assert re.search(r"ws-course-links v\S+ enabled OK", listed), listed


def test_the_installed_course_is_the_wheels_not_the_checkouts(served, venv):
    assert Path(served["ws_course"]).is_relative_to(venv)
    assert Path(served["static"]).is_relative_to(venv)
    assert not served["editable_hook"] and not served["modules"], "the editable install came in"


@pytest.mark.parametrize("name", NAMES)
def test_every_demo_serves_its_page_and_what_the_page_loads_from_the_wheel(served, name):
    url = served["pages"][name]
    page, _ = fetch(url)
    assert page == (STATIC / DEMOS[name].page).read_bytes()
    for loaded in loaded_by(page):
        assert fetch(url + loaded)[0] == (STATIC / loaded).read_bytes(), loaded
    if name != "handmade":  # lesson 08's server from scratch serves its page and nothing else
        assert fetch(url + "course.js")[0] == (STATIC / "course.js").read_bytes()


@pytest.mark.parametrize("name", [name for name in NAMES if DEMOS[name].library is Library.SOCKETIO])
def test_the_socketio_demos_serve_the_official_javascript_client(served, name):
    client, headers = fetch(served["pages"][name] + "socket.io.js")
    assert client == (STATIC / "socket.io.js").read_bytes()
    assert headers["Content-Type"].startswith(("text/javascript", "application/javascript"))


@pytest.mark.parametrize("name", [name for name in NAMES if DEMOS[name].page in ARTICLE_PAGES])
def test_the_chat_rooms_serve_the_articles_page_in_its_sandbox(served, name):
    assert {name for name in NAMES if DEMOS[name].page in ARTICLE_PAGES} == {"chat", "json_chat"}
    page, headers = fetch(served["pages"][name] + ARTICLE_PATH.lstrip("/"))
    key = re.search(rb'"\?page=([\w-]+)"', page)[1].decode()  # the server's page key (ws_course.web.article)
    assert page == article_page(DEMOS[name].page, key)  # the repository's file, its address ours
    assert "sandbox" in headers["Content-Security-Policy"]


@pytest.mark.parametrize(
    "command", [["bin/ws-course", "serve", "event_chat"], ["bin/python", "-m", "ws_course", "serve", "chat"]]
)
def test_the_installed_command_line_serves_until_sigterm(venv, outside, command):
    program, *arguments = command
    log = outside / f"{arguments[-1]}.log"
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [str(venv / program), *arguments, "--port", "0"], stdout=subprocess.PIPE, stderr=stderr, text=True,
            cwd=outside, env=environment(),
        )
    try:
        first = first_line(process, log)
        found = re.search(r"Open (http://[^/ ]+/) in a browser", first)
        assert found, first
        page = DEMOS[arguments[-1]].page
        assert fetch(found[1])[0] == (STATIC / page).read_bytes()
        for loaded in loaded_by((STATIC / page).read_bytes()):
            assert fetch(found[1] + loaded)[0] == (STATIC / loaded).read_bytes(), loaded
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            stdout, _ = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            pytest.fail("the server did not stop within 30 s of SIGTERM")
    assert process.returncode == 0, log.read_text()[-2000:]
    assert stdout.rstrip().endswith("Stopped."), stdout
