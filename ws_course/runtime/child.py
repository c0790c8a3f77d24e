"""Run a program that ends when the Python that started it ends: ``python child.py PARENT_PID PROGRAM [ARGS...]``.

A server process or a Redis started from a notebook must not outlive its kernel,
even a kernel killed with SIGKILL, which cannot clean up. Linux can do it: a
process may ask to be sent a signal when its parent dies
(``prctl(PR_SET_PDEATHSIG)``), and the request survives ``exec``. This tiny
program asks for SIGTERM, checks that its parent has not died already (then it
would never be told), and becomes ``PROGRAM``.

It is run by its path, not as ``-m ws_course...``, so that it starts in a few
milliseconds without importing the course. Why not ``subprocess.Popen(...,
preexec_fn=...)``? Python's documentation warns that ``preexec_fn`` is not safe in
a process with threads, and a notebook's kernel runs servers in threads.

Elsewhere (macOS, Windows) it only runs ``PROGRAM``: stopping everything at exit
(``atexit``) is then all there is.
"""

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def main(argv: list[str]) -> None:
    parent, program = int(argv[1]), argv[2:]
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before we asked
            sys.exit(f"{program[0]}: the process that started it has ended")
    os.execvp(program[0], program)


if __name__ == "__main__":
    main(sys.argv)
