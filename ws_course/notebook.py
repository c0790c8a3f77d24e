"""Small helpers the lessons' notebooks use to show things."""

from __future__ import annotations

import html
import inspect
from typing import Any

from IPython.display import HTML, Markdown

from .web.jupyter import browser_may_be_local, browser_url
from .web.static import STATIC


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
    see :func:`ws_course.web.jupyter.browser_url`. In a plain JupyterLab on your own
    machine that is ``/proxy/PORT/``; without a Jupyter server, the address itself.
    """
    url = html.escape(browser_url(url), quote=True)
    return HTML(
        f'<p><a href="{url}" target="_blank">Open the page in a new browser tab: {url}</a></p>'
        f'<iframe src="{url}" width="100%" height="{height}" style="border: 1px solid #ccc"></iframe>'
    )


def show_another_site(page_url: str, height: int = 160) -> HTML:
    """Embed lesson 06's page from another site (:mod:`ws_course.web.another_site`), straight from its server.

    The frame must come from the other site's own origin, ``http://127.0.0.1:PORT``,
    so it is never sent through the Jupyter server: there, every page shares
    JupyterLab's origin, and there would be no "other site" to see. That works when
    the browser is on this machine; elsewhere (a JupyterHub, Binder, a remote
    JupyterLab) a note says why it is not shown.
    """
    if not browser_may_be_local():
        return HTML(
            '<p class="another-site-note" style="border-left: 4px solid #c90; padding-left: 0.5em">'
            "Your browser is on another machine than this kernel, so the page from another site is not "
            "shown: your browser cannot reach <code>127.0.0.1</code> here, and through the Jupyter server "
            "every page, the chat room's and any other, comes from one origin, the Jupyter server's. The "
            "origin check cannot tell such pages apart (see below). To watch a page from another origin "
            "refused, take the course on your own machine: <code>python3 course.py lab</code>.</p>"
        )
    url = html.escape(page_url, quote=True)
    return HTML(
        f'<p><a href="{url}" target="_blank">Open the other site\'s page in a new tab: {url}</a></p>'
        f'<iframe class="another-site" src="{url}" width="100%" height="{height}" '
        'style="border: 1px solid #c90"></iframe>'
    )


def show_xss_demo(page_url: str, height: int = 300) -> HTML:
    """The article's chat page and ours side by side, both joined to the chat room at ``page_url``.

    The article's page (left) writes messages with ``innerHTML``: markup in a
    message runs in it. It is served in a sandbox (see :mod:`ws_course.web.article`),
    so what runs there cannot reach the notebook, JupyterLab, or any other site.
    Ours (right) writes them with ``textContent``: markup stays text.

    The article's page is loaded from the demo server directly, never through the
    Jupyter server: through it, the page would share JupyterLab's origin, and a
    sandboxed page's WebSocket is (rightly) refused there. So on a remote Jupyter
    (a JupyterHub, Binder) it is not shown: a note says how to see it instead.
    """
    ours = html.escape(browser_url(page_url), quote=True)
    frame = f'height="{height}" style="width: 100%; border: 1px solid #ccc"'
    if browser_may_be_local():
        article = html.escape(page_url + "article.html", quote=True)
        left = f'<iframe class="article-page" sandbox="allow-scripts" src="{article}" {frame}></iframe>'
    else:
        left = (
            '<p class="article-page-note">Your browser is on another machine than this kernel, '
            "so the article's page cannot be shown safely here: through the Jupyter server it would "
            "share JupyterLab's origin. To watch the attack run, take the course on your own machine "
            "(<code>python3 course.py lab</code>), or run <code>ws-course serve chat</code> there and open "
            "<code>http://127.0.0.1:8001/article.html</code>.</p>"
        )
    return HTML(
        '<div style="display: flex; gap: 1%">'
        f"<div style=\"flex: 1\"><b>The article's page</b> (<code>innerHTML</code>, in a sandbox)<br>{left}</div>"
        f'<div style="flex: 1"><b>Ours</b> (<code>textContent</code>)<br>'
        f'<iframe class="our-page" src="{ours}" {frame}></iframe></div>'
        "</div>"
    )


def when_done() -> Any:
    """The last step of a lesson: a button that stops what the lesson started.

    "Run All" runs every cell, so a lesson must not stop its servers in a cell:
    scrolling back, you would find every widget ``CLOSED`` and every page dead.
    The servers, widgets and pages stay alive until you click this button (or shut
    the kernel down, which stops them too). The click closes every client widget,
    stops everything the course started (:func:`ws_course.stop_all`) and says what it
    stopped; then shut the kernel down (Kernel → Shut Down Kernel) to give its
    memory back.
    """
    import gc

    import ipywidgets as widgets

    from . import stop_all
    from .runtime.registry import RUNNING
    from .widgets.client import _clients

    button = widgets.Button(description="I am done: stop this lesson's servers", icon="stop",
                            layout=widgets.Layout(width="auto"))
    report = widgets.HTML()

    def finish(_button: Any = None) -> None:
        clients = [client for client in list(_clients) if client.ready_state in ("CONNECTING", "OPEN")]
        for client in clients:
            client.close()
        running = RUNNING.count()
        stop_all()
        gc.collect()
        button.disabled = True
        report.value = (
            f"<p>Closed {len(clients)} client widget(s) and stopped {running} server(s) or process(es). "
            "Now shut this kernel down to give its memory back: <b>Kernel → Shut Down Kernel</b>. "
            "To play again, run the lesson from the top.</p>"
        )

    button.on_click(finish)
    return widgets.VBox([button, report])
