"""Small helpers the lessons' notebooks use to show things."""

from __future__ import annotations

import gc
import html
import inspect
import json
import os
import re
from pathlib import Path
from typing import Any

from IPython.display import HTML, Markdown

from .language import _, language
from .language.pages import page_address
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

    The frame does not load the page at once: JupyterLab draws an output only when
    you scroll to it, maybe long after its server stopped, and the Jupyter server
    then answers "500 : Internal Server Error". So the frame first runs a few lines
    of its own (:data:`PAGE_LOADER`) that ask for the page, open it when it comes,
    and otherwise say in words that its server is not running, trying again.

    A notebook in Chinese asks for the page in Chinese (``?lang=zh``: see
    :mod:`ws_course.language.pages`); in English the address is the page's own.
    """
    address = page_address(browser_url(url))
    loader = page_loader(address)
    url = html.escape(address, quote=True)
    link = html.escape(_("Open the page in a new browser tab: {url}")).format(url=url)
    return HTML(
        f'<p><a href="{url}" target="_blank">{link}</a></p>'
        f'<iframe class="course-page" data-src="{url}" srcdoc="{html.escape(loader, quote=True)}" '
        f'width="100%" height="{height}" style="border: 1px solid #ccc"></iframe>'
    )


#: What an embedded page's frame runs before the page: fetch it; when it comes, open it;
#: when its server is not running (no answer, or the Jupyter server's 500), say so and
#: try again, waiting longer each time (1 s, 2 s, 4 s, ... at most 30 s). ``no-cors``:
#: without a Jupyter server the page is on another origin, whose answer the frame
#: may not read, but a server that is not running gives no answer at all.
PAGE_LOADER = """<!DOCTYPE html>
<html><body style="font-family: sans-serif; margin: 1.5em">
<p id="note">Opening the page...</p>
<script>
var page = PAGE_ADDRESS, wait = 1;
function tryAgain(why) {
    document.getElementById("note").textContent = "This page's server is not running (" + why + "). "
        + "Run the cell that starts it, then this cell again: a server started again gets a new port. "
        + "Trying this address again in " + wait + " s.";
    setTimeout(load, wait * 1000);
    wait = Math.min(wait * 2, 30);
}
function load() {
    fetch(page, {mode: "no-cors", cache: "no-store"}).then(function (response) {
        if (response.type === "opaque" || response.ok) {
            location.replace(new URL(page, document.baseURI));
        } else {
            tryAgain("HTTP " + response.status);
        }
    }, function () { tryAgain("no answer"); });
}
load();
</script>
</body></html>
"""

#: The sentence of :data:`PAGE_LOADER` that says the server is not running, as JavaScript.
NOT_RUNNING_EXPRESSION = (
    '"This page\'s server is not running (" + why + "). "\n'
    '        + "Run the cell that starts it, then this cell again: a server started again gets a new port. "\n'
    '        + "Trying this address again in " + wait + " s."'
)


def page_loader(address: str) -> str:
    """:data:`PAGE_LOADER` for the page at ``address``, in the current language.

    The template is written in English; in another language its words are replaced
    with their translations (:func:`loader_words`).
    """
    loader = PAGE_LOADER
    if language() != "en":
        for english, words in loader_words().items():
            loader = loader.replace(english, words)
    return loader.replace("PAGE_ADDRESS", script_value(address))  # last: an address may hold any text


def loader_words() -> dict[str, str]:
    """Each piece of English in :data:`PAGE_LOADER`, and what replaces it in the current language."""
    not_running = _("This page's server is not running ({why}). Run the cell that starts it, then this cell "
                    "again: a server started again gets a new port. Trying this address again in {seconds} s.")
    # The sentence as JavaScript: its text in quotes, its two placeholders the script's variables.
    pieces = re.split(r"(\{why\}|\{seconds\})", not_running)
    variables = {"{why}": "why", "{seconds}": "wait"}
    return {
        "Opening the page...": html.escape(_("Opening the page...")),
        NOT_RUNNING_EXPRESSION: " + ".join(variables.get(piece) or script_value(piece) for piece in pieces if piece),
        '"no answer"': script_value(_("no answer")),
    }


def script_value(value: Any) -> str:
    """``value`` as JavaScript (JSON), safe inside ``<script>``: no ``</script>`` can end it."""
    return json.dumps(value, ensure_ascii=False).replace("<", "\\u003c")


def show_another_site(page_url: str, height: int = 160) -> HTML:
    """Embed lesson 06's page from another site (:mod:`ws_course.web.another_site`), straight from its server.

    The frame must come from the other site's own origin, ``http://127.0.0.1:PORT``,
    so it is never sent through the Jupyter server: there, every page shares
    JupyterLab's origin, and there would be no "other site" to see. That works when
    the browser is on this machine; elsewhere (a JupyterHub, Binder, a remote
    JupyterLab) a note says why it is not shown.
    """
    if not browser_may_be_local():
        # Translators: HTML; keep the <code> elements as they are.
        note = _("Your browser is on another machine than this kernel, so the page from another site is not "
                 "shown: your browser cannot reach <code>127.0.0.1</code> here, and through the Jupyter server "
                 "every page, the chat room's and any other, comes from one origin, the Jupyter server's. The "
                 "origin check cannot tell such pages apart (see below). To watch a page from another origin "
                 "refused, take the course on your own machine: <code>python3 course.py lab</code>.")
        return HTML(
            '<p class="another-site-note" style="border-left: 4px solid #c90; padding-left: 0.5em">'
            f"{note}</p>"
        )
    url = html.escape(page_address(page_url), quote=True)
    link = html.escape(_("Open the other site's page in a new tab: {url}"), quote=False).format(url=url)
    return HTML(
        f'<p><a href="{url}" target="_blank">{link}</a></p>'
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
    ours = html.escape(page_address(browser_url(page_url)), quote=True)
    frame = f'height="{height}" style="width: 100%; border: 1px solid #ccc"'
    if browser_may_be_local():
        article = html.escape(page_url + "article.html", quote=True)
        left = f'<iframe class="article-page" sandbox="allow-scripts" src="{article}" {frame}></iframe>'
    else:
        # Translators: HTML; keep the <code> elements as they are.
        note = _("Your browser is on another machine than this kernel, so the article's page cannot be shown "
                 "safely here: through the Jupyter server it would share JupyterLab's origin. To watch the attack "
                 "run, take the course on your own machine (<code>python3 course.py lab</code>), or run "
                 "<code>ws-course serve chat</code> there and open <code>http://127.0.0.1:8001/article.html</code>.")
        left = f'<p class="article-page-note">{note}</p>'
    # Translators: HTML, the titles of two frames side by side; keep the markup as it is.
    article_title = _("<b>The article's page</b> (<code>innerHTML</code>, in a sandbox)")
    # Translators: HTML; "Ours" is the course's own chat page.
    our_title = _("<b>Ours</b> (<code>textContent</code>)")
    return HTML(
        '<div style="display: flex; gap: 1%">'
        f'<div style="flex: 1">{article_title}<br>{left}</div>'
        f'<div style="flex: 1">{our_title}<br>'
        f'<iframe class="our-page" src="{ours}" {frame}></iframe></div>'
        "</div>"
    )


def memory_in_use(pid: int | None = None) -> int | None:
    """Resident memory (RSS) of a process and of every process under it, in bytes.

    ``pid`` defaults to this process: in a notebook, the kernel, with the servers
    and Redis it started as processes of their own. Read from ``/proc`` (Linux);
    elsewhere, None. Memory two processes share counts twice: it is an upper bound.
    """
    family = process_family(pid)
    return None if family is None else sum(_rss(member) for member in family)


def process_family(pid: int | None = None) -> list[int] | None:
    """A process (this one by default) and every process under it, read from ``/proc``; None elsewhere."""
    pid = os.getpid() if pid is None else pid
    parents = {}
    try:
        stats = list(Path("/proc").glob("[0-9]*/stat"))
    except OSError:
        return None
    for stat in stats:
        try:
            # "PID (name) STATE PPID ...": the name may hold spaces, so split after its ")".
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue  # a process that ended while we looked
    if pid not in parents:
        return None
    family, unseen = [], [pid]
    while unseen:
        member = unseen.pop()
        family.append(member)
        unseen += [child for child, parent in parents.items() if parent == member]
    return family


def _rss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0  # ended meanwhile, or a kernel thread


def give_memory_back() -> None:
    """Collect garbage, then ask the C library to hand free memory back to the system.

    Python keeps memory it freed for its next objects; ``malloc_trim`` (glibc's)
    returns what it can of it. Shutting the kernel down returns all of it.
    """
    gc.collect()
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass  # not glibc: nothing more to do


def memory_sentence(before: int | None, after: int | None) -> str:
    """What the memory of the kernel did when the lesson stopped, in words, from the two measurements."""
    if before is None or after is None:
        return _("This system does not say how much memory the kernel holds.")
    numbers = {"before": f"{before / 2**20:.0f}", "after": f"{after / 2**20:.0f}", "back": f"{(before - after) / 2**20:.0f}"}
    if before - after >= 2**20:
        return _("This kernel and the processes it started held {before} MB; now {after} MB: "
                 "{back} MB given back.").format(**numbers)
    return _("This kernel and the processes it started held {before} MB; now {after} MB: "
             "nothing given back, Python keeps freed memory for its next objects.").format(**numbers)


class WhenDone:
    """The button of :func:`when_done`, and what a click does.

    A click may arrive on another thread than the kernel's event loop (JupyterLab can
    deliver widget messages on a kernel *subshell*), while the client widgets belong to
    the kernel's loop: the work hops over to it, and runs there as a task, so that the
    loop goes on serving the clients' closing handshakes meanwhile. ``await
    done.finished()`` waits for the end of it (tests and the benchmark do).
    """

    def __init__(self) -> None:
        import asyncio

        import ipywidgets as widgets

        self._loop = asyncio.get_running_loop()
        self._done = asyncio.Event()
        self._task: asyncio.Task[Any] | None = None
        self.button = widgets.Button(description=_("I am done: stop this lesson's servers"), icon="stop",
                                     layout=widgets.Layout(width="auto"))
        self.report = widgets.HTML()
        self.view = widgets.VBox([self.button, self.report])
        self.memory: tuple[int | None, int | None] = (None, None)
        self.button.on_click(lambda _button: self._loop.call_soon_threadsafe(self._start))

    def _start(self) -> None:
        if self._task is None:
            self.button.disabled = True
            self._task = self._loop.create_task(self._finish())

    async def finished(self, timeout: float = 60) -> str:
        """Wait until a click's work is done; return the report."""
        import asyncio

        async with asyncio.timeout(timeout):
            await self._done.wait()
        return self.report.value

    async def _finish(self) -> None:
        """Close every client widget, stop everything the course started, give memory back; say what happened."""
        import asyncio

        from . import stop_all
        from .runtime.registry import RUNNING
        from .widgets.client import _clients

        before = memory_in_use()
        clients = [client for client in list(_clients) if client.ready_state in ("CONNECTING", "OPEN")]
        for client in clients:
            client.close()
        await asyncio.gather(*(client.closed() for client in clients), return_exceptions=True)
        running = RUNNING.count()
        # In a thread: stopping joins the servers' threads, and this loop must not stop meanwhile.
        await asyncio.to_thread(stop_all)
        give_memory_back()
        self.memory = (before, memory_in_use())
        said = _("Closed {clients} client widget(s) and stopped {servers} server(s) or process(es).").format(
            clients=len(clients), servers=running)
        # Translators: "Kernel → Shut Down Kernel" is JupyterLab's menu; say it as the learner's JupyterLab does.
        shut_down = _("Now shut this kernel down to give all its memory back: <b>Kernel → Shut Down Kernel</b>. "
                      "To play again, run the lesson from the top.")
        self.report.value = f"<p>{html.escape(said)} {html.escape(memory_sentence(*self.memory))} {shut_down}</p>"
        self._done.set()

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = self.view._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = "when_done()"
        return bundle


def when_done() -> WhenDone:
    """The last step of a lesson: a button that stops what the lesson started.

    "Run All" runs every cell, so a lesson must not stop its servers in a cell:
    scrolling back, you would find every widget ``CLOSED`` and every page dead.
    The servers, widgets and pages stay alive until you click this button (or shut
    the kernel down, which stops them too). The click closes every client widget,
    stops everything the course started (:func:`ws_course.stop_all`), gives back the
    memory it can (:func:`give_memory_back`) and says how much the kernel holds
    (:func:`memory_in_use`, before and after); then shut the kernel down
    (Kernel → Shut Down Kernel) to give all of its memory back.

    The last one made is :data:`LAST`: ``LAST.button.click()`` is the click, from
    code, and ``await LAST.finished()`` waits for its end.
    """
    global LAST
    LAST = WhenDone()
    return LAST


#: The last :func:`when_done` made in this kernel (None before the first).
LAST: WhenDone | None = None
