"""The Chinese edition against the English one, read from the files: no kernel, no browser.

One code, two languages: ``notebooks/zh/NAME`` is the Chinese edition of ``notebooks/NAME``.
Only its markdown is its own. So, for every Chinese notebook:

- its English counterpart exists, and the two line up cell for cell: as many cells, the same
  type at each index, code cells with the same source, character for character, and the same
  metadata (tags, a hidden solution's ``jupyter.source_hidden``...). Only what records a run
  (execution timings, outputs, counts) may differ. A failure names the first lesson and cell
  that differ and shows both sides.
- its metadata says ``"language": "zh-CN"``.
- every relative link in its markdown lands: the file exists, and an anchor
  (``glossary.ipynb#Handshake``) is there. A Chinese heading's own id is Chinese
  (``握手（Handshake）``), so the Chinese glossary keeps the English ids with explicit anchors,
  ``<a id="Handshake"></a>``: JupyterLab's sanitizer turns that ``id`` into ``data-jupyter-id``,
  where JupyterLab looks for a fragment's element, as it does for a heading's id.
- a link to a lesson not yet in Chinese goes to the English lesson (``../02-scream.ipynb``) and
  says so, ``（英文）`` right after it; a link to a lesson that is in Chinese goes to the
  Chinese one, unless it is labelled as the English edition.
- the Chinese glossary has every anchor the English glossary has, so ``glossary.ipynb#word``
  lands on the word in both editions.
- what a Chinese lesson's run showed (its stored outputs, and its widgets' stored state: their
  labels and logs) has no English sentence of ``ws_course``'s catalog: no message that has a
  translation appears untranslated. Source code shown in a cell, and text in quotes (the
  protocol's, which a check quotes), are left out; so is what :data:`ENGLISH_ON_PURPOSE` lists.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import unquote

import nbformat
import pytest

from test_lesson_shape import INLINE_CODE, SCHEME, anchors, links, markdown_cells, prose, read, source

NOTEBOOKS = Path(__file__).parent.parent / "notebooks"
CHINESE = NOTEBOOKS / "zh"
LANGUAGE = "zh-CN"
GLOSSARY = "glossary.ipynb"
#: The first slice of the Chinese edition (issue 19): these at least must be there.
FIRST_SLICE = {"00-start-here.ipynb", "01-echo.ipynb", GLOSSARY}
#: Code cell metadata that records a run, not what the cell is: it may differ between editions.
RUN_RECORDS = {"execution", "ExecuteTime"}
#: What follows a link to an English lesson in a Chinese one.
IN_ENGLISH = "（英文）"
#: Link texts that say a link goes to the English edition on purpose.
ENGLISH_EDITION = ("English edition", "英文版")
#: How much of each side a failure shows.
SHOWN = 160

#: English words a Chinese lesson's outputs show on purpose, and why.
ENGLISH_ON_PURPOSE = {
    "python3 course.py lab": "a command, typed as it is",
    "no close frame": "websockets' own exception text (error: no close frame received or sent)",
    "the frozen member is": "printed by the lesson's own code, identical in both editions",
}
#: Source code in an output (``show_source``'s fences, a page's source) and quoted text: not sentences to translate.
NOT_PROSE = re.compile(r"```.*?```|<pre.*?</pre>|'[^'\n]*'|\"[^\"\n]*\"|&#x27;.*?&#x27;|&quot;.*?&quot;", re.DOTALL)

EXPLICIT_ANCHOR = re.compile(r"""<a\s+[^>]*?\bid\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
TEXT_LINK = re.compile(r"\[([^\]]*)\]\(\s*<?([^)\s>]+)>?[^)]*\)")


def brief(text: str) -> str:
    """A cell's source, shortened for a failure message."""
    return repr(text if len(text) <= SHOWN else text[:SHOWN] + "…")


def shaping_metadata(cell: dict) -> dict:
    """A code cell's metadata without what only records a run."""
    return {key: value for key, value in cell.get("metadata", {}).items() if key not in RUN_RECORDS}


