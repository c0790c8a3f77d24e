"""The shape every lesson has, in each edition, read from the files: no kernel, no browser, a second or so.

Both editions (:data:`EDITIONS`: ``notebooks/`` in English, ``notebooks/zh/`` in Chinese)
are held to the same shape; an :class:`Edition` says what its lessons call each part
(``## Your turn`` is ``## 动手练习`` in Chinese, ``## Summary`` is ``## 小结``...):

- A lesson opens with what you will be able to do (**In this lesson you will** /
  **学完本课，你将能够**), and says near its top what to do after a kernel restart.
- Every exercise is a ``## Your turn`` cell, then a cell that calls a ``check_`` function,
  then the **Solution.** line and the hidden solution, before the next heading.
- A lesson after 05 is one sitting: at least :data:`MIN_EXERCISES` exercises, and (in
  English, where words are counted) at most :data:`MAX_PROSE_WORDS` words of prose.
- A lesson has its summary, which links to the next lesson (or back to the start page),
  and its "Going further" parts have the edition's one name for them, as many as in English.
- It ends with its last step: the "When you are done" text and the ``when_done()`` cell.
- Every link from one English notebook to another lands: the file exists, and an anchor
  (``glossary.ipynb#Close-code``) names a heading of that notebook, by JupyterLab's rule
  for heading ids (:func:`heading_id`; tests/test_jupyterlab.py checks the rule in a real
  JupyterLab). (The Chinese edition keeps the English anchors: tests/test_editions.py
  checks its links.)
- The glossary has a heading for every term the lessons link, in alphabetical order.

Each failure names the notebook and what is wrong with it.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from urllib.parse import unquote

import nbformat
import pytest

NOTEBOOKS = Path(__file__).parent.parent / "notebooks"
GLOSSARY = "glossary.ipynb"
#: Notebooks that are not lessons: no restart line, no last step.
NOT_LESSONS = {"00-start-here.ipynb", GLOSSARY}
#: Lessons whose file name starts with one of these numbers are held to one sitting.
ONE_SITTING = re.compile(r"^(0[6-9]|[1-9][0-9])")
MAX_PROSE_WORDS = 1500
MIN_EXERCISES = 2
#: The restart line must be in one of a lesson's first cells.
RESTART_LINE = "Run All Above Selected Cell"
RESTART_WITHIN_CELLS = 5
LAST_CELL = "from ws_course.notebook import when_done\n\nwhen_done()"
#: The page a lesson may send the learner back to instead of a next lesson (the last one, 05's end of the article).
START_PAGE = "00-start-here.ipynb"


@dataclasses.dataclass(frozen=True)
class Edition:
    """One edition of the course: its folder, and what its lessons call each of their parts."""

    code: str
    folder: Path
    #: What the first cell says before the list of what you will be able to do (a regular expression).
    objectives: str
    #: How an exercise's heading (level 2) starts.
    your_turn: str
    #: How the markdown cell before an exercise's hidden solution starts.
    solution: str
    #: The summary's heading (level 2).
    summary: str
    #: How the heading of a part for the curious, after the lesson proper, starts.
    going_further: str
    #: How the cell before the last one, the last step, starts.
    last_heading: str
    #: At most this many words of prose in a one-sitting lesson (None: words are not counted,
    #: as in Chinese, which puts no spaces between them; the English edition's count holds for both).
    max_prose_words: int | None


ENGLISH = Edition(
    "en", NOTEBOOKS, objectives=r"\*\*In this (lesson|primer) you will\*\*", your_turn="Your turn",
    solution="**Solution.**", summary="Summary", going_further="Going further",
    last_heading="## When you are done", max_prose_words=MAX_PROSE_WORDS,
)
CHINESE = Edition(
    "zh", NOTEBOOKS / "zh", objectives=r"\*\*学完本课，你将能够\*\*", your_turn="动手练习",
    solution="**参考答案。**", summary="小结", going_further="深入一步",
    last_heading="## 学完之后", max_prose_words=None,
)
EDITIONS = [ENGLISH, CHINESE]
#: The English edition's name for the cell before the last one.
LAST_HEADING = ENGLISH.last_heading
#: The glossary's headings the lessons link to (the split's common brief spells them so).
GLOSSARY_TERMS = [
    "Server-Sent Events", "Short polling", "Long polling", "Redis", "Publish-subscribe",
    "At-most-once delivery", "Sticky session", "Load balancer", "Sans-I/O", "Opcode", "FIN bit",
    "Masking", "Fragment", "File descriptor", "SIGTERM and SIGKILL", "CORS", "Same-origin policy",
    "Mixin", "Fan-out", "Close code", "Origin", "Host header", "Rate limit", "Buffer cap",
    "Member cap", "Median and worst case", "Handshake", "Frame", "Backpressure", "TCP window",
    "Proxy", "Event loop", "Heartbeat", "Nickname counter",
]

FENCE = re.compile(r"^ {0,3}(```|~~~)")
HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
INLINE_CODE = re.compile(r"`+[^`]*`+")
MARKDOWN_LINK = re.compile(r"\]\(\s*<?([^)\s>]+)")
REFERENCE_LINK = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.MULTILINE)
HTML_LINK = re.compile(r"""\b(?:href|src)\s*=\s*["']([^"']+)["']""")
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
CHECK_CALL = re.compile(r"\bcheck_\w+\s*\(")
WORDLIKE = re.compile(r"\w")


def read(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def source(cell: dict) -> str:
    text = cell["source"]
    return text if isinstance(text, str) else "".join(text)


def markdown_cells(notebook: dict) -> list[str]:
    return [source(cell) for cell in notebook["cells"] if cell["cell_type"] == "markdown"]


def prose(markdown: str) -> str:
    """The text of a markdown cell outside its fenced code blocks."""
    lines, in_fence = [], False
    for line in markdown.splitlines():
        if FENCE.match(line):
            in_fence = not in_fence
        elif not in_fence:
            lines.append(line)
    return "\n".join(lines)


def prose_words(notebook: dict) -> int:
    """How many words of prose a notebook has: its markdown outside fenced code, split on whitespace.

    Only pieces with a letter or a digit count: a table's ``|``, a heading's ``#`` or a
    list's ``-`` is markup, not a word.
    """
    return sum(1 for text in markdown_cells(notebook) for piece in prose(text).split() if WORDLIKE.search(piece))


def headings(markdown: str) -> list[tuple[int, str]]:
    """The ``(level, text)`` of each heading of a markdown cell (outside fenced code)."""
    return [
        (len(match.group(1)), match.group(2))
        for line in prose(markdown).splitlines()
        if (match := HEADING.match(line))
    ]


def heading_text(markdown_heading: str) -> str:
    """What a heading shows: without inline-code backticks, emphasis marks and link targets."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", markdown_heading)
    text = text.replace("`", "")
    text = re.sub(r"(\*\*|__|\*)", "", text)
    return text.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")


