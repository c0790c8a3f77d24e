"""A Sphinx extension of the book's: two editions, and links written for JupyterLab.

The notebooks link to each other the way JupyterLab follows links, and the book
keeps every one of them working:

- ``01-echo.ipynb`` and ``glossary.ipynb#Close-code``: MyST makes them links
  between the book's pages by itself, given :func:`jupyterlab_anchor`, JupyterLab's
  rule for a heading's id (its text, spaces made ``-``), as its rule too;
- ``glossary.ipynb#Handshake`` in the Chinese edition, whose heading is
  ``握手（Handshake）``: the Chinese glossary keeps the English ids with an
  ``<a id="Handshake"></a>`` above each heading (so one link works in both
  editions); :func:`note_html_anchors` tells MyST about those ids;
- ``zh/00-start-here.ipynb`` (from the English edition) and ``../00-start-here.ipynb``
  (from the Chinese one): each edition is a book of its own, so these are not pages
  of this book; :class:`LinksTheNotebooksUse` makes them links to the other book's
  page, which ``book/build.py`` puts where the notebooks' layout has it (the
  Chinese book in ``zh/`` of the English one).

Anything else that leads nowhere stays a warning, and the build fails on it.

And one repair: the Chinese book's search (:class:`ChineseSearch`).
"""

from __future__ import annotations

import posixpath
import re

from docutils import nodes
from sphinx.addnodes import pending_xref
from sphinx.search.zh import SearchChinese
from sphinx.transforms.post_transforms import SphinxPostTransform

#: Where each edition's book is, from the other's top: English at the top, Chinese in ``zh/``.
OTHER_EDITION = {"en": "zh", "zh_CN": ".."}

#: ``<a id="Handshake">``: MyST keeps inline HTML as raw pieces, the opening tag in one.
HTML_ANCHOR = re.compile(r'<a\s+id="([^"]+)"\s*>')


def jupyterlab_anchor(heading: str) -> str:
    """The id JupyterLab gives a heading: its text, spaces made ``-``."""
    return heading.replace(" ", "-")


def note_html_anchors(app, doctree) -> None:
    """Make the ids of a page's ``<a id="...">`` targets of links, as its headings are.

    They become labels of Sphinx's standard domain (anonymous ones, like a
    heading's), which is where MyST looks for a ``#id`` it has no heading for.
    """
    labels = app.env.domains.standard_domain.anonlabels
    for raw in doctree.findall(nodes.raw):
        if "html" in raw.get("format", "").split():
            for anchor in HTML_ANCHOR.findall(raw.astext()):
                labels.setdefault(anchor, (app.env.docname, anchor))


class LinksTheNotebooksUse(SphinxPostTransform):
    """The links MyST cannot resolve by itself (see the module's docstring).

    A link to a notebook of the other edition becomes a link to the other book's
    page; a ``#id`` of the page's own ``<a id>`` becomes a link to it.
    """

    default_priority = 8  # before MyST's resolver (9), which would call them unknown

    def run(self) -> None:
        other = OTHER_EDITION.get(self.config.language)
        anchors = self.env.domains.standard_domain.anonlabels
        here = posixpath.dirname(self.env.docname)
        for node in list(self.document.findall(pending_xref)):
            if node.get("reftype") != "myst":
                continue
            if node.get("refdomain") == "doc":
                page = self.page_of_other_edition(node["reftarget"], here, other)
                if page:
                    anchor = node.get("reftargetid")
                    self.link(node, refuri=page + (f"#{anchor}" if anchor else ""))
            elif anchors.get(node["reftarget"], ("",))[0] == self.env.docname:
                self.link(node, refid=node["reftarget"])

    def page_of_other_edition(self, target: str, here: str, other: str | None) -> str | None:
        """The other book's page a link to a notebook leads to, relative to this page; None if it is not one."""
        if target in self.env.all_docs or other is None:
            return None
        if posixpath.isabs(target):  # MyST gives a path out of the book's sources (../01-echo) absolute
            target = posixpath.relpath(target, self.env.srcdir)
        else:
            target = posixpath.normpath(posixpath.join(here, target))
        if not target.startswith(other + "/"):
            return None
        return posixpath.relpath(target, here or ".") + ".html"

    @staticmethod
    def link(node: pending_xref, **where: str) -> None:
        link = nodes.reference("", "", internal="refid" in where, **where)
        link += node.children
        node.replace_self(link)


class ChineseSearch(SearchChinese):
    """Sphinx's Chinese search, with the name of the stemmer its page script really has.

    Sphinx 9.0 cuts Chinese into words with jieba when it is installed (the course's
    test extra has it) and stems the Latin words in English, with the English stemmer's
    script; but the page it writes asks for a ``ChineseStemmer``, which no script
    defines, so every search in the Chinese book stopped at "searching" with an error.
    """

    language_name = "English"  # the page's stemmer is EnglishStemmer: Latin words are stemmed in English


def setup(app):
    app.add_search_language(ChineseSearch)
    app.connect("doctree-read", note_html_anchors)
    app.add_post_transform(LinksTheNotebooksUse)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