def first_difference(name: str, english: dict, chinese: dict) -> str | None:
    """Where the Chinese notebook ``name`` first parts from the English one, as a sentence; None if nowhere."""
    ours, theirs = english["cells"], chinese["cells"]
    for index, (en, zh) in enumerate(zip(ours, theirs)):
        where = f"{name}, cell {index}"
        if en["cell_type"] != zh["cell_type"]:
            return (f"{where}: a {en['cell_type']} cell in English, a {zh['cell_type']} cell in Chinese\n"
                    f"  English: {brief(source(en))}\n  Chinese: {brief(source(zh))}")
        if en["cell_type"] != "code":
            continue
        if source(en) != source(zh):
            return (f"{where}: the code differs (code cells are the same in both editions)\n"
                    f"  English: {brief(source(en))}\n  Chinese: {brief(source(zh))}")
        if shaping_metadata(en) != shaping_metadata(zh):
            return (f"{where}: the code cell's metadata differs\n"
                    f"  English: {shaping_metadata(en)}\n  Chinese: {shaping_metadata(zh)}")
    if len(ours) != len(theirs):
        index = min(len(ours), len(theirs))
        extra = (ours if len(ours) > len(theirs) else theirs)[index]
        side = "English" if len(ours) > len(theirs) else "Chinese"
        return (f"{name}: {len(ours)} cells in English, {len(theirs)} in Chinese; cell {index} is only in {side}: "
                f"{brief(source(extra))}")
    return None


def explicit_anchors(notebook: dict) -> set[str]:
    """The ids of ``<a id="...">`` anchors in a notebook's markdown (outside code)."""
    return {
        anchor
        for markdown in markdown_cells(notebook)
        for anchor in EXPLICIT_ANCHOR.findall(INLINE_CODE.sub("", prose(markdown)))
    }


def every_anchor(notebook: dict) -> set[str]:
    """What ``notebook.ipynb#...`` can land on: its headings' ids and its explicit anchors."""
    return anchors(notebook) | explicit_anchors(notebook)


def link_problems(name: str, notebook: dict, folder: Path) -> list[str]:
    """What is wrong with the relative links of notebook ``name`` (in ``folder``): a sentence each."""
    problems = []
    for target in links(notebook):
        if SCHEME.match(target) or target.startswith("/"):
            continue  # a web address, or a server path: not a file beside the lesson
        path, _, anchor = target.partition("#")
        file = folder / unquote(path)
        if path and not file.exists():
            problems.append(f"{name}: the link to {target!r} points to {path}, which does not exist")
            continue
        if anchor and (not path or path.endswith(".ipynb")):
            linked = notebook if not path else read(file)
            if unquote(anchor) not in every_anchor(linked):
                problems.append(f"{name}: the link to {target!r} names #{anchor}, which is neither a heading's id "
                                f"nor an <a id=...> in {path or name}")
    return problems


def edition_problems(name: str, notebook: dict, chinese: set[str]) -> list[str]:
    """Links to lessons that go to the wrong edition, or go to English without saying so.

    ``chinese`` names the notebooks that have a Chinese edition.
    """
    problems = []
    for markdown in markdown_cells(notebook):
        text = INLINE_CODE.sub("", prose(markdown))
        for match in TEXT_LINK.finditer(text):
            label, target = match.group(1), match.group(2)
            path = unquote(target.partition("#")[0])
            if not path.startswith("../") or not path.endswith(".ipynb") or "/" in path[3:]:
                continue
            lesson = path[3:]
            if any(words in label for words in ENGLISH_EDITION):
                continue
            if lesson in chinese:
                problems.append(f"{name}: [{label}]({target}) goes to the English {lesson}, which has a Chinese "
                                f"edition: link {lesson} instead")
            elif not text[match.end():].startswith(IN_ENGLISH):
                problems.append(f"{name}: [{label}]({target}) goes to an English lesson without saying so: "
                                f"write {IN_ENGLISH} right after it")
    return problems


EDITIONS = sorted(path.name for path in CHINESE.glob("*.ipynb"))


def catalog_sentences() -> set[str]:
    """The English of every translated message of the catalog, in pieces of three words or more.

    A message with placeholders (``closed: code {code}``) or markup is cut at them: each
    piece between is English the learner would read.
    """
    from babel.messages.pofile import read_po

    from ws_course.language.catalogs import catalog_path

    with catalog_path("zh").open("rb") as po:
        catalog = read_po(po)
    pieces = set()
    for message in catalog:
        if message.id and message.string and not message.fuzzy:
            for english in message.id if isinstance(message.id, tuple) else (message.id,):
                for piece in re.split(r"\{[^}]*\}|<[^>]+>|%\(\w+\)s", english):
                    piece = piece.strip(" .,:;()[]")
                    if len(piece.split()) >= 3:
                        pieces.add(piece)
    return pieces


