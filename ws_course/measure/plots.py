"""Lesson 09's plots and table of a room's fan-out (:mod:`ws_course.measure.fanout`), from the learner's own run."""

from __future__ import annotations

from .fanout import FanOut

__all__ = ["fanout_table", "plot_fanout"]


def plot_fanout(runs: list[tuple[str, FanOut]]):
    """Two plots against the room's size: latency to the last member, and CPU per delivery."""
    import io

    from IPython.display import Image
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
    return Image(data=png.getvalue(), format="png")


def fanout_table(runs: list[tuple[str, FanOut]]):
    """Every run's numbers, one row each (measured values are marked: stored outputs mask them)."""
    import html

    from IPython.display import HTML

    def measured(value: str) -> str:
        return f'<span class="measured">{html.escape(value)}</span>'

    rows = "".join(
        f"<tr><td>{html.escape(label)}</td><td>{run.members}</td><td>{run.messages}</td>"
        f"<td>{measured(f'{run.median_ms:.1f} ms')}</td><td>{measured(f'{run.cpu_us_per_delivery:.1f} µs')}</td></tr>"
        for label, run in runs
    )
    head = "".join(f"<th>{name}</th>" for name in
                   ("servers", "members", "messages", "until the last member has it (median)", "CPU per delivery"))
    return HTML(f"<table><tr>{head}</tr>{rows}</table>")

