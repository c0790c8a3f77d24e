"""Sphinx's settings for the course as a book (built by ``book/build.py``: ``python3 course.py book``).

MyST-NB reads the notebooks with their stored outputs (``nb_execution_mode = "off"``):
the book shows what the tests proved, and building it runs no kernel. Each edition is a
book of its own, as Dive into Deep Learning's English and Chinese books are: the
environment variable ``WS_COURSE_BOOK_EDITION`` (``en`` or ``zh``) says which this is.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # the book's own extension: editions.py

#: Which edition this build makes: ``en`` (the default) or ``zh``.
EDITION = os.environ.get("WS_COURSE_BOOK_EDITION", "en")
chinese = EDITION == "zh"

project = "Python WebSocket 教程" if chinese else "WebSockets in Python"
author = copyright = "ws-course"
language = "zh_CN" if chinese else "en"
root_doc = "index"

extensions = ["myst_nb", "editions", "sphinx.ext.githubpages"]  # githubpages: a .nojekyll file
exclude_patterns = ["zh", "**.ipynb_checkpoints"]  # the English book's sources hold the Chinese ones' folder

nb_execution_mode = "off"  # the stored outputs, as CI proved them
# The only folded cells are the exercises' hidden solutions (book/build.py folds them).
nb_code_prompt_show = "显示参考答案" if chinese else "Show the solution"
nb_code_prompt_hide = "隐藏参考答案" if chinese else "Hide the solution"
myst_heading_anchors = 3
# Links to a heading are written for JupyterLab (glossary.ipynb#Close-code): the book
# gives a heading the id JupyterLab does.
myst_heading_slug_func = "editions.jupyterlab_anchor"

html_theme = "sphinx_book_theme"
html_title = project
html_copy_source = False  # the notebooks are on GitHub (and on Binder), as they are, not as staged here
templates_path = [str(HERE / "_templates")]
html_static_path = [str(HERE / "_static")]
html_css_files = ["book.css"]
html_context = {"edition": EDITION}  # for the language switch (_templates/language-switch.html)
html_theme_options = {
    "article_header_end": ["language-switch.html", "article-header-buttons.html"],
    "home_page_in_toc": True,
    "show_toc_level": 2,
    "use_download_button": False,
    "announcement": (
        '▶ 自己动手运行这些课程：<a href="index.html#run-it-yourself">在 JupyterLab、JupyterHub 或 Binder 上</a>'
        if chinese else
        '▶ Run these lessons yourself: <a href="index.html#run-it-yourself">in JupyterLab, on a JupyterHub or on Binder</a>'
    ),
}
# The repository the book is built from (the book's GitHub workflow sets it): then each lesson
# has a button to its notebook on GitHub and one that opens it on Binder.
repository = os.environ.get("WS_COURSE_REPOSITORY")
if repository:
    html_theme_options.update(
        repository_url=repository, repository_branch=os.environ.get("WS_COURSE_BRANCH", "main"),
        path_to_docs="notebooks/zh" if chinese else "notebooks", use_repository_button=True,
        launch_buttons={"binderhub_url": "https://mybinder.org", "notebook_interface": "jupyterlab"},
    )