def shown_text(notebook: dict) -> str:
    """What a notebook's run showed: its outputs' text, and its widgets' stored state."""
    shown = []
    for cell in notebook["cells"]:
        for output in cell.get("outputs", []):
            shown.append(source({"source": output.get("text", "")}))
            shown += [source({"source": value}) for kind, value in output.get("data", {}).items()
                      if kind.startswith("text/")]
    shown.append(json.dumps(notebook["metadata"].get("widgets", {}), ensure_ascii=False))
    return NOT_PROSE.sub(" ", "\n".join(shown))


def english_shown(notebook: dict, sentences: set[str]) -> list[str]:
    text = shown_text(notebook)
    return sorted(sentence for sentence in sentences
                  if sentence in text and not any(sentence in allowed for allowed in ENGLISH_ON_PURPOSE))


def test_the_first_slice_of_the_chinese_edition_is_there():
    assert FIRST_SLICE <= set(EDITIONS), EDITIONS


@pytest.mark.parametrize("name", EDITIONS)
def test_a_chinese_notebook_lines_up_with_its_english_one_cell_for_cell(name):
    english = NOTEBOOKS / name
    assert english.is_file(), f"zh/{name} has no English counterpart: {english} does not exist"
    difference = first_difference(name, read(english), read(CHINESE / name))
    assert difference is None, difference


@pytest.mark.parametrize("name", EDITIONS)
def test_a_chinese_notebook_says_its_language(name):
    language = read(CHINESE / name)["metadata"].get("language")
    assert language == LANGUAGE, f"zh/{name}: metadata language is {language!r}, not {LANGUAGE!r}"


@pytest.mark.parametrize("name", EDITIONS)
def test_every_relative_link_of_a_chinese_notebook_lands(name):
    problems = link_problems(name, read(CHINESE / name), CHINESE)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", EDITIONS)
def test_a_chinese_notebook_links_the_chinese_lessons_and_says_when_a_link_is_english(name):
    problems = edition_problems(name, read(CHINESE / name), set(EDITIONS))
    assert not problems, "\n".join(problems)


def test_what_a_chinese_lesson_showed_has_no_english_sentence_of_the_course():
    sentences = catalog_sentences()
    assert len(sentences) > 300
    english = {name: english_shown(read(CHINESE / name), sentences) for name in EDITIONS}
    assert {name: found for name, found in english.items() if found} == {}
    # And the English lessons show these sentences, so the search is not looking at nothing.
    assert sum(len(english_shown(read(NOTEBOOKS / name), sentences)) for name in EDITIONS) > 30


def test_the_chinese_glossary_has_every_anchor_of_the_english_one():
    missing = sorted(anchors(read(NOTEBOOKS / GLOSSARY)) - every_anchor(read(CHINESE / GLOSSARY)))
    assert not missing, f"zh/{GLOSSARY} has no heading or <a id=...> for: {missing}"


def test_every_glossary_anchor_an_english_lesson_links_lands_in_the_chinese_glossary():
    """What a Chinese lesson translated later will link: the English lessons' glossary links, anchor for anchor."""
    linked = {
        unquote(target.partition("#")[2])
        for path in NOTEBOOKS.glob("*.ipynb")
        for target in links(read(path))
        if target.startswith(GLOSSARY + "#")
    }
    missing = sorted(linked - every_anchor(read(CHINESE / GLOSSARY)))
    assert linked and not missing, f"zh/{GLOSSARY} has no anchor for: {missing}"


# The checks themselves, on small notebooks made here: each finds what it must, and only that.


def notebook(*cells: tuple[str, str], **metadata) -> dict:
    """A notebook of ``("markdown" | "code", source)`` pairs; keyword arguments become the last cell's metadata."""
    made = nbformat.v4.new_notebook()
    make = {"markdown": nbformat.v4.new_markdown_cell, "code": nbformat.v4.new_code_cell}
    made.cells = [make[kind](text) for kind, text in cells]
    made.cells[-1].metadata.update(metadata)
    return nbformat.from_dict(made)


