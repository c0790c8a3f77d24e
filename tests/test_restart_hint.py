"""After a kernel restart, a NameError for a name the cells above make says to run them again.

The hint is an IPython extension (:mod:`ws_course.restart_hint`) that the package's
kernel configuration, installed into the Python environment, loads into every
kernel. The first tests read notebooks' cells the way the hint does; the others
start real kernels as Jupyter starts them (the ``python3`` kernelspec, with the
notebook's path in ``JPY_SESSION_NAME`` as Jupyter Server gives it), so that the
configuration they use is the installed one.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from ws_course.restart_hint import HINT, hint, line_that_makes, made_in

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = REPO / "notebooks"
KERNEL_CONFIG = Path("etc") / "ipython" / "ipython_kernel_config.json"


# What makes a name, read from a cell


@pytest.mark.parametrize(("source", "line"), [
    ('server = ws_course.start("echo")\nserver', 'server = ws_course.start("echo")'),
    ("import asyncio\nimport ws_course.echo as server", "import ws_course.echo as server"),
    ("from ws_course import start as server", "from ws_course import start as server"),
    ("async def server(handler):\n    pass", "async def server(handler):"),
    ("first, server = 1, 2", "first, server = 1, 2"),
    ("for server in range(3):\n    pass", "for server in range(3):"),
    ("%time server = 3", None),  # a magic's argument is not Python the cell runs
    ("with open('x') as server:\n    pass", "with open('x') as server:"),
    ("def start():\n    server = 1", None),  # a function's own variable
    ("names = [server for server in range(3)]", None),  # a comprehension's own variable
    ("server.stop()", None),  # used, not made
    ("this is not Python (", None),
])
def test_the_line_that_makes_a_name_is_an_assignment_an_import_or_a_definition(source, line):
    assert made_in("server", source) == line


def test_the_cell_that_makes_a_name_is_the_nearest_above_the_current_one():
    cells = ["server = 1", "server = 2", "print(server)", "server = 3"]
    assert line_that_makes("server", cells, "print(server)") == "server = 2"
    assert line_that_makes("server", cells, "  print(server)\n") == "server = 2"  # as saved, give or take spaces
    assert line_that_makes("server", cells, "server = 1") is None  # only below it: running the cells above won't help
    assert line_that_makes("server", cells, "a cell edited since") == "server = 1"  # not saved yet: the first


def test_the_hint_names_the_cell_above_only_for_a_name_the_notebook_makes(tmp_path):
    notebook = tmp_path / "lesson.ipynb"
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("server = 0 is not code"),
        nbformat.v4.new_code_cell('server = ws_course.start("echo")'),
        nbformat.v4.new_code_cell("print(server, sever)"),
    ])
    nbformat.write(nb, notebook)
    namespace = {"__session__": str(notebook), "_ih": ["", "print(server, sever)"]}
    said = hint(NameError("name 'server' is not defined", name="server"), namespace)
    assert said == f'{HINT}\n(`server` is made by the cell above that runs: server = ws_course.start("echo"))'
    # A typo (no cell makes it), a name the kernel has, another error: no note.
    assert hint(NameError("name 'sever' is not defined", name="sever"), namespace) is None
    assert hint(NameError("name 'server' is not defined", name="server"), {**namespace, "server": 1}) is None
    assert hint(ZeroDivisionError("division by zero"), namespace) is None
    # A kernel that does not know its notebook: the hint alone (it says "if").
    assert hint(NameError("name 'server' is not defined", name="server"), {"_ih": [""]}) == HINT
    assert HINT.startswith("If you restarted the kernel, the cells above have not run in this one: "
                           "Run → Run All Above Selected Cell, then this cell again.")


# Installed, and loaded by a kernel Jupyter starts


def test_the_course_environment_has_the_kernel_configuration_that_loads_the_hint():
    """``course.py install`` (and a wheel) put it into ``sys.prefix``, where IPython reads it at every kernel start."""
    installed = Path(sys.prefix) / KERNEL_CONFIG
    assert installed.is_file(), f"{installed} is missing: run python3 course.py install"
    assert installed.read_bytes() == (REPO / KERNEL_CONFIG).read_bytes()
    assert json.loads(installed.read_text()) == {"InteractiveShellApp": {"extra_extensions": ["ws_course.restart_hint"]}}


def test_course_py_copies_the_kernel_configuration_into_its_environment(tmp_path):
    """An editable install leaves a wheel's data files out (PEP 660): ``course.py install`` copies this one."""
    spec = importlib.util.spec_from_file_location("course", REPO / "course.py")
    course = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(course)
    venv = tmp_path / ".venv"
    assert course.install_kernel_config(REPO, venv) is True
    assert (venv / KERNEL_CONFIG).read_bytes() == (REPO / KERNEL_CONFIG).read_bytes()
    assert course.install_kernel_config(REPO, venv) is False  # already there: nothing to do
    (venv / KERNEL_CONFIG).write_text("{}")
    assert course.install_kernel_config(REPO, venv) is True  # the repository's changed: copied again
    assert (venv / KERNEL_CONFIG).read_bytes() == (REPO / KERNEL_CONFIG).read_bytes()


