"""Refresh the catalogs: ``python -m ws_course.language update``.

Run it after marking, changing or removing a message in ``ws_course``. It rewrites
``ws_course/language/locale/ws_course.pot`` from the source, and merges it into
``ws_course/language/locale/zh_CN/LC_MESSAGES/ws_course.po``, keeping its
translations. Then open the ``.po``, translate every message whose ``msgstr`` is
empty, check those marked ``#, fuzzy`` (and remove the mark), and run
``python -m pytest tests/test_language.py``.

``python -m ws_course.language check`` only says whether the catalogs are up to
date with the source (exit status 1 when not), and changes nothing.
"""

from __future__ import annotations

import argparse
import sys

from . import catalogs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ws_course.language", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["update", "check"])
    command = parser.parse_args(argv).command
    if command == "update":
        said = catalogs.update()
        print("\n".join(said) if said else "the catalogs were up to date")
        return 0
    from babel.messages.pofile import read_po

    source = {message.id for message in catalogs.extract() if message.id}
    with catalogs.TEMPLATE.open("rb") as pot:
        template = {message.id for message in read_po(pot) if message.id}
    if source != template:
        print("the catalogs are out of date: run python -m ws_course.language update", file=sys.stderr)
        return 1
    print("the catalogs are up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