def heading_id(markdown_heading: str) -> str:
    """The id JupyterLab gives a heading: the text it shows, each space replaced by ``-``.

    (``createHeaderId`` in JupyterLab's rendermime: ``textContent.replace(/ /g, "-")``.)
    """
    return heading_text(markdown_heading).replace(" ", "-")


def anchors(notebook: dict) -> set[str]:
    """The id of every heading of a notebook: what ``notebook.ipynb#...`` can land on."""
    return {heading_id(text) for cell in markdown_cells(notebook) for _, text in headings(cell)}


def markdown_links(markdown: str) -> list[str]:
    """Every link target in a markdown cell: ``[text](target)``, ``[ref]: target``, ``href="target"``."""
    text = INLINE_CODE.sub("", prose(markdown))
    return MARKDOWN_LINK.findall(text) + REFERENCE_LINK.findall(text) + HTML_LINK.findall(text)


def links(notebook: dict) -> list[str]:
    """Every link target in a notebook's markdown."""
    return [target for markdown in markdown_cells(notebook) for target in markdown_links(markdown)]


def link_problems(name: str, notebook: dict, folder: Path) -> list[str]:
    """What is wrong with the links of notebook ``name`` (in ``folder``) to notebooks: a sentence each."""
    problems = []
    for target in links(notebook):
        if SCHEME.match(target) or target.startswith("/"):
            continue  # a web address, or a server path: not a file beside the lesson
        path, _, anchor = target.partition("#")
        path = unquote(path)
        if path and not path.endswith(".ipynb"):
            continue
        if path and not (folder / path).is_file():
            problems.append(f"{name}: the link to {target!r} points to {path}, which does not exist")
            continue
        if anchor:
            linked = notebook if not path else read(folder / path)
            if unquote(anchor) not in anchors(linked):
                problems.append(
                    f"{name}: the link to {target!r} names #{anchor}, which is no heading's id in "
                    f"{path or name} (a heading's id is its text with '-' for each space; "
                    f"no '(' or ')' in an anchor)"
                )
    return problems


