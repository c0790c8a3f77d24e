"""Your copy of the lessons: where it runs, putting a lesson back, and the link that hands it out.

The same notebooks reach learners three ways, and each keeps "your copy" elsewhere:

- **local**: ``python3 course.py lab`` on your own machine opens your copy in
  ``my-notebooks/``, made from the course's ``notebooks/`` (never touched by ``git pull``);
- **hub**: on a JupyterHub, the teacher's `nbgitpuller <https://nbgitpuller.readthedocs.io/>`_
  link cloned the course's git repository into your home folder. Opening the link again
  pulls the teacher's updates and merges them with your edits, keeping your lines
  wherever both of you changed the same ones;
- **binder**: on Binder the course's repository is your (temporary) home folder.

:func:`where` says which, :func:`instructions` says what to do there, and
:func:`reset_lesson` puts a lesson back as the course has it, keeping your version in
``backups/`` next to it, with no ``course.py`` needed::

    from ws_course.lessons import reset_lesson
    reset_lesson("03")     # lesson 03 as new; yours goes to backups/03-chat-<date>.ipynb

A teacher makes the link with :func:`nbgitpuller_link` (or ``ws-course link``).

This module uses only the standard library, and no other module of the package:
``course.py`` loads this file by its path, before anything is installed, so that its
``reset`` command and :func:`reset_lesson` follow the same rules (:func:`choose_lessons`,
:func:`backup_path`). What it says to a learner goes through :func:`_`, which asks
:mod:`ws_course.language` only when it is called, and speaks English when that cannot
be imported (``course.py`` before the course is installed).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlencode, urlsplit

__all__ = ["Instructions", "Reset", "choose_lessons", "instructions", "nbgitpuller_link", "reset_lesson", "where"]

#: What BinderHub puts into the environment of every server it launches (its spawner's
#: ``get_env``). Binder runs JupyterHub too, so these are checked before the hub's.
BINDER_VARIABLES = ("BINDER_LAUNCH_HOST", "BINDER_REPO_URL", "BINDER_REF_URL", "BINDER_REQUEST",
                    "BINDER_PERSISTENT_REQUEST")
#: The folder ``course.py lab`` makes for your copy, next to the course's ``notebooks/``.
MY_NOTEBOOKS = "my-notebooks"
COURSE_NOTEBOOKS = "notebooks"
#: Where a reset keeps your version of a lesson: a folder next to your lessons.
BACKUPS = "backups"


def _(message: str) -> str:
    """``message`` in the course's language (:func:`ws_course.language._`), imported only now; English without it."""
    try:
        from ws_course.language import _ as translate
    except ImportError:  # loaded by course.py, before the course is installed
        return message
    return translate(message)


def where(environ: dict[str, str] | None = None) -> str:
    """Where these notebooks run: ``"hub"``, ``"binder"`` or ``"local"``.

    ``"binder"`` when BinderHub launched this server (it sets :data:`BINDER_VARIABLES`);
    ``"hub"`` when a JupyterHub did (it sets ``JUPYTERHUB_API_URL`` for every server it
    starts, and the kernels inherit it); otherwise ``"local"``: your own JupyterLab,
    such as the one ``course.py lab`` opens.
    """
    environ = os.environ if environ is None else environ
    if any(environ.get(name) for name in BINDER_VARIABLES):
        return "binder"
    if environ.get("JUPYTERHUB_API_URL"):
        return "hub"
    return "local"


# -- naming lessons and keeping backups: the rules course.py's reset shares ----------


def choose_lessons(names: list[str], lessons: list[str]) -> list[str]:
    """The lessons (file names, from ``lessons``) that ``names`` mean, each once, in the order named.

    A lesson is named by its number, its name or its file name (``03``, ``03-chat``,
    ``03-chat.ipynb``); ``--all`` names every lesson. A name that fits no lesson, or
    more than one, raises :class:`LookupError` saying which lessons there are.
    """
    lessons = sorted(lessons)
    if names == ["--all"]:
        return lessons
    chosen = []
    for name in names:
        found = [lesson for lesson in lessons
                 if lesson == name or lesson.removesuffix(".ipynb") == name or lesson.startswith(f"{name}-")]
        if len(found) != 1:
            known = ", ".join(lesson.removesuffix(".ipynb") for lesson in lessons)
            raise LookupError(_("no lesson {name!r}; the lessons are: {lessons}").format(name=name, lessons=known))
        chosen += found
    return list(dict.fromkeys(chosen))  # "03 03-chat" names one lesson twice: once is enough


