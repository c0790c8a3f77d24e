"""course.py: the learner's own copy of the notebooks, and putting a lesson back."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

HERE = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("course", HERE / "course.py")
course = importlib.util.module_from_spec(spec)
spec.loader.exec_module(course)


@pytest.fixture
def folders(tmp_path):
    lessons = tmp_path / "notebooks"
    lessons.mkdir()
    for name in ["00-start-here", "01-echo", "03-chat"]:
        (lessons / f"{name}.ipynb").write_text(f"the course's {name}")
    return lessons, tmp_path / "my-notebooks"


def test_the_working_copy_is_made_once_and_then_left_to_the_learner(folders):
    lessons, mine = folders
    assert course.make_working_copy(lessons, mine) == ["00-start-here.ipynb", "01-echo.ipynb", "03-chat.ipynb"]
    (mine / "01-echo.ipynb").write_text("my answers")
    (lessons / "04-json-chat.ipynb").write_text("a lesson that came with git pull")
    assert course.make_working_copy(lessons, mine) == ["04-json-chat.ipynb"]  # only what is new
    assert (mine / "01-echo.ipynb").read_text() == "my answers"


def test_reset_puts_one_lesson_back_and_keeps_the_learners_version(folders):
    lessons, mine = folders
    course.make_working_copy(lessons, mine)
    (mine / "03-chat.ipynb").write_text("my answers")
    (mine / "01-echo.ipynb").write_text("my other answers")
    assert course.reset_lessons(["03"], lessons, mine) == ["03-chat.ipynb"]
    assert (mine / "03-chat.ipynb").read_text() == "the course's 03-chat"
    assert (mine / "01-echo.ipynb").read_text() == "my other answers"
    [backup] = (mine / "backups").iterdir()
    assert backup.name.startswith("03-chat-") and backup.read_text() == "my answers"

    assert course.reset_lessons(["--all"], lessons, mine) == ["00-start-here.ipynb", "01-echo.ipynb", "03-chat.ipynb"]
    assert (mine / "01-echo.ipynb").read_text() == "the course's 01-echo"


def test_reset_refuses_an_unknown_lesson_and_changes_nothing(folders):
    lessons, mine = folders
    course.make_working_copy(lessons, mine)
    (mine / "01-echo.ipynb").write_text("my answers")
    with pytest.raises(SystemExit, match="no lesson '09'; the lessons are: 00-start-here, 01-echo, 03-chat"):
        course.reset_lessons(["01", "09"], lessons, mine)
    assert (mine / "01-echo.ipynb").read_text() == "my answers"
    assert not (mine / "backups").exists()


def test_the_reset_command_says_what_lessons_exist():
    result = subprocess.run([sys.executable, str(HERE / "course.py"), "reset", "no-such-lesson"],
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert "no lesson 'no-such-lesson'; the lessons are: 00-start-here" in result.stderr


def test_a_lesson_named_twice_is_reset_once_and_the_learners_version_kept(folders):
    lessons, mine = folders
    course.make_working_copy(lessons, mine)
    (mine / "03-chat.ipynb").write_text("my answers")
    reset = course.reset_lessons(["03", "03-chat"], lessons, mine)
    assert [backup.read_text() for backup in (mine / "backups").iterdir()] == ["my answers"]
    assert (mine / "03-chat.ipynb").read_text() == "the course's 03-chat"
    assert reset == ["03-chat.ipynb"]


def test_two_resets_in_the_same_second_keep_both_backups(folders, monkeypatch):
    lessons, mine = folders
    course.make_working_copy(lessons, mine)
    monkeypatch.setattr(course, "time", SimpleNamespace(strftime=lambda format: "20261201-120000"))  # one second
    (mine / "03-chat.ipynb").write_text("my first answers")
    course.reset_lessons(["03"], lessons, mine)
    (mine / "03-chat.ipynb").write_text("my second answers")
    course.reset_lessons(["03"], lessons, mine)
    course.reset_lessons(["--all"], lessons, mine)  # and a third backup: the course's version, untouched
    backups = sorted(backup.read_text() for backup in (mine / "backups").glob("03-chat-*.ipynb"))
    assert backups == ["my first answers", "my second answers", "the course's 03-chat"]


def test_the_working_copy_holds_every_edition_the_chinese_one_in_zh(tmp_path):
    lessons, mine = tmp_path / "notebooks", tmp_path / "my-notebooks"
    (lessons / "zh").mkdir(parents=True)
    for name in ["00-start-here", "01-echo"]:
        (lessons / f"{name}.ipynb").write_text(f"the course's {name}")
        (lessons / "zh" / f"{name}.ipynb").write_text(f"课程的 {name}")
    assert course.make_working_copy(lessons, mine) == [
        "00-start-here.ipynb", "01-echo.ipynb", "zh/00-start-here.ipynb", "zh/01-echo.ipynb"]
    assert (mine / "zh" / "01-echo.ipynb").read_text() == "课程的 01-echo"
    # A Chinese lesson's link to an English one (../01-echo.ipynb) lands in the copy too.
    assert (mine / "zh" / ".." / "01-echo.ipynb").read_text() == "the course's 01-echo"


def test_lang_chooses_the_edition_and_anything_else_is_refused():
    assert course.take_language(["--lang", "zh", "--port", "9999"]) == ("zh", ["--port", "9999"])
    assert course.take_language(["--lang=zh", "03"]) == ("zh", ["03"])
    assert course.take_language(["03"]) == ("en", ["03"])
    with pytest.raises(SystemExit, match="editions are en, zh, not 'fr'"):
        course.take_language(["--lang", "fr"])


def test_jupyterlabs_language_comes_with_the_chinese_edition_only(tmp_path):
    assert course.lab_options("en", tmp_path) == course.LAB_OPTIONS
    options = course.lab_options("zh", tmp_path)
    [settings] = [option.split("=", 1)[1] for option in options if option.startswith("--LabApp.app_settings_dir=")]
    overrides = json.loads((Path(settings) / "overrides.json").read_text())
    assert overrides == {"@jupyterlab/translation-extension:plugin": {"locale": "zh_CN"}}


def test_reset_lang_zh_puts_back_the_chinese_lesson(tmp_path, monkeypatch):
    lessons, mine = tmp_path / "notebooks", tmp_path / "my-notebooks"
    (lessons / "zh").mkdir(parents=True)
    (lessons / "01-echo.ipynb").write_text("the course's 01-echo")
    (lessons / "zh" / "01-echo.ipynb").write_text("课程的 01-echo")
    course.make_working_copy(lessons, mine)
    (mine / "zh" / "01-echo.ipynb").write_text("我的答案")
    monkeypatch.setattr(course, "NOTEBOOKS", lessons)
    monkeypatch.setattr(course, "MY_NOTEBOOKS", mine)
    course.reset(["--lang", "zh", "01"])
    assert (mine / "zh" / "01-echo.ipynb").read_text() == "课程的 01-echo"
    assert (mine / "01-echo.ipynb").read_text() == "the course's 01-echo"
    [backup] = (mine / "zh" / "backups").iterdir()
    assert backup.read_text() == "我的答案"