def exercise_parts(notebook: dict, edition: Edition = ENGLISH) -> list[tuple[str, list[str]]]:
    """Each exercise of a notebook: its heading, and the parts that follow it before the next heading.

    An exercise is a markdown cell with a heading that starts with ``## Your turn`` (the
    edition's words). Its parts are ``"check"`` (a code cell that calls a ``check_``
    function), ``"solution"`` (a markdown cell that starts with the edition's
    **Solution.**) and ``"hidden"`` (a code cell whose source is hidden), in order.
    """
    found, cells = [], notebook["cells"]
    for index, cell in enumerate(cells):
        if cell["cell_type"] != "markdown":
            continue
        titles = [text for level, text in headings(source(cell)) if level == 2 and text.startswith(edition.your_turn)]
        if not titles:
            continue
        parts = []
        for later in cells[index + 1:]:
            text = source(later)
            if later["cell_type"] == "markdown":
                if headings(text):
                    break
                if text.startswith(edition.solution):
                    parts.append("solution")
            elif later["metadata"].get("jupyter", {}).get("source_hidden", False):
                parts.append("hidden")
            elif CHECK_CALL.search(text):
                parts.append("check")
        found.append((f"## {titles[0]}", parts))
    return found


def exercises(notebook: dict, edition: Edition = ENGLISH) -> list[str]:
    """The headings of a notebook's exercises that the learner can check: a ``check_`` call follows."""
    return [title for title, parts in exercise_parts(notebook, edition) if "check" in parts]


def exercise_problems(name: str, notebook: dict, edition: Edition = ENGLISH) -> list[str]:
    """Each exercise must have its check, then the Solution line, then the hidden solution."""
    wanted = ["check", "solution", "hidden"]
    return [f"{name}: the exercise {title!r} has {parts} before the next heading, not {wanted} (a check_ cell, "
            f"a markdown cell starting with {edition.solution!r}, then the hidden solution)"
            for title, parts in exercise_parts(notebook, edition) if parts[:3] != wanted]


def one_sitting_problems(name: str, notebook: dict, edition: Edition = ENGLISH) -> list[str]:
    problems = []
    words = prose_words(notebook)
    if edition.max_prose_words is not None and words > edition.max_prose_words:
        problems.append(f"{name}: {words} words of prose, more than {edition.max_prose_words} (split it, or move "
                        f"detail into docstrings or a '{edition.going_further}' section)")
    found = exercises(notebook, edition)
    if len(found) < MIN_EXERCISES:
        problems.append(f"{name}: {len(found)} exercise(s) {found}, fewer than {MIN_EXERCISES} (a "
                        f"'## {edition.your_turn}' markdown cell, then a code cell calling a check_ function "
                        f"before the next heading)")
    return problems


