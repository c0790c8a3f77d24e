"""Every test run: Jupyter's files out of the home folder, markers, and the workers' schedule.

nbval's kernels and the JupyterLab tests' all inherit
the variables set here, so they read and write only a temporary folder.

Each test gets its markers (``browser``, ``jupyterlab``, ``hub``, ``notebook``) from the
fixtures it uses, and its work unit for the test command's workers (``--dist
loadgroup``) from what it shares with other tests: see :func:`work_unit`.
"""

import inspect
import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest

_home = tempfile.mkdtemp(prefix="ws-course-test-home-")
for variable, folder in {
    "JUPYTER_CONFIG_DIR": "jupyter-config",
    "JUPYTER_DATA_DIR": "jupyter-data",
    "JUPYTER_RUNTIME_DIR": "jupyter-runtime",
    "IPYTHONDIR": "ipython",
}.items():
    os.environ[variable] = os.path.join(_home, folder)
os.environ["JUPYTER_PLATFORM_DIRS"] = "1"  # the modern folder layout, and no warning about it

#: Lessons 07b and 09b measure polling with 1, 10 and 100 clients (4 news items each way)
#: and rooms of 10, 100 and 1000 members, which takes a minute or more. Every kernel of
#: the tests (nbval's, the second run's, JupyterLab's) inherits these smaller sizes: what
#: the tests prove there is that the measurement runs and the lesson reads its numbers
#: right (the sentences are tested with data of both shapes in tests/test_fanout.py and
#: tests/test_news_feed.py); the lessons' cells whose output depends on the sizes are
#: tagged nbval-ignore-output. The full sizes run where a learner runs them, and in
#: benchmarks/kernel_memory.py.
SMALL_MEASUREMENTS = {"WS_COURSE_ROOM_SIZES": "10,100", "WS_COURSE_FEED_CLIENTS": "1,10", "WS_COURSE_FEED_ITEMS": "2"}
os.environ.update(SMALL_MEASUREMENTS)


def pytest_unconfigure(config):
    shutil.rmtree(_home, ignore_errors=True)


#: Markers given automatically, by the fixtures a test uses (its whole closure), so that
#: ``-m "not browser and not jupyterlab and not hub and not notebook"`` is the fast inner
#: loop. (Registered in pyproject.toml; a test that starts JupyterLab by itself, without
#: a fixture, says so with ``@pytest.mark.jupyterlab``.)
MARK_BY_FIXTURE = {
    "browser": "browser", "page": "browser", "async_browser": "browser",
    "jupyterlab": "jupyterlab", "prefixed_lab": "jupyterlab",
    "hub": "hub",
}
#: nbval's cells, then each notebook's second run in the same kernel (tests/run_all_twice.py).
pytest_plugins = ["tests.run_all_twice"]

#: Which work units the test command's workers take first: the units that start JupyterHub
#: or JupyterLab, then those that run notebooks, then browser tests, then the rest.
#: Small units (most are a single test) come last and fill the gaps at the end.
COST_ORDER = ["hub", "jupyterlab", "notebook", "browser"]

_UNIT = pytest.StashKey[str | None]()


@pytest.hookimpl(tryfirst=True)  # before -m deselects
def pytest_collection_modifyitems(config, items):
    from tests.run_all_twice import add_second_runs

    add_second_runs(items)
    for item in items:
        for mark in marks_of(item):
            item.add_marker(mark)
        item.stash[_UNIT] = work_unit(item, config.rootpath)
    # A module whose tests share a fixture goes whole to that unit, in its own order: a
    # sync Playwright's module-scoped browser keeps an event loop running in the worker's
    # main thread, and an async test of the same module run while it is open would fail.
    modules: dict[Path, list] = {}
    for item in items:
        modules.setdefault(item.path, []).append(item)
    for tests in modules.values():
        units = [item.stash[_UNIT] for item in tests if item.stash[_UNIT]]
        for item in tests:
            if units and item.stash[_UNIT] is None:
                item.stash[_UNIT] = units[0]
    order: dict[str, tuple[int, int]] = {}  # each unit: the rank of its costliest test, where it starts
    for index, item in enumerate(items):
        unit = item.stash[_UNIT] or item.nodeid
        rank = min([COST_ORDER.index(mark) for mark in COST_ORDER if item.get_closest_marker(mark)] or [len(COST_ORDER)])
        known_rank, start = order.get(unit, (rank, index))
        order[unit] = (min(known_rank, rank), start)
    items.sort(key=lambda item: order[item.stash[_UNIT] or item.nodeid])  # stable: a unit keeps its order


