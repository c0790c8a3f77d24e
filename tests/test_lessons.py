"""ws_course.lessons: where the lessons run, putting one back without course.py, and the teacher's link.

Real git repositories in temporary folders, cloned and updated by nbgitpuller's own
``GitPuller`` (what the hub's link runs), and the package in fresh interpreters
for what depends on the environment.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from nbgitpuller.pull import GitPuller

from ws_course import lessons
from ws_course.lessons import LessonError, instructions, nbgitpuller_link, reset_lesson, where

HERE = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("course", HERE / "course.py")
course = importlib.util.module_from_spec(spec)
spec.loader.exec_module(course)

LESSONS = ["00-start-here", "01-echo", "03-chat"]
#: The variables that tell a server where it runs: left out of the fresh interpreters' environment.
PLACE_VARIABLES = ("JUPYTERHUB_API_URL", "JUPYTERHUB_API_TOKEN", *lessons.BINDER_VARIABLES)
GIT_IDENTITY = {"GIT_AUTHOR_NAME": "Teacher", "GIT_AUTHOR_EMAIL": "teacher@example.org",
                "GIT_COMMITTER_NAME": "Teacher", "GIT_COMMITTER_EMAIL": "teacher@example.org"}


# -- where, and what to do there -------------------------------------------------------


def in_a_fresh_interpreter(code: str, **variables: str) -> str:
    env = {name: value for name, value in os.environ.items() if name not in PLACE_VARIABLES}
    env.update(PYTHONPATH=str(HERE), **variables)
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


BINDER = {"BINDER_LAUNCH_HOST": "https://mybinder.org/", "BINDER_REPO_URL": "https://github.com/you/ws-course",
          "BINDER_REQUEST": "v2/gh/you/ws-course/HEAD"}
HUB = {"JUPYTERHUB_API_URL": "http://127.0.0.1:8081/hub/api", "JUPYTERHUB_API_TOKEN": "a-token"}


@pytest.mark.parametrize("variables, place", [({}, "local"), (HUB, "hub"), ({**HUB, **BINDER}, "binder"),
                                              ({"BINDER_REPO_URL": "https://github.com/you/ws-course"}, "binder")],
                         ids=["local", "hub", "binder (a hub too)", "binder, one variable"])
def test_where_the_lessons_run_and_what_to_do_there(variables, place):
    said = json.loads(in_a_fresh_interpreter(
        "import json; from ws_course.lessons import where, instructions\n"
        "print(json.dumps([where(), instructions().place, instructions().markdown]))",
        **variables,
    ))
    assert said[:2] == [place, place]
    words = said[2]
    assert "redis-server" in words and 'reset_lesson("03")' in words
    if place == "local":
        assert "python3 course.py reset 03" in words and "my-notebooks/" in words
    else:
        assert "course.py" not in words, "hub and Binder students have no course.py"


def test_on_a_hub_the_instructions_name_the_clone_from_the_home_folder(tmp_path, monkeypatch):
    clone = tmp_path / "ws-course" / "notebooks"
    clone.mkdir(parents=True)
    monkeypatch.setenv("HOME", str(tmp_path))
    words = instructions("hub", folder=clone)
    assert "the folder `~/ws-course/notebooks`" in words._repr_markdown_()
    assert "`~/ws-course/notebooks/backups/`" in repr(words)


def test_no_instructions_for_a_place_that_is_not_one():
    with pytest.raises(ValueError, match="no instructions for 'colab': the places are local, hub, binder"):
        instructions("colab")
    assert where({}) == "local" and where({"JUPYTERHUB_API_URL": ""}) == "local"  # set but empty: not a hub


# -- putting a lesson back: a clone, as the teacher's link makes it ------------------------


def git(folder: Path, *arguments: str) -> str:
    result = subprocess.run(["git", *arguments], cwd=folder, capture_output=True, text=True, timeout=30,
                            env={**os.environ, **GIT_IDENTITY})
    assert result.returncode == 0, result.stderr
    return result.stdout


def notebook(text: str) -> str:
    """A small notebook whose one markdown cell says ``text``, with a line per field (git merges lines)."""
    return json.dumps({"cells": [{"cell_type": "markdown", "metadata": {}, "source": [text]}],
                       "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1) + "\n"


@pytest.fixture
def upstream(tmp_path) -> Path:
    """The teacher's repository: notebooks/ with three lessons, on branch main."""
    repo = tmp_path / "upstream"
    (repo / "notebooks").mkdir(parents=True)
    for name in LESSONS:
        (repo / "notebooks" / f"{name}.ipynb").write_text(notebook(f"the course's {name}"))
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "the course")
    return repo