def backup_path(backups: Path, lesson: str, stamp: str) -> Path:
    """A file in ``backups`` for your version of ``lesson`` (``03-chat.ipynb``), stamped, never one that exists.

    ``backups/03-chat-20261201-120000.ipynb``; a second reset within the same second
    gets ``...-2.ipynb``, and so on: a backup is never overwritten.
    """
    stem = lesson.removesuffix(".ipynb")
    backup, count = backups / f"{stem}-{stamp}.ipynb", 1
    while backup.exists():
        count += 1
        backup = backups / f"{stem}-{stamp}-{count}.ipynb"
    return backup


def keep_a_backup(yours: Path, backups: Path, stamp: str) -> Path | None:
    """Move your version of a lesson into ``backups`` (made if needed); return where, or None if you had none."""
    if not yours.exists():
        return None
    backups.mkdir(parents=True, exist_ok=True)
    backup = backup_path(backups, yours.name, stamp)
    shutil.move(yours, backup)
    return backup


def stamp_now() -> str:
    """The date and time a backup's name carries: ``20261201-120000``."""
    return time.strftime("%Y%m%d-%H%M%S")


# -- putting a lesson back -------------------------------------------------------------


class Reset(NamedTuple):
    """What :func:`reset_lesson` did: the lesson put back, and where your version went (None: you had none)."""

    lesson: Path
    backup: Path | None
    source: str  #: where the course's version came from: a git commit, or the course's folder

    def __repr__(self) -> str:
        if self.backup:
            return _("{lesson} is the course's version again (from {source}); yours is kept in {backup}").format(
                lesson=self.lesson.name, source=self.source, backup=f"{BACKUPS}/{self.backup.name}")
        return _("{lesson} is the course's version again (from {source})").format(lesson=self.lesson.name, source=self.source)


class LessonError(Exception):
    """A lesson that cannot be reset: an unknown name, or a folder that has no course's version to reset from."""


def reset_lesson(name: str, folder: str | Path | None = None) -> Reset:
    """Put lesson ``name`` (``"03"``, ``"03-chat"``) of ``folder`` back as the course has it.

    Your version moves to ``backups/`` inside ``folder`` (nothing is lost); close the
    lesson's tab first, or JupyterLab would keep showing, and then save, your version.
    ``folder`` is where your lessons are; by default the current directory, which in a
    notebook is the notebook's own folder. The course's version comes from:

    - ``my-notebooks/`` (the copy ``course.py lab`` made): the course's ``notebooks/``
      next to it, as ``python3 course.py reset 03`` does;
    - a git clone (what an nbgitpuller link or Binder made): the lesson as the course's
      repository has it, at the commit your clone last fetched from it (``origin/main``,
      say: your branch's upstream). Not ``HEAD``: when you open the link again with edits
      of yours, nbgitpuller commits them into your branch before it merges the update.
      A clone with no upstream (Binder's) uses ``HEAD``.

    Raises :class:`LessonError` for a name that is no lesson, or a folder that is neither.
    """
    folder = Path.cwd() if folder is None else Path(folder)
    if not folder.is_dir():
        raise LessonError(_("{folder} is not a folder").format(folder=folder))
    # The copy's folder, and within it the edition's (my-notebooks/zh/ for the Chinese lessons).
    copy, edition = (folder.parent, folder.name) if folder.parent.name == MY_NOTEBOOKS else (folder, "")
    course = copy.parent / COURSE_NOTEBOOKS / edition
    if copy.name == MY_NOTEBOOKS and course.is_dir():
        return _reset_from_folder(name, folder, course, course.relative_to(copy.parent.parent).as_posix() + "/")
    return _reset_from_git(name, folder)


def _reset_from_folder(name: str, folder: Path, course: Path, source: str) -> Reset:
    lesson = _choose_one(name, [path.name for path in course.glob("*.ipynb")])
    backup = keep_a_backup(folder / lesson, folder / BACKUPS, stamp_now())
    shutil.copy2(course / lesson, folder / lesson)
    return Reset(folder / lesson, backup, source)


def _reset_from_git(name: str, folder: Path) -> Reset:
    top = _git(folder, "rev-parse", "--show-toplevel", missing=_(
        "{folder} is neither your {copy}/ copy (course.py lab) nor a git clone (an nbgitpuller "
        "link, Binder): there is no course's version here to reset from"
    ).format(folder=folder, copy=MY_NOTEBOOKS)).decode().strip()
    prefix = _git(folder, "rev-parse", "--show-prefix").decode().strip()  # the folder, within the clone
    try:
        commit = _git(folder, "rev-parse", "--abbrev-ref", "--symbolic-full-name", "@{upstream}").decode().strip()
    except LessonError:
        commit = "HEAD"  # no upstream: a detached checkout, as Binder makes
    listed = _git(Path(top), "ls-tree", "-z", "--name-only", commit, "--", prefix or ".").decode()
    lessons = [path.removeprefix(prefix) for path in listed.split("\0") if path.endswith(".ipynb")]
    lesson = _choose_one(name, lessons)
    content = _git(Path(top), "show", f"{commit}:{prefix}{lesson}")
    backup = keep_a_backup(folder / lesson, folder / BACKUPS, stamp_now())
    (folder / lesson).write_bytes(content)
    return Reset(folder / lesson, backup, commit)


