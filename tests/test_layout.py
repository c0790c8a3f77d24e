"""The package's folders are its architecture: the layers in pyproject.toml hold, and there is no import cycle.

import-linter reads the contracts from ``[tool.importlinter]`` in pyproject.toml:
each layer of ``ws_course`` imports only from the layers below it (a demo never
imports a widget; the safety code imports nothing else of the course), and no
module imports another that imports it back.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent


def test_the_import_contracts_hold():
    env = {**os.environ, "PYTHONPATH": str(CHECKOUT)}
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint_imports), "--no-cache"], cwd=CHECKOUT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
