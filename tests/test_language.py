"""The course speaks English or Chinese: the catalogs match the source, and a notebook's folder chooses.

The first tests read the catalogs (``ws_course/language/locale/``) and the source: every
message marked with ``_()`` or ``ngettext()`` is in the template and in the Chinese
catalog, nothing else is, and each has a Chinese translation with the same
placeholders. When one fails, ``python -m ws_course.language update`` refreshes the
catalogs, and the message it names needs translating in the ``.po``.

Then the rule that chooses the language, and last a real kernel: started in a folder
named ``zh``, as JupyterLab and nbval start the kernel of ``notebooks/zh/01-echo.ipynb``,
lesson 01's check speaks Chinese; started anywhere else, English.
"""

from __future__ import annotations

import ast
import os
import string
from pathlib import Path

import nbformat
import pytest
from babel.messages.pofile import read_po
from nbclient import NotebookClient

from ws_course.language import ENVIRONMENT_VARIABLE, _, catalogs, language, ngettext, use_language

PACKAGE = Path(catalogs.PACKAGE)
REFRESH = "run: python -m ws_course.language update"


def read(path: Path):
    with path.open("rb") as file:
        return read_po(file)


def ids(catalog) -> set:
    return {message.id for message in catalog if message.id}


@pytest.fixture(autouse=True)
def rules_as_they_are():
    """Each test starts and ends with no language chosen by use_language()."""
    use_language(None)
    yield
    use_language(None)


# -- the catalogs and the source ---------------------------------------------------------


def test_the_catalogs_hold_exactly_the_messages_marked_in_the_source():
    source = ids(catalogs.extract())
    assert len(source) > 50  # the extraction found the marked messages at all
    for path in (catalogs.TEMPLATE, catalogs.catalog_path("zh")):
        held = ids(read(path))
        missing, stale = source - held, held - source
        assert not missing, f"marked in ws_course but missing from {path.name} ({REFRESH}): {sorted(missing, key=str)}"
        assert not stale, f"in {path.name} but marked nowhere in ws_course any more ({REFRESH}): {sorted(stale, key=str)}"


def fields(text: str) -> list[tuple[str, str | None]]:
    """The named placeholders of a message, with their conversions: ``{text!r}`` is ``("text", "r")``."""
    return sorted((name, conversion) for _, name, _, conversion in string.Formatter().parse(text) if name is not None)


def test_every_message_has_a_chinese_translation_with_the_same_placeholders():
    catalog = read(catalogs.catalog_path("zh"))
    assert catalog.locale_identifier == "zh_CN" and catalog.num_plurals == 1
    for message in catalog:
        if not message.id:
            continue
        english = message.id if isinstance(message.id, tuple) else (message.id,)
        chinese = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(text.strip() for text in chinese), f"no Chinese for {english[0]!r}"
        assert not message.fuzzy, f"the Chinese for {english[0]!r} is marked fuzzy: check it, then remove the mark"
        for text in chinese:
            assert fields(text) == fields(english[-1]), f"placeholders differ: {english[-1]!r} -> {text!r}"
            assert text.endswith("\n") == english[0].endswith("\n"), f"a message and its translation end alike: {text!r}"
        named = [name.isidentifier() for name, _ in fields(english[-1])]
        assert all(named), f"placeholders by name, so that a translator can move them: {english[-1]!r}"


def test_every_marked_message_is_a_plain_string_the_extraction_can_read():
    """``_(f"...")`` or ``_(text)`` would go unnoticed by the extraction, and stay English forever."""
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("_", "ngettext"):
                texts = node.args[:1] if node.func.id == "_" else node.args[:2]
                if not all(isinstance(text, ast.Constant) and isinstance(text.value, str) for text in texts):
                    wrong.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    assert wrong == [], "mark a message as a plain string literal, with .format() for its values"



def test_no_module_that_speaks_through_underscore_uses_it_as_a_throwaway_name():
    """``first, _ = ...`` in a module that imported ``_`` hides it: the next ``_("...")`` calls a string."""
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if not any(isinstance(node, ast.Call) and getattr(node.func, "id", None) == "_" for node in ast.walk(tree)):
            continue
        for node in ast.walk(tree):
            bound = (isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and node.id == "_") or (
                isinstance(node, ast.arg) and node.arg == "_")
            if bound:
                wrong.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    assert wrong == [], "name a throwaway value (_arrival, _button), not _"

# -- choosing the language ------------------------------------------------------------------


