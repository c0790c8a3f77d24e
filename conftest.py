"""Keep every test run's Jupyter and IPython files out of the home folder.

nbval's kernels, the notebooks test's kernels and the JupyterLab test all inherit
these variables, so they read and write only a temporary folder.
"""

import os
import shutil
import tempfile

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


def pytest_unconfigure(config):
    shutil.rmtree(_home, ignore_errors=True)


#: The slowest test files, started first. The test command's workers (pytest-xdist,
#: a file each) take files in the order they were collected: a long file collected
#: last would run alone at the end while the other workers wait.
SLOW_FIRST = [
    "tests/test_jupyterlab_hub.py",
    "tests/test_jupyterlab.py",
    "tests/test_notebooks_beyond.py",
    "tests/test_notebooks.py",
    "notebooks/09-one-room-many-processes.ipynb",
    "tests/test_attacks.py",
    "tests/test_redis_room.py",
    "notebooks/07-polling-measured.ipynb",
    "tests/test_proxy_pages.py",
]


#: Markers given automatically, by the fixtures a test uses (its whole closure), so that
#: ``-m "not browser and not jupyterlab and not hub and not notebook"`` is the fast inner
#: loop. (Registered in pyproject.toml; a test that starts JupyterLab by itself, without
#: a fixture, says so with ``@pytest.mark.jupyterlab``.)
MARK_BY_FIXTURE = {
    "browser": "browser", "page": "browser", "async_browser": "browser",
    "jupyterlab": "jupyterlab", "prefixed_lab": "jupyterlab",
    "hub": "hub",
}
#: Tests that execute a notebook in a kernel of their own (nbval's cells are marked too).
NOTEBOOK_TESTS = {"test_notebooks.py", "test_notebooks_beyond.py"}


@pytest.hookimpl(tryfirst=True)  # before -m deselects
def pytest_collection_modifyitems(config, items):
    for item in items:
        for mark in marks_of(item):
            item.add_marker(mark)
    rank = {path: index for index, path in enumerate(SLOW_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))  # stable: the rest keep their order


def marks_of(item) -> set[str]:
    marks = {MARK_BY_FIXTURE[name] for name in getattr(item, "fixturenames", ()) if name in MARK_BY_FIXTURE}
    if item.path.suffix == ".ipynb" or item.path.name in NOTEBOOK_TESTS:
        marks.add("notebook")
    return marks