def opening_problems(name: str, notebook: dict, edition: Edition = ENGLISH) -> list[str]:
    """The first cell says what the learner will be able to do."""
    cells = notebook["cells"]
    if cells and cells[0]["cell_type"] == "markdown" and re.search(edition.objectives, source(cells[0])):
        return []
    return [f"{name}: its first cell does not say what you will be able to do (no {edition.objectives!r})"]


def summary_problems(name: str, notebook: dict, edition: Edition = ENGLISH, next_lesson: str = START_PAGE) -> list[str]:
    """The summary is there, and from it to the last step, a link leads on: to ``next_lesson`` or the start page."""
    markdown = markdown_cells(notebook)
    starts = [index for index, text in enumerate(markdown) if (2, edition.summary) in headings(text)]
    if not starts:
        return [f"{name}: no '## {edition.summary}' heading"]
    targets = {unquote(target.partition("#")[0]) for text in markdown[starts[0]:] for target in markdown_links(text)}
    if not targets & {next_lesson, START_PAGE}:
        return [f"{name}: its summary links neither to the next lesson, {next_lesson}, nor to {START_PAGE} "
                f"(it links {sorted(targets)})"]
    return []


def going_further_count(notebook: dict, edition: Edition) -> int:
    """How many level-2 headings of a notebook start with the edition's "Going further"."""
    return sum(1 for text in markdown_cells(notebook) for level, heading in headings(text)
               if level == 2 and heading.startswith(edition.going_further))


def going_further_problems(name: str, notebook: dict, edition: Edition, english: dict) -> list[str]:
    """A "Going further" part has the edition's one name, as many times as in the English lesson."""
    ours, theirs = going_further_count(notebook, edition), going_further_count(english, ENGLISH)
    if ours == theirs:
        return []
    return [f"{name}: {ours} heading(s) starting with '## {edition.going_further}', where the English lesson has "
            f"{theirs} starting with '## {ENGLISH.going_further}' (one name for it in each edition)"]


def ending_problems(name: str, notebook: dict, edition: Edition = ENGLISH) -> list[str]:
    cells = notebook["cells"]
    problems = []
    if not cells or cells[-1]["cell_type"] != "code" or source(cells[-1]).strip() != LAST_CELL:
        last = source(cells[-1]).strip() if cells else "nothing"
        problems.append(f"{name}: the last cell is not exactly {LAST_CELL!r} but {last[:200]!r}")
    if len(cells) < 2 or cells[-2]["cell_type"] != "markdown" or not source(cells[-2]).startswith(edition.last_heading):
        problems.append(f"{name}: the cell before the last one does not start with {edition.last_heading!r}")
    return problems


def restart_problems(name: str, notebook: dict) -> list[str]:
    top = notebook["cells"][:RESTART_WITHIN_CELLS]
    if any(cell["cell_type"] == "markdown" and RESTART_LINE in source(cell) for cell in top):
        return []
    return [(f"{name}: none of its first {RESTART_WITHIN_CELLS} cells says what to do after a kernel restart "
            f"('... run **Run → {RESTART_LINE}** before going on ...')")]


def glossary_problems(notebook: dict) -> list[str]:
    terms = [text for cell in markdown_cells(notebook) for level, text in headings(cell) if level == 2]
    problems = [f"{GLOSSARY}: no '## {term}' heading" for term in GLOSSARY_TERMS if term not in terms]
    problems += [f"{GLOSSARY}: the heading '## {term}' has a parenthesis, which no link's anchor can reach"
                 for term in terms if "(" in term or ")" in term]
    if terms != sorted(terms, key=str.lower):
        problems.append(f"{GLOSSARY}: the headings are not in alphabetical order: {terms}")
    return problems


ALL = sorted(path.name for path in NOTEBOOKS.glob("*.ipynb"))
LESSONS = [name for name in ALL if name not in NOT_LESSONS]
LONG_LESSONS = [name for name in LESSONS if ONE_SITTING.match(name)]
#: Each lesson's next one, in the course's order (the last one's: the start page).
NEXT = dict(zip(LESSONS, [*LESSONS[1:], START_PAGE]))


