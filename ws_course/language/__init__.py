"""The course speaks English or Simplified Chinese: every message a learner reads comes through here.

**Marking a message.** Whatever ``ws_course`` says to a learner (a check's verdict,
a widget's label, an error that says what to do) is written in English, wrapped in
:func:`_`, and looked up *when it is shown*, never at import::

    from ..language import _

    print(_("ask(url, {text!r}) returned {reply!r}").format(text=text, reply=reply))

The string inside ``_()`` is a plain literal (not an f-string): it is the message's
id in the catalogs, which the extraction reads from the source. Values go in with
``.format()`` and *named* placeholders, so that a translator can move them where
Chinese puts them. A message that depends on a number uses :func:`ngettext`::

    ngettext("{count} client", "{count} clients", count).format(count=count)

Not marked, because they are the same in every language: server logs, protocol
text (``user1 comes in``, JSON ``type``\\ s, close reasons), reprs and code.

**Refreshing the catalogs.** After marking or changing messages, run::

    python -m ws_course.language update

It extracts every ``_()`` and ``ngettext()`` of ``ws_course`` (and the browser
pages' words, :mod:`ws_course.language.pages`) into the template
``locale/ws_course.pot`` and merges it into the Chinese catalog
``locale/zh_CN/LC_MESSAGES/ws_course.po``, keeping the translations there (a new
message gets an empty ``msgstr``, a changed one a guessed translation marked
``#, fuzzy``). Translate what is empty or fuzzy in the ``.po`` (and remove the
``fuzzy`` mark); ``tests/test_language.py`` fails until every message has its
translation. No compiled ``.mo`` is kept: the ``.po`` is read at run time with
Babel (:mod:`ws_course.language.catalogs`). See :mod:`ws_course.language.__main__`.

**Choosing the language** (:func:`language`), once per notebook, English by default:

1. ``use_language("zh")`` (or ``"en"``) in the kernel wins over everything;
   ``use_language(None)`` goes back to the rules below;
2. else the environment variable ``WS_COURSE_LANG`` (``en`` or ``zh``), if set;
3. else Chinese when the kernel's current folder is named ``zh``: JupyterLab and
   nbval start a notebook's kernel in the notebook's folder, so the lessons in
   ``notebooks/zh/`` (or ``my-notebooks/zh/``, ``~/ws-course/notebooks/zh/``) speak Chinese;
4. else English.

A message with no translation in the catalog is shown in English.

**The browser pages** follow their address, not the kernel: ``?lang=zh`` makes a
demo's page Chinese, and :func:`ws_course.notebook.show_page` adds it when the
notebook speaks Chinese (:mod:`ws_course.language.pages`).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["LANGUAGES", "language", "ngettext", "use_language", "_"]

#: The languages the course speaks; the first is the default, and the language of the source.
LANGUAGES = ("en", "zh")

#: The environment variable that chooses the language for every kernel that inherits it.
ENVIRONMENT_VARIABLE = "WS_COURSE_LANG"

#: The folder name that makes a notebook's kernel speak Chinese.
CHINESE_FOLDER = "zh"

#: What :func:`use_language` chose for this process (None: follow the rules).
_chosen: str | None = None


def language() -> str:
    """The language messages are shown in now: ``"en"`` or ``"zh"`` (the rules are in this module's docstring)."""
    if _chosen is not None:
        return _chosen
    asked = _known(os.environ.get(ENVIRONMENT_VARIABLE, ""))
    if asked is not None:
        return asked
    try:
        folder = Path.cwd()
    except OSError:  # the current folder was deleted under us
        return LANGUAGES[0]
    return "zh" if folder.name == CHINESE_FOLDER else LANGUAGES[0]


def _known(code: str) -> str | None:
    """``"zh"`` for ``zh``, ``zh_CN``, ``zh-Hans``...; ``"en"`` for ``en``, ``en_US``...; None for anything else."""
    code = code.strip().lower()
    return next((known for known in LANGUAGES if code == known or code.startswith((f"{known}_", f"{known}-"))), None)


def use_language(code: str | None) -> None:
    """Speak ``code`` (``"en"`` or ``"zh"``) from now on in this process, whatever the folder and the environment.

    ``None`` goes back to the rules (environment variable, folder, English).
    """
    global _chosen
    if code is None:
        _chosen = None
        return
    known = _known(code)
    if known is None:
        raise ValueError(f"the course speaks {' and '.join(LANGUAGES)}, not {code!r}")
    _chosen = known


def _(message: str) -> str:
    """``message`` (English, the catalog's id) in the current language; English when it has no translation."""
    from .catalogs import translations

    return translations(language()).gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    """The form of a message for ``count`` things, in the current language (Chinese has one form)."""
    from .catalogs import translations

    return translations(language()).ngettext(singular, plural, count)
