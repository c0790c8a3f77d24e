#!/usr/bin/env python3
"""Set up and run the course: the two commands of the README, and a few more.

    python3 course.py lab       install what the course needs, open your copy of the lessons in JupyterLab
    python3 course.py lab --lang zh   the same, in Chinese: the Chinese lessons, and JupyterLab's menus in Chinese
    python3 course.py test      install what the tests need, run every test
    python3 course.py reset 03  put lesson 03 of your copy back as the course has it (--all: every lesson;
                                --lang zh: of the Chinese edition)
    python3 course.py execute   re-run every notebook in place, refreshing its stored outputs
    python3 course.py book      build the course as a website, both editions, in build/book (and check its links)
    python3 course.py install   only install (a virtual environment in .venv)

Learners work in their own copy of the notebooks, ``my-notebooks/`` (made by ``lab``
the first time, ignored by git, kept between runs): the course's ``notebooks/`` stay
as committed, so ``git pull`` never conflicts with a learner's exercises, and they are
what the tests run.

Everything Python goes into ``.venv`` inside this folder, so nothing else on the
machine changes; the tests' JavaScript (JupyterHub's proxy, the Socket.IO client
the package's copy is checked against, the Node.js servers of the benchmark) goes
into ``node_modules`` with ``npm ci``. What may be installed outside, with apt-get
on a Debian or Ubuntu machine as root, and only when missing: the Redis server of
lesson 09 (``redis-server``); for ``lab --lang zh`` and ``test``, a small font for
Chinese (``fonts-wqy-microhei``: the Chinese plots' words); and for ``test`` Node.js and
npm and Chromium for the browser tests (or a Chromium that Playwright has already
downloaded is used).

Only the standard library is used here: this script runs before anything is installed.
"""

from __future__ import annotations

import glob
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
import venv
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENV = HERE / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".course-installed"
NPM_STAMP = VENV / ".course-npm-installed"
NODE_MODULES = HERE / "node_modules"
BENCHMARK_NODE = HERE / "benchmarks" / "node"
NOTEBOOKS = HERE / "notebooks"
MY_NOTEBOOKS = HERE / "my-notebooks"
START_NOTEBOOK = "00-start-here.ipynb"
#: The course's editions: the language, and the folder of its lessons under ``notebooks/``
#: (and of the learner's copy under ``my-notebooks/``); the same file names in each.
EDITIONS = {"en": "", "zh": "zh"}
#: JupyterLab's own language for each edition: its Chinese language pack
#: (jupyterlab-language-pack-zh-CN, a dependency of the course) makes its menus match.
LAB_LOCALES = {"en": "en", "zh": "zh_CN"}
#: What ``lab`` adds to JupyterLab's command line: the course's own JupyterLab extension
#: (ws_course/labextensions/ws-course-links), so that a link to a glossary word lands on it.
LAB_OPTIONS = [f"--LabApp.extra_labextensions_path={HERE / 'ws_course' / 'labextensions'}"]

#: IPython's configuration for every kernel of the environment (see ws_course/restart_hint.py).
KERNEL_CONFIG = Path("etc") / "ipython" / "ipython_kernel_config.json"
#: Debian's font for Chinese: small (1.6 MB), and enough for matplotlib to draw a Chinese figure's words
#: (lessons 07b and 09b; without a font for Chinese, the figures speak English).
DEBIAN_CHINESE_FONT = "fonts-wqy-microhei"
#: Where ``book`` writes the course as a website (``build/`` is ignored by git).
BOOK = HERE / "build" / "book"
#: How many pytest workers ``test`` runs.
TEST_WORKERS = 3


def run(*command: str | Path, **kwargs) -> None:
    print("+", " ".join(str(part) for part in command), flush=True)
    subprocess.run([str(part) for part in command], check=True, **kwargs)


