#!/usr/bin/env python3
"""What each lesson costs a learner: Run All's wall time, and the kernel's memory.

    python3 benchmarks/kernel_memory.py                    every lesson in notebooks/
    python3 benchmarks/kernel_memory.py 03-chat 09b        only the lessons whose names start so

For every lesson notebook (``notebooks/NN*.ipynb``, whatever exists), in a fresh
kernel of its own (nbclient), as a learner would: run every cell top to bottom
("Run All"), then click the lesson's last step, the button of
:func:`ws_course.notebook.when_done` (from code: the same handler a click runs;
in a notebook without one, :func:`ws_course.stop_all`), then shut the kernel down.
Memory is the kernel's resident memory (RSS) with every process under it (servers
and Redis the lesson started as processes of their own), read from ``/proc`` by
:func:`ws_course.notebook.memory_in_use`: at the start, after Run All, after the
button. Also counted: the words of prose (markdown outside fenced code) and the
"Your turn" exercises.

Run it after ``python3 course.py install``. Times and sizes vary with the machine
and its load: they are reported, never asserted in tests.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent.parent
NOTEBOOKS = HERE / "notebooks"

MEMORY = "from ws_course.notebook import memory_in_use as _memory_in_use\nprint(_memory_in_use())"

#: The learner's last step, from code. Clients close on the kernel's loop: wait for them.
DONE = """
import asyncio
import ws_course, ws_course.notebook
from ws_course.widgets.client import _clients
if ws_course.notebook.LAST is not None:
    ws_course.notebook.LAST.button.click()
    await ws_course.notebook.LAST.finished()
else:
    ws_course.stop_all()
await asyncio.gather(*(_client.closed() for _client in list(_clients)))
print(ws_course.notebook.LAST is not None)
"""


def lessons(prefixes: list[str]) -> list[Path]:
    found = sorted(path for path in NOTEBOOKS.glob("[0-9]*.ipynb") if not path.name.startswith("00-"))
    return [path for path in found if not prefixes or path.name.startswith(tuple(prefixes))]


def prose_words(notebook) -> int:
    """Words of the markdown cells, fenced code left out."""
    text = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")
    return len(re.sub(r"```.*?```", " ", text, flags=re.DOTALL).split())


def exercises(notebook) -> int:
    return sum(
        1 for cell in notebook.cells if cell.cell_type == "markdown" and re.search(r"^## Your turn", cell.source, re.MULTILINE)
    )


def printed(client: NotebookClient, source: str):
    """Run ``source`` as one more cell of the notebook; return what it printed, as a Python value."""
    cell = nbformat.v4.new_code_cell(source)
    client.nb.cells.append(cell)
    client.execute_cell(cell, len(client.nb.cells) - 1)
    text = "".join(output.get("text", "") for output in cell.outputs if output.get("name") == "stdout")
    return ast.literal_eval(text.strip().splitlines()[-1])


def measure(path: Path) -> dict:
    notebook = nbformat.read(path, as_version=4)
    row = {"lesson": path.stem, "words": prose_words(notebook), "exercises": exercises(notebook)}
    lesson = list(enumerate(notebook.cells))
    client = NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    # The kernel's own stderr (a warning about TCP on every start) would break up the table.
    with client.setup_kernel(stderr=subprocess.DEVNULL):
        row["start"] = printed(client, MEMORY)
        started = time.perf_counter()
        try:
            for index, cell in lesson:
                if cell.cell_type == "code":
                    client.execute_cell(cell, index)
        except Exception as error:  # noqa: BLE001 (any failure: report it, and go on with the next lesson)
            row["failed"] = f"cell {index}: {type(error).__name__}"
            return row
        row["run all s"] = time.perf_counter() - started
        row["after run all"] = printed(client, MEMORY)
        row["button"] = printed(client, DONE)
        row["after the button"] = printed(client, MEMORY)
    return row


def megabytes(value) -> str:
    return "?" if value is None else f"{value / 2**20:.0f}"


def main() -> None:
    # Kernels write their history and settings into temporary folders, not the home folder.
    home = tempfile.mkdtemp(prefix="kernel-memory-")
    for variable in ("IPYTHONDIR", "JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR"):
        os.environ[variable] = os.path.join(home, variable.lower())
    header = (f"{'lesson':40} {'words':>5} {'exer.':>5} {'Run All s':>9} "
              f"{'MB at start':>11} {'after Run All':>13} {'after button':>12}  last step")
    print("Kernel RSS with its children, in MB (memory shared between processes counts twice).")
    print(header)
    print("-" * len(header))
    for path in lessons(sys.argv[1:]):
        row = measure(path)
        if "failed" in row:
            print(f"{row['lesson']:40} {row['words']:5} {row['exercises']:5}  FAILED at {row['failed']}")
            continue
        print(f"{row['lesson']:40} {row['words']:5} {row['exercises']:5} {row['run all s']:9.1f} "
              f"{megabytes(row['start']):>11} {megabytes(row['after run all']):>13} "
              f"{megabytes(row['after the button']):>12}  {'when_done button' if row['button'] else 'stop_all()'}",
              flush=True)


if __name__ == "__main__":
    main()
