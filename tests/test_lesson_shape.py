"""The shape every lesson has, read from the files: no kernel, no browser, a second or so.

- Every link from one notebook to another lands: the file exists, and an anchor
  (``glossary.ipynb#Close-code``) names a heading of that notebook, by JupyterLab's rule
  for heading ids (:func:`heading_id`; tests/test_jupyterlab.py checks the rule in a real
  JupyterLab).
- A lesson after 05 is one sitting: at most :data:`MAX_PROSE_WORDS` words of prose, and at
  least :data:`MIN_EXERCISES` exercises, each a ``## Your turn`` cell followed by a cell
  that calls a ``check_`` function.
- A lesson says near its top what to do after a kernel restart, and ends with its last
  step: the "When you are done" text and the ``when_done()`` cell.
- The glossary has a heading for every term the lessons link, in alphabetical order.

Each failure names the notebook and what is wrong with it.
"""

from __future__ import annotations

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
LAST_HEADING = "## When you are done"
LAST_CELL = "from ws_course.notebook import when_done\n\nwhen_done()"
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


def links(notebook: dict) -> list[str]:
    """Every link target in a notebook's markdown: ``[text](target)``, ``[ref]: target``, ``href="target"``."""
    found = []
    for markdown in markdown_cells(notebook):
        text = INLINE_CODE.sub("", prose(markdown))
        found += MARKDOWN_LINK.findall(text) + REFERENCE_LINK.findall(text) + HTML_LINK.findall(text)
    return found


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


def exercises(notebook: dict) -> list[str]:
    """The headings of a notebook's exercises.

    An exercise is a markdown cell with a heading that starts with ``## Your turn``, followed,
    before the next markdown cell with a heading, by a code cell that calls a ``check_`` function.
    """
    found, cells = [], notebook["cells"]
    for index, cell in enumerate(cells):
        if cell["cell_type"] != "markdown":
            continue
        titles = [text for level, text in headings(source(cell)) if level == 2 and text.startswith("Your turn")]
        if not titles:
            continue
        for later in cells[index + 1:]:
            if later["cell_type"] == "markdown" and headings(source(later)):
                break
            if later["cell_type"] == "code" and CHECK_CALL.search(source(later)):
                found.append(f"## {titles[0]}")
                break
    return found


def one_sitting_problems(name: str, notebook: dict) -> list[str]:
    problems = []
    words = prose_words(notebook)
    if words > MAX_PROSE_WORDS:
        problems.append(f"{name}: {words} words of prose, more than {MAX_PROSE_WORDS} (split it, or move "
                        f"detail into docstrings or a 'Going further' section)")
    found = exercises(notebook)
    if len(found) < MIN_EXERCISES:
        problems.append(f"{name}: {len(found)} exercise(s) {found}, fewer than {MIN_EXERCISES} (a '## Your turn' "
                        f"markdown cell, then a code cell calling a check_ function before the next heading)")
    return problems


def ending_problems(name: str, notebook: dict) -> list[str]:
    cells = notebook["cells"]
    problems = []
    if not cells or cells[-1]["cell_type"] != "code" or source(cells[-1]).strip() != LAST_CELL:
        last = source(cells[-1]).strip() if cells else "nothing"
        problems.append(f"{name}: the last cell is not exactly {LAST_CELL!r} but {last[:200]!r}")
    if len(cells) < 2 or cells[-2]["cell_type"] != "markdown" or not source(cells[-2]).startswith(LAST_HEADING):
        problems.append(f"{name}: the cell before the last one does not start with {LAST_HEADING!r}")
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


def test_the_notebooks_are_there():
    assert GLOSSARY in ALL and "01-echo.ipynb" in LESSONS and LONG_LESSONS, ALL


@pytest.mark.parametrize("name", ALL)
def test_every_link_to_a_notebook_lands(name):
    problems = link_problems(name, read(NOTEBOOKS / name), NOTEBOOKS)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", LONG_LESSONS)
def test_a_lesson_after_05_is_one_sitting_with_exercises(name):
    problems = one_sitting_problems(name, read(NOTEBOOKS / name))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", LESSONS)
def test_a_lesson_ends_with_its_last_step(name):
    problems = ending_problems(name, read(NOTEBOOKS / name))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", LESSONS)
def test_a_lesson_says_near_its_top_what_to_do_after_a_restart(name):
    problems = restart_problems(name, read(NOTEBOOKS / name))
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


def test_a_lesson_of_the_right_shape_has_no_problem_at_all(tmp_path):
    (tmp_path / "glossary.ipynb").write_text(nbformat.writes(nbformat.from_dict(notebook(("markdown", "## Frame")))))
    (tmp_path / "07a-next.ipynb").write_text(nbformat.writes(nbformat.from_dict(notebook(("markdown", "# 07a · Next")))))
    lesson = notebook(
        ("markdown", "# 06a · Who may join\n\nIn this lesson you will ... (about 30 minutes)"),
        ("markdown", f"If you restart the kernel, run **Run → {RESTART_LINE}** before going on."),
        ("code", "server = start()"),
        ("markdown", "A [frame](glossary.ipynb#Frame) is ...\n\n## Your turn: one idea"),
        ("code", "assert await check_one(one)"),
        ("markdown", "## Your turn: another idea"),
        ("code", "assert check_two(two)"),
        ("markdown", "## Summary\n\nNext: [07a](07a-next.ipynb#07a-·-Next)"),
        ("markdown", f"{LAST_HEADING}\n\nThe button stops them."),
        ("code", LAST_CELL),
    )
    name = "06a-who-may-join.ipynb"
    assert ONE_SITTING.match(name)
    problems = (link_problems(name, lesson, tmp_path) + one_sitting_problems(name, lesson)
                + ending_problems(name, lesson) + restart_problems(name, lesson))
    assert problems == []


def test_every_hidden_solution_starts_with_the_mark_that_keeps_it_off_the_teachers_grid():
    """A check run from a solution cell does not report to the class room (ws_course.exercises.judging)."""
    from ws_course.exercises.judging import SOLUTION_MARK

    problems = []
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        for index, cell in enumerate(read(path)["cells"]):
            if cell["cell_type"] != "code" or not CHECK_CALL.search(source(cell)):
                continue
            hidden = cell["metadata"].get("jupyter", {}).get("source_hidden", False)
            if hidden != source(cell).startswith(SOLUTION_MARK):
                problems.append(f"{path.name}, cell {index}: " + (
                    f"a hidden solution that does not start with {SOLUTION_MARK!r}" if hidden
                    else f"a visible cell that starts with {SOLUTION_MARK!r}"))
    assert problems == []