def marks_of(item) -> set[str]:
    marks = {MARK_BY_FIXTURE[name] for name in getattr(item, "fixturenames", ()) if name in MARK_BY_FIXTURE}
    if item.path.suffix == ".ipynb":
        marks.add("notebook")
    return marks


def work_unit(item, root: Path) -> str | None:
    """The name of the tests that must run in one worker, in their order; None: any worker.

    - A test's own ``xdist_group`` mark, as pytest-xdist's ``--dist loadgroup`` has it.
    - nbval's cells of one notebook: they share one kernel, each cell after the one before.
    - Tests on JupyterHub (the ``hub`` mark: the ``hub`` fixture, or a parameter that
      asks for it), or on any session-scoped fixture of the project: it starts once,
      not once per worker.
    - Tests that share a module-scoped fixture of the project (a JupyterLab, a Chromium):
      it starts once, not once per worker. A parametrized one splits its module into a
      unit per parameter (the JupyterLab tests on this machine and on the hub run at once).
    """
    if mark := item.get_closest_marker("xdist_group"):
        return str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
    if item.path.suffix == ".ipynb":
        return item.path.relative_to(root).as_posix()
    if item.get_closest_marker("hub"):
        return "jupyterhub"
    shared = shared_fixtures(item, root)
    sessions = sorted(name for name, scope in shared.items() if scope == "session")
    if sessions:
        return "+".join(sessions)
    if shared:
        params = getattr(getattr(item, "callspec", None), "params", {})
        module = item.nodeid.split("::")[0]
        return "-".join([module, *(str(params[name]) for name in sorted(shared) if name in params)])
    return None


def shared_fixtures(item, root: Path) -> dict[str, str]:
    """The fixtures of the project (tests/, conftest.py) with a scope wider than a test, in the item's closure."""
    info = getattr(item, "_fixtureinfo", None)
    shared = {}
    for name in getattr(item, "fixturenames", ()):
        definitions = info.name2fixturedefs.get(name) if info else None
        if not definitions or definitions[-1].scope == "function":
            continue
        source = Path(inspect.getsourcefile(definitions[-1].func)).resolve()
        if source.is_relative_to(root / "tests") or source == root / "conftest.py":
            shared[name] = definitions[-1].scope
    return shared


# -- the test command's workers: --dist loadgroup, with the units above -------------------
#
# pytest-xdist's own loadgroup tells its scheduler a test's group by appending "@group"
# to the test's node id, in the worker (item._nodeid = ...). pytest 9.2 builds node ids
# another way and ignores that attribute: the groups never reach the scheduler, which
# then hands out a notebook's cells to different workers, each with a kernel of its own
# (pytest-xdist issue 1386, open with xdist 3.8.0, the latest). So with --dist loadgroup
# the scheduler is this one: each worker writes its units to a file before it reports
# its collection, and the scheduler, which has every worker's collection before it
# hands out anything, reads them. Node ids stay as they are.

@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    """In the controller, for each worker: where it writes its units."""
    if node.config.getvalue("dist") == "loadgroup":
        node.workerinput["ws_course_units"] = os.path.join(_home, "units")


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's worker reports its collection
def pytest_collection_finish(session):
    folder = getattr(session.config, "workerinput", {}).get("ws_course_units")
    if folder:
        os.makedirs(folder, exist_ok=True)
        units = {item.nodeid: item.stash.get(_UNIT, None) for item in session.items}
        path = os.path.join(folder, session.config.workerinput["workerid"] + ".json")
        with open(path + ".part", "w") as out:
            json.dump({nodeid: unit for nodeid, unit in units.items() if unit}, out)
        os.replace(path + ".part", path)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class WorkUnitScheduling(LoadScopeScheduling):
        """pytest-xdist's loadscope scheduler, with :func:`work_unit` as the scope.

        A unit goes whole to one worker, its tests in collection order; a worker takes
        the next unit when it has two tests or fewer left. Run with
        ``--no-loadscope-reorder`` to keep the order of :data:`COST_ORDER`.
        """

        units: dict[str, str] = {}

        def schedule(self) -> None:
            folder = os.path.join(_home, "units")
            if self.collection is None and os.path.isdir(folder):  # every worker has reported its collection
                for name in sorted(os.listdir(folder)):
                    with open(os.path.join(folder, name)) as units:
                        self.units = {**self.units, **json.load(units)}
            super().schedule()

        def _split_scope(self, nodeid: str) -> str:
            return self.units.get(nodeid, nodeid)

    return WorkUnitScheduling(config, log)
