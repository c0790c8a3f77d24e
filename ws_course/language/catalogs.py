"""The catalogs on disk: read for the messages, extracted and merged to refresh them.

``locale/ws_course.pot``
    The template: every message marked in ``ws_course`` (its ``msgid``, in English),
    made by :func:`extract` from the source, never edited by hand.
``locale/zh_CN/LC_MESSAGES/ws_course.po``
    The Chinese catalog: each ``msgid`` with its ``msgstr``, written by translators,
    merged with the template by :func:`update`.

At run time :func:`translations` reads a language's ``.po`` with Babel's
``read_po`` once, and keeps the result: a :class:`gettext.GNUTranslations` (Babel's
:class:`babel.support.Translations`), built in memory, so no compiled ``.mo`` file
is ever kept in git or looked for. Fuzzy and empty translations are left out: their
messages are shown in English.
"""

from __future__ import annotations

import functools
import gettext
import io
from pathlib import Path

#: The gettext domain: the catalogs' file name.
DOMAIN = "ws_course"

#: Where the catalogs live, inside the package (they travel in the wheel as package data).
LOCALE = Path(__file__).resolve().parent / "locale"

#: The template every catalog is merged with.
TEMPLATE = LOCALE / f"{DOMAIN}.pot"

#: Each language the course speaks besides English, and its catalog's locale.
LOCALES = {"zh": "zh_CN"}

#: The package whose messages are extracted: ``ws_course``, this folder's parent.
PACKAGE = Path(__file__).resolve().parent.parent

#: How each kind of file is read for messages (the first pattern that matches a file wins):
#: Python's ``_()`` and ``ngettext()``; the browser pages' words and their scripts' ``_()``
#: (:mod:`ws_course.language.pages`); the script they share. Not the vendored
#: ``socket.io.js``, nor the article's own pages (``static/article/``).
METHODS = [
    ("**.py", "python"),
    ("static/*.html", "ws_course.language.pages:extract_page"),
    ("static/course.js", "javascript"),
]

#: The functions that mark a message: ``_(message)``, ``ngettext(singular, plural, count)``.
KEYWORDS = {"_": None, "ngettext": (1, 2)}

#: A comment right above a marked message that starts with this goes into the catalogs, for translators.
COMMENT_TAGS = ("Translators:",)


def catalog_path(code: str) -> Path:
    """The ``.po`` file of language ``code`` (``"zh"``)."""
    return LOCALE / LOCALES[code] / "LC_MESSAGES" / f"{DOMAIN}.po"


@functools.cache
def translations(code: str) -> gettext.NullTranslations:
    """The messages of language ``code``, read once: English (``"en"``, the source's own) needs no catalog."""
    if code not in LOCALES:
        return gettext.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po
    from babel.support import Translations

    with catalog_path(code).open("rb") as po:
        catalog = read_po(po, locale=LOCALES[code], domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)  # leaves out empty and fuzzy translations: those stay English
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


@functools.cache
def translated_messages(code: str) -> list[tuple[str, str, list[str]]]:
    """Language ``code``'s translated messages, read once: ``(english, translation, files it is found in)``.

    Messages with a plural, an empty or a fuzzy translation are left out.
    """
    from babel.messages.pofile import read_po

    with catalog_path(code).open("rb") as po:
        catalog = read_po(po, locale=LOCALES[code], domain=DOMAIN)
    return [
        (message.id, message.string, [place for place, _line in message.locations])
        for message in catalog
        if isinstance(message.id, str) and message.id and message.string and not message.fuzzy
    ]


def extract():
    """A :class:`babel.messages.catalog.Catalog` of every message marked in ``ws_course``, read from the source."""
    from babel.messages.catalog import Catalog
    from babel.messages.extract import extract_from_dir

    template = Catalog(project="ws-course", domain=DOMAIN, charset="utf-8")
    found = extract_from_dir(
        str(PACKAGE),
        method_map=METHODS,
        keywords=KEYWORDS,
        comment_tags=COMMENT_TAGS,
        strip_comment_tags=True,
    )
    for filename, lineno, message, comments, context in found:
        template.add(message, None, [(f"ws_course/{filename}", lineno)], auto_comments=comments, context=context)
    return template


def _write(catalog, path: Path) -> bool:
    """Write ``catalog`` to ``path`` unless only its dates would change; whether it wrote."""
    from babel.messages.pofile import write_po

    text = io.BytesIO()
    # No line numbers: a message's place in the file changes with every edit above it.
    # Sorted by file and place: the order extraction walks the folders in differs from one checkout to another.
    write_po(text, catalog, width=100, include_lineno=False, ignore_obsolete=True, sort_by_file=True)
    new = text.getvalue()

    def undated(data: bytes) -> list[bytes]:
        return [line for line in data.splitlines() if not line.startswith((b'"POT-Creation-Date', b'"PO-Revision-Date'))]

    if path.exists() and undated(path.read_bytes()) == undated(new):
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(new)
    return True


def update() -> list[str]:
    """Extract the messages into the template, and merge it into every language's catalog; say what changed.

    Translations of messages that are still there are kept; a message no longer in
    the source is dropped; a new one comes with an empty translation (or, when it
    looks like a message that was there, that message's translation marked fuzzy).
    """
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import read_po

    said = []
    template = extract()
    if _write(template, TEMPLATE):
        said.append(f"wrote {TEMPLATE.relative_to(PACKAGE.parent)} ({len(template)} messages)")
    for code, locale in LOCALES.items():
        path = catalog_path(code)
        if path.exists():
            with path.open("rb") as po:
                catalog = read_po(po, locale=locale, domain=DOMAIN)
        else:
            catalog = Catalog(locale=locale, domain=DOMAIN, project="ws-course", charset="utf-8")
        catalog.update(template)
        if _write(catalog, path):
            missing = [message.id for message in catalog if message.id and (not message.string or message.fuzzy)]
            said.append(f"wrote {path.relative_to(PACKAGE.parent)}: {len(missing)} message(s) to translate or check")
    translations.cache_clear()
    translated_messages.cache_clear()
    return said
