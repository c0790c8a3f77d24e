"""The teacher's nbgitpuller link on a real JupyterHub: the lessons reach a student, and an update keeps her edit.

The teacher's repository is a git repository in a temporary folder with the course's
``notebooks/`` in it, reached by a ``file://`` URL (nbgitpuller hands the URL to
``git clone``, as it would an https one). Alice (the session hub's student whose
JupyterLab is already started) opens the link that :func:`ws_course.lessons.nbgitpuller_link`
makes, in Chromium, logged in to the hub: nbgitpuller, enabled in her server,
clones the course into her home and JupyterLab opens 00-start-here. She edits a
lesson; the teacher adds a lesson and changes another; she opens the link again.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import nbformat
from hub import log_in
from lab_helpers import NOTEBOOK_PANEL, run_cell
from playwright.sync_api import expect

from ws_course.lessons import nbgitpuller_link, reset_lesson

COURSE_NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
TEACHER = {"GIT_AUTHOR_NAME": "Teacher", "GIT_AUTHOR_EMAIL": "teacher@example.org",
           "GIT_COMMITTER_NAME": "Teacher", "GIT_COMMITTER_EMAIL": "teacher@example.org"}
#: JupyterLab's first load in a fresh browser context, through the hub, can take a while on a busy machine.
LAB_TIMEOUT = 90_000


def git(folder: Path, *arguments: str) -> str:
    result = subprocess.run(["git", *arguments], cwd=folder, capture_output=True, text=True, timeout=60,
                            env={**os.environ, **TEACHER})
    assert result.returncode == 0, result.stderr
    return result.stdout


def with_a_cell(path: Path, text: str) -> None:
    """Add a markdown cell at the end of the notebook at ``path``, written as JupyterLab saves it."""
    notebook = nbformat.read(path, as_version=4)
    notebook.cells.append(nbformat.v4.new_markdown_cell(text))
    nbformat.write(notebook, path)


def test_the_link_brings_the_lessons_and_a_later_update_keeps_the_students_edit(hub, browser, tmp_path):
    upstream = tmp_path / "ws-course"  # the teacher's repository; the folder in each home takes its name
    shutil.copytree(COURSE_NOTEBOOKS, upstream / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    git(upstream, "init", "-q", "-b", "main")
    git(upstream, "add", ".")
    git(upstream, "commit", "-q", "-m", "the course")
    link = nbgitpuller_link(hub.url, upstream.as_uri())
    clone = hub.folder / "users" / "alice" / "ws-course"
    # (A second tab with JupyterLab open in the first gets a workspace of its own: /lab/workspaces/auto-x/tree/...)
    lesson_page = re.compile(re.escape(f"{hub.url}/user/alice/lab") + r"(/workspaces/[\w-]+)?"
                             + re.escape("/tree/ws-course/notebooks/00-start-here.ipynb"))

    hub.wait_for_server("alice")
    context = browser.new_context()
    try:
        page = context.new_page()
        log_in(page, hub, "alice")
        page.goto(link)
        # nbgitpuller's page clones, then sends her to the lesson: JupyterLab, with 00-start-here open.
        expect(page).to_have_url(lesson_page, timeout=LAB_TIMEOUT)
        expect(page.locator(".lm-TabBar-tab.lm-mod-current", has_text="00-start-here.ipynb")).to_be_visible(timeout=LAB_TIMEOUT)
        expect(page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) h1").first).to_have_text(
            re.compile("WebSockets in Python: start here"), timeout=LAB_TIMEOUT)
        every_lesson = sorted(path.name for path in COURSE_NOTEBOOKS.glob("*.ipynb"))
        assert sorted(path.name for path in (clone / "notebooks").glob("*.ipynb")) == every_lesson

        # 00-start-here's cell finds out where it runs, and says what to do on a hub (its stored output is "local").
        expect(page.locator("#jp-main-statusbar")).to_contain_text("Idle", timeout=LAB_TIMEOUT)
        cell = page.locator(NOTEBOOK_PANEL).locator(".jp-CodeCell", has_text="from ws_course.lessons import instructions")
        run_cell(page, cell)
        expect(cell.locator(".jp-OutputArea-output").first).to_have_text("These notebooks run: hub")
        said = cell.locator(".jp-RenderedMarkdown")
        expect(said).to_contain_text("You are on a JupyterHub")
        expect(said).to_contain_text("these lessons are in the folder ~/ws-course/notebooks")
        assert "course.py" not in said.inner_text()

        # Alice writes in lesson 03; the teacher adds a lesson and improves lesson 01.
        with_a_cell(clone / "notebooks" / "03-chat.ipynb", "Alice's notes: broadcast() never waits.")
        (upstream / "notebooks" / "10-new-lesson.ipynb").write_text(json.dumps(nbformat.v4.new_notebook(
            cells=[nbformat.v4.new_markdown_cell("# 10 · A lesson that came later")]), indent=1) + "\n")
        with_a_cell(upstream / "notebooks" / "01-echo.ipynb", "A new exercise, from the teacher.")
        git(upstream, "add", ".")
        git(upstream, "commit", "-q", "-m", "lesson 10, and an exercise in lesson 01")

        page = context.new_page()  # she opens the link again, in a new tab
        page.goto(link)  # returns on nbgitpuller's page; it sends her on once the pull and merge are done
        expect(page).to_have_url(lesson_page, timeout=LAB_TIMEOUT)
    finally:
        context.close()
        hub.shutdown_kernels("alice")

    assert (clone / "notebooks" / "10-new-lesson.ipynb").read_bytes() == (upstream / "notebooks" / "10-new-lesson.ipynb").read_bytes()
    lesson_03 = nbformat.read(clone / "notebooks" / "03-chat.ipynb", as_version=4)
    assert lesson_03.cells[-1].source == "Alice's notes: broadcast() never waits."  # her edit is kept
    lesson_01 = nbformat.read(clone / "notebooks" / "01-echo.ipynb", as_version=4)
    assert lesson_01.cells[-1].source == "A new exercise, from the teacher."  # the teacher's change arrived
    assert "Automatic commit by nbgitpuller" in git(clone, "log", "--format=%s")  # how nbgitpuller kept her edit

    # Her clone, as nbgitpuller left it, is what reset_lesson() works on, with no course.py:
    # the course's lesson 03 comes back (not her committed edit), and her version is kept.
    done = reset_lesson("03", folder=clone / "notebooks")
    assert (clone / "notebooks" / "03-chat.ipynb").read_bytes() == (upstream / "notebooks" / "03-chat.ipynb").read_bytes()
    assert nbformat.read(done.backup, as_version=4).cells[-1].source == "Alice's notes: broadcast() never waits."
