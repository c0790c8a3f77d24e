"""Every notebook runs top to bottom twice in the same kernel, the second time with a learner playing.

A pytest plugin (the root ``conftest.py`` loads it) that adds to nbval's items.
nbval (configured in pyproject.toml) runs each notebook's cells once in a fresh
kernel and compares their outputs with the stored ones: the notebook as nobody
touches it. After nbval's last cell of a notebook, in the same kernel, this plugin
runs every code cell again, as "Run All" a second time would, where a re-run cell
must replace its server, not clash with it; and after each cell of that second run,
the learner types into every client widget that is open and sends (what the
lessons invite them to do). The notebook must still run through with no error, and
no cell of either run may write to stderr.

No cell of a lesson stops its servers (a learner scrolling back after Run All must
find them alive): its last step is :func:`ws_course.notebook.when_done`'s button.
So the last item clicks that button, as the learner does, and checks that nothing
is left running: no server, no process under the kernel, no open client widget.

The items of the second run are nbval's own cells (:class:`nbval.plugin.IPyNbCell`),
run without comparing their outputs: numbers and nicknames differ in a second run.
They are named ``Cell N, run 2``, and ``When done`` last; they share nbval's
kernel, so the test command's scheduler gives them to the notebook's worker.
"""

from __future__ import annotations

import ast
import copy
from collections import defaultdict
from queue import Empty

import pytest
from nbval.plugin import IPyNbCell, IPyNbFile

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
         "button": _done is not None and _done.button.disabled,
         "plays": len(globals().get("_learner_plays", []))}
print(_left)
"""

#: Notebooks that show client widgets: the learner must have had something to play with.
WITH_WIDGETS = {"01-echo.ipynb", "02-scream.ipynb", "03-chat.ipynb", "04-json-chat.ipynb", "05-socketio.ipynb",
                "06a-who-may-join.ipynb", "06b-slow-members-and-full-rooms.ipynb", "06c-never-trust-a-message.ipynb",
                "08b-a-server-from-scratch.ipynb",
                "09a-one-room-in-redis.ipynb", "09b-scaling-out-measured.ipynb"}


#: The folders of the course's other editions (notebooks/zh/): nbval runs them and compares
#: their stored outputs (in their language), but their second run would prove nothing new:
#: their code cells are the English edition's, character for character (tests/test_editions.py),
#: and a second run and a learner playing are properties of that code.
OTHER_EDITIONS = {"zh"}


def is_lesson(name: str) -> bool:
    """Lessons end with when_done()'s button (the start page and the glossary do not)."""
    return name[:2].isdigit() and not name.startswith("00-")


def run_code(notebook: IPyNbFile, code: str, timeout: float = 120) -> list[dict]:
    """Run ``code`` in the notebook's kernel; return its outputs (streams and errors, as dicts)."""
    kernel = notebook.kernel
    msg_id = kernel.execute_cell_input(code, allow_stdin=False)
    kernel.await_reply(msg_id, timeout=timeout)
    outputs = []
    while True:
        try:
            message = notebook.get_kernel_message(timeout=10)
        except Empty:
            raise AssertionError(f"no end of output from the kernel after: {code.strip().splitlines()[0]}") from None
        if message["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = message["msg_type"], message["content"]
        if kind == "status" and content["execution_state"] == "idle":
            return outputs
        if kind == "stream":
            outputs.append({"name": content["name"], "text": content["text"]})
        elif kind == "error":
            outputs.append({"error": content["ename"], "text": "\n".join(content["traceback"])})


def stray(outputs) -> list:
    """What a learner must never see: anything on stderr, any error."""
    return [output for output in outputs if output.get("name") == "stderr" or "error" in output
            or output.get("output_type") == "error"]


class SecondRunCell(IPyNbCell):
    """A code cell run again in the same kernel, without comparing outputs; then the learner plays."""

    def runtest(self):
        super().runtest()  # raises on an error in the cell
        assert not stray(self.test_outputs), f"run 2, cell {self.cell_num}: {stray(self.test_outputs)}"
        played = run_code(self.parent, PLAY)
        assert not stray(played), f"run 2, playing after cell {self.cell_num}: {stray(played)}"


class WhenDone(pytest.Item):
    """The lesson's last step: its "I am done" button; then nothing the course started is left."""

    def runtest(self):
        outputs = run_code(self.parent, DONE)
        assert not stray(outputs), stray(outputs)
        # (stdout may come in more than one message, after what a stopping server printed)
        printed = "".join(output["text"] for output in outputs if output.get("name") == "stdout")
        assert "{'registered'" in printed, outputs
        left = ast.literal_eval(printed[printed.rindex("{'registered'"):].strip())
        plays = left.pop("plays")
        assert left == {"registered": 0, "processes": 0, "open clients": 0, "button": is_lesson(self.path.name)}, left
        if self.path.name in WITH_WIDGETS:
            assert plays > 0, "the learner found no open widget to play with: is the test still playing?"

    def reportinfo(self):
        return self.path, 0, f"{self.path.name}: when done"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    """No cell of nbval's run writes to stderr either (nbval compares only the cells it checks)."""
    outcome = yield
    if isinstance(item, IPyNbCell) and not isinstance(item, SecondRunCell) and outcome.excinfo is None:
        if stray(item.test_outputs or []):
            # (raised here, the failure is reported as this item's)
            outcome.force_exception(AssertionError(f"cell {item.cell_num} wrote: {stray(item.test_outputs)}"))


def add_second_runs(items: list[pytest.Item]) -> None:
    """After each notebook's cells, its second run and its last step, in the same kernel.

    (Called by the root conftest's ``pytest_collection_modifyitems`` before it gives
    every item its markers and its work unit.)
    """
    notebooks: dict[IPyNbFile, list[IPyNbCell]] = defaultdict(list)
    for item in items:
        if type(item) is IPyNbCell:
            notebooks[item.parent].append(item)
    for notebook, cells in notebooks.items():
        if not cells or notebook.path.parent.name in OTHER_EDITIONS:
            continue
        second = [SecondRunCell.from_parent(notebook, name=f"{cell.name}, run 2", cell_num=cell.cell_num,
                                            cell=copy.deepcopy(cell.cell), options=defaultdict(bool))
                  for cell in cells]
        at = items.index(cells[-1]) + 1
        items[at:at] = [*second, WhenDone.from_parent(notebook, name="When done")]
