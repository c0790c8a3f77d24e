"""environment.yml (conda, Binder) and pyproject.toml (pip, the test command) list the same packages.

The course has two ways in: ``python3 course.py`` installs pyproject.toml's
dependencies and its ``test`` and ``fast`` extras with pip; conda and Binder build
environment.yml. Both must give the same packages at the same versions, or a
lesson that works on one may break on the other.

conda writes an exact version ``=5.18.1`` where pip writes ``==5.18.1``; both
write ranges the same way (``>=5.18.1,<6``). A few items are not about packages of the course
(conda's own ``python``, ``pip`` and ``nodejs``, the ``-e .`` that installs the
course itself), and a few packages come from PyPI in the conda file on purpose:
:data:`PIP_ONLY` says which, and why.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

HERE = Path(__file__).resolve().parent.parent

#: In environment.yml but not packages of pyproject.toml: the interpreter, pip, Node.js for npm,
#: and the Redis server of lesson 09 (conda-forge's "redis" is the server, not the Python client).
CONDA_ONLY = {"python", "pip", "nodejs", "redis"}

#: Packages that conda-forge names otherwise than PyPI: conda name -> PyPI name.
CONDA_NAMES = {"redis-py": "redis"}

#: Packages environment.yml installs with pip (its "pip:" list), and why.
PIP_ONLY = {
    "playwright": "its makers publish it on PyPI and on their own conda channel, not on conda-forge",
    "jupyterlab-language-pack-zh-cn": "JupyterLab's language packs are published to PyPI by their project "
                                      "(jupyterlab/language-packs); from there, Binder gets what pip gets",
}


def pyproject_requirements() -> dict[str, str]:
    project = tomllib.loads((HERE / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    requirements = [Requirement(line) for line in project["dependencies"] + extras["test"] + extras["fast"]]
    return {canonicalize_name(r.name): str(r.specifier) for r in requirements}


def conda_requirements(path: Path = HERE / "environment.yml") -> tuple[dict[str, str], dict[str, str]]:
    """(conda packages, pip packages) of environment.yml, as name -> pip-style specifier."""
    conda, pip = {}, {}
    for item in yaml.safe_load(path.read_text())["dependencies"]:
        if isinstance(item, dict):
            assert "-e ." in item["pip"], "environment.yml installs the course itself with pip"
            requirements = [Requirement(line) for line in item["pip"] if line != "-e ."]
            pip.update({canonicalize_name(r.name): str(r.specifier) for r in requirements})
            continue
        name, _, version = item.partition("=") if "=" in item and not any(op in item for op in "<>!") else (item, "", "")
        if version:  # conda's name=1.2.3 is pip's name==1.2.3
            conda[canonicalize_name(name)] = f"=={version.lstrip('=')}"
        else:
            requirement = Requirement(item)
            conda[canonicalize_name(requirement.name)] = str(requirement.specifier)
    return conda, pip


def normalized(specifier: str) -> set[str]:
    return set(specifier.split(",")) - {""}


def test_environment_yml_and_pyproject_list_the_same_packages_and_versions():
    pip_side = pyproject_requirements()
    conda, conda_pip = conda_requirements()
    assert set(conda_pip) == set(PIP_ONLY), "environment.yml's pip: list (besides -e .) must be PIP_ONLY"
    assert CONDA_ONLY <= set(conda)
    conda_side = {CONDA_NAMES.get(name, name): spec for name, spec in {**conda, **conda_pip}.items() if name not in CONDA_ONLY}
    assert set(conda_side) == set(pip_side), (
        f"only in environment.yml: {sorted(set(conda_side) - set(pip_side))}; "
        f"only in pyproject.toml: {sorted(set(pip_side) - set(conda_side))}"
    )
    differ = {name: (pip_side[name], conda_side[name]) for name in pip_side if normalized(pip_side[name]) != normalized(conda_side[name])}
    assert not differ, f"versions differ (pyproject.toml, environment.yml): {differ}"


def test_the_comparison_reads_conda_versions_right(tmp_path):
    conda, _ = conda_requirements()
    assert normalized(conda["python-socketio"]) == {">=5.18.1", "<6"}
    assert normalized(conda["websockets"]) == {">=17.0", "<18"}
    # conda's exact version, name=1.2.3, is pip's name==1.2.3
    exact = tmp_path / "environment.yml"
    exact.write_text("dependencies:\n  - python-socketio=5.18.1\n  - pip:\n      - -e .\n")
    assert conda_requirements(exact)[0] == {"python-socketio": "==5.18.1"}