def pull(upstream: Path, clone: Path) -> None:
    """What opening the teacher's link does to a student's home: nbgitpuller's clone, or its pull and merge."""
    for _ in GitPuller(upstream.as_uri(), str(clone), branch="main").pull():
        pass


def test_reset_in_a_clone_puts_the_courses_version_back_and_keeps_yours(upstream, tmp_path):
    clone = tmp_path / "home" / "ws-course"
    pull(upstream, clone)
    lessons_folder = clone / "notebooks"
    (lessons_folder / "03-chat.ipynb").write_text(notebook("my answers"))
    (lessons_folder / "01-echo.ipynb").write_text(notebook("my other answers"))

    done = reset_lesson("03", folder=lessons_folder)

    assert (lessons_folder / "03-chat.ipynb").read_text() == notebook("the course's 03-chat")
    assert (lessons_folder / "01-echo.ipynb").read_text() == notebook("my other answers")
    [backup] = (lessons_folder / "backups").iterdir()
    assert backup.name.startswith("03-chat-") and backup.read_text() == notebook("my answers")
    assert done == (lessons_folder / "03-chat.ipynb", backup, "origin/main")
    assert repr(done) == f"03-chat.ipynb is the course's version again (from origin/main); yours is kept in backups/{backup.name}"


def test_after_an_update_the_reset_takes_the_courses_version_not_your_committed_edits(upstream, tmp_path):
    """Opening the link again with edits of yours, nbgitpuller commits them before it merges:
    then ``HEAD`` has your edits, and the course's version is the upstream's."""
    clone = tmp_path / "home" / "ws-course"
    pull(upstream, clone)
    (clone / "notebooks" / "03-chat.ipynb").write_text(notebook("my answers"))
    (upstream / "notebooks" / "04-json-chat.ipynb").write_text(notebook("a new lesson"))
    (upstream / "notebooks" / "01-echo.ipynb").write_text(notebook("the course's 01-echo, better"))
    git(upstream, "add", ".")
    git(upstream, "commit", "-q", "-m", "lesson 04, and 01 improved")
    pull(upstream, clone)
    assert "Automatic commit by nbgitpuller" in git(clone, "log", "--format=%s")
    assert (clone / "notebooks" / "03-chat.ipynb").read_text() == notebook("my answers")  # kept by the merge

    assert (clone / "notebooks" / "01-echo.ipynb").read_text() == notebook("the course's 01-echo, better")

    done = reset_lesson("03-chat", folder=clone / "notebooks")
    assert (clone / "notebooks" / "03-chat.ipynb").read_text() == notebook("the course's 03-chat")
    assert done.backup.read_text() == notebook("my answers")
    with pytest.raises(LessonError, match="the lessons are: 00-start-here, 01-echo, 03-chat, 04-json-chat"):
        reset_lesson("05", folder=clone / "notebooks")  # the lessons are those of the update


def test_reset_in_the_current_folder_and_in_a_checkout_with_no_upstream(upstream, monkeypatch):
    """A notebook's kernel runs in the notebook's folder: that is where reset_lesson looks by default.
    Binder's checkout has no upstream branch: the course's version is then HEAD's."""
    lessons_folder = upstream / "notebooks"
    git(upstream, "checkout", "-q", "--detach")
    (lessons_folder / "01-echo.ipynb").write_text(notebook("my answers"))
    monkeypatch.chdir(lessons_folder)
    done = reset_lesson("01-echo.ipynb")
    assert done.source == "HEAD" and done.lesson == lessons_folder / "01-echo.ipynb"
    assert (lessons_folder / "01-echo.ipynb").read_text() == notebook("the course's 01-echo")
    assert done.backup.read_text() == notebook("my answers")


def test_a_deleted_lesson_comes_back_with_no_backup(upstream):
    (upstream / "notebooks" / "03-chat.ipynb").unlink()
    done = reset_lesson("03", folder=upstream / "notebooks")
    assert done.backup is None and not (upstream / "notebooks" / "backups").exists()
    assert (upstream / "notebooks" / "03-chat.ipynb").read_text() == notebook("the course's 03-chat")
    assert repr(done) == "03-chat.ipynb is the course's version again (from HEAD)"