def _choose_one(name: str, lessons: list[str]) -> str:
    if not isinstance(name, str) or not name or name == "--all":
        raise LessonError(_("say which lesson to reset, by its number or name, like reset_lesson('03'), not {name!r}").format(
            name=name))
    if not lessons:
        raise LessonError(_("this folder has no lessons to reset"))
    try:
        [lesson] = choose_lessons([name], lessons)
    except LookupError as error:
        raise LessonError(str(error)) from None
    return lesson


def _git(folder: Path, *arguments: str, missing: str | None = None) -> bytes:
    """Run ``git arguments`` in ``folder``; its output. A failure raises :class:`LessonError` (``missing`` or git's words)."""
    try:
        result = subprocess.run(["git", *arguments], cwd=folder, capture_output=True, timeout=30,
                                env={**os.environ, "LANG": "C"})
    except FileNotFoundError:
        raise LessonError(_("resetting a lesson of a git clone needs git, and there is no 'git' command here")) from None
    if result.returncode != 0:
        raise LessonError(missing or f"git {' '.join(arguments)}: {result.stderr.decode(errors='replace').strip()}")
    return result.stdout


# -- what to do, wherever you are -----------------------------------------------------

def _redis(place: str) -> str:
    """What lesson 09 needs, for ``place``, in the course's language."""
    if place == "local":
        return _("Lesson 09 also needs the Redis server, `redis-server`: `python3 course.py lab` installs it when "
                 "it can (Debian or Ubuntu, as root); otherwise install it yourself (Debian: `apt-get install "
                 "redis-server`; conda: `conda install -c conda-forge redis`). The other lessons run without it.")
    if place == "hub":
        return _("Lesson 09 also needs the Redis server, `redis-server`, on the machine that runs your kernel. If "
                 "lesson 09 says \"redis-server was not found\", ask your teacher: it is installed once for everyone (Debian: "
                 "`apt-get install redis-server`; conda: `conda install -c conda-forge redis`). The other lessons "
                 "run without it.")
    return _("Lesson 09 also needs the Redis server, `redis-server`: Binder installed it for you, from the "
             "course's `environment.yml`.")


#: The places :func:`instructions` knows.
PLACES = ("local", "hub", "binder")


def _text(place: str) -> str:
    """How to open, reset and update the lessons in ``place``, in the course's language (``{folder}`` to fill in)."""
    if place == "local":
        return _("""\
**You are on your own machine.** `python3 course.py lab` opened *your* copy of the lessons, in the
folder `my-notebooks/` of the course's folder (made the first time, kept between runs, never touched
by `git pull`). Write in it freely.

- **Open a lesson**: click its link above, or double-click it in the file browser on the left.
- **Start a lesson again**: close its tab, then from the course's folder run
  `python3 course.py reset 03` (or `--all` for every lesson). Or, from any notebook:
  `from ws_course.lessons import reset_lesson; reset_lesson("03")`. Either way your version is kept
  in `my-notebooks/backups/`.
- **New lessons** that arrive with a `git pull` appear in your copy the next time you run
  `python3 course.py lab`.
""")
    if place == "hub":
        return _("""\
**You are on a JupyterHub.** Your teacher's link copied the course into your home folder on the hub:
these lessons are in the folder `{folder}` (a git clone of the course; there is nothing to install).
They stay there between sessions. Write in them freely.

- **Open a lesson**: click its link above, or double-click it in the file browser on the left.
- **Start a lesson again**: close its tab, then run in a cell of any notebook:
  `from ws_course.lessons import reset_lesson; reset_lesson("03")`. Your version is kept in
  `{folder}/backups/`. (Or delete the lesson's file and open your teacher's link again: a deleted
  lesson comes back as new.)
- **Updates**: when your teacher changes the course, open the teacher's link again. New lessons
  arrive and your edits are kept; where you and the teacher changed the same lines, yours win.
""")
    return _("""\
**You are on Binder.** These lessons are a copy in a temporary server made for you alone: it is
deleted, with everything you wrote, a few minutes after you close its tab or leave it idle.
Download what you want to keep (*File → Download*).

- **Open a lesson**: click its link above, or double-click it in the file browser on the left.
- **Start a lesson again**: close its tab, then run in a cell of any notebook:
  `from ws_course.lessons import reset_lesson; reset_lesson("03")`. Your version is kept in
  `backups/` next to the lessons. (Or launch Binder again for a fresh copy of everything.)
""")