def in_each_edition(names: list[str]):
    """Parameters for a test of every notebook named, in every edition: ``zh/06a-....ipynb``."""
    return pytest.mark.parametrize(
        "edition, name", [(edition, name) for edition in EDITIONS for name in names],
        ids=[f"{edition.code}/{name}" for edition in EDITIONS for name in names],
    )


def test_the_notebooks_are_there():
    assert GLOSSARY in ALL and "01-echo.ipynb" in LESSONS and LONG_LESSONS, ALL
    for edition in EDITIONS[1:]:
        assert sorted(path.name for path in edition.folder.glob("*.ipynb")) == ALL, edition.folder


@pytest.mark.parametrize("name", ALL)
def test_every_link_to_a_notebook_lands(name):
    problems = link_problems(name, read(NOTEBOOKS / name), NOTEBOOKS)
    assert not problems, "\n".join(problems)


@in_each_edition(LONG_LESSONS)
def test_a_lesson_after_05_is_one_sitting_with_exercises(edition, name):
    problems = one_sitting_problems(name, read(edition.folder / name), edition)
    assert not problems, "\n".join(problems)


@in_each_edition(LESSONS)
def test_a_lesson_opens_with_its_objectives_and_what_to_do_after_a_restart(edition, name):
    lesson = read(edition.folder / name)
    problems = opening_problems(name, lesson, edition) + restart_problems(name, lesson)
    assert not problems, "\n".join(problems)


@in_each_edition(LESSONS)
def test_every_exercise_has_its_check_and_its_hidden_solution(edition, name):
    problems = exercise_problems(name, read(edition.folder / name), edition)
    assert not problems, "\n".join(problems)


@in_each_edition(LESSONS)
def test_a_lesson_has_its_summary_leading_on_and_its_going_further_parts_by_one_name(edition, name):
    lesson = read(edition.folder / name)
    problems = (summary_problems(name, lesson, edition, NEXT[name])
                + going_further_problems(name, lesson, edition, read(NOTEBOOKS / name)))
    assert not problems, "\n".join(problems)


@in_each_edition(LESSONS)
def test_a_lesson_ends_with_its_last_step(edition, name):
    problems = ending_problems(name, read(edition.folder / name), edition)
    assert not problems, "\n".join(problems)


def test_the_glossary_has_every_term_in_order_with_reachable_headings():
    problems = glossary_problems(read(NOTEBOOKS / GLOSSARY))
    assert not problems, "\n".join(problems)


# The checks themselves, on small notebooks made here: each finds what it must, and only that.


def notebook(*cells: tuple[str, str]) -> dict:
    """A notebook made of ``("markdown" | "code", source)`` pairs, as the files are read."""
    made = nbformat.v4.new_notebook()
    make = {"markdown": nbformat.v4.new_markdown_cell, "code": nbformat.v4.new_code_cell}
    made.cells = [make[kind](text) for kind, text in cells]
    return json.loads(nbformat.writes(made))


def test_prose_words_count_markdown_outside_fenced_code_only():
    made = notebook(
        ("markdown", "# Title\n\nOne two  three\nfour.\n\n```python\nnot = counted(at, all)\n```\n~~~\nnor this\n~~~\nfive"),
        ("code", "print('code cells are not prose')"),
        ("markdown", "six `inline code` counts\n\n| a | b |\n|---|---|\n- → x"),
    )
    # "Title", "One", "two", "three", "four.", "five", "six", "`inline", "code`", "counts", "a", "b", "x"
    assert prose_words(made) == 13


