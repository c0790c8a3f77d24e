"""Lesson 09b's fan-out experiment: measured by a process of its own, drawn by another, and read in
sentences chosen from the numbers (tested here with tables of both shapes, no timing asserted)."""

from __future__ import annotations

import os
import re
import socket

import pytest

from ws_course import start
from ws_course.measure.fanout import FanOut, measure_elsewhere
from ws_course.measure.plots import (
    _trend,
    fanout_findings,
    fanout_table,
    plot_fanout,
    show_findings,
)


def run(members: int, processes: int, median_ms: float, cpu_us: float, messages: int = 10, fill: float = 1.0) -> FanOut:
    """A room as :func:`measure_fanout` would report it: ``median_ms`` to the last member, ``cpu_us`` per delivery."""
    return FanOut(members, processes, messages, [median_ms / 1000] * messages,
                  cpu_us * messages * members / 1e6, fill)


def table(one: list[tuple[float, float]], two: list[tuple[float, float]], sizes=(10, 100, 1000)):
    return ([("one process", run(size, 1, *numbers)) for size, numbers in zip(sizes, one)]
            + [("two processes + Redis", run(size, 2, *numbers)) for size, numbers in zip(sizes, two)])


#: The run the issue reports: two processes later even with 1000 members; CPU per delivery down, then up.
TWO_LATER = table(one=[(0.3, 46), (2.1, 10), (20.8, 24)], two=[(0.9, 90), (3.0, 20), (24.8, 30)])
#: A machine with a core to spare: two processes sooner in the big room; CPU per delivery flat in one process.
TWO_SOONER = table(one=[(0.3, 10), (2.1, 10.5), (20.8, 10.2)], two=[(0.9, 40), (1.9, 14), (11.0, 11)])


def test_the_findings_say_later_when_two_processes_were_later():
    text = " ".join(fanout_findings(TWO_LATER))
    assert "1000 members: 24.8 ms against 20.8 ms (later)" in text
    assert "Even in the biggest room, two processes were not sooner" in text
    assert "two processes won" not in text and "(sooner)" not in text
    assert "With 10 members the hop through Redis is most of the way, so two were later." in text
    assert "**CPU per delivery, one process**: 46.0 µs → 10.0 µs → 24.0 µs for 10, 100, 1000 members: it went down, then up." in text
    # The extra per delivery: 44 µs with 10, 6 µs with 1000: it shrank.
    assert "the extra, 44.0 µs with 10 members and 6.0 µs with 1000, shrank as the room grew" in text
    assert "not cheaper messages" in text


def test_the_findings_say_sooner_when_two_processes_were_sooner():
    text = " ".join(fanout_findings(TWO_SOONER))
    assert "1000 members: 11.0 ms against 20.8 ms (sooner)" in text
    assert "100 members: 1.9 ms against 2.1 ms (about as soon)" in text
    assert "In the biggest room two processes won" in text and "not sooner" not in text
    assert "CPU per delivery, one process**: 10.0 µs → 10.5 µs → 10.2 µs for 10, 100, 1000 members: it stayed about the same." in text
    assert "it fell." in text  # two processes: 40 → 14 → 11
    # With 1000 members two processes cost 11 µs against 10.2: within 10 %, not "more".
    assert "more CPU per delivery than one process with 10 and 100 members" in text
    assert "not cheaper messages" not in text


def test_the_findings_never_say_a_big_room_spreads_a_cost_that_grew():
    grew = table(one=[(0.3, 10), (2.0, 10), (20.0, 10)], two=[(0.6, 12), (3.0, 15), (30.0, 20)])
    text = " ".join(fanout_findings(grew))
    assert "the extra, 2.0 µs with 10 members and 10.0 µs with 1000, grew as the room grew" in text
    assert "shares it out" not in text
    assert "a message reached the last of 10 members in 0.3 ms, the last of 1000 in 20.0 ms: 66.7 times as long" in text