class Instructions:
    """What to do with the lessons where they run: shown as Markdown in a notebook, as text elsewhere."""

    def __init__(self, place: str, markdown: str) -> None:
        self.place = place
        self.markdown = markdown

    def _repr_markdown_(self) -> str:
        return self.markdown

    def __repr__(self) -> str:
        return self.markdown


def instructions(place: str | None = None, folder: str | Path | None = None) -> Instructions:
    """How to open, reset and update the lessons, and what lesson 09 needs, for ``place`` (default: :func:`where`).

    On a hub, ``folder`` (default: the current directory, the notebook's own) is named
    as the learner sees it, from their home folder.
    """
    place = where() if place is None else place
    if place not in PLACES:
        raise ValueError(_("no instructions for {place!r}: the places are {places}").format(place=place, places=", ".join(PLACES)))
    folder = Path.cwd() if folder is None else Path(folder)
    try:
        shown = f"~/{folder.resolve().relative_to(Path.home().resolve()).as_posix()}"
    except ValueError:
        shown = str(folder)
    return Instructions(place, _text(place).format(folder=shown) + "\n" + _redis(place) + "\n")


# -- the link a teacher hands out --------------------------------------------------------

_LESSON_NAME = re.compile(r"^[\w.-]+$")


def nbgitpuller_link(hub_url: str, repo: str, branch: str = "main", lesson: str = "00-start-here",
                     folder: str | None = None) -> str:
    """The nbgitpuller link that brings the course from ``repo`` into each student's home on ``hub_url``.

    Opening it, a student logs in to the hub (if not yet), their server starts, and
    nbgitpuller clones ``repo`` (``branch``) into the folder ``folder`` of their home
    (by default the repository's name, without ``.git``), or, if it is there already,
    pulls the updates and merges them with the student's edits; then JupyterLab opens
    ``<folder>/notebooks/<lesson>.ipynb``. The link is nbgitpuller's documented one
    (https://nbgitpuller.readthedocs.io/en/latest/topic/url-options.html)::

        {hub_url}/hub/user-redirect/git-pull?repo=...&branch=...&targetpath=...&urlpath=lab/tree/...

    ``user-redirect`` sends each student to their own server; ``targetpath`` names the
    folder, so that it is the one ``urlpath`` opens, whatever the repository's URL ends with.
    The hub needs nbgitpuller installed in the students' environment
    (``pip install nbgitpuller``, or ``pip install ws-course[hub]``).
    """
    address = urlsplit(hub_url)
    if address.scheme not in ("http", "https") or not address.netloc:
        raise ValueError(f"the hub's address must start with https:// or http://, like https://hub.example.org; not {hub_url!r}")
    if address.query or address.fragment:
        raise ValueError(f"the hub's address is its base address, with no ?query or #fragment: {hub_url!r}")
    if not repo or not repo.strip() or repo != repo.strip():
        raise ValueError(f"the repository must be the URL git clones it from, like https://github.com/you/ws-course; not {repo!r}")
    if not branch or not _LESSON_NAME.match(branch.replace("/", "-")):
        raise ValueError(f"not a branch name: {branch!r}")
    if folder is None:
        path = urlsplit(repo).path if "://" in repo else repo  # a URL's path; a local path, or git@host:you/course
        folder = path.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1].removesuffix(".git")
    if not folder or folder in (".", "..") or not _LESSON_NAME.match(folder):
        raise ValueError(f"the folder for the course in each home must be one plain name, like ws-course; not {folder!r}")
    notebook = lesson if lesson.endswith(".ipynb") else f"{lesson}.ipynb"
    if not _LESSON_NAME.match(notebook) or notebook.startswith("."):
        raise ValueError(f"the lesson to open is a file name of notebooks/, like 00-start-here; not {lesson!r}")
    query = urlencode({
        "repo": repo,
        "branch": branch,
        "targetpath": folder,
        "urlpath": f"lab/tree/{folder}/{COURSE_NOTEBOOKS}/{notebook}",
    }, safe="/:")  # "/" and ":" may stay as they are in a query: the link stays readable
    base = hub_url.rstrip("/")
    return f"{base}/hub/user-redirect/git-pull?{query}"