# -- putting a lesson back: the copy course.py lab made --------------------------------------


@pytest.fixture
def local_copy(tmp_path) -> tuple[Path, Path]:
    """A course's folder as course.py lays it out: notebooks/ and the learner's my-notebooks/."""
    lessons_folder = tmp_path / "ws-course" / "notebooks"
    lessons_folder.mkdir(parents=True)
    for name in LESSONS:
        (lessons_folder / f"{name}.ipynb").write_text(f"the course's {name}")
    mine = tmp_path / "ws-course" / "my-notebooks"
    course.make_working_copy(lessons_folder, mine)
    return lessons_folder, mine


def test_reset_in_the_local_copy_is_what_course_py_reset_does(local_copy, tmp_path):
    lessons_folder, mine = local_copy
    (mine / "03-chat.ipynb").write_text("my answers")
    done = reset_lesson("03", folder=mine)
    assert (mine / "03-chat.ipynb").read_text() == "the course's 03-chat"
    assert done.source == "ws-course/notebooks/" and done.backup.parent == mine / "backups"
    assert done.backup.read_text() == "my answers"

    # course.py's reset, on a copy alike: the same lesson, the same kind of backup, in the same place.
    other = tmp_path / "other"
    (other / "notebooks").mkdir(parents=True)
    for path in lessons_folder.iterdir():
        (other / "notebooks" / path.name).write_text(path.read_text())
    course.make_working_copy(other / "notebooks", other / "my-notebooks")
    (other / "my-notebooks" / "03-chat.ipynb").write_text("my answers")
    assert course.reset_lessons(["03"], other / "notebooks", other / "my-notebooks") == [done.lesson.name]
    [backup] = (other / "my-notebooks" / "backups").iterdir()
    assert backup.read_text() == "my answers" and backup.name[:8] == done.backup.name[:8] == "03-chat-"


def test_course_py_names_and_backs_up_lessons_by_this_modules_rules():
    rules = course.lesson_rules()
    assert Path(rules.__file__) == Path(lessons.__file__)
    assert rules.choose_lessons(["03", "03-chat.ipynb", "00"], ["03-chat.ipynb", "00-start-here.ipynb"]) == [
        "03-chat.ipynb", "00-start-here.ipynb"]


def test_backups_in_the_same_second_never_overwrite_each_other(local_copy):
    _, mine = local_copy
    names = []
    for answer in ("first", "second", "third"):
        (mine / "01-echo.ipynb").write_text(answer)
        names.append(lessons.keep_a_backup(mine / "01-echo.ipynb", mine / "backups", "20261201-120000").name)
    assert names == ["01-echo-20261201-120000.ipynb", "01-echo-20261201-120000-2.ipynb", "01-echo-20261201-120000-3.ipynb"]
    assert sorted(path.read_text() for path in (mine / "backups").iterdir()) == ["first", "second", "third"]


# -- what cannot be reset, said clearly, with nothing changed -----------------------------------


@pytest.mark.parametrize("name, error", [
    ("09", "no lesson '09'; the lessons are: 00-start-here, 01-echo, 03-chat"),
    ("0", "no lesson '0'; the lessons are"),  # 00-start-here? no: a number names one lesson, whole
    ("", "say which lesson to reset"),
    ("--all", "say which lesson to reset"),
])
def test_a_name_that_is_no_lesson_is_refused_and_nothing_changes(upstream, local_copy, name, error):
    _, mine = local_copy
    for folder in (upstream / "notebooks", mine):
        (folder / "01-echo.ipynb").write_text("my answers")
        with pytest.raises(LessonError, match=error):
            reset_lesson(name, folder=folder)
        assert (folder / "01-echo.ipynb").read_text() == "my answers"
        assert not (folder / "backups").exists()


def test_a_folder_with_no_courses_version_is_refused(tmp_path):
    (tmp_path / "lessons").mkdir()
    (tmp_path / "lessons" / "03-chat.ipynb").write_text("mine")
    with pytest.raises(LessonError, match="is neither your my-notebooks/ copy .* nor a git clone"):
        reset_lesson("03", folder=tmp_path / "lessons")
    with pytest.raises(LessonError, match="is not a folder"):
        reset_lesson("03", folder=tmp_path / "nowhere")
    assert (tmp_path / "lessons" / "03-chat.ipynb").read_text() == "mine"


