"""The command line: run a demo server in the foreground until Ctrl-C (or SIGTERM).

    ws-course serve echo --port 8001
    ws-course serve chat --host 0.0.0.0           # a classroom: every machine on the network
    ws-course serve chat --allow-origin http://teacher.example:8888
    ws-course serve chat --host 0.0.0.0 --allow-host teacher.school.example   # students use that name
    ws-course serve chat --allow-origin null      # the article's pages opened from disk (and any sandboxed frame)
    ws-course serve chat --port 8002 --redis redis://127.0.0.1:6379/0   # one room, many processes
    ws-course serve chat --host 0.0.0.0 --teacher-key SECRET --rate-limit 10   # the teacher's view, its key
    ws-course serve chat --host 0.0.0.0 --lang zh  # prints the pages' addresses in Chinese (?lang=zh)
    python -m ws_course serve scream
    ws-course list
    ws-course link --hub https://hub.example.org --repo https://github.com/you/ws-course   # a teacher's nbgitpuller link

In a classroom, ``chat`` and ``json-chat`` are moderated (:mod:`ws_course.classroom`):
the command prints the address of the teacher's view, with a fresh secret key
(``--teacher-key`` sets one), where the teacher sees who is in the room and can mute
and kick, and the address of the big screen's page (with ``--lang zh``, each page's address asks
for it in Chinese: ``?lang=zh``, which any of them also takes by hand). Every member may send at most
5 messages a second (``--rate-limit N``; 0 switches it off): the extra ones are
dropped, and the log says who said what, by nickname and address. ``event-chat``
(Socket.IO) gets all of it too (:mod:`ws_course.classroom.event_room`).

Ctrl-C (SIGINT) and SIGTERM, what ``kill``, ``docker stop`` and systemd send,
both stop the server cleanly: WebSocket clients get close code 1001 ("going
away"), Socket.IO clients a disconnect.

When `uvloop <https://uvloop.readthedocs.io/>`_ is installed (``pip install
ws-course[fast]``; the course's own installation has it), the server runs on its
event loop, a drop-in replacement for asyncio's written on libuv (Node.js's own
event library): the same code, about half the CPU per message. ``--loop asyncio``
runs it on asyncio's own loop instead.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import secrets
import signal
import socket
import sys

from .classroom.roster import RATE_LIMIT
from .classroom.server import ROOMS, moderated_demo
from .demos import DEMOS, NAMES, find
from .language import LANGUAGES, language
from .language.pages import page_address
from .runtime.server import Library, PortInUseError, listen
from .safety import limits
from .safety.guard import Guard
from .safety.logs import log_to_stderr
from .web.jupyter import proxy_in_front

#: The demos that run moderated, with the teacher's view, in one process.
MODERATED = (*ROOMS, "event_chat")

#: The signals that stop the server: Ctrl-C, and what service managers send.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


async def serve_forever(
    demo: str, host: str, port: int, guard: Guard | None = None, redis: str | None = None,
    *, teacher_key: str | None = None, rate_limit: int = RATE_LIMIT, plain: bool = False, lang: str = "en",
) -> str:
    """Run one demo server until SIGINT or SIGTERM, then close it; return the signal's name.

    ``chat``, ``json_chat`` (:mod:`ws_course.classroom.server`) and ``event_chat``
    (:mod:`ws_course.classroom.event_room`) run moderated, with the teacher's view behind
    ``teacher_key`` (a fresh one if None), unless their room is shared through Redis
    (one process's view would see only its own members, and its rate limit would
    hold back lesson 09's bursts). ``plain``: the demo as the lessons show it,
    unmoderated (what lesson 09's processes run). ``lang``: the language of the pages
    whose addresses it prints (``"zh"``: each with ``lang=zh``).

    The handlers are installed on the event loop for both signals: a server
    started in the background by a script inherits SIGINT *ignored* (so Ctrl-C's
    usual KeyboardInterrupt never comes), and Python does nothing about SIGTERM
    unless told: it would die at once, and every client would see its
    connection break (1006) instead of a goodbye.
    """
    record = find(demo)
    moderated = record.name in MODERATED and redis is None and not plain
    if moderated:
        teacher_key = teacher_key or secrets.token_urlsafe(16)
        if record.name == "event_chat":
            from .classroom.event_room import moderated_demo as moderated_event_chat  # loads python-socketio

            record = moderated_event_chat(teacher_key=teacher_key, rate_limit=rate_limit)
        else:
            record = moderated_demo(record.name, teacher_key=teacher_key, rate_limit=rate_limit)
    server = await listen(record, host, port, guard=guard, redis=redis)
    port, name = server.port, record.name
    where = lan_address() if host in ("", "0.0.0.0") else host
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, lambda signum=signum: stop.done() or stop.set_result(signum))

    def address(path: str) -> str:  # a page's address, in the language asked for
        return page_address(f"http://{where}:{port}{path}", lang)

    print(f"The {name} server is running. Open {address('/')} in a browser", flush=True)
    if record.library is Library.SOCKETIO:
        print(f"(Socket.IO clients connect to http://{where}:{port}/). Press Ctrl-C to stop.", flush=True)
    else:
        print(f"(its socket: ws://{where}:{port}/). Press Ctrl-C to stop.", flush=True)
    if moderated:
        print(f"The teacher's view: {address(f'/teacher?key={teacher_key}')} "
              "(its key is a secret: do not project this terminal)", flush=True)
        print(f"The big screen: {address('/screen')}", flush=True)
    elif record.name in MODERATED and not plain:
        print("(A room shared through Redis is not moderated: no teacher's view, no rate limit.)", flush=True)
    try:
        signum = await stop
    finally:
        for signum_ in STOP_SIGNALS:
            loop.remove_signal_handler(signum_)
        await server.aclose()  # closes every connection with 1001, "going away"
    return signal.Signals(signum).name


def event_loop_factory(choice: str = "auto"):
    """What makes the server's event loop: uvloop's when installed (``auto``), or asyncio's own."""
    if choice == "asyncio":
        return asyncio.new_event_loop
    try:
        import uvloop
    except ImportError:
        if choice == "uvloop":
            raise ValueError("--loop uvloop: uvloop is not installed (pip install uvloop)") from None
        return asyncio.new_event_loop
    return uvloop.new_event_loop


def lan_address() -> str:
    """This machine's address on its network, as other machines see it (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # a documentation address: connect() only picks a route
            return probe.getsockname()[0]
        except OSError:
            return "127.0.0.1"


def add_link_command(commands) -> None:
    """``ws-course link``: the nbgitpuller link that hands the course to every student of a JupyterHub."""
    link = commands.add_parser(
        "link", help="print the nbgitpuller link that brings the lessons into each student's home on a JupyterHub",
        description="Print the nbgitpuller link for your students: it clones the course into their home on the "
        "hub (or pulls your updates, keeping their edits) and opens 00-start-here (see ws_course.lessons).",
    )
    link.add_argument("--hub", required=True, metavar="URL", help="the hub's address, e.g. https://hub.example.org")
    link.add_argument("--repo", required=True, metavar="URL",
                      help="the course's git repository, as git clones it, e.g. https://github.com/you/ws-course")
    link.add_argument("--branch", default="main", help="the branch to hand out (default: main)")
    link.add_argument("--lesson", default="00-start-here", help="the notebook it opens (default: 00-start-here)")
    link.add_argument("--folder", help="the course's folder in each home (default: the repository's name)")


def print_link(args: argparse.Namespace) -> int:
    """Print the link ``ws-course link`` asked for; 2 and a sentence for an address that cannot be right."""
    from .lessons import nbgitpuller_link

    try:
        print(nbgitpuller_link(args.hub, args.repo, branch=args.branch, lesson=args.lesson, folder=args.folder))
    except ValueError as error:
        print(f"ws-course link: {error}", file=sys.stderr)
        return 2
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ws-course", description="Run the WebSocket course's demo servers.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run a demo server in the foreground until Ctrl-C")
    serve.add_argument("demo", help=f"one of: {', '.join(NAMES)}")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0: every machine on the network)")
    serve.add_argument("--port", type=int, default=8001, help="port to listen on (default 8001; 0 picks a free one)")
    serve.add_argument(
        "--max-clients", type=int, metavar="N",
        help="at most N members; the next get HTTP 503 (default: what the open-files limit leaves room for)",
    )
    serve.add_argument(
        "--max-buffer", type=int, metavar="BYTES", default=limits.MAX_BUFFER,
        help=f"disconnect a member that has more than BYTES unsent (default {limits.MAX_BUFFER}, 1 MiB)",
    )
    serve.add_argument(
        "--send-buffer", type=int, metavar="BYTES", default=limits.SEND_BUFFER,
        help=f"each member's kernel send buffer (default {limits.SEND_BUFFER}; 0 leaves it to the system, "
        "which lets it grow to megabytes)",
    )
    serve.add_argument(
        "--allow-origin", action="append", default=[], metavar="URL",
        help="also admit web pages from this origin, e.g. http://192.168.1.10:8888 (repeatable; "
        "the server's own page and non-browser clients are always admitted). 'null' admits pages "
        "opened from disk, such as the article's, and with them any site's sandboxed frames",
    )
    serve.add_argument(
        "--allow-host", action="append", default=[], metavar="NAME",
        help="also answer to this host name, e.g. teacher.school.example, when browsers use it to reach "
        "the server (repeatable; IP addresses, localhost and this machine's name always work; "
        "other names are refused against DNS rebinding)",
    )
    serve.add_argument(
        "--redis", metavar="URL",
        help="share the room with every server started with the same Redis, e.g. redis://127.0.0.1:6379/0 "
        f"(only {', '.join(demo.name for demo in DEMOS.values() if demo.shareable)}; lesson 09); "
        "its password goes in the URL, redis://:PASSWORD@HOST:PORT/DB, or in WS_COURSE_REDIS_PASSWORD",
    )
    serve.add_argument(
        "--loop", choices=("auto", "uvloop", "asyncio"), default="auto",
        help="the event loop: uvloop's when it is installed (auto, the default), or asyncio's own",
    )
    serve.add_argument(
        "--teacher-key", metavar="SECRET",
        help="the key of the teacher's view, at /teacher?key=SECRET (chat, json-chat, event-chat; default: a "
        "fresh random one, printed at start)",
    )
    serve.add_argument(
        "--rate-limit", type=int, metavar="N", default=RATE_LIMIT,
        help=f"pass on at most N messages a second from each member, drop the others (chat, json-chat, "
        f"event-chat; default {RATE_LIMIT}; 0 switches it off)",
    )
    serve.add_argument(
        "--plain", action="store_true",
        help="the demo as the lessons show it: no teacher's view, no rate limit, no log of who said what "
        "(what lesson 09's processes run)",
    )
    serve.add_argument(
        "--lang", choices=LANGUAGES, default=language(),
        help="the language of the pages whose addresses it prints: zh adds ?lang=zh to each (the room's page, "
        "the teacher's view, the big screen; default: the course's language, en unless $WS_COURSE_LANG=zh)",
    )
    commands.add_parser("list", help="list the demos")
    add_link_command(commands)
    args = parser.parse_args(argv)

    if args.command == "link":
        return print_link(args)

    if args.command == "list":
        print("\n".join(NAMES))
        return 0
    repeats = log_to_stderr()
    try:
        open_files = limits.raise_open_files_limit()
        # Started from a notebook or a terminal on a JupyterHub (lesson 09's processes, say),
        # browsers come through the hub's proxy, under its names (see ws_course.safety.origins).
        guard = Guard(
            allow_origins=tuple(args.allow_origin), max_clients=args.max_clients, max_buffer=args.max_buffer,
            allow_hosts=tuple(args.allow_host), behind_proxy=proxy_in_front(),
            send_buffer=args.send_buffer or None,
        )
        new_loop = event_loop_factory(args.loop)
        logging.getLogger("ws_course").info(
            "open files limit %s: at most %d members, %d bytes unsent each%s%s%s; event loop: %s",
            open_files, guard.max_clients, guard.max_buffer,
            f"; also admitting pages from {', '.join(guard.allow_origins)}" if guard.allow_origins else "",
            f"; also answering to the names {', '.join(guard.allow_hosts)}" if guard.allow_hosts else "",
            "; behind a Jupyter server's proxy" if guard.behind_proxy else "",
            new_loop.__module__.split(".")[0],
        )
        with asyncio.Runner(loop_factory=new_loop) as runner:
            if args.rate_limit < 0:
                raise ValueError("--rate-limit must be 0 (off) or more")
            stopped_by = runner.run(serve_forever(
                args.demo, args.host, args.port, guard, args.redis,
                teacher_key=args.teacher_key, rate_limit=args.rate_limit, plain=args.plain, lang=args.lang,
            ))
    except KeyboardInterrupt:  # a Ctrl-C that came before the handlers were installed
        stopped_by = "SIGINT"
    except (ValueError, PortInUseError, ConnectionError) as exc:  # ConnectionError: Redis unreachable
        print(f"ws-course: {exc}", file=sys.stderr)
        return 2
    finally:
        repeats.flush(logging.getLogger("ws_course"))
    logging.getLogger("ws_course").info("stopped by %s", stopped_by)
    print("Stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