def test_an_exercise_is_a_your_turn_heading_then_a_check_before_the_next_heading():
    made = notebook(
        ("markdown", "## Your turn: a rate limit\n\nWrite it."),
        ("code", "def limit():\n    ...\n\nassert await check_rate_limit(limit)"),
        ("markdown", "**Solution.** (not a heading: the exercise goes on)"),
        ("markdown", "## Your turn: no check\n\nA cell with no check follows."),
        ("code", "x = 1"),
        ("markdown", "## Next idea"),
        ("code", "assert check_too_late(x)"),
        ("markdown", "### Your turn, at level 3: not an exercise heading"),
        ("code", "assert check_level(3)"),
        ("markdown", "Text first.\n\n## Your turn: the heading may follow some text"),
        ("markdown", "Hints, in a cell without a heading."),
        ("code", "assert check_parse_frame(parse_frame)"),
    )
    assert exercises(made) == ["## Your turn: a rate limit", "## Your turn: the heading may follow some text"]


def test_a_short_lesson_with_one_exercise_is_named_with_what_it_lacks():
    made = notebook(("markdown", "## Your turn\n\nGo."), ("code", "assert check_it(1)"))
    assert one_sitting_problems("06x.ipynb", made) == [
        ("06x.ipynb: 1 exercise(s) ['## Your turn'], fewer than 2 (a '## Your turn' markdown cell, "
        "then a code cell calling a check_ function before the next heading)")
    ]
    long = notebook(("markdown", "word " * (MAX_PROSE_WORDS + 1)), *[("markdown", "## Your turn"), ("code", "check_a()")] * 2)
    assert one_sitting_problems("06y.ipynb", long) == [
        (f"06y.ipynb: {MAX_PROSE_WORDS + 1 + 4} words of prose, more than {MAX_PROSE_WORDS} (split it, or move "
        "detail into docstrings or a 'Going further' section)")
    ]


def test_heading_ids_follow_jupyterlabs_rule():
    assert heading_id("Server-Sent Events") == "Server-Sent-Events"
    assert heading_id("`transport.abort`") == "transport.abort"
    assert heading_id("The **`null`** origin") == "The-null-origin"
    assert heading_id("Sans-I/O") == "Sans-I/O"
    assert headings("## Close code ##\n```\n## not a heading\n```\n#not a heading either") == [(2, "Close code")]


def test_link_problems_name_a_missing_notebook_a_missing_anchor_and_a_parenthesis(tmp_path):
    (tmp_path / "glossary.ipynb").write_text(nbformat.writes(nbformat.from_dict(notebook(
        ("markdown", "# Glossary"), ("markdown", "## Close code\n\n..."), ("markdown", "## XSS"),
    ))))
    lesson = notebook(
        ("markdown", ("A [close code](glossary.ipynb#Close-code), [the top](glossary.ipynb), "
                     "[a web page](https://example.org/x.ipynb#Nowhere), [here](#Part-one), `[code](nowhere.ipynb)`.")),
        ("markdown", ("## Part one\n\n[XSS](glossary.ipynb#XSS-(cross-site-scripting)) and "
                     "[gone](06-old.ipynb) and <a href=\"glossary.ipynb#Sans-I/O\">Sans-I/O</a>")),
        ("markdown", "[there](#Part-two)\n\n[next]: 07-next.ipynb"),
    )
    assert link_problems("06a.ipynb", lesson, tmp_path) == [
        ("06a.ipynb: the link to 'glossary.ipynb#XSS-(cross-site-scripting' names #XSS-(cross-site-scripting, "
        "which is no heading's id in glossary.ipynb (a heading's id is its text with '-' for each space; "
        "no '(' or ')' in an anchor)"),
        "06a.ipynb: the link to '06-old.ipynb' points to 06-old.ipynb, which does not exist",
        ("06a.ipynb: the link to 'glossary.ipynb#Sans-I/O' names #Sans-I/O, which is no heading's id in "
        "glossary.ipynb (a heading's id is its text with '-' for each space; no '(' or ')' in an anchor)"),
        ("06a.ipynb: the link to '#Part-two' names #Part-two, which is no heading's id in 06a.ipynb "
        "(a heading's id is its text with '-' for each space; no '(' or ')' in an anchor)"),
        "06a.ipynb: the link to '07-next.ipynb' points to 07-next.ipynb, which does not exist",
    ]


