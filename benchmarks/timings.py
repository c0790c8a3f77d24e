#!/usr/bin/env python3
"""Wall times of the test command and of each notebook under nbval.

    python3 benchmarks/timings.py           each notebook under nbval, then every test file
    python3 benchmarks/timings.py --full    also the whole README test command (python3 course.py test)

Run it after `python3 course.py install`. Timings vary with the machine's load: they
are reported, never asserted in tests.
"""

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
PYTHON = HERE / ".venv" / "bin" / "python"


def timed(command: list[str]) -> tuple[float, int]:
    started = time.perf_counter()
    result = subprocess.run(command, cwd=HERE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started, result.returncode


def main() -> None:
    targets = sorted(str(p.relative_to(HERE)) for p in (HERE / "notebooks").glob("*.ipynb"))
    targets += sorted(str(p.relative_to(HERE)) for p in (HERE / "tests").glob("test_*.py"))
    print(f"{'what':45} {'wall s':>7}  result")
    for target in targets:
        seconds, code = timed([str(PYTHON), "-m", "pytest", "-q", target])
        print(f"{target:45} {seconds:7.1f}  {'passed' if code == 0 else 'FAILED'}")
    if "--full" in sys.argv:
        seconds, code = timed([sys.executable, "course.py", "test"])
        print(f"{'python3 course.py test (everything)':45} {seconds:7.1f}  {'passed' if code == 0 else 'FAILED'}")


if __name__ == "__main__":
    main()