def test_english_by_default_chinese_in_a_folder_named_zh_and_the_variable_wins(tmp_path, monkeypatch):
    monkeypatch.delenv(ENVIRONMENT_VARIABLE, raising=False)
    (tmp_path / "zh").mkdir()
    (tmp_path / "lessons").mkdir()
    monkeypatch.chdir(tmp_path / "lessons")
    assert language() == "en"
    assert _("Send") == "Send"
    monkeypatch.chdir(tmp_path / "zh")
    assert language() == "zh"
    assert _("Send") == "发送"
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, "en")
    assert language() == "en"  # the variable wins over the folder
    monkeypatch.chdir(tmp_path / "lessons")
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, "zh")
    assert language() == "zh"
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, "zh_CN")
    assert language() == "zh"
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, "fr")  # not a language of the course: the folder decides
    assert language() == "en"


def test_use_language_wins_over_the_folder_and_the_variable(tmp_path, monkeypatch):
    (tmp_path / "zh").mkdir()
    monkeypatch.chdir(tmp_path / "zh")
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, "zh")
    use_language("en")
    assert language() == "en" and _("Close") == "Close"
    use_language("zh")
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, "en")
    assert language() == "zh" and _("Close") == "关闭"
    use_language(None)
    assert language() == "en"
    with pytest.raises(ValueError, match="the course speaks en and zh, not 'fr'"):
        use_language("fr")


def test_a_message_the_catalog_lacks_stays_english_and_plurals_follow_each_language():
    use_language("zh")
    assert _("a sentence no catalog has") == "a sentence no catalog has"
    many = ngettext("{start}… ({count} character)", "{start}… ({count} characters)", 301)
    assert many.format(start="x", count=301) == "x…（共 301 个字符）"
    use_language("en")
    assert ngettext("{start}… ({count} character)", "{start}… ({count} characters)", 1).endswith("character)")
    assert ngettext("{start}… ({count} character)", "{start}… ({count} characters)", 2).endswith("characters)")



def test_an_embedded_pages_loader_says_its_words_in_chinese_and_stays_as_it_was_in_english():
    from ws_course.notebook import PAGE_LOADER, page_loader

    use_language("en")
    assert page_loader("http://127.0.0.1:1/") == PAGE_LOADER.replace("PAGE_ADDRESS", '"http://127.0.0.1:1/"')
    use_language("zh")
    chinese = page_loader("http://127.0.0.1:1/")
    assert "正在打开页面" in chinese and '"没有应答"' in chinese
    assert '"这个页面的服务器没有在运行（" + why + "）。' in chinese and '" + wait + " 秒后' in chinese
    assert "Opening the page" not in chinese and "not running" not in chinese and "no answer" not in chinese

# -- a real kernel ---------------------------------------------------------------------------------

WRONG = """\
from ws_course.exercises import check_ask


async def ask(url, text):
    return None


await check_ask(ask)
"""

RIGHT = """\
from websockets.asyncio.client import connect


async def ask(url, text):
    async with connect(url, proxy=None) as websocket:
        await websocket.send(text)
        return await websocket.recv()


assert await check_ask(ask)
"""


@pytest.mark.notebook
@pytest.mark.parametrize(("folder", "wrong", "right"), [
    ("zh", "[再试一次] 还差一点：ask(url, 'ping') 返回了 None；回显服务器的回复是 'ping'\n",
     "[通过] 做得好：ask() 发送一条消息，并返回回显服务器的回复。\n"),
    ("notebooks", "[TRY AGAIN] Not yet: ask(url, 'ping') returned None; the echo server replied 'ping'\n",
     "[PASS] Well done: ask() sends a message and returns the echo server's reply.\n"),
], ids=["in-zh", "elsewhere"])
async def test_a_kernel_started_in_a_folder_named_zh_gives_its_verdicts_in_chinese(tmp_path, folder, wrong, right):
    (tmp_path / folder).mkdir()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(WRONG), nbformat.v4.new_code_cell(RIGHT)])
    client = NotebookClient(nb, kernel_name="python3", timeout=60, resources={"metadata": {"path": str(tmp_path / folder)}})
    environment = {name: value for name, value in os.environ.items() if name != ENVIRONMENT_VARIABLE}
    async with client.async_setup_kernel(env=environment):
        for index, cell in enumerate(nb.cells):
            await client.async_execute_cell(cell, index)
    printed = ["".join(output.text for output in cell.outputs if output.output_type == "stream") for cell in nb.cells]
    assert printed == [wrong, right]


