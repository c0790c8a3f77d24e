"""Every notebook runs top to bottom twice in the same kernel, as "Run All" twice would.

nbval (configured in pyproject.toml) runs each notebook once in a fresh kernel and
compares its outputs with the stored ones; this test adds the second run in the
same kernel, where a re-run cell must replace its server, not clash with it.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.name for path in NOTEBOOKS])
def test_run_all_twice_in_the_same_kernel(path):
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    with client.setup_kernel():
        for run in (1, 2):
            for index, cell in enumerate(notebook.cells):
                if cell.cell_type != "code":
                    continue
                client.execute_cell(cell, index)  # raises CellExecutionError on any error
                stray = [output for output in cell.outputs if output.get("name") == "stderr" or output.output_type == "error"]
                assert not stray, f"run {run}, cell {index}: {stray}"