def test_a_file_of_your_own_in_a_clone_is_no_lesson(upstream):
    (upstream / "notebooks" / "my-experiment.ipynb").write_text("mine")
    with pytest.raises(LessonError, match="no lesson 'my-experiment'"):
        reset_lesson("my-experiment", folder=upstream / "notebooks")


# -- the teacher's link ---------------------------------------------------------------------------


def test_the_link_is_nbgitpullers_documented_one():
    link = nbgitpuller_link("https://hub.example.org", "https://github.com/you/ws-course.git")
    assert link == (
        "https://hub.example.org/hub/user-redirect/git-pull?repo=https://github.com/you/ws-course.git"
        "&branch=main&targetpath=ws-course&urlpath=lab/tree/ws-course/notebooks/00-start-here.ipynb"
    )
    link = nbgitpuller_link("https://example.org/jupyter/", "https://gitlab.example.org/a/b/course", branch="spring-2027",
                            lesson="03-chat.ipynb", folder="websockets")
    address = urlsplit(link)
    assert address.path == "/jupyter/hub/user-redirect/git-pull"
    assert parse_qs(address.query) == {
        "repo": ["https://gitlab.example.org/a/b/course"], "branch": ["spring-2027"], "targetpath": ["websockets"],
        "urlpath": ["lab/tree/websockets/notebooks/03-chat.ipynb"],
    }
    # A repository URL with a query of its own cannot break the link's.
    assert parse_qs(urlsplit(nbgitpuller_link("http://hub", "https://h/x?a=1&b=2")).query)["repo"] == ["https://h/x?a=1&b=2"]


@pytest.mark.parametrize("arguments, error", [
    (("hub.example.org", "https://github.com/you/ws-course"), "must start with https:// or http://"),
    (("https://hub.example.org/?next=x", "https://github.com/you/ws-course"), "no \\?query"),
    (("https://hub.example.org", ""), "the repository must be the URL"),
    (("https://hub.example.org", "https://github.com/"), "one plain name"),
    (("https://hub.example.org", "https://github.com/you/ws-course", "main", "../../etc/passwd"), "a file name of notebooks/"),
    (("https://hub.example.org", "https://github.com/you/ws-course", "main", "00", "../up"), "one plain name"),
    (("https://hub.example.org", "https://github.com/you/ws-course", "main&x=1"), "not a branch name"),
])
def test_a_link_that_cannot_work_is_refused(arguments, error):
    with pytest.raises(ValueError, match=error):
        nbgitpuller_link(*arguments)


def test_the_link_command_prints_the_same_link():
    command = [sys.executable, "-m", "ws_course", "link", "--hub", "https://hub.example.org",
               "--repo", "https://github.com/you/ws-course", "--branch", "spring"]
    env = {**os.environ, "PYTHONPATH": str(HERE)}
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == nbgitpuller_link("https://hub.example.org", "https://github.com/you/ws-course", "spring") + "\n"
    result = subprocess.run([*command[:5], "hub.example.org", *command[6:]], capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("ws-course link: the hub's address must start with https:// or http://")


def test_the_readme_shows_the_link_the_command_makes():
    readme = (HERE / "README.md").read_text()
    assert "ws-course link --hub https://hub.example.org --repo https://github.com/you/ws-course\n" in readme
    assert f"\n   {nbgitpuller_link('https://hub.example.org', 'https://github.com/you/ws-course')}\n" in readme


def test_reset_in_the_chinese_copy_takes_the_chinese_lesson(tmp_path):
    """A notebook in my-notebooks/zh/ resets from notebooks/zh/ (course.py reset --lang zh does the same)."""
    lessons_folder = tmp_path / "ws-course" / "notebooks"
    (lessons_folder / "zh").mkdir(parents=True)
    for name in LESSONS:
        (lessons_folder / f"{name}.ipynb").write_text(f"the course's {name}")
        (lessons_folder / "zh" / f"{name}.ipynb").write_text(f"课程的 {name}")
    mine = tmp_path / "ws-course" / "my-notebooks"
    course.make_working_copy(lessons_folder, mine)
    (mine / "zh" / "03-chat.ipynb").write_text("我的答案")
    done = reset_lesson("03", folder=mine / "zh")
    assert (mine / "zh" / "03-chat.ipynb").read_text() == "课程的 03-chat"
    assert (mine / "03-chat.ipynb").read_text() == "the course's 03-chat"
    assert done.source == "ws-course/notebooks/zh/" and done.backup.parent == mine / "zh" / "backups"
