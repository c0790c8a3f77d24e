"""Small helpers the lessons' notebooks use to show things."""

from __future__ import annotations

import html
import inspect
from typing import Any

from IPython.display import HTML, Markdown

from .jupyter import browser_url
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

    ``url`` is the page's address as the kernel knows it, ``server.page_url``
    (``http://127.0.0.1:PORT/``). Your browser may be on another machine (a
    JupyterHub, Binder, a remote JupyterLab), where that address means nothing, so
    the link and the frame go through the Jupyter server instead when there is one:
    see :func:`ws_course.jupyter.browser_url`. In a plain JupyterLab on your own
    machine that is ``/proxy/PORT/``; without a Jupyter server, the address itself.
    """
    url = html.escape(browser_url(url), quote=True)
    return HTML(
        f'<p><a href="{url}" target="_blank">Open the page in a new browser tab: {url}</a></p>'
        f'<iframe src="{url}" width="100%" height="{height}" style="border: 1px solid #ccc"></iframe>'
    )
