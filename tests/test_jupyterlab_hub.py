"""The JupyterLab tests of test_jupyterlab.py, in alice's JupyterLab on a real JupyterHub.

The same test functions, collected again here with the ``jupyterlab`` fixture
giving the hub: the browser logs in on the hub's page, reaches everything through
the hub's address (the ``traffic`` fixture asserts it), and the lessons' pages
through alice's Jupyter server. A file of its own so that the test command's
workers run it beside test_jupyterlab.py.
"""

from __future__ import annotations

import pytest
from test_jupyterlab import *  # noqa: F403 (the same tests, collected again in this module)
from test_jupyterlab import lessons_in


@pytest.fixture(scope="module", params=["hub"])
def jupyterlab(request, tmp_path_factory):
    yield from lessons_in(request, tmp_path_factory)
