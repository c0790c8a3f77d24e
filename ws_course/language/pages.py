"""The browser pages' words, in the language the page's address asks for (``?lang=zh``).

The pages in ``ws_course/static/`` are written in English, and their words come
from the same catalogs as the rest of the course:

- **the words in a page's HTML** (its title and heading, a button's label, a
  placeholder, ``Socket:``...) are found by :func:`page_texts`;
- **the words its scripts write** go through a tiny ``_()`` of the page's own
  (``course.js`` has it, so does ``echo.html``): ``_("open")``, and, with values,
  ``fill(_("closed (code {code})"), {code: e.code})``.

``python -m ws_course.language update`` extracts both into the catalogs
(:func:`extract_page` for the HTML, Babel's JavaScript extractor for the scripts).

A server that sends a page hands it to :func:`page_in_language` with the request's
address. Without ``lang=zh`` (a notebook in English) the page goes out as it is on
disk, byte for byte. With it, the server writes the page's HTML words in Chinese,
and puts the page's words in a ``<script>`` at the end of its ``<head>``::

    <script>var WORDS = {"open": "已打开", ...};</script>

from which the page's ``_()`` takes its words (any text WORDS lacks stays English).
No request more, nothing to wait for: the words are there before the page's first
script runs, wherever the page comes from (the demo server itself, or through
JupyterLab's proxy or a hub's: every address a page uses stays relative).

:func:`page_address` adds ``lang=zh`` to a page's address when the notebook speaks
Chinese (:func:`ws_course.language.language`), or when asked for Chinese (``ws-course serve
chat --lang zh`` prints its pages' addresses so); in English it returns the address as it was.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit, urlunsplit

from . import LANGUAGES, _known, language

__all__ = ["asked_language", "extract_page", "page_address", "page_file", "page_in_language", "page_texts", "page_words"]

#: The query parameter that names a page's language.
PARAMETER = "lang"

#: The script every page that has no script of its own for ``_()`` shares (see :func:`page_words`).
SHARED_SCRIPT = "course.js"

#: Parts of a page that hold no words to translate: scripts (their words go through ``_()``), styles, comments.
_NOT_WORDS = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>|<!--.*?-->", re.S | re.I)

#: The text between two tags, and the attributes a reader sees (a box's placeholder, a tooltip).
_WORDS = re.compile(r'>([^<>]+)<|\s(?:placeholder|title)="([^"]*)"')

#: An inline script (not one loaded with ``src``), whose ``_()`` the extraction reads.
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)


def page_texts(page: str):
    """Each piece of text a reader sees in a page's HTML (not its scripts): ``(start, end, text)``.

    ``page[start:end]`` is the piece as written; ``text`` is it as a message: entities
    decoded, spaces and line breaks run together. Pieces without a letter (``·``, ``0``) are no words.
    """
    skipped = [match.span() for match in _NOT_WORDS.finditer(page)]
    for match in _WORDS.finditer(page):
        group = 1 if match.group(1) is not None else 2
        start, end = match.span(group)
        if any(low <= start < high for low, high in skipped):
            continue
        written = page[start:end]
        start += len(written) - len(written.lstrip())
        end -= len(written) - len(written.rstrip())
        text = " ".join(html.unescape(written).split())
        if re.search(r"[^\W\d_]", text):
            yield start, end, text


def extract_page(fileobj, keywords, comment_tags, options):
    """Babel's extractor for a page (``method_map`` names it): its HTML's words, then its scripts' ``_()``."""
    from babel.messages.extract import extract_javascript

    page = fileobj.read().decode("utf-8")
    for start, _end, text in page_texts(page):
        yield page.count("\n", 0, start) + 1, None, text, []
    for script in _INLINE_SCRIPT.finditer(page):
        first_line = page.count("\n", 0, script.start(1)) + 1
        code = _Lines(script.group(1).encode("utf-8"))
        yield from extract_javascript(code, keywords, comment_tags, options, lineno=first_line)


class _Lines:
    """A script's bytes as the file object Babel's JavaScript extractor reads."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def read(self, *size: int) -> bytes:
        return self.data


def page_words(filename: str, code: str) -> dict[str, str]:
    """English to ``code``'s words, for the page ``static/<filename>`` (and ``course.js``, which it may load).

    Only translated messages: a text with no translation (or a fuzzy one) stays English.
    """
    from .catalogs import LOCALES, translated_messages

    if code not in LOCALES:
        return {}
    places = {f"ws_course/static/{filename}", f"ws_course/static/{SHARED_SCRIPT}"}
    return {english: words for english, words, found in translated_messages(code) if places & set(found)}


def asked_language(target: str) -> str:
    """The language a request's address asks for (``/?lang=zh``: ``"zh"``); English when it names none it knows."""
    asked = parse_qs(urlsplit(target).query).get(PARAMETER, [""])[-1]
    return _known(asked) or LANGUAGES[0]


def page_in_language(page: bytes, filename: str, target: str) -> bytes:
    """The page ``static/<filename>`` (its bytes, ``page``) in the language the request's address ``target`` asks for.

    English: ``page`` itself, unchanged. Another language: the HTML's words
    translated, ``<html lang="...">`` said, and the page's words as ``WORDS`` for its ``_()``.
    """
    code = asked_language(target)
    if code == LANGUAGES[0]:
        return page
    words = page_words(filename, code)
    text = page.decode("utf-8")
    pieces, done = [], 0
    for start, end, english in page_texts(text):
        if english in words:
            pieces += [text[done:start], html.escape(words[english], quote=True)]
            done = end
    text = "".join(pieces) + text[done:]
    text = text.replace('<html lang="en">', f'<html lang="{_HTML_LANG[code]}">', 1)
    script = "<script>var WORDS = " + json.dumps(words, ensure_ascii=False).replace("<", "\\u003c") + ";</script>"
    end_of_head = text.find("</head>")  # before any of the page's own scripts in <body> runs
    if end_of_head >= 0:
        text = text[:end_of_head] + "    " + script + "\n" + text[end_of_head:]
    else:
        text = script + text
    return text.encode("utf-8")


#: What ``<html lang="...">`` says for each language but English.
_HTML_LANG = {"zh": "zh-CN"}


def page_file(path: Path, target: str) -> bytes:
    """The page at ``path`` (in ``static/``), read afresh, in the language ``target`` (the request's address) asks for."""
    return page_in_language(path.read_bytes(), path.name, target)


def page_address(url: str, code: str | None = None) -> str:
    """A page's address in language ``code`` (None: the notebook's): with ``lang=zh`` added in Chinese, as it was in English."""
    code = (_known(code) or LANGUAGES[0]) if code is not None else language()
    if code == LANGUAGES[0]:
        return url
    parts = urlsplit(url)
    query = f"{parts.query}&{PARAMETER}={code}" if parts.query else f"{PARAMETER}={code}"
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))
