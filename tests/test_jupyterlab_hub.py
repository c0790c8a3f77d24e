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

# Lessons 07 and 08 once, in the local JupyterLab: their pages reach their servers the
# way 01-06's do, which the tests above prove on the hub (the suite must stay short).
del test_the_measured_lesson_shows_one_feed_four_ways_in_jupyterlab  # noqa: F821
del test_the_protocol_lesson_runs_in_jupyterlab_and_its_server_answers_the_page_and_the_widget  # noqa: F821


@pytest.fixture(scope="module", params=[pytest.param("hub", marks=pytest.mark.hub)])
def jupyterlab(request, tmp_path_factory):
    yield from lessons_in(request, tmp_path_factory)