def test_the_findings_say_when_latency_did_not_grow_and_when_filling_was_not_the_heavy_part():
    flat = [("one process", run(10, 1, 48.0, 10, fill=0.1)), ("one process", run(100, 1, 50.0, 10, fill=0.2))]
    text = " ".join(fanout_findings(flat))
    assert "the last of 100 in 50.0 ms: about as long, though the room was bigger." in text
    assert "**Filling the room of 100**: 5,050 \"comes in\" deliveries took 0.2 s; its 10 messages took 0.5 s." in text
    assert "heavy part" not in text
    heavy = [("one process", run(100, 1, 5.0, 10, fill=3.0))]
    assert "the arrivals, not the talk, were the heavy part." in " ".join(fanout_findings(heavy))


@pytest.mark.parametrize(("values", "said"), [
    ([10, 10.5, 9.8], "stayed about the same"),
    ([46, 10, 5], "fell"),
    ([5, 10, 46], "rose"),
    ([46, 10, 24], "went down, then up"),
    ([10, 30, 31], "rose"),
])
def test_a_trend_is_said_as_it_went(values, said):
    assert _trend(values) == said


async def test_a_room_is_measured_by_a_process_of_its_own_which_reports_json():
    with start("chat", name="fanout-test") as server:
        measured = await measure_elsewhere([server.port], [os.getpid()], 20, 5)  # the server: a thread of this process
    assert (measured.members, measured.processes, measured.messages, len(measured.latencies)) == (20, 1, 5, 5)
    assert measured.fill_seconds > 0 and all(latency > 0 for latency in measured.latencies)


async def test_a_failed_measurement_says_why():
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]  # bound, never listening: connections are refused
        with pytest.raises(RuntimeError, match="measuring a room of 3 failed: ConnectionRefusedError"):
            await measure_elsewhere([port], [0], 3, 2)


def test_the_plot_is_drawn_by_another_process_and_the_table_marks_measured_values():
    png = plot_fanout(TWO_LATER).data
    assert png.startswith(b"\x89PNG")
    html = fanout_table(TWO_LATER).data
    assert html.count("<tr>") == 7 and '<span class="measured">24.8 ms</span>' in html


def test_the_findings_are_shown_with_each_sentence_marked_as_measured():
    shown = show_findings(TWO_LATER).data
    assert shown.count("<li>") == len(fanout_findings(TWO_LATER)) == 7
    assert '<li><b>one process</b>: <span class="measured">a message reached the last of 10 members' in shown
    assert '<li><b>Two processes against one, until the last member had the message</b>: <span class="measured">10 members: 0.9 ms against 0.3 ms' in shown
    assert re.sub(r'class="measured">[^<]*<', "", shown).count("ms") == 0  # every number is inside a measured span


def test_a_chinese_plot_has_every_glyph_or_speaks_english():
    """matplotlib warns of each glyph its fonts lack: in Chinese, the figure is drawn with a font for Chinese
    when one is installed (the test command installs Debian's), and in English, not in empty boxes, when none is."""
    import json
    import subprocess
    import sys

    script = """
import json, sys, warnings
from ws_course.language import _
from ws_course.measure.fanout import FanOut
from ws_course.measure.plots import CHINESE_FONTS, draw_png, speak_in_figures
from matplotlib import font_manager
runs = [(label, FanOut(**run)) for label, run in json.load(sys.stdin)]
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    spoken = speak_in_figures()
    png = draw_png(runs)
installed = {font.name for font in font_manager.fontManager.ttflist} & set(CHINESE_FONTS)
print(json.dumps({"font": sorted(installed), "spoken": spoken, "png": png[:4].hex(),
                  "missing": [str(w.message) for w in caught if "missing from font" in str(w.message)]}))
"""
    runs = json.dumps([[label, {**vars(run)}] for label, run in TWO_LATER])
    drawn = subprocess.run([sys.executable, "-c", script], input=runs, capture_output=True, text=True,
                           env={**os.environ, "WS_COURSE_LANG": "zh"}, check=True)
    said = json.loads(drawn.stdout)
    assert said["png"] == b"\x89PNG".hex()
    assert said["missing"] == []
    assert said["spoken"] == ("zh" if said["font"] else "en")
