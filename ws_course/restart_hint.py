"""After a kernel restart, a ``NameError`` says what to do: run the cells above again.

A restarted kernel has forgotten everything the cells above made (``server``,
``client``, even ``import ws_course``), so the next cell you run fails with
``NameError: name 'server' is not defined``. Python cannot know why; this
IPython extension adds one note to such an error::

    If you restarted the kernel, the cells above have not run in this one:
    Run → Run All Above Selected Cell, then this cell again.
    (`server` is made by the cell above that runs: server = ws_course.start("echo"))

When the kernel knows its notebook (Jupyter Server tells a kernel it starts, in
the environment variable ``JPY_SESSION_NAME``; ipykernel copies it into
``__session__``), the note names the cell that makes the missing name, and a name
that no cell of the notebook makes (a typo) gets no note at all. Every other
error is shown exactly as before.

How the extension gets loaded, even though after a restart nothing of the course
has been imported yet: the package installs a configuration file for IPython's
kernels, ``etc/ipython/ipython_kernel_config.json`` in the Python environment
(``sys.prefix``), which IPython reads at every kernel start. It asks for this
module in ``InteractiveShellApp.extra_extensions`` (so a ``extensions`` list of
your own stays as it is). If this module cannot be imported or loaded, IPython
logs a warning in the kernel's log, and the kernel starts as usual.

The extension uses IPython's :meth:`~IPython.core.interactiveshell.InteractiveShell.set_custom_exc`
for ``NameError`` only, and leaves it alone when something else has already set
a handler there.
"""

from __future__ import annotations

import ast
import json
import os
import weakref
from pathlib import Path
from typing import Any


def hint_text() -> str:
    """What the note says, whatever the notebook, in the notebook's language (see :mod:`ws_course.language`)."""
    from .language import _

    # Translators: "Run → Run All Above Selected Cell" is JupyterLab's menu; say it as the learner's JupyterLab does.
    return _("If you restarted the kernel, the cells above have not run in this one: "
             "Run → Run All Above Selected Cell, then this cell again.")


def __getattr__(name: str) -> str:
    if name == "HINT":  # the note's old name, a constant before the course spoke two languages
        return hint_text()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

#: Where a kernel learns its notebook's path: Jupyter Server's (via ipykernel), then VS Code's.
NOTEBOOK_NAMES = ("__session__", "__vsc_ipynb_file__")


#: The shells this extension set its handler in (so that unloading removes only its own).
_LOADED: weakref.WeakSet = weakref.WeakSet()


def load_ipython_extension(ipython: Any) -> None:
    """Called by IPython (``%load_ext ws_course.restart_hint``, or the installed kernel configuration)."""
    if ipython.custom_exceptions:
        return  # another handler is there (or ours already): never replace it
    ipython.set_custom_exc((NameError,), show_with_hint)
    _LOADED.add(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    if ipython in _LOADED:
        ipython.set_custom_exc((), None)
        _LOADED.discard(ipython)


def show_with_hint(shell: Any, etype: type, value: BaseException, tb: Any, tb_offset: int | None = None) -> None:
    """IPython's handler for a ``NameError`` in a cell: the usual traceback, with the hint as a note."""
    try:
        note = hint(value, shell.user_ns)
    except Exception:  # noqa: BLE001 - a hint that fails must never hide the learner's error
        note = None
    if note and note not in getattr(value, "__notes__", ()):
        value.add_note(note)
    shell.showtraceback((etype, value, tb), tb_offset=tb_offset, running_compiled_code=True)


def hint(error: BaseException, namespace: dict[str, Any]) -> str | None:
    """The note for ``error`` in a kernel whose variables are ``namespace``, or None for no note.

    With the notebook known: the hint and the cell that makes the name, or None when
    no cell makes it. With the notebook unknown: the hint alone.
    """
    name = getattr(error, "name", None)
    if not isinstance(error, NameError) or not name or name in namespace:
        return None
    notebook = notebook_path(namespace)
    if notebook is None:
        return hint_text()
    current = (namespace.get("_ih") or [""])[-1]
    line = line_that_makes(name, code_cells(notebook), current)
    if line is None:
        return None
    from .language import _

    return hint_text() + "\n" + _("(`{name}` is made by the cell above that runs: {line})").format(name=name, line=line)


def notebook_path(namespace: dict[str, Any]) -> Path | None:
    """The kernel's notebook, when the kernel knows it and the file is there."""
    for key in NOTEBOOK_NAMES:
        value = namespace.get(key)
        if isinstance(value, str) and value.endswith(".ipynb"):
            path = Path(value)
            for candidate in (path, Path.cwd() / path.name):  # a full path, or one relative to the server's root
                if candidate.is_file():
                    return candidate
    value = os.environ.get("JPY_SESSION_NAME", "")
    if value.endswith(".ipynb") and Path(value).is_file():
        return Path(value)
    return None


def code_cells(notebook: Path) -> list[str]:
    """The sources of the notebook's code cells, as saved."""
    cells = json.loads(notebook.read_text(encoding="utf-8")).get("cells", [])
    return [
        "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        for cell in cells
        if cell.get("cell_type") == "code"
    ]


def line_that_makes(name: str, cells: list[str], current: str) -> str | None:
    """The first line of the statement that makes ``name`` in the last cell above ``current`` that makes it.

    When ``current`` is not among ``cells`` (edited since the notebook was saved),
    every cell counts as above it, and the first one that makes the name is chosen.
    """
    current = current.strip()
    here = next((index for index, source in enumerate(cells) if current and source.strip() == current), None)
    for source in (reversed(cells[:here]) if here is not None else cells):
        line = made_in(name, source)
        if line is not None:
            return line
    return None


def made_in(name: str, source: str) -> str | None:
    """The line of ``source`` (a cell) that makes the global ``name``: assigns, imports or defines it."""
    try:
        tree = ast.parse(python_of(source))
    except SyntaxError:
        return None
    lines = python_of(source).splitlines()
    for statement in tree.body:
        if name in names_made_by(statement):
            text = lines[statement.lineno - 1].strip()
            return text if len(text) <= 100 else text[:97] + "..."
    return None


def python_of(source: str) -> str:
    """A cell's source as Python: IPython's ``%magics`` and ``!commands`` made into calls."""
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(source)


def names_made_by(statement: ast.stmt) -> set[str]:
    """The global names a top-level statement may bind (not those inside functions, classes, comprehensions)."""
    made: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            made.add(node.name)
            return
        if isinstance(node, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            return
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            made.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            made.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            made.add(node.name)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(statement)
    return made
