"""Charts as PNG bytes: a `ChartSpec` (the numbers and the translated words) drawn by
matplotlib's Agg backend.

The spec is plain data, built by bot.stats (officers) and bot.trends (residents): tests check
what is plotted there, since nobody can read a PNG back, and the weekly digest stores the spec
in its outbox row (JSON, `to_json`), so the chart is drawn when the row is sent, from the
numbers frozen when the digest was queued. Drawing takes a tenth of a second of CPU, so it runs
in a worker thread (`png`); matplotlib's object API (a `Figure` per call, no pyplot state) is
safe there. The Agg backend is chosen explicitly: no display, no GUI toolkit, whatever the
machine has installed.
"""

from __future__ import annotations

import asyncio
import functools
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

# Okabe–Ito: colours told apart with every common colour-vision deficiency, one per series key.
COLOURS = {
    "person": "#E69F00",
    "vehicle": "#56B4E9",
    "theft": "#D55E00",
    "vandalism": "#CC79A7",
    "hazard": "#F0E442",
    "other": "#009E73",
    "several": "#8C8C8C",
    "spam": "#BBBBBB",
}
FALLBACK_COLOUR = "#999999"
HATCHES = {"several": "//"}  # merged categories: striped, never mistaken for one category
SIZE = (8.0, 4.5)  # inches, at 100 dpi: 800 × 450 pixels, sharp after Telegram's compression
DPI = 100


@dataclass(frozen=True)
class Series:
    """One stacked layer of bars: a category, "several" (categories merged) or "spam"."""

    key: str
    label: str
    values: tuple[int, ...]  # one per bar; 0 draws nothing


@dataclass(frozen=True)
class ChartSpec:
    """Everything a chart shows. `marks` is a note above each bar ("" for none); `y_ticks`
    fixes the value axis (empty: whole numbers chosen by matplotlib)."""

    title: str
    bars: tuple[str, ...]  # the label under each bar
    series: tuple[Series, ...]
    y_label: str
    x_label: str = ""
    y_ticks: tuple[int, ...] = ()
    marks: tuple[str, ...] = ()

    def heights(self) -> list[int]:
        """Each bar's total height: the sum of its stacked values."""
        return [sum(s.values[i] for s in self.series) for i in range(len(self.bars))]

    def to_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "bars": list(self.bars),
            "series": [
                {"key": s.key, "label": s.label, "values": list(s.values)} for s in self.series
            ],
            "y_label": self.y_label,
            "x_label": self.x_label,
            "y_ticks": list(self.y_ticks),
            "marks": list(self.marks),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ChartSpec:
        """The spec a digest row stored; ValueError when it is not one."""
        try:
            return cls(
                title=str(data["title"]),
                bars=tuple(str(label) for label in data["bars"]),
                series=tuple(
                    Series(str(s["key"]), str(s["label"]), _counts(s["values"]))
                    for s in data["series"]
                ),
                y_label=str(data["y_label"]),
                x_label=str(data.get("x_label", "")),
                y_ticks=_counts(data.get("y_ticks", [])),
                marks=tuple(str(mark) for mark in data.get("marks", [])),
            )
        except (KeyError, TypeError) as error:
            raise ValueError(f"not a chart: {error}") from None


def _counts(values: Sequence[object]) -> tuple[int, ...]:
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        raise ValueError(f"counts must be whole numbers: {values!r}")
    return tuple(int(v) for v in values)  # type: ignore[call-overload]


def _text(value: str) -> str:
    """Our words, never matplotlib's mathematics ($…$)."""
    return value.replace("$", r"\$")


def render_png(spec: ChartSpec) -> bytes:
    """Stacked bars, a legend beside them, notes above the bars. Blocking: see `png`.

    matplotlib is imported here, at the first chart, not at start-up: it is ~0.4 s of the
    bot's 0.8 s of imports, and most restarts draw no chart for a while."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=SIZE, dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    positions = list(range(len(spec.bars)))
    bottoms = [0] * len(spec.bars)
    for series in spec.series:
        if not any(series.values):
            continue
        axes.bar(
            positions,
            series.values,
            bottom=bottoms,
            label=_text(series.label),
            color=COLOURS.get(series.key, FALLBACK_COLOUR),
            hatch=HATCHES.get(series.key),
            edgecolor="white",
            linewidth=0.5,
            width=0.7,
        )
        bottoms = [b + v for b, v in zip(bottoms, series.values, strict=True)]
    for position, mark in zip(positions, spec.marks, strict=False):
        if mark:
            axes.annotate(
                _text(mark),
                (position, bottoms[position]),
                xytext=(0, 3),
                textcoords="offset points",
                ha="center",
                va="bottom",
                fontsize=8,
                color="#555555",
            )
    axes.set_xticks(positions, [_text(label) for label in spec.bars])
    top = max([*bottoms, *spec.y_ticks, 1]) * (1.1 if any(spec.marks) else 1.02)
    if spec.y_ticks:
        axes.set_yticks(spec.y_ticks)
    else:
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_ylim(0, top)
    axes.set_title(_text(spec.title))
    axes.set_ylabel(_text(spec.y_label))
    if spec.x_label:
        axes.set_xlabel(_text(spec.x_label), fontsize=8, color="#555555")
    axes.spines[["top", "right"]].set_visible(False)
    axes.grid(axis="y", alpha=0.3)
    axes.set_axisbelow(True)
    if axes.get_legend_handles_labels()[0]:
        axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


@functools.lru_cache(maxsize=16)
def _drawn(spec: ChartSpec) -> bytes:
    """The same numbers and words draw the same picture: /trends is the same chart for every
    resident of a language all week, so a resident asking again costs no drawing."""
    return render_png(spec)


def forget() -> None:
    """Draw every chart afresh (tests and the bench measure the drawing)."""
    _drawn.cache_clear()


async def png(spec: ChartSpec) -> bytes:
    """The chart as PNG bytes, drawn in a worker thread so the event loop keeps serving."""
    return await asyncio.to_thread(_drawn, spec)
