"""Lesson 09b's figures of a room's fan-out (:mod:`ws_course.measure.fanout`), from the learner's own run.

- :func:`plot_fanout`: two plots against the room's size, latency and CPU per delivery;
- :func:`fanout_table`: every run's numbers;
- :func:`fanout_findings`: what the numbers say, in sentences chosen *from* the numbers.
  Whether two processes delivered sooner than one, whether the CPU per delivery
  fell or rose: a machine decides that, not the lesson's author, so no sentence is
  written in advance.

The plot is drawn by a process of its own (``python -m ws_course.measure.plots``,
the runs as JSON in, a PNG out): matplotlib costs a kernel some 50 MB that it
would keep until it is shut down.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import subprocess
import sys

from .fanout import FanOut

__all__ = ["fanout_findings", "fanout_table", "plot_fanout", "show_findings"]

#: Two numbers within this fraction of each other are "about the same": one run's noise.
SAME = 0.10


def plot_fanout(runs: list[tuple[str, FanOut]]):
    """Two plots against the room's size: latency to the last member, and CPU per delivery (a PNG image)."""
    from IPython.display import Image

    runs_json = json.dumps([[label, dataclasses.asdict(run)] for label, run in runs])
    drawn = subprocess.run([sys.executable, "-m", __name__], input=runs_json.encode(), capture_output=True, check=False)
    if drawn.returncode != 0:
        said = drawn.stderr.decode(errors="replace").strip().splitlines()
        raise RuntimeError(f"drawing the plot failed: {said[-1] if said else drawn.returncode}")
    return Image(data=drawn.stdout, format="png")


def draw_png(runs: list[tuple[str, FanOut]]) -> bytes:
    """The figure of :func:`plot_fanout`, drawn here, as PNG bytes."""
    import io

    from matplotlib.figure import (
        Figure,  # no pyplot: nothing global, nothing shown twice
    )

    figure = Figure(figsize=(11, 4), layout="constrained")
    latency, cpu = figure.subplots(1, 2)
    for label in dict.fromkeys(label for label, _ in runs):
        mine = sorted((run for name, run in runs if name == label), key=lambda run: run.members)
        sizes = [run.members for run in mine]
        latency.plot(sizes, [run.median_ms for run in mine], "o-", label=label)
        cpu.plot(sizes, [run.cpu_us_per_delivery for run in mine], "o-", label=label)
    for axes in (latency, cpu):
        axes.set_xscale("log")
        axes.set_xticks(sizes, [str(size) for size in sizes])
        axes.set_xlabel("members in the room")
        axes.legend(fontsize=8)
    latency.set_yscale("log")
    latency.set_title("One message, until the last member has it (median)")
    latency.set_ylabel("milliseconds")
    cpu.set_title("CPU of the servers (and Redis) per delivery")
    cpu.set_ylabel("microseconds per message per member")
    cpu.set_ylim(bottom=0)
    png = io.BytesIO()
    figure.savefig(png, format="png", dpi=80)
    return png.getvalue()


def fanout_table(runs: list[tuple[str, FanOut]]):
    """Every run's numbers, one row each (measured values are marked: stored outputs mask them)."""
    import html

    from IPython.display import HTML

    def measured(value: str) -> str:
        return f'<span class="measured">{html.escape(value)}</span>'

    rows = "".join(
        f"<tr><td>{html.escape(label)}</td><td>{run.members}</td><td>{run.messages}</td>"
        f"<td>{measured(f'{run.median_ms:.1f} ms')}</td><td>{measured(f'{run.cpu_us_per_delivery:.1f} µs')}</td>"
        f"<td>{measured(f'{run.fill_seconds:.1f} s')}</td></tr>"
        for label, run in runs
    )
    head = "".join(f"<th>{name}</th>" for name in ("servers", "members", "messages",
                                                 "until the last member has it (median)", "CPU per delivery",
                                                 "filling the room"))
    return HTML(f"<table><tr>{head}</tr>{rows}</table>")


def _ms(value: float) -> str:
    return f"{value:.1f} ms"


def _us(value: float) -> str:
    return f"{value:.1f} µs"


def _compared(value: float, other: float, less: str, more: str, same: str) -> str:
    """``less``, ``more`` or ``same``: ``value`` against ``other``, :data:`SAME` apart counting as the same."""
    if value < other * (1 - SAME):
        return less
    if value > other * (1 + SAME):
        return more
    return same


def _trend(values: list[float]) -> str:
    """How a series went as the room grew: "stayed about the same", "fell", "rose", or each step said."""
    if max(values) <= min(values) * (1 + 2 * SAME):
        return "stayed about the same"
    steps = [_compared(after, before, "down", "up", "flat") for before, after in itertools.pairwise(values)]
    if set(steps) <= {"down", "flat"}:
        return "fell"
    if set(steps) <= {"up", "flat"}:
        return "rose"
    return "went " + ", then ".join(step if step != "flat" else "nowhere" for step in steps)


