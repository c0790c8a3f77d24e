"""The course as a book: a static website of both editions, built from the notebooks as committed.

Run it with ``python3 course.py book`` (or ``python book/build.py OUT`` in the course's
Python): it writes the English book to ``OUT/`` and the Chinese one to ``OUT/zh/``, the
layout of ``notebooks/``, so every link a notebook has to another keeps working, and
then checks every link. Open ``OUT/index.html``.

How, in four steps (:func:`build`):

1. **Stage** (:func:`stage`): copy the notebooks of both editions into a temporary folder,
   with the front page of each (``book/index.md``, ``book/zh/index.md``) and its list of
   lessons (every notebook of the edition, in the course's order: :func:`toctree`).
   A hidden cell (each exercise's solution) is folded, as JupyterLab shows it.
   A few outputs cannot work in a static page: a widget needs its kernel, and a demo's
   page was served by the notebook's own server on ``127.0.0.1``. Each of them becomes
   a short note saying what appears there when you run the notebook (:func:`for_the_book`).
2. **Build** each edition with Sphinx and MyST-NB (``book/conf.py``): the notebooks'
   stored outputs, never executed again (CI executed them; the book shows what the
   tests proved). Any warning, such as a link to a lesson or a glossary entry that
   does not exist, fails the build.
3. **Check** (:func:`broken_links`): every link and image of every page leads to a file
   that exists, and to an element with that id when it names one (``glossary.html#Proxy``).
4. Every notebook of each edition has its page (:func:`missing_pages`).

Only Sphinx's own machinery and the standard library are used here.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
import tempfile
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

HERE = Path(__file__).resolve().parent
NOTEBOOKS = HERE.parent / "notebooks"

#: Each edition: its folder in ``notebooks/`` and in the book, and its front page in ``book/``.
EDITIONS = {"en": "", "zh": "zh"}

#: What a static page says in place of an output that needs the running notebook.
LIVE_OUTPUT_NOTES = {
    "en": {
        "widget": "▶ *A widget you can use is here when you run the notebook.*",
        "page": "▶ *The demo's page, served by the notebook's own server, is here when you run the notebook.*",
    },
    "zh": {
        "widget": "▶ *运行这个笔记本时，这里是一个可以操作的控件。*",
        "page": "▶ *运行这个笔记本时，这里显示由笔记本自己的服务器提供的示例页面。*",
    },
}

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
SERVED_BY_THE_NOTEBOOK = "http://127.0.0.1:"


class BookError(Exception):
    """The book could not be built, or has a broken link or a missing page: the message says which."""


def lessons(folder: Path) -> list[str]:
    """The notebooks of an edition, in the course's order: 00-start-here, 00a, 01 ... 09b, then the glossary."""
    names = sorted(path.stem for path in folder.glob("*.ipynb"))
    return sorted(names, key=lambda name: (not name[:1].isdigit(), name))


def toctree(names: list[str]) -> str:
    """The list of lessons of a front page, in MyST (what the book's side bar shows)."""
    return "\n```{toctree}\n:maxdepth: 1\n\n" + "\n".join(names) + "\n```\n"


def for_the_book(notebook: dict, edition: str) -> dict:
    """A copy of a notebook for the book: hidden cells folded, outputs that need a kernel a note (see the module's docstring)."""
    book = copy.deepcopy(notebook)
    book["metadata"].pop("widgets", None)  # the widgets' state: nothing on a static page to show it with
    notes = LIVE_OUTPUT_NOTES[edition]
    for cell in book["cells"]:
        if cell["metadata"].get("jupyter", {}).get("source_hidden"):
            # A hidden solution stays hidden until asked for, as in JupyterLab: MyST-NB folds it.
            cell["metadata"]["tags"] = [*cell["metadata"].get("tags", []), "hide-input"]
        for index, output in enumerate(cell.get("outputs", [])):
            data = output.get("data", {})
            html = "".join(data.get("text/html", ""))
            kind = "widget" if WIDGET_VIEW in data else "page" if SERVED_BY_THE_NOTEBOOK in html else None
            if kind:
                cell["outputs"][index] = {"output_type": "display_data", "metadata": {},
                                          "data": {"text/markdown": notes[kind]}}
    return book


def stage(source: Path, notebooks: Path = NOTEBOOKS) -> None:
    """Write into ``source`` what Sphinx reads: each edition's notebooks for the book, and its front page."""
    if source.exists():
        shutil.rmtree(source)
    for edition, folder in EDITIONS.items():
        (source / folder).mkdir(parents=True, exist_ok=True)
        names = lessons(notebooks / folder)
        for name in names:
            notebook = json.loads((notebooks / folder / f"{name}.ipynb").read_text(encoding="utf-8"))
            (source / folder / f"{name}.ipynb").write_text(
                json.dumps(for_the_book(notebook, edition), ensure_ascii=False), encoding="utf-8")
        front = (HERE / folder / "index.md").read_text(encoding="utf-8")
        (source / folder / "index.md").write_text(front + toctree(names), encoding="utf-8")


