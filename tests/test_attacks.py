"""The issue's attacks against ``ws-course serve`` (a subprocess), measured: memory, log size, bystanders.

The attacks are those of ``benchmarks/attacks.py``, at sizes that take a few
seconds each. The bounds are generous (a noisy two-core machine must pass them
with the fixes); without the fixes each test fails far beyond them: memory in
the GBs, stderr in the MBs, requests never answered.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import attacks  # noqa: E402  (benchmarks/attacks.py)

pytestmark = pytest.mark.slow  # measured attacks: up to 20 s each

#: The issue's bound on a server's memory under attack.
MAX_RSS_MB = 300


@pytest.mark.parametrize("demo", ["chat", "json_chat"])
async def test_slow_readers_under_a_flood_cost_bounded_memory_and_bystanders_chat_on(demo):
    """Point 1: 100 slow readers, messages of 64 KiB until the server has cut every one of them (about
    150, however busy the machine; unpatched, none is cut and most of 100 x 9.6 MB stays queued)."""
    result = await attacks.broadcast_flood(demo, slow=100, seconds=20, max_messages=1000, until_all_cut=True)
    assert result.peak_rss_mb < MAX_RSS_MB, result
    assert result.bystanders, result
    assert "; 100 of 100 slow readers cut" in result.note, result


async def test_socketio_slow_members_under_a_flood_cost_bounded_memory():
    """Point 1 on Socket.IO: unpatched, Engine.IO keeps every message for a member that does not read (400 MB).

    The flood ends once the server has cut every slow member (about 70 messages of
    60 KB each); unpatched, none is ever cut, and it goes on for the 30 s.
    """
    result = await attacks.socketio_flood(slow=10, seconds=30, max_messages=3000, pause=0.001, until_all_cut=True)
    assert "; 10 of 10 slow members cut" in result.note, result
    assert result.peak_rss_mb < MAX_RSS_MB, result
    assert result.bystanders, result


async def test_running_out_of_file_descriptors_logs_no_traceback_storm():
    """Point 3: with 128 open files, 150 connections: no storm of accept() tracebacks, bystanders chat on."""
    result = await attacks.out_of_files("chat", open_files=128, connections=150, hold=1)
    assert result.bystanders, result
    assert "503" in result.note, result  # the members beyond the cap were refused, not left to time out
    assert " 0 tracebacks" in result.note, result
    assert result.stderr_bytes < 100_000, result


async def test_a_thousand_members_dropping_at_once_print_a_handful_of_warnings():
    """Point 3: unpatched, 1000 members reset while others talk printed thousands of send warnings."""
    result = await attacks.mass_drop("chat", members=1000, talkers=10)
    warnings = int(result.note.rsplit("; ", 1)[1].split()[0])
    assert warnings <= 5, result
    assert result.bystanders, result


async def test_oversized_long_polling_posts_are_answered_with_413():
    """Point 7: unpatched, each such POST dropped its session and was never answered."""
    result = await attacks.socketio_big_posts(posts=20, size=1_000_000)
    assert result.note == "20 x 413", result
    assert result.peak_rss_mb < MAX_RSS_MB and result.bystanders, result


async def test_events_with_a_wrong_number_of_arguments_cost_one_log_line():
    """Hardening, point 5: before, 200 such events logged 200 tracebacks (196 KB), and the sender stayed."""
    result = await attacks.argument_count("event-chat", packets=200)
    assert "the sender was disconnected" in result.note and " 0 tracebacks" in result.note, result
    assert result.stderr_bytes < 10_000 and result.bystanders, result


async def test_large_messages_do_not_grow_the_log():
    """Hardening, point 5: before, 5 texts of 500 KB to the scream server logged 2.5 MB."""
    result = await attacks.large_messages("scream", messages=5, size=500_000)
    assert result.stderr_bytes < 10_000, result


@pytest.mark.parametrize("demo", ["chat", "event-chat"])
async def test_a_page_rebound_to_this_machine_is_refused_and_bystanders_chat_on(demo):
    """Hardening, point 1: before, ``Host`` and ``Origin`` both rebind.example:PORT agreed, and the
    rebound page got 101 and read the room (and 200 for the page, and for a polling session)."""
    result = await attacks.dns_rebinding(demo, listen=1)
    assert "WebSocket 403, 0 bystanders' messages read" in result.note and "page 403" in result.note, result
    assert demo != "event-chat" or "polling 403" in result.note, result
    assert result.bystanders, result


async def test_a_flood_of_empty_fragments_costs_the_handmade_server_little():
    """Hardening, point 6: the benchmark's flood case runs (its figures are reported, not asserted here:
    tests/test_handmade.py proves that a fragment costs the same work however many came before)."""
    result = await attacks.empty_fragments(fragments=40_000)
    assert "echo 'first last'" in result.note, result
    assert re.search(r"server CPU [\d.]+ s", result.note) and result.bystanders, result


def test_the_benchmark_runs():
    """A smoke run of ``benchmarks/attacks.py --quick`` on two cases."""
    process = subprocess.run(
        [sys.executable, str(BENCHMARKS / "attacks.py"), "--quick", "pongs", "log"],
        capture_output=True, text=True, timeout=120,
    )
    assert process.returncode == 0, process.stderr
    lines = process.stdout.splitlines()
    assert lines[0].split()[:4] == ["case", "demo", "peak", "MB"]
    assert lines[1].startswith("pongs") and "the client was cut" in lines[1] and lines[1].split()[4] == "yes"
    assert lines[2].startswith("log") and "10001 lines kept" in lines[2]