def fanout_findings(runs: list[tuple[str, FanOut]]) -> list[str]:
    """What the learner's own runs say, one sentence (or two) per finding, each chosen from the numbers.

    ``runs`` are ``(label, FanOut)`` pairs: rooms of several sizes, on one process
    and on two processes with Redis (a label names each setup; a run's
    ``processes`` tells them apart). Nothing here is fixed in advance: "sooner",
    "fell", "shrank" are said only when the numbers say so; numbers within
    :data:`SAME` of each other are "about the same".
    """
    setups: dict[int, tuple[str, dict[int, FanOut]]] = {}
    for label, run in runs:
        setups.setdefault(run.processes, (label, {}))[1][run.members] = run
    found = []

    # 1. Latency against the room's size, in each setup.
    for label, by_size in setups.values():
        sizes = sorted(by_size)
        if len(sizes) < 2:
            continue
        small, big = by_size[sizes[0]], by_size[sizes[-1]]
        times = small.median_ms and big.median_ms / small.median_ms
        said = (f"**{label}**: a message reached the last of {small.members} members in {_ms(small.median_ms)}, "
                f"the last of {big.members} in {_ms(big.median_ms)}")
        grew = _compared(big.median_ms, small.median_ms, "less", "more", "same")
        if grew == "more":
            said += (f": {times:.1f} times as long for {big.members / small.members:.0f} times the members "
                     "(a process writes to its members one after the other).")
        elif grew == "same":
            said += ": about as long, though the room was bigger."
        else:
            said += ": less time for the bigger room, which a single run's noise can do."
        found.append(said)

    if 1 in setups and 2 in setups:
        one_label, one = setups[1]
        two_label, two = setups[2]
        sizes = sorted(set(one) & set(two))
        if sizes:
            # 2. Two processes against one: sooner, later, or the same, room by room.
            verdicts = {size: _compared(two[size].median_ms, one[size].median_ms, "sooner", "later", "about as soon")
                        for size in sizes}
            parts = [f"{size} members: {_ms(two[size].median_ms)} against {_ms(one[size].median_ms)} ({verdicts[size]})"
                     for size in sizes]
            said = f"**Two processes against one, until the last member had the message**: {'; '.join(parts)}. "
            biggest, smallest = sizes[-1], sizes[0]
            if verdicts[biggest] == "sooner":
                said += ("In the biggest room two processes won: each wrote to its half of the room at the same "
                         "time, and that saved more than the hop through Redis cost.")
            else:
                said += (f"Even in the biggest room, two processes were not sooner: the hop through Redis (a publish, "
                         "a relay, a receipt) cost more than writing to half the room saved, on a machine of "
                         f"{os.cpu_count()} cores shared by the servers, Redis and the measuring clients.")
            if verdicts[smallest] == "later" and smallest != biggest:
                said += f" With {smallest} members the hop through Redis is most of the way, so two were later."
            found.append(said)

            # 3. CPU per delivery as the room grew, in each setup.
            for label, by_size in ((one_label, one), (two_label, two)):
                values = [by_size[size].cpu_us_per_delivery for size in sizes]
                if len(values) > 1:
                    found.append(f"**CPU per delivery, {label}**: {' → '.join(_us(value) for value in values)} "
                                 f"for {', '.join(map(str, sizes))} members: it {_trend(values)}.")

            # 4. What Redis adds per delivery, and whether a big room spreads it out.
            extra = {size: two[size].cpu_us_per_delivery - one[size].cpu_us_per_delivery for size in sizes}
            dearer = [size for size in sizes if extra[size] > SAME * one[size].cpu_us_per_delivery]
            if len(dearer) == len(sizes):
                said = "Two processes and Redis spent more CPU per delivery than one process in every room"
            elif dearer:
                said = f"Two processes and Redis spent more CPU per delivery than one process with {_listed(dearer)} members"
            else:
                said = "Two processes and Redis spent no more CPU per delivery than one process, in any room"
            if len(sizes) > 1 and extra[smallest] > 0:
                shrank = _compared(extra[biggest], extra[smallest], "shrank", "grew", "stayed about the same")
                said += (f"; the extra, {_us(extra[smallest])} with {smallest} members and {_us(extra[biggest])} "
                         f"with {biggest}, {shrank} as the room grew")
                if shrank == "shrank":
                    said += (": a message's trip through Redis is paid once, and a big room shares it out over "
                             "many deliveries")
            said += "."
            if biggest in dearer:
                said += (" So what the second process buys is a second core, and room for more members, not "
                         "cheaper messages.")
            found.append(said)

    # 5. Filling the biggest room, against talking in it.
    biggest_runs = [run for _, by_size in setups.values() for run in by_size.values()]
    if biggest_runs:
        run = max(biggest_runs, key=lambda run: (run.members, run.fill_seconds))
        talking = sum(run.latencies)
        said = (f"**Filling the room of {run.members}**: {run.members * (run.members + 1) // 2:,} \"comes in\" "
                f"deliveries took {run.fill_seconds:.1f} s; its {run.messages} messages took {talking:.1f} s")
        if run.fill_seconds > talking:
            said += ": the arrivals, not the talk, were the heavy part."
        else:
            said += "."
        found.append(said)
    return found


def _listed(sizes: list[int]) -> str:
    return " and ".join([", ".join(map(str, sizes[:-1])), str(sizes[-1])]) if len(sizes) > 1 else str(sizes[0])


def show_findings(runs: list[tuple[str, FanOut]]):
    """:func:`fanout_findings` as a list to read under the figures.

    Each sentence is marked as measured (a stored notebook's checker masks it: another
    run may find the opposite), its bold topic is not.
    """
    import html
    import re

    from IPython.display import HTML

    items = []
    for sentence in fanout_findings(runs):
        topic = re.match(r"\*\*(.+?)\*\*:? ?", sentence)
        rest = sentence[topic.end():] if topic else sentence
        said = f"<b>{html.escape(topic[1])}</b>: " if topic else ""
        items.append(f'<li>{said}<span class="measured">{html.escape(rest.replace("**", ""), quote=False)}</span></li>')
    return HTML(f"<ul>{''.join(items)}</ul>")


def main() -> None:
    """Read ``[[label, run], ...]`` as JSON on stdin, write :func:`draw_png`'s PNG on stdout."""
    runs = [(label, FanOut(**run)) for label, run in json.load(sys.stdin)]
    sys.stdout.buffer.write(draw_png(runs))


if __name__ == "__main__":
    main()
