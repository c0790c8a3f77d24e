"""Lesson 09b's figures of a room's fan-out (:mod:`ws_course.measure.fanout`), from the learner's own run.

- :func:`plot_fanout`: two plots against the room's size, latency and CPU per delivery;
- :func:`fanout_table`: every run's numbers;
- :func:`fanout_findings`: what the numbers say, in sentences chosen *from* the numbers.
  Whether two processes delivered sooner than one, whether the CPU per delivery
  fell or rose: a machine decides that, not the lesson's author, so no sentence is
  written in advance.

The plot is drawn by a process of its own (``python -m ws_course.measure.plots``,
the runs as JSON in, a PNG out): matplotlib costs a kernel some 50 MB that it
would keep until it is shut down. That process speaks the notebook's language
(``WS_COURSE_LANG`` in its environment), and draws Chinese words with a font that
has them (:func:`speak_in_figures`).

The setups' labels (``"one process"``) are the learner's own, from the notebook's
code: they are shown as they are, in every language.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import subprocess
import sys

from ..language import ENVIRONMENT_VARIABLE, _, language, use_language
from .fanout import FanOut

__all__ = ["fanout_findings", "fanout_table", "plot_fanout", "show_findings", "speak_in_figures"]

#: Two numbers within this fraction of each other are "about the same": one run's noise.
SAME = 0.10

#: Fonts with Chinese glyphs, by family name: the first one installed draws a Chinese figure's words.
CHINESE_FONTS = (
    "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN", "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei", "Droid Sans Fallback", "AR PL UMing CN", "Microsoft YaHei", "SimHei", "PingFang SC",
    "Heiti SC", "Noto Sans CJK JP",
)


def speak_in_figures() -> str:
    """Set matplotlib up to draw the current language's words, in this process; the language the figures speak.

    Chinese needs a font that has its glyphs (matplotlib's own DejaVu Sans has
    none): the first of :data:`CHINESE_FONTS` installed draws what DejaVu Sans
    cannot, and the Latin letters and digits look as they do in English. With no
    such font, Chinese words would be empty boxes: the figures speak English
    instead (Debian's ``fonts-noto-cjk`` or ``fonts-wqy-zenhei`` gives them Chinese).
    Meant for the drawing processes: it changes matplotlib's settings for the process.
    """
    if language() != "zh":
        return language()
    import matplotlib
    from matplotlib import font_manager

    chinese = _chinese_font(font_manager.fontManager)
    if chinese is None:
        use_language("en")
        return "en"
    matplotlib.rcParams["font.family"] = ["DejaVu Sans", chinese]  # each glyph from the first font that has it
    return "zh"


def _chinese_font(fonts) -> str | None:
    """The first of :data:`CHINESE_FONTS` matplotlib's font list has, else None.

    matplotlib keeps its list of the system's fonts in a cache, made once: a font
    installed after that (``course.py lab --lang zh`` installs one) is not in it, so
    when none is, the system's font files not in the list are added to it first.
    """
    def first():
        installed = {font.name for font in fonts.ttflist}
        return next((name for name in CHINESE_FONTS if name in installed), None)

    if (found := first()) is None:
        from matplotlib import font_manager

        known = {font.fname for font in fonts.ttflist}
        for path in font_manager.findSystemFonts():
            if path not in known:
                try:
                    fonts.addfont(path)
                except (OSError, RuntimeError, ValueError):
                    continue  # a file FreeType cannot read: not a font we need
        found = first()
    return found


def plot_fanout(runs: list[tuple[str, FanOut]]):
    """Two plots against the room's size: latency to the last member, and CPU per delivery (a PNG image)."""
    from IPython.display import Image

    runs_json = json.dumps([[label, dataclasses.asdict(run)] for label, run in runs])
    speaking = {**os.environ, ENVIRONMENT_VARIABLE: language()}  # the plot's words are chosen in that process
    drawn = subprocess.run([sys.executable, "-m", __name__], input=runs_json.encode(), capture_output=True,
                           check=False, env=speaking)
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

    speak_in_figures()
    figure = Figure(figsize=(11, 4), layout="constrained")
    latency, cpu = figure.subplots(1, 2)
    for label in dict.fromkeys(label for label, _run in runs):
        mine = sorted((run for name, run in runs if name == label), key=lambda run: run.members)
        sizes = [run.members for run in mine]
        latency.plot(sizes, [run.median_ms for run in mine], "o-", label=label)
        cpu.plot(sizes, [run.cpu_us_per_delivery for run in mine], "o-", label=label)
    for axes in (latency, cpu):
        axes.set_xscale("log")
        axes.set_xticks(sizes, [str(size) for size in sizes])
        axes.set_xlabel(_("members in the room"))
        axes.legend(fontsize=8)
    latency.set_yscale("log")
    latency.set_title(_("One message, until the last member has it (median)"))
    latency.set_ylabel(_("milliseconds"))
    cpu.set_title(_("CPU of the servers (and Redis) per delivery"))
    cpu.set_ylabel(_("microseconds per message per member"))
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
    head = "".join(f"<th>{name}</th>" for name in (_("servers"), _("members"), _("messages"),
                                                 _("until the last member has it (median)"), _("CPU per delivery"),
                                                 _("filling the room")))
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
        return _("stayed about the same")
    steps = [_compared(after, before, "down", "up", "flat") for before, after in itertools.pairwise(values)]
    if set(steps) <= {"down", "flat"}:
        return _("fell")
    if set(steps) <= {"up", "flat"}:
        return _("rose")
    # Translators: the steps of a series as it went, "went down" then ", then up": "it went down, then up".
    first = {"down": _("went down"), "up": _("went up"), "flat": _("went nowhere")}
    then = {"down": _(", then down"), "up": _(", then up"), "flat": _(", then nowhere")}
    return first[steps[0]] + "".join(then[step] for step in steps[1:])


def _finding(topic: str, said: str) -> str:
    """A finding: its topic in bold, then what it says (``**one process**: a message reached...``)."""
    return _("**{topic}**: {finding}").format(topic=topic, finding=said)


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
        grew = _compared(big.median_ms, small.median_ms, "less", "more", "same")
        if grew == "more":
            said = _("a message reached the last of {small} members in {small_ms}, the last of {big} in {big_ms}: "
                     "{times} times as long for {ratio} times the members (a process writes to its members one "
                     "after the other).")
        elif grew == "same":
            said = _("a message reached the last of {small} members in {small_ms}, the last of {big} in {big_ms}: "
                     "about as long, though the room was bigger.")
        else:
            said = _("a message reached the last of {small} members in {small_ms}, the last of {big} in {big_ms}: "
                     "less time for the bigger room, which a single run's noise can do.")
        found.append(_finding(label, said.format(
            small=small.members, small_ms=_ms(small.median_ms), big=big.members, big_ms=_ms(big.median_ms),
            times=f"{times:.1f}", ratio=f"{big.members / small.members:.0f}")))

    if 1 in setups and 2 in setups:
        one_label, one = setups[1]
        two_label, two = setups[2]
        sizes = sorted(set(one) & set(two))
        if sizes:
            # 2. Two processes against one: sooner, later, or the same, room by room.
            verdicts = {size: _compared(two[size].median_ms, one[size].median_ms, "sooner", "later", "about as soon")
                        for size in sizes}
            words = {"sooner": _("sooner"), "later": _("later"), "about as soon": _("about as soon")}
            parts = [_("{members} members: {two} against {one} ({verdict})").format(
                         members=size, two=_ms(two[size].median_ms), one=_ms(one[size].median_ms),
                         verdict=words[verdicts[size]])
                     for size in sizes]
            # Translators: between two rooms' numbers, "10 members: 0.5 ms against 0.2 ms (later); 100 members: ...".
            rooms = _("; ").join(parts)
            biggest, smallest = sizes[-1], sizes[0]
            if verdicts[biggest] == "sooner":
                said = _("{rooms}. In the biggest room two processes won: each wrote to its half of the room at the "
                         "same time, and that saved more than the hop through Redis cost.").format(rooms=rooms)
            else:
                said = _("{rooms}. Even in the biggest room, two processes were not sooner: the hop through Redis "
                         "(a publish, a relay, a receipt) cost more than writing to half the room saved, on a "
                         "machine of {cores} cores shared by the servers, Redis and the measuring clients.").format(
                             rooms=rooms, cores=os.cpu_count())
            if verdicts[smallest] == "later" and smallest != biggest:
                said += _(" With {members} members the hop through Redis is most of the way, so two were "
                          "later.").format(members=smallest)
            found.append(_finding(_("Two processes against one, until the last member had the message"), said))

            # 3. CPU per delivery as the room grew, in each setup.
            for label, by_size in ((one_label, one), (two_label, two)):
                values = [by_size[size].cpu_us_per_delivery for size in sizes]
                if len(values) > 1:
                    found.append(_finding(
                        _("CPU per delivery, {setup}").format(setup=label),
                        _("{values} for {sizes} members: it {trend}.").format(
                            values=" → ".join(_us(value) for value in values), sizes=", ".join(map(str, sizes)),
                            trend=_trend(values))))

            # 4. What Redis adds per delivery, and whether a big room spreads it out.
            extra = {size: two[size].cpu_us_per_delivery - one[size].cpu_us_per_delivery for size in sizes}
            dearer = [size for size in sizes if extra[size] > SAME * one[size].cpu_us_per_delivery]
            if len(dearer) == len(sizes):
                said = _("Two processes and Redis spent more CPU per delivery than one process in every room")
            elif dearer:
                said = _("Two processes and Redis spent more CPU per delivery than one process with {members} "
                         "members").format(members=_listed(dearer))
            else:
                said = _("Two processes and Redis spent no more CPU per delivery than one process, in any room")
            if len(sizes) > 1 and extra[smallest] > 0:
                shrank = _compared(extra[biggest], extra[smallest], "shrank", "grew", "stayed about the same")
                words = {"shrank": _("shrank"), "grew": _("grew"), "stayed about the same": _("stayed about the same")}
                said += _("; the extra, {small_extra} with {smallest} members and {big_extra} with {biggest}, "
                          "{went} as the room grew").format(
                              small_extra=_us(extra[smallest]), smallest=smallest, big_extra=_us(extra[biggest]),
                              biggest=biggest, went=words[shrank])
                if shrank == "shrank":
                    said += _(": a message's trip through Redis is paid once, and a big room shares it out over "
                              "many deliveries")
            # Translators: the full stop after the sentence above, put together from its parts.
            said += _(".")
            if biggest in dearer:
                said += _(" So what the second process buys is a second core, and room for more members, not "
                          "cheaper messages.")
            found.append(said)

    # 5. Filling the biggest room, against talking in it.
    biggest_runs = [run for _label, by_size in setups.values() for run in by_size.values()]
    if biggest_runs:
        run = max(biggest_runs, key=lambda run: (run.members, run.fill_seconds))
        talking = sum(run.latencies)
        if run.fill_seconds > talking:
            said = _("{arrivals} \"comes in\" deliveries took {fill} s; its {messages} messages took {talking} s: "
                     "the arrivals, not the talk, were the heavy part.")
        else:
            said = _("{arrivals} \"comes in\" deliveries took {fill} s; its {messages} messages took {talking} s.")
        found.append(_finding(_("Filling the room of {members}").format(members=run.members), said.format(
            arrivals=f"{run.members * (run.members + 1) // 2:,}", fill=f"{run.fill_seconds:.1f}",
            messages=run.messages, talking=f"{talking:.1f}")))
    return found


def _listed(sizes: list[int]) -> str:
    """``"10, 100 and 1000"``."""
    if len(sizes) == 1:
        return str(sizes[0])
    return _("{first} and {last}").format(first=", ".join(map(str, sizes[:-1])), last=sizes[-1])


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
        topic = re.match(r"\*\*(.+?)\*\*(：|:? ?)", sentence)  # in Chinese, a full-width colon follows the topic
        rest = sentence[topic.end():] if topic else sentence
        said = f"<b>{html.escape(topic[1])}</b>{'：' if topic[2] == '：' else ': '}" if topic else ""
        items.append(f'<li>{said}<span class="measured">{html.escape(rest.replace("**", ""), quote=False)}</span></li>')
    return HTML(f"<ul>{''.join(items)}</ul>")


def main() -> None:
    """Read ``[[label, run], ...]`` as JSON on stdin, write :func:`draw_png`'s PNG on stdout."""
    runs = [(label, FanOut(**run)) for label, run in json.load(sys.stdin)]
    sys.stdout.buffer.write(draw_png(runs))


if __name__ == "__main__":
    main()
