"""Lessons 06 on, run twice in one kernel while a learner plays: the test of test_notebooks.py.

A file of its own (the lessons that measure and start processes take the longest)
so that the test command's workers, a file each, run it beside test_notebooks.py.
"""

from __future__ import annotations

import pytest
from test_notebooks import BEYOND, run_twice_while_playing


@pytest.mark.parametrize("path", BEYOND, ids=[path.name for path in BEYOND])
def test_run_all_twice_in_the_same_kernel_while_a_learner_plays(path, monkeypatch):
    run_twice_while_playing(path, monkeypatch)