def build(out: Path, notebooks: Path = NOTEBOOKS, repository: str | None = None) -> None:
    """Build both editions into ``out`` (the English book) and ``out/zh`` (the Chinese one), and check them.

    ``repository`` (a GitHub URL) gives each lesson a "launch on Binder" button;
    the book's workflow passes its own. Raises :class:`BookError` saying what is wrong.
    """
    out = Path(out)
    env = {**os.environ}
    if repository:
        env["WS_COURSE_REPOSITORY"] = repository
    with tempfile.TemporaryDirectory(prefix="ws-course-book-") as work:
        source = Path(work) / "source"
        stage(source, notebooks)
        # The two books at once, each in a Sphinx of its own: they share nothing but the sources.
        builds = {
            edition: subprocess.Popen(
                [sys.executable, "-m", "sphinx", "--builder", "html", "--quiet", "--fail-on-warning", "--keep-going",
                 "--conf-dir", str(HERE), "--doctree-dir", str(Path(work) / "doctrees" / edition),
                 str(source / folder), str(out / folder)],
                env={**env, "WS_COURSE_BOOK_EDITION": edition}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                text=True,
            )
            for edition, folder in EDITIONS.items()
        }
        said = {edition: sphinx.communicate()[0] for edition, sphinx in builds.items()}
        failed = [f"the {edition} book did not build:\n" + said[edition].replace(str(source) + os.sep, "")
                  for edition, sphinx in builds.items() if sphinx.returncode != 0]
        if failed:
            raise BookError("\n".join(failed))
    problems = missing_pages(out, notebooks) + broken_links(out)
    if problems:
        raise BookError("the book has broken links or missing pages:\n" + "\n".join(problems))


def missing_pages(out: Path, notebooks: Path = NOTEBOOKS) -> list[str]:
    """Each notebook of each edition without its page in the book, said as a problem."""
    return [f"no page for notebooks/{folder + '/' if folder else ''}{name}.ipynb"
            for folder in EDITIONS.values() for name in lessons(notebooks / folder)
            if not (out / folder / f"{name}.html").is_file()]


class _LinksAndIds(HTMLParser):
    """The links (``href``, ``src``) and the ids of one HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("id", "name") and value:
                self.ids.add(value)
            elif name in ("href", "src") and value and not (tag == "link" and name == "href" and value.startswith("#")):
                self.links.append(value)


def broken_links(out: Path) -> list[str]:
    """Every link or image of the book's pages that leads nowhere, said as ``page: link (why)``.

    Links to other sites are not followed (the tests run offline); a link into the
    book must lead to a file of it, and a ``#id`` to an element with that id.
    """
    pages: dict[Path, _LinksAndIds] = {}

    def read(page: Path) -> _LinksAndIds:
        if page not in pages:
            parser = _LinksAndIds()
            parser.feed(page.read_text(encoding="utf-8"))
            pages[page] = parser
        return pages[page]

    problems = []
    for page in sorted(out.rglob("*.html")):
        if "_static" in page.relative_to(out).parts:
            continue  # the theme's own files: templates of its, not pages
        for link in read(page).links:
            parts = urlsplit(link)
            if parts.scheme or parts.netloc or link.startswith("javascript:"):
                continue  # another site (or a data: URL): not this book's
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            where = f"{page.relative_to(out)}: {link}"
            if out.resolve() not in (target, *target.parents):
                problems.append(f"{where} (outside the book)")
            elif target.is_dir():
                if not (target / "index.html").is_file():
                    problems.append(f"{where} (a folder without index.html)")
            elif not target.is_file():
                problems.append(f"{where} (no such file)")
            elif parts.fragment and target.suffix == ".html" and unquote(parts.fragment) not in read(target).ids:
                problems.append(f"{where} (no element with id {unquote(parts.fragment)!r})")
    return problems


def main(arguments: list[str]) -> int:
    out = Path(arguments[0] if arguments else HERE.parent / "build" / "book").resolve()
    try:
        build(out, repository=os.environ.get("WS_COURSE_REPOSITORY"))
    except BookError as error:
        print(error, file=sys.stderr)
        return 1
    print(f"The book is in {out}: open {out / 'index.html'} (the Chinese edition: {out / 'zh' / 'index.html'})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
