"""The course as a book (``book/build.py``, ``python3 course.py book``): both editions, read in Chromium.

The real book is built once for the module from the committed notebooks (Sphinx and
MyST-NB; a warning fails the build), every link of every page is checked, and a reader
moves through it in headless Chromium, served over HTTP as a website serves it: the list
of lessons, a lesson and its glossary link, the language switch to the same lesson in
Chinese and back, a search in Chinese, a stored plot. The checks the build runs are shown failing, too.
"""

from __future__ import annotations

import functools
import http.server
import importlib.util
import json
import re
import threading
from pathlib import Path

import pytest
from playwright.sync_api import expect

COURSE = Path(__file__).resolve().parent.parent


def book_module():
    """book/build.py, loaded from its file (the book is not part of the package)."""
    spec = importlib.util.spec_from_file_location("book_build", COURSE / "book" / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build = book_module()


@pytest.fixture(scope="module")
def book(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("book")
    build.build(out)  # raises BookError with Sphinx's warnings, the broken links or the missing pages
    return out


@pytest.fixture(scope="module")
def book_url(book):
    """The book on a free loopback port, served as static files, as GitHub Pages serves it."""
    handler = functools.partial(QuietHandler, directory=str(book))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002  (the standard library's name)
        pass


def test_every_lesson_of_each_edition_is_a_page_of_its_book_in_the_course_order(book):
    for folder in build.EDITIONS.values():
        names = [path.stem for path in (COURSE / "notebooks" / folder).glob("*.ipynb")]
        front = (book / folder / "index.html").read_text(encoding="utf-8")
        article = front[front.index('<div class="toctree-wrapper'):]  # the front page's list, not the side bar's
        listed = re.findall(r'class="toctree-l1"><a class="reference internal" href="([^"#]+)\.html"', article)
        assert sorted(listed) == sorted(names)
        assert listed[0] == "00-start-here" and listed[1] == "00a-asyncio-primer" and listed[-1] == "glossary"
        assert listed == sorted(listed[:-1]) + ["glossary"]


def test_outputs_that_need_the_running_notebook_become_a_note(book):
    """A widget and a demo's page (on the notebook's own 127.0.0.1) cannot work in a static page."""
    english, chinese = ((book / folder / "03-chat.html").read_text(encoding="utf-8") for folder in ("", "zh"))
    assert "A widget you can use is here when you run the notebook." in english
    assert "page, served by the notebook" in english and "own server, is here when you run the notebook." in english
    assert "运行这个笔记本时，这里是一个可以操作的控件。" in chinese
    for page in (english, chinese):
        assert "application/vnd.jupyter.widget-view+json" not in page  # no widget state, no widget manager loaded
        assert '<iframe class="course-page"' not in page


def test_each_hidden_solution_is_folded_as_in_jupyterlab(book):
    for folder in build.EDITIONS.values():
        notebook = json.loads((COURSE / "notebooks" / folder / "03-chat.ipynb").read_text(encoding="utf-8"))
        hidden = [cell for cell in notebook["cells"] if cell["metadata"].get("jupyter", {}).get("source_hidden")]
        page = (book / folder / "03-chat.html").read_text(encoding="utf-8")
        folded = re.findall(r'<details class="[^"]*\bhide above-input">(.*?)</details>', page, flags=re.DOTALL)
        assert hidden and len(folded) == len(hidden)
        assert all("Solution" in text for text in folded)
        assert page.count("显示参考答案" if folder else "Show the solution") == len(hidden)


def test_the_checks_find_a_broken_link_a_missing_id_and_a_missing_page(tmp_path):
    (tmp_path / "zh").mkdir()
    (tmp_path / "index.html").write_text(
        '<a href="01-echo.html">ok</a> <a href="01-echo.html#Handshake">ok</a> <a href="https://example.org/x">elsewhere</a>'
        ' <a href="02-scream.html">gone</a> <a href="01-echo.html#Nowhere">no id</a> <img src="_images/plot.png">'
        ' <a href="#here" id="here">self</a> <a href="zh/">folder</a> <a href="../../etc/passwd">out</a>')
    (tmp_path / "01-echo.html").write_text('<h2 id="Handshake">Handshake</h2>')
    (tmp_path / "zh" / "index.html").write_text('<a href="../01-echo.html#Handshake">ok</a>')
    assert build.broken_links(tmp_path) == [
        "index.html: 02-scream.html (no such file)",
        "index.html: 01-echo.html#Nowhere (no element with id 'Nowhere')",
        "index.html: _images/plot.png (no such file)",
        "index.html: ../../etc/passwd (outside the book)",
    ]
    notebooks = tmp_path / "notebooks"
    (notebooks / "zh").mkdir(parents=True)
    for name in ("index.ipynb", "01-echo.ipynb", "zh/index.ipynb", "zh/01-echo.ipynb"):
        (notebooks / name).write_text("{}")
    assert build.missing_pages(tmp_path, notebooks) == ["no page for notebooks/zh/01-echo.ipynb"]


def test_a_link_to_a_lesson_or_glossary_entry_that_does_not_exist_fails_the_build(tmp_path):
    notebooks = tmp_path / "notebooks"
    (notebooks / "zh").mkdir(parents=True)
    lesson = {
        "cells": [{"cell_type": "markdown", "metadata": {}, "id": "a",
                   "source": "# A lesson\n\nSee [lesson 02](02-scream.ipynb) and [the handshake](glossary.ipynb#Handshak)."}],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5,
    }
    glossary = {**lesson, "cells": [{**lesson["cells"][0], "source": "# Glossary\n\n## Handshake\n\nThe first exchange."}]}
    for folder in ("", "zh"):
        (notebooks / folder / "01-echo.ipynb").write_text(json.dumps(lesson))
        (notebooks / folder / "glossary.ipynb").write_text(json.dumps(glossary))
    with pytest.raises(build.BookError) as raised:
        build.build(tmp_path / "book", notebooks)
    said = str(raised.value)
    assert "the en book did not build" in said and "the zh book did not build" in said and "01-echo.ipynb" in said
    assert "02-scream" in said and "Handshak'" in said


def test_a_reader_goes_through_both_editions_in_chromium(book_url, browser):
    page = browser.new_page()
    try:
        page.goto(f"{book_url}/index.html")
        expect(page.locator("html")).to_have_attribute("lang", "en")
        expect(page.locator("#run-it-yourself")).to_contain_text("python3 course.py lab")
        lessons = page.locator("article .toctree-l1 > a")
        expect(lessons).to_have_count(17)
        lessons.filter(has_text="01 · Echo").click()

        expect(page).to_have_url(f"{book_url}/01-echo.html")
        expect(page.locator("h1").first).to_contain_text("Echo: your first WebSocket")
        page.locator("article a[href^='glossary.html#']").first.click()
        expect(page).to_have_url(re.compile(r"/glossary\.html#[\w-]+$"))
        entry = page.url.split("#")[1]
        expect(page.locator(f"[id='{entry}']")).to_be_in_viewport()

        page.goto(f"{book_url}/01-echo.html")
        page.locator("a.ws-course-edition").click()  # the same lesson, in Chinese
        expect(page).to_have_url(f"{book_url}/zh/01-echo.html")
        expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
        expect(page.locator("h1").first).to_contain_text("你的第一个 WebSocket")
        page.locator("article a[href='glossary.html#Handshake']").first.click()  # the Chinese glossary keeps the English ids
        expect(page).to_have_url(f"{book_url}/zh/glossary.html#Handshake")
        expect(page.locator("h2", has_text="握手（Handshake）")).to_be_in_viewport()

        # Searching the Chinese book for a Chinese word finds the lesson about it.
        page.goto(f"{book_url}/zh/search.html?q=握手")
        expect(page.locator("#search-results .search-summary")).to_contain_text("搜索完成")
        expect(page.locator("#search-results ul.search li").first).to_be_visible()
        expect(page.locator("#search-results ul.search li a", has_text="08a · 握手与帧")).to_have_count(1)

        page.goto(f"{book_url}/zh/07b-polling-measured.html")
        plot = page.locator("article img").first
        expect(plot).to_be_visible()
        assert plot.evaluate("image => image.complete && image.naturalWidth > 0"), "the stored plot did not load"
        page.locator("a.ws-course-edition").click()
        expect(page).to_have_url(f"{book_url}/07b-polling-measured.html")
        expect(page.locator("h1").first).to_contain_text("Polling, measured")
    finally:
        page.close()
