"""A smoke run of ``benchmarks/node_vs_python.py``: the course's servers and Node's, under a tiny load.

The comparison itself (server CPU per message, latency, idle memory) runs by hand,
on a quiet machine; see README, "Speed". Here every server of every case must
start (Node.js found on the PATH, its packages installed by ``course.py install``),
carry messages, and be measured, and the plot must be drawn.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import node_vs_python  # noqa: E402  (benchmarks/node_vs_python.py)

pytestmark = pytest.mark.slow  # about 20 s


def test_the_comparison_with_node_runs_on_a_tiny_load(tmp_path):
    assert shutil.which("node"), "Node.js must be on the PATH"
    plot = tmp_path / "node-vs-python.png"
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / "node_vs_python.py"), "--quick", "--plot", str(plot)],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert lines[0].split()[:3] == ["case", "server", "CPU"]
    rows = {(line[:11].strip(), line[12:40].strip()): line[40:].split() for line in lines[1:] if not line.startswith("goal")}
    expected = {(case, label) for case, servers in node_vs_python.CASES.items() for label, _, _ in servers}
    assert set(rows) == expected, set(rows) ^ expected
    for (case, server), values in rows.items():
        if case == "idle":
            assert float(values[0]) > 0, (case, server, values)  # KiB per connection
        else:
            cpu, p50, rate = float(values[0]), float(values[2]), float(values[4])
            # (CPU is counted in 10 ms ticks: a tiny load may use less than one.)
            assert cpu >= 0 and p50 > 0 and rate > 0, (case, server, values)
    goals = [line for line in lines if line.startswith("goal ")]
    assert {line.split()[1].rstrip(":") for line in goals} == {"scream", "chat", "json-chat", "event-chat", "idle"}
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
