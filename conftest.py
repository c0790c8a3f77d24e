"""Keep every test run's Jupyter and IPython files out of the home folder.

nbval's kernels, the notebooks test's kernels and the JupyterLab test all inherit
these variables, so they read and write only a temporary folder.
"""

import os
import shutil
import tempfile

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
