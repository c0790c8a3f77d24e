"""Every notebook runs top to bottom twice in the same kernel, with a learner playing.

nbval (configured in pyproject.toml) runs each notebook once in a fresh kernel and
compares its outputs with the stored ones: the notebook as nobody touches it. This
test is the notebook as a learner uses it: between every two code cells, the
learner types into every client widget that is open and sends (what the lessons
invite them to do), and the notebook must still run through with no error and
nothing on stderr. Then it runs a second time in the same kernel, as "Run All"
twice would, where a re-run cell must replace its server, not clash with it.

No cell of a lesson stops its servers (a learner scrolling back after Run All must
find them alive): its last step is :func:`ws_course.notebook.when_done`'s button.
So the test clicks that button last, as the learner does, and checks that nothing
is left running: no server, no process under the kernel, no open client widget.
"""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

#: Each is a test of its own: the test command's workers run them side by side.
NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))

#: What the learner does between two cells: send from every open widget client.
PLAY = """
from ws_course.widgets import open_clients as _open_clients
_played = globals().setdefault("_learner_plays", [])
for _client in _open_clients():
    _client.text.value = "a learner plays"
    _client.send_button.click()
    _played.append(repr(_client))
"""

#: What the learner does at the end: click the lesson's "I am done" button (or, in a
#: notebook without one, stop everything the course started), then see what still runs.
DONE = """
import asyncio, os
import ws_course
import ws_course.notebook
from ws_course.runtime.registry import RUNNING
from ws_course.widgets.client import _clients
_done = ws_course.notebook.LAST
if _done is not None:
    _done.button.click()
    await _done.finished()
else:
    ws_course.stop_all()
await asyncio.gather(*(_client.closed() for _client in list(_clients)))
_left = {"registered": RUNNING.count(), "processes": len(ws_course.notebook.process_family()) - 1,
         "open clients": sum(_client.ready_state != "CLOSED" for _client in _clients),
         "button": _done is not None and _done.button.disabled}
print(_left)
"""

#: Lessons, which end with when_done()'s button (the start page and the glossary do not).
LESSONS = [path.name for path in NOTEBOOKS if path.name[:2].isdigit() and not path.name.startswith("00-")]

#: Notebooks that show client widgets: the learner must have had something to play with.
WITH_WIDGETS = {"01-echo.ipynb", "02-scream.ipynb", "03-chat.ipynb", "04-json-chat.ipynb", "05-socketio.ipynb",
                "06a-who-may-join.ipynb", "06b-slow-members-and-full-rooms.ipynb", "06c-never-trust-a-message.ipynb",
                "08b-a-server-from-scratch.ipynb",
                "09a-one-room-in-redis.ipynb", "09b-scaling-out-measured.ipynb"}


def stray_output(cell) -> list:
    return [output for output in cell.outputs if output.get("name") == "stderr" or output.output_type == "error"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.name for path in NOTEBOOKS])
def test_run_all_twice_in_the_same_kernel_while_a_learner_plays(path):
    """Run the notebook at ``path`` twice in one kernel, the learner playing between every two cells."""
    notebook = nbformat.read(path, as_version=4)
    lesson = list(enumerate(notebook.cells))
    # The learner's steps go at the end of the notebook: nbclient stores each executed cell at its index.
    play = nbformat.v4.new_code_cell(PLAY)
    count = nbformat.v4.new_code_cell("print(len(globals().get('_learner_plays', [])))")
    done = nbformat.v4.new_code_cell(DONE)
    notebook.cells += [play, count, done]
    client = NotebookClient(notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    with client.setup_kernel():
        for run in (1, 2):
            for index, cell in lesson:
                if cell.cell_type != "code":
                    continue
                client.execute_cell(cell, index)  # raises CellExecutionError on any error
                assert not stray_output(cell), f"run {run}, cell {index}: {stray_output(cell)}"
                client.execute_cell(play, len(lesson))
                assert not stray_output(play), f"run {run}, playing after cell {index}: {stray_output(play)}"
        client.execute_cell(count, len(lesson) + 1)
        plays = int(count.outputs[0]["text"])
        client.execute_cell(done, len(lesson) + 2)
        assert not stray_output(done), stray_output(done)
        left = ast.literal_eval(done.outputs[0]["text"])
    assert left == {"registered": 0, "processes": 0, "open clients": 0, "button": path.name in LESSONS}, left
    if path.name in WITH_WIDGETS:
        assert plays > 0, "the learner found no open widget to play with: is the test still playing?"