def test_the_ending_and_the_restart_line_are_found_and_their_absence_named():
    good = notebook(
        ("markdown", "# 06a · Who may join"),
        ("markdown", f"If you restart the kernel, run **Run → {RESTART_LINE}** before going on."),
        ("code", "server = start()"),
        ("markdown", f"{LAST_HEADING}\n\nThe button stops them."),
        ("code", LAST_CELL + "\n"),
    )
    assert ending_problems("06a.ipynb", good) == [] and restart_problems("06a.ipynb", good) == []
    bad = notebook(*[("markdown", "text")] * RESTART_WITHIN_CELLS,
                   ("markdown", RESTART_LINE), ("code", "server.stop()  # clean up"))
    assert ending_problems("06b.ipynb", bad) == [
        f"06b.ipynb: the last cell is not exactly {LAST_CELL!r} but 'server.stop()  # clean up'",
        f"06b.ipynb: the cell before the last one does not start with {LAST_HEADING!r}",
    ]
    assert restart_problems("06b.ipynb", bad) == [
        (f"06b.ipynb: none of its first {RESTART_WITHIN_CELLS} cells says what to do after a kernel restart "
        f"('... run **Run → {RESTART_LINE}** before going on ...')")
    ]


def test_the_glossary_check_names_a_missing_term_a_parenthesis_and_the_order():
    made = notebook(("markdown", "# Glossary"), ("markdown", "## XSS (cross-site scripting)"), ("markdown", "## Backpressure"))
    problems = glossary_problems(made)
    assert f"{GLOSSARY}: no '## Server-Sent Events' heading" in problems
    assert "Backpressure" not in " ".join(p for p in problems if "no '##" in p)
    assert f"{GLOSSARY}: the heading '## XSS (cross-site scripting)' has a parenthesis, which no link's anchor can reach" in problems
    assert problems[-1] == f"{GLOSSARY}: the headings are not in alphabetical order: ['XSS (cross-site scripting)', 'Backpressure']"


def right_shape(edition: Edition, *middle: tuple[str, str]) -> dict:
    """A small lesson of the right shape in ``edition``'s words, with ``middle`` before its summary."""
    objectives = {"en": "**In this lesson you will**", "zh": "**学完本课，你将能够**"}[edition.code]
    exercise = [("code", "assert check_one(one)"), ("markdown", f"{edition.solution} Hidden below."),
                ("code", "# solution\nassert check_one(solution)")]
    made = notebook(
        ("markdown", f"# 06a · Who may join\n\n{objectives}\n\n- this (about 30 minutes)"),
        ("markdown", f"If you restart the kernel, run **Run → {RESTART_LINE}** before going on."),
        ("code", "server = start()"),
        ("markdown", f"A [frame](glossary.ipynb#Frame) is ...\n\n## {edition.your_turn}: one idea"),
        *exercise,
        ("markdown", f"## {edition.your_turn}: another idea"),
        *exercise,
        *middle,
        ("markdown", f"## {edition.summary}\n\n- ...\n\n[07a](07a-next.ipynb#07a-·-Next)"),
        ("markdown", f"{edition.last_heading}\n\nThe button stops them."),
        ("code", LAST_CELL),
    )
    for cell in made["cells"]:
        if source(cell).startswith("# solution"):
            cell["metadata"]["jupyter"] = {"source_hidden": True}
    return made


@pytest.mark.parametrize("edition", EDITIONS, ids=[edition.code for edition in EDITIONS])
def test_a_lesson_of_the_right_shape_has_no_problem_at_all(tmp_path, edition):
    (tmp_path / "glossary.ipynb").write_text(nbformat.writes(nbformat.from_dict(notebook(("markdown", "## Frame")))))
    (tmp_path / "07a-next.ipynb").write_text(nbformat.writes(nbformat.from_dict(notebook(("markdown", "# 07a · Next")))))
    lesson = right_shape(edition)
    name = "06a-who-may-join.ipynb"
    assert ONE_SITTING.match(name)
    problems = (link_problems(name, lesson, tmp_path) + one_sitting_problems(name, lesson, edition)
                + opening_problems(name, lesson, edition) + restart_problems(name, lesson)
                + exercise_problems(name, lesson, edition) + summary_problems(name, lesson, edition, "07a-next.ipynb")
                + going_further_problems(name, lesson, edition, right_shape(ENGLISH))
                + ending_problems(name, lesson, edition))
    assert problems == []