def error_text(cell) -> str:
    """A cell's error output as plain text, without colours or its execution count."""
    errors = [output for output in cell.outputs if output.output_type == "error"]
    assert len(errors) == 1, cell.outputs
    text = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(errors[0].traceback))
    return re.sub(r"In\[\d+\]", "In[N]", text)


@pytest.mark.notebook
async def test_after_a_restart_a_later_cell_of_a_lesson_says_which_cell_above_to_run(tmp_path):
    lesson = tmp_path / "01-echo.ipynb"
    shutil.copy(NOTEBOOKS / lesson.name, lesson)
    nb = nbformat.read(lesson, as_version=4)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    starts = next(index for index, cell in enumerate(code) if 'server = ws_course.start("echo")' in cell.source)
    later = code[starts + 1]
    assert "server" in later.source
    client = NotebookClient(nb, kernel_name="python3", timeout=60, allow_errors=True,
                            resources={"metadata": {"path": str(tmp_path)}})

    async def run(source: str):
        cell = nbformat.v4.new_code_cell(source)
        await client.async_execute_cell(cell, 0)
        return cell

    async with client.async_setup_kernel(env={**os.environ, "JPY_SESSION_NAME": str(lesson)}):
        for cell in code[:starts + 1]:
            await client.async_execute_cell(cell, nb.cells.index(cell))
            assert not [output for output in cell.outputs if output.output_type == "error"], cell.outputs
        await client.km.restart_kernel()
        await client.kc.wait_for_ready(timeout=60)

        await client.async_execute_cell(later, nb.cells.index(later))
        assert [output.output_type for output in later.outputs] == ["error"]  # and nothing printed at start
        said = error_text(later)
        assert "NameError: name 'server' is not defined" in said
        assert f'{HINT}\n(`server` is made by the cell above that runs: server = ws_course.start("echo"))' in said

        # Every other error is shown as it was: the same text with the hint unloaded.
        with_hint = [error_text(await run(source)) for source in ("1 / 0", "print(sever)", "import no_such_module")]
        assert not any(HINT in text for text in with_hint)
        await run("%unload_ext ws_course.restart_hint")
        assert HINT not in error_text(await run(later.source))  # unloaded, truly
        assert [error_text(await run(source)) for source in ("1 / 0", "print(sever)", "import no_such_module")] \
            == with_hint


@pytest.mark.notebook
async def test_a_kernel_whose_hint_cannot_load_still_runs_cells(tmp_path):
    """What the kernel configuration risks if ``ws_course`` is gone: IPython logs it, and the kernel works."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(6 * 7)")])
    client = NotebookClient(nb, kernel_name="python3", timeout=60,
                            extra_arguments=["--InteractiveShellApp.extra_extensions=ws_course.no_such_module"])
    await client.async_execute()
    assert [output.text for output in nb.cells[0].outputs] == ["42\n"]
