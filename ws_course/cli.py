"""The command line: run a demo server in the foreground until Ctrl-C.

    ws-course serve echo --port 8001
    python -m ws_course serve scream
    ws-course list
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import socket
import sys

from . import demos
from .socketio_app import SocketIOServer


async def serve_forever(demo: str, host: str, port: int) -> None:
    """Run one demo server until cancelled (Ctrl-C cancels it, through :func:`asyncio.run`)."""
    name, open_server = demos.resolve(demo)
    server = await demos.listen(name, open_server, host, port)
    port = demos.bound_port(server)
    where = lan_address() if host in ("", "0.0.0.0") else host
    print(f"The {name} server is running. Open http://{where}:{port}/ in a browser", flush=True)
    if isinstance(server, SocketIOServer):
        print(f"(Socket.IO clients connect to http://{where}:{port}/). Press Ctrl-C to stop.", flush=True)
    else:
        print(f"(its socket: ws://{where}:{port}/). Press Ctrl-C to stop.", flush=True)
    try:
        await asyncio.Future()  # wait until Ctrl-C cancels this coroutine
    finally:
        await demos.close(server)  # closes every connection with 1001, "going away"


def lan_address() -> str:
    """This machine's address on its network, as other machines see it (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # a documentation address: connect() only picks a route
            return probe.getsockname()[0]
        except OSError:
            return "127.0.0.1"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ws-course", description="Run the WebSocket course's demo servers.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run a demo server in the foreground until Ctrl-C")
    serve.add_argument("demo", help=f"one of: {', '.join(demos.NAMES)}")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0: every machine on the network)")
    serve.add_argument("--port", type=int, default=8001, help="port to listen on (default 8001; 0 picks a free one)")
    commands.add_parser("list", help="list the demos")
    args = parser.parse_args(argv)

    if args.command == "list":
        print("\n".join(demos.NAMES))
        return 0
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    try:
        asyncio.run(serve_forever(args.demo, args.host, args.port))
    except KeyboardInterrupt:
        print("Stopped.", flush=True)
    except (ValueError, demos.PortInUseError) as exc:
        print(f"ws-course: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