def test_the_first_difference_is_named_with_its_lesson_its_index_and_both_sides():
    english = notebook(("markdown", "# Echo"), ("code", "server = start('echo')"), ("code", "print(1)"))
    assert first_difference("01.ipynb", english, notebook(
        ("markdown", "# 回显"), ("code", "server = start('echo')"), ("code", "print(1)"))) is None
    changed = notebook(("markdown", "# 回显"), ("code", "server = start('echo')  # 启动"), ("code", "print(2)"))
    assert first_difference("01.ipynb", english, changed) == (
        "01.ipynb, cell 1: the code differs (code cells are the same in both editions)\n"
        "  English: \"server = start('echo')\"\n  Chinese: \"server = start('echo')  # 启动\"")
    retyped = notebook(("markdown", "# 回显"), ("markdown", "server = start('echo')"), ("code", "print(1)"))
    assert first_difference("01.ipynb", english, retyped).startswith(
        "01.ipynb, cell 1: a code cell in English, a markdown cell in Chinese")
    shorter = notebook(("markdown", "# 回显"), ("code", "server = start('echo')"))
    assert first_difference("01.ipynb", english, shorter) == (
        "01.ipynb: 3 cells in English, 2 in Chinese; cell 2 is only in English: 'print(1)'")


def test_code_metadata_must_match_except_what_records_a_run():
    hidden = {"jupyter": {"source_hidden": True}, "tags": ["solution"]}
    english = notebook(("code", "# Solution"), **hidden, execution={"iopub.status.idle": "2026-12-06T22:34:02Z"})
    assert first_difference("01.ipynb", english, notebook(("code", "# Solution"), **hidden)) is None
    shown = notebook(("code", "# Solution"), tags=["solution"])
    assert first_difference("01.ipynb", english, shown).startswith("01.ipynb, cell 0: the code cell's metadata differs")


def test_links_land_on_headings_and_explicit_anchors_and_name_what_is_missing(tmp_path):
    (tmp_path / GLOSSARY).write_text(nbformat.writes(notebook(
        ("markdown", '<a id="Handshake"></a>\n## 握手（Handshake）\n\n...'), ("markdown", "## Redis"),
        ("markdown", "`<a id=\"Code\">` is code, not an anchor"),
    )))
    (tmp_path / "page.html").write_text("<p>hi</p>")
    lesson = notebook(("markdown", (
        "[握手](glossary.ipynb#Handshake) [Redis](glossary.ipynb#Redis) [页面](page.html) [网页](https://example.org/x.ipynb) "
        "[代码](glossary.ipynb#Code) [没有](glossary.ipynb#Frame) [缺](02-scream.ipynb) [本页](#本页)\n\n## 本页")))
    assert explicit_anchors(read(tmp_path / GLOSSARY)) == {"Handshake"}
    assert link_problems("01.ipynb", lesson, tmp_path) == [
        "01.ipynb: the link to 'glossary.ipynb#Code' names #Code, which is neither a heading's id nor an <a id=...> in glossary.ipynb",
        "01.ipynb: the link to 'glossary.ipynb#Frame' names #Frame, which is neither a heading's id nor an <a id=...> in glossary.ipynb",
        "01.ipynb: the link to '02-scream.ipynb' points to 02-scream.ipynb, which does not exist",
    ]


def test_a_link_to_english_says_so_and_a_chinese_lesson_is_linked_in_chinese():
    lesson = notebook(("markdown", (
        "[English edition](../00-start-here.ipynb) [02](../02-scream.ipynb)（英文） [03](../03-chat.ipynb) "
        "[01](../01-echo.ipynb)（英文） [01](01-echo.ipynb) [术语](glossary.ipynb#Proxy) `[code](../04.ipynb)`")))
    assert edition_problems("00.ipynb", lesson, {"00-start-here.ipynb", "01-echo.ipynb"}) == [
        "00.ipynb: [03](../03-chat.ipynb) goes to an English lesson without saying so: write （英文） right after it",
        "00.ipynb: [01](../01-echo.ipynb) goes to the English 01-echo.ipynb, which has a Chinese edition: link 01-echo.ipynb instead",
    ]
