"""Small helpers the lessons' notebooks use to show things."""

from __future__ import annotations

import html
import inspect
from typing import Any

from IPython.display import HTML, Markdown

from .pages import STATIC


def show_source(obj: Any) -> Markdown:
    """Show the real source of a module, class or function, as it is on disk right now.

    The notebooks show the demo servers with this, never with a copy pasted into
    a cell: what you read is what runs.
    """
    return Markdown(f"```python\n{inspect.getsource(obj)}```")


def show_page_source(filename: str) -> Markdown:
    """Show a browser page's source, from ``static/``, as it is on disk right now."""
    return Markdown(f"```html\n{(STATIC / filename).read_text()}```")


def show_page(url: str, height: int = 260) -> HTML:
    """Link to a browser page and embed it in the notebook.

    The embedded frame works when JupyterLab runs on your own machine: your browser
    then reaches the server at 127.0.0.1 too. On a remote JupyterLab (Binder, a
    JupyterHub) the server is on another machine and the frame stays empty.
    """
    url = html.escape(url, quote=True)
    return HTML(
        f'<p><a href="{url}" target="_blank">Open the page in a new browser tab: {url}</a></p>'
        f'<iframe src="{url}" width="100%" height="{height}" style="border: 1px solid #ccc"></iframe>'
    )


def show_xss_demo(page_url: str, height: int = 300) -> HTML:
    """The article's chat page and ours side by side, both joined to the chat room at ``page_url``.

    The article's page (left) writes messages with ``innerHTML``: markup in a
    message runs in it. It is served in a sandbox (see :mod:`ws_course.article`),
    so what runs there cannot reach the notebook, JupyterLab, or any other site.
    Ours (right) writes them with ``textContent``: markup stays text.
    """
    article = html.escape(page_url + "article.html", quote=True)
    ours = html.escape(page_url, quote=True)
    frame = f'height="{height}" style="width: 49%; border: 1px solid #ccc"'
    return HTML(
        '<div style="display: flex; gap: 1%">'
        f'<div style="flex: 1"><b>The article\'s page</b> (<code>innerHTML</code>, in a sandbox)<br>'
        f'<iframe class="article-page" sandbox="allow-scripts" src="{article}" {frame.replace("49%", "100%")}></iframe></div>'
        f'<div style="flex: 1"><b>Ours</b> (<code>textContent</code>)<br>'
        f'<iframe class="our-page" src="{ours}" {frame.replace("49%", "100%")}></iframe></div>'
        "</div>"
    )