# -- the browser pages ---------------------------------------------------------------------------


def test_the_pages_words_and_their_scripts_messages_are_in_the_catalogs():
    """The HTML's words (heading, button, placeholder) and the scripts' ``_()`` of every page are extracted."""
    from ws_course.web.static import STATIC

    found = {}
    for message in catalogs.extract():
        for place, _line in message.locations:
            found.setdefault(place, set()).add(message.id)
    page = {name: found.get(f"ws_course/static/{name}", set()) for name in ("echo.html", "chat.html", "course.js")}
    assert {"Echo Test", "type a message", "Send", "Socket:", "connecting", "open", "Connected"} <= page["echo.html"]
    assert {"Chat Room", "say something", "Send"} <= page["chat.html"]
    assert {"open", "closed (code {code})", "connected ({transport})"} <= page["course.js"]
    assert not any(place.startswith(("ws_course/static/article/", "ws_course/static/socket.io")) for place in found)
    assert {path.name for path in STATIC.glob("*.html")} <= {place.rpartition("/")[2] for place in found}


def test_every_page_in_chinese_has_no_english_word_left_and_in_english_is_its_file():
    from ws_course.language.pages import page_in_language, page_texts
    from ws_course.web.static import STATIC

    for path in sorted(STATIC.glob("*.html")):
        english = path.read_bytes()
        assert page_in_language(english, path.name, "/") == english
        assert page_in_language(english, path.name, "/?lang=en&room=x") == english
        chinese = page_in_language(english, path.name, "/?room=x&lang=zh").decode()
        left = [text for _start, _end, text in page_texts(chinese) if text not in ("WebSocket",)]
        assert left == [text for text in left if not text.isascii()], f"{path.name} kept English words: {left}"
        assert '<html lang="zh-CN">' in chinese and "<script>var WORDS = {" in chinese


def test_a_notebook_in_chinese_asks_for_its_pages_in_chinese():
    from ws_course.language.pages import page_address
    from ws_course.notebook import show_page

    use_language("en")
    assert page_address("http://127.0.0.1:1/") == "http://127.0.0.1:1/"
    assert 'href="http://127.0.0.1:1/"' in show_page("http://127.0.0.1:1/").data
    use_language("zh")
    assert page_address("http://127.0.0.1:1/") == "http://127.0.0.1:1/?lang=zh"
    assert page_address("/proxy/1/?interval=250") == "/proxy/1/?interval=250&lang=zh"
    shown = show_page("http://127.0.0.1:1/").data
    assert 'href="http://127.0.0.1:1/?lang=zh"' in shown and 'data-src="http://127.0.0.1:1/?lang=zh"' in shown
    assert page_address("http://127.0.0.1:1/", "zh") == "http://127.0.0.1:1/?lang=zh"  # ws-course serve --lang zh
    use_language("en")
    assert page_address("http://127.0.0.1:1/teacher?key=k", "zh") == "http://127.0.0.1:1/teacher?key=k&lang=zh"


async def test_the_client_widgets_logs_keep_the_apis_event_names_and_say_the_rest_in_chinese():
    """``message: （2 字节）...``, ``close: 关闭码 1000、原因 ''``: the event's name as in code, the words in Chinese."""
    from ws_course import start
    from ws_course.widgets import ChatClient, EventChatClient, WebSocketClient

    use_language("zh")
    with start("echo") as server:
        client = WebSocketClient(server.ws_url)
        await client.opened()
        client.send(b"\x00\x01")
        assert await client.next_message() == b"\x00\x01"
        client.close()
        await client.closed()
        lines = client.log_view.value
        assert "message: （2 字节） b&#x27;\\x00\\x01&#x27;" in lines
        assert "close: 关闭码 1000、原因 &#x27;&#x27;" in lines
        with pytest.raises(ConnectionError, match="已关闭（关闭码 1000）"):
            await client.next_message()
        member = ChatClient(server.ws_url, json=True)  # the echo server answers with no JSON at all
        assert "（加入中）" in member.title.value
        await member.opened()
        member.send("hi")
        await member.next_message()
        assert "（不是聊天室的 JSON）hi" in member.log_view.value
        member.close()
        await member.closed()
    nobody = EventChatClient(server.ws_url.replace("ws:", "http:"))  # the server is gone: refused at once
    await nobody.closed()
    assert "无法连接到 http://127.0.0.1:" in nobody.log_view.value
    assert "已断开（连接失败）" in nobody.log_view.value