def install(npm: bool = True) -> None:
    """Install what the course needs (``npm``: and what its tests need): again only when a lock file changed."""
    if sys.version_info < (3, 11):
        sys.exit(f"The course needs Python 3.11 or newer; this is {sys.version.split()[0]}.")
    # The tests' JavaScript (the pages and their JavaScript are in the package: a learner needs
    # no Node.js): npm ci runs while pip installs, both mostly waiting on downloads.
    npm_wanted = hashlib.sha256(
        (HERE / "package-lock.json").read_bytes() + (BENCHMARK_NODE / "package-lock.json").read_bytes()
    ).hexdigest()
    npm = npm and not (NPM_STAMP.exists() and NPM_STAMP.read_text() == npm_wanted and NODE_MODULES.exists()
                       and (BENCHMARK_NODE / "node_modules").exists())
    npm_ci = []
    if npm:
        ensure_debian_package("npm", "nodejs npm", "Node.js and npm (https://nodejs.org/)")
        # Exactly the versions in package-lock.json; and the Node.js servers that
        # benchmarks/node_vs_python.py compares the course's with (their own lockfile).
        for folder in (HERE, BENCHMARK_NODE):
            print(f"+ npm ci --no-audit --no-fund (in {folder})", flush=True)
            npm_ci.append(subprocess.Popen(["npm", "ci", "--no-audit", "--no-fund"], cwd=folder))
    wanted = hashlib.sha256((HERE / "pyproject.toml").read_bytes()).hexdigest()
    if not (STAMP.exists() and STAMP.read_text() == wanted and PYTHON.exists()):
        if not PYTHON.exists():
            print(f"Creating a virtual environment in {VENV}", flush=True)
            venv.create(VENV, with_pip=True)
        run(PYTHON, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
        # --no-compile: pip would compile every module of every package to bytecode (half of
        # the install's time, 25 s of 50 on two cores); Python compiles those it imports, once.
        run(PYTHON, "-m", "pip", "install", "--quiet", "--no-compile", "-e", f"{HERE}[test,fast]")
        STAMP.write_text(wanted)
    install_kernel_config()
    if npm:
        if [process.wait() for process in npm_ci] != [0] * len(npm_ci):
            sys.exit("npm ci failed: see its output above.")
        VENV.mkdir(exist_ok=True)
        NPM_STAMP.write_text(npm_wanted)


def install_kernel_config(source: Path = HERE, venv: Path = VENV) -> bool:
    """Put the package's IPython kernel configuration into ``venv``; return whether it changed anything.

    A wheel installs it there itself (``[tool.setuptools.data-files]`` in pyproject.toml),
    but an editable install does not: PEP 660 leaves a wheel's data files out. So this
    copies it, and again whenever the repository's copy changed.
    """
    wanted, there = source / KERNEL_CONFIG, venv / KERNEL_CONFIG
    if there.exists() and there.read_bytes() == wanted.read_bytes():
        return False
    there.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(wanted, there)
    return True


def apt_install(packages: str) -> bool:
    """Install Debian packages when this is a Debian or Ubuntu machine and we are root."""
    if not (shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0):
        return False
    print(f"Installing Debian's {packages}", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        run("apt-get", "update", "-q", env=env)
        run("apt-get", "install", "-y", "-q", *packages.split(), env=env)
    except subprocess.CalledProcessError:
        print(f"Could not install {packages} with apt-get (see above).", flush=True)
        return False
    return True


def ensure_debian_package(command: str, packages: str, what: str) -> None:
    """Make sure ``command`` exists: install Debian's ``packages`` if we can, or say what to do."""
    if shutil.which(command) or (apt_install(packages) and shutil.which(command)):
        return
    sys.exit(f"The course needs {what}, and '{command}' was not found or could not be installed.\n"
             f"Install it, then run this command again.")


#: Debian's Chromium for the tests: its headless shell, the build of Chromium without a
#: screen that Playwright itself uses for headless runs. It does the same work for half the
#: CPU of the full browser started with --headless (measured on the browser page tests).
DEBIAN_CHROMIUM = "chromium-headless-shell"


def find_chromium(headless_shell: bool = False) -> str | None:
    """A Chromium for Playwright: $WS_COURSE_CHROMIUM, else a headless shell (Debian's, then one
    Playwright downloaded), else (unless ``headless_shell``) a full Chromium (Debian's, Playwright's)."""
    cache = Path(os.environ.get("PLAYWRIGHT_BROWSERS_PATH", Path.home() / ".cache" / "ms-playwright"))
    shells = [shutil.which(DEBIAN_CHROMIUM),
              *sorted(glob.glob(str(cache / "chromium_headless_shell-*" / "chrome-*" / "chrome-headless-shell")))[-1:],
              *sorted(glob.glob(str(cache / "chromium_headless_shell-*" / "chrome-*" / "headless_shell")))[-1:]]
    browsers = [shutil.which("chromium"), shutil.which("chromium-browser"),
                *sorted(glob.glob(str(cache / "chromium-*" / "chrome-linux*" / "chrome")))[-1:]]
    for candidate in [os.environ.get("WS_COURSE_CHROMIUM"), *shells, *([] if headless_shell else browsers)]:
        if candidate and Path(candidate).exists():
            return candidate
    return None


def ensure_chromium() -> str:
    """The Chromium the tests drive: a headless shell if there is one or Debian's can be installed, else any."""
    chromium = find_chromium(headless_shell=True)
    if chromium:
        return chromium
    apt_install(DEBIAN_CHROMIUM)
    chromium = find_chromium()
    if chromium:
        return chromium
    sys.exit(
        "The browser tests need Chromium, and none was found or could be installed.\n"
        "Do one of these, then run this command again:\n"
        f"  - on Debian or Ubuntu, as root:  apt-get install {DEBIAN_CHROMIUM}  (or chromium)\n"
        f"  - anywhere Playwright can download:  {PYTHON} -m playwright install chromium\n"
        "  - or point WS_COURSE_CHROMIUM at a Chromium or Chrome binary."
    )


def make_working_copy(course: Path = NOTEBOOKS, mine: Path = MY_NOTEBOOKS) -> list[str]:
    """Copy into ``mine`` every lesson of ``course`` it does not have yet, of every edition; return their names.

    The Chinese lessons go to ``mine/zh/`` (named ``zh/01-echo.ipynb`` in the list), so
    that their links to an English lesson (``../02-scream.ipynb``) land in the copy too.
    A lesson already in ``mine`` is the learner's, and is never overwritten here.
    """
    added = []
    for folder in EDITIONS.values():
        for lesson in sorted((course / folder).glob("*.ipynb")):
            name = f"{folder}/{lesson.name}" if folder else lesson.name
            if not (mine / name).exists():
                (mine / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(lesson, mine / name)
                added.append(name)
    return added


def take_language(args: list[str]) -> tuple[str, list[str]]:
    """``--lang zh`` (or ``--lang=zh``) out of a command's arguments: the edition, and the other arguments."""
    language, rest = "en", []
    arguments = iter(args)
    for argument in arguments:
        if argument == "--lang":
            language = next(arguments, "")
        elif argument.startswith("--lang="):
            language = argument.split("=", 1)[1]
        else:
            rest.append(argument)
    if language not in EDITIONS:
        sys.exit(f"--lang: the course's editions are {', '.join(EDITIONS)}, not {language!r}")
    return language, rest


def lab_options(language: str, venv: Path = VENV) -> list[str]:
    """JupyterLab's options for the course in ``language``: its extension, and JupyterLab's own language.

    JupyterLab's language is a setting (the translation extension's ``locale``); its
    default goes into an ``overrides.json`` of the course's own, in the environment, so
    it holds for this JupyterLab only, and a language the learner chose in Settings →
    Language still wins.
    """
    if language == "en":
        return list(LAB_OPTIONS)
    settings = venv / "share" / "ws-course" / f"lab-settings-{language}"
    settings.mkdir(parents=True, exist_ok=True)
    overrides = {"@jupyterlab/translation-extension:plugin": {"locale": LAB_LOCALES[language]}}
    (settings / "overrides.json").write_text(json.dumps(overrides, indent=1) + "\n")
    return [*LAB_OPTIONS, f"--LabApp.app_settings_dir={settings}"]


def lesson_rules():
    """The package's ``ws_course/lessons.py``, loaded from its file: the rules for naming and backing up lessons.

    Loaded, not imported: this script runs before the package is installed, and
    lessons.py needs only the standard library. So ``reset`` here and
    ``ws_course.lessons.reset_lesson()`` in a notebook (on a hub, with no course.py)
    name lessons the same way and keep the learner's version the same way.
    """
    spec = importlib.util.spec_from_file_location("ws_course_lesson_rules", HERE / "ws_course" / "lessons.py")
    rules = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(rules)
    return rules


def reset_lessons(names: list[str], course: Path = NOTEBOOKS, mine: Path = MY_NOTEBOOKS) -> list[str]:
    """Put lessons of ``mine`` back as ``course`` has them; the learner's versions go to ``mine/backups``.

    ``names`` are lesson numbers or file names (``03``, ``03-chat``, ``03-chat.ipynb``),
    or ``--all``. Returns the names of the lessons reset; an unknown name is an error.
    """
    rules = lesson_rules()
    try:
        chosen = rules.choose_lessons(names, [lesson.name for lesson in course.glob("*.ipynb")])
    except LookupError as error:
        raise SystemExit(str(error)) from None
    if not chosen:
        raise SystemExit("say which lesson to reset (for example: reset 03), or --all")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for lesson in chosen:
        rules.keep_a_backup(mine / lesson, mine / rules.BACKUPS, stamp)  # never overwrites a backup
        mine.mkdir(exist_ok=True)
        shutil.copy2(course / lesson, mine / lesson)
    return chosen


def reset(args: list[str]) -> None:
    language, names = take_language(args)
    folder = EDITIONS[language]
    for name in reset_lessons(names, NOTEBOOKS / folder, MY_NOTEBOOKS / folder):
        print(f"{MY_NOTEBOOKS.name}/{folder + '/' if folder else ''}{name} is the course's version again", flush=True)


def has_chinese_font() -> bool | None:
    """Whether fontconfig knows a font with Chinese glyphs (None: no fontconfig to ask)."""
    if not shutil.which("fc-list"):
        return None
    listed = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True, check=False)
    return bool(listed.stdout.strip())


def ensure_chinese_font() -> None:
    """Install Debian's small Chinese font when there is none (as root on Debian); else say what it changes."""
    if has_chinese_font() is False and not apt_install(DEBIAN_CHINESE_FONT):
        print(f"No font for Chinese here: the plots of lessons 07b and 09b will speak English "
              f"(Debian: apt-get install {DEBIAN_CHINESE_FONT}, or fonts-noto-cjk).", flush=True)


def lab(args: list[str]) -> None:
    language, args = take_language(args)
    install(npm=False)
    if language == "zh":
        ensure_chinese_font()
    # Lesson 09 starts a private Redis: install Debian's when we can; the other lessons do without.
    if not shutil.which("redis-server") and not apt_install("redis-server"):
        print("Lesson 09 needs the Redis server, redis-server (Debian: apt-get install redis-server; "
              "conda: conda install -c conda-forge redis); the other lessons do not.", flush=True)
    os.chdir(HERE)
    added = make_working_copy()
    if added:
        print(f"Your copy of the lessons is in {MY_NOTEBOOKS} ({len(added)} new: {', '.join(added)})", flush=True)
    start = "/".join(part for part in (MY_NOTEBOOKS.name, EDITIONS[language], START_NOTEBOOK) if part)
    print(f"JupyterLab prints addresses below: open the one that ends in /lab/tree/{start}?token=...\n"
          "(a bare /lab opens the layout you had last time).", flush=True)
    as_root = ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
    # The whole course folder, so the package and the pages can be opened too; start at the contents.
    os.execv(PYTHON, [
        str(PYTHON), "-m", "jupyter", "lab", *as_root, f"--ServerApp.root_dir={HERE}",
        f"--LabApp.default_url=/lab/tree/{start}", *lab_options(language), *args,
    ])


def test(args: list[str]) -> None:
    # What the tests need from Debian, when missing, in one apt-get: Node.js and npm (for npm ci),
    # the Redis server (lesson 09 and its tests start a private one; conda: redis, from conda-forge),
    # and a Chromium for the browser tests.
    # And a font for Chinese, so that the Chinese plots are tested as a learner with one sees them.
    missing = [packages for command, packages in (("npm", "nodejs npm"), ("redis-server", "redis-server"))
               if not shutil.which(command)]
    if not find_chromium(headless_shell=True) and shutil.which("apt-get"):
        missing.append(DEBIAN_CHROMIUM)
    if has_chinese_font() is not True and shutil.which("apt-get"):  # (no fontconfig yet: the font brings it)
        missing.append(DEBIAN_CHINESE_FONT)
    if missing:
        apt_install(" ".join(missing))
    install()
    ensure_debian_package("redis-server", "redis-server", "the Redis server (Debian: redis-server; conda: redis)")
    env = {**os.environ, "WS_COURSE_CHROMIUM": ensure_chromium()}
    os.chdir(HERE)
    # Most tests wait on sockets, browsers and kernels rather than on the CPU: a few
    # workers at once (pytest-xdist) take half the time, even on two cores. Tests that
    # must share a worker (a notebook's cells share one kernel; a module's tests, one
    # JupyterLab) go to one worker together: with --dist loadgroup, the root
    # conftest.py's scheduler says which, and orders them costliest first
    # (--no-loadscope-reorder: xdist would sort them by their number of tests instead).
    # Any free worker takes the other tests one at a time. "-n 0" after "test" runs
    # everything in one process.
    parallel = ["-n", str(TEST_WORKERS), "--dist", "loadgroup", "--no-loadscope-reorder"]
    result = subprocess.run([str(PYTHON), "-m", "pytest", *parallel, *args], env=env)
    sys.exit(result.returncode)


def execute(args: list[str]) -> None:
    install(npm=False)
    notebooks = [str(Path(arg).resolve()) for arg in args] or sorted(
        str(path) for folder in EDITIONS.values() for path in (NOTEBOOKS / folder).glob("*.ipynb")
    )
    # The same command nbval's comparison is checked against: a fresh kernel, top to bottom.
    run(
        PYTHON, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute", "--inplace",
        "--ExecutePreprocessor.timeout=120", *notebooks, cwd=HERE / "notebooks",
    )


def book(args: list[str]) -> None:
    install(npm=False)
    # book/build.py: Sphinx and MyST-NB, from the notebooks' stored outputs (no kernel runs).
    result = subprocess.run([str(PYTHON), str(HERE / "book" / "build.py"), *(args or [str(BOOK)])])
    sys.exit(result.returncode)


COMMANDS = {"lab": lab, "test": test, "reset": reset, "execute": execute, "book": book,
            "install": lambda args: install()}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    COMMANDS[sys.argv[1]](sys.argv[2:])