def test_a_lesson_in_the_other_editions_words_is_named_with_each_part_it_lacks():
    """An English lesson, held to the Chinese edition's names: every new check says what it misses."""
    english = right_shape(ENGLISH, ("markdown", "## Going further: the kernel's buffers"))
    chinese_name = right_shape(CHINESE, ("markdown", "## 深入一步：内核里的缓冲区"))
    other_name = right_shape(CHINESE, ("markdown", "## 更进一步：内核里的缓冲区"))
    name = "06b.ipynb"
    assert opening_problems(name, english, CHINESE) == [
        f"06b.ipynb: its first cell does not say what you will be able to do (no {CHINESE.objectives!r})"]
    assert one_sitting_problems(name, english, CHINESE)[0].startswith("06b.ipynb: 0 exercise(s) [], fewer than 2")
    assert summary_problems(name, english, CHINESE, "06c.ipynb") == ["06b.ipynb: no '## 小结' heading"]
    assert ending_problems(name, english, CHINESE) == [
        "06b.ipynb: the cell before the last one does not start with '## 学完之后'"]
    assert going_further_problems(name, chinese_name, CHINESE, english) == []
    assert going_further_problems(name, other_name, CHINESE, english) == [
        "06b.ipynb: 0 heading(s) starting with '## 深入一步', where the English lesson has 1 starting with "
        "'## Going further' (one name for it in each edition)"]
    assert summary_problems(name, english, ENGLISH, "06c.ipynb") == [
        "06b.ipynb: its summary links neither to the next lesson, 06c.ipynb, nor to 00-start-here.ipynb "
        "(it links ['07a-next.ipynb'])"]


def test_an_exercise_without_its_solution_line_or_hidden_solution_is_named():
    made = notebook(
        ("markdown", "## Your turn: no solution"),
        ("code", "assert check_a(a)"),
        ("markdown", "## Your turn: a visible solution"),
        ("code", "assert check_b(b)"),
        ("markdown", "**Solution.** Below."),
        ("code", "assert check_b(solution)"),
    )
    assert exercise_problems("06x.ipynb", made) == [
        ("06x.ipynb: the exercise '## Your turn: no solution' has ['check'] before the next heading, not "
         "['check', 'solution', 'hidden'] (a check_ cell, a markdown cell starting with '**Solution.**', "
         "then the hidden solution)"),
        ("06x.ipynb: the exercise '## Your turn: a visible solution' has ['check', 'solution', 'check'] before "
         "the next heading, not ['check', 'solution', 'hidden'] (a check_ cell, a markdown cell starting with "
         "'**Solution.**', then the hidden solution)"),
    ]


def test_every_hidden_solution_starts_with_the_mark_that_keeps_it_off_the_teachers_grid():
    """A check run from a solution cell does not report to the class room (ws_course.exercises.judging)."""
    from ws_course.exercises.judging import SOLUTION_MARK

    problems = []
    for path in sorted(path for edition in EDITIONS for path in edition.folder.glob("*.ipynb")):
        for index, cell in enumerate(read(path)["cells"]):
            if cell["cell_type"] != "code" or not CHECK_CALL.search(source(cell)):
                continue
            hidden = cell["metadata"].get("jupyter", {}).get("source_hidden", False)
            if hidden != source(cell).startswith(SOLUTION_MARK):
                problems.append(f"{path.relative_to(NOTEBOOKS)}, cell {index}: " + (
                    f"a hidden solution that does not start with {SOLUTION_MARK!r}" if hidden
                    else f"a visible cell that starts with {SOLUTION_MARK!r}"))
    assert problems == []
