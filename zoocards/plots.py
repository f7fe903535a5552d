"""Accuracy-versus-cost scatter plots as inline SVG text, with the Pareto front marked.

Why static SVG and not Vega-Lite: the site must work offline, so an interactive chart would
mean shipping vega, vega-lite and vega-embed (~800 kB of JavaScript) with the site, and the
chart would appear only after that JavaScript ran. A chart here is a few dozen points, so
what interaction buys (hover, zoom) is covered by a `<title>` tooltip on each point. And the
build budget (a 1000-family zoo rendered in seconds) allows about a millisecond per chart:
plain string formatting takes a fraction of that, a matplotlib or vl-convert call 50-500x more.

Pure: `scatter(...)` takes points and returns one `<svg>` element as text; every label and
tooltip is HTML-escaped. Nothing here knows about cards or languages.
"""

from __future__ import annotations

import html
import itertools
import math
from operator import attrgetter
from dataclasses import astuple, dataclass
from typing import Any, Sequence

# Colour-blind-safe categorical palette (Okabe-Ito, without yellow, which is unreadable on white).
PALETTE = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#56b4e9", "#e69f00", "#000000")
CHAR_WIDTH = 0.6  # average glyph width of the label font, in font sizes (Latin model names)
# Above this many points only the Pareto front is labelled: the rest would overlap anyway.
LABEL_ALL_LIMIT = 40


@dataclass(frozen=True)
class Point:
    """One model: cost on x, accuracy on y."""

    x: float
    y: float
    label: str
    series: str = ""
    tooltip: str = ""
    group: str = ""  # which points belong together (one card's models): `scatter`'s memo keeps groups


@dataclass(frozen=True)
class Size:
    """The drawing area and its margins, in SVG user units (CSS pixels at 100%)."""

    width: int = 520
    height: int = 360
    left: int = 54
    right: int = 16
    top: int = 16
    bottom: int = 46
    font: int = 12


def pareto_front(points: Sequence[Point]) -> list[Point]:
    """Points no other point beats on both axes (lower x and higher y), by increasing x."""
    front: list[Point] = []
    best = -math.inf
    for point in sorted(points, key=lambda p: (p.x, -p.y)):
        if point.y > best:
            front.append(point)
            best = point.y
    return front


def log_ticks(low: float, high: float) -> list[float]:
    """Tick values for a log axis: 1-2-5 steps when the range spans few decades, decades otherwise."""
    first, last = math.floor(math.log10(low)), math.ceil(math.log10(high))
    steps = (1, 2, 5) if last - first <= 3 else (1,)
    ticks = [step * 10.0**exponent for exponent in range(first, last + 1) for step in steps]
    inside = [t for t in ticks if low <= t * (1 + 1e-9) and t <= high * (1 + 1e-9)]
    return inside if len(inside) >= 2 else [low, high]


def linear_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high], about `count` of them."""
    raw = (high - low) / max(count, 1)
    magnitude = 10.0 ** math.floor(math.log10(raw))
    step = min((m * magnitude for m in (1, 2, 2.5, 5, 10)), key=lambda candidate: abs(candidate - raw))
    start = math.ceil(low / step - 1e-9) * step
    ticks = []
    value = start
    while value <= high + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    return ticks


def number(value: float) -> str:
    """A tick label: short, no exponent, no trailing zeros."""
    text = f"{value:.4g}"
    if "e" in text:
        text = f"{value:f}".rstrip("0").rstrip(".")
    return text


def _domain(values: list[float], log: bool) -> tuple[float, float]:
    low, high = min(values), max(values)
    if log:
        # A 10% margin in log space each side, and a decade at least, so one point is not on the frame.
        low, high = low / 1.25, high * 1.25
        if high / low < 10:
            middle = math.sqrt(low * high)
            low, high = middle / math.sqrt(10), middle * math.sqrt(10)
        return low, high
    span = high - low or max(abs(high) * 0.1, 1.0)
    return low - span * 0.08, high + span * 0.08


def scatter(points: Sequence[Point], x_title: str, y_title: str, *, front_label: str, caption: str = "", series: Sequence[str] = (), log_x: bool = True, size: Size = Size(), memo: "Memo | None" = None) -> str:
    """One scatter plot as an `<svg>` element on a single line (safe as a Markdown raw HTML block).

    `series` fixes the colour order, so a family keeps its colour in every chart of a page.
    `memo` (a `Memo`) reuses the circles of earlier drawings; the output is the same without it.
    """
    usable = [p for p in points if math.isfinite(p.x) and math.isfinite(p.y) and (p.x > 0 or not log_x)]
    if not usable:
        return ""
    x_low, x_high = _domain([p.x for p in usable], log_x)
    y_low, y_high = _domain([p.y for p in usable], False)
    plot_w, plot_h = size.width - size.left - size.right, size.height - size.top - size.bottom
    if log_x:
        log_low, log_span = math.log10(x_low), math.log10(x_high) - math.log10(x_low)

        def sx(x: float) -> float:
            return size.left + (math.log10(x) - log_low) / log_span * plot_w
    else:

        def sx(x: float) -> float:
            return size.left + (x - x_low) / (x_high - x_low) * plot_w

    def sy(y: float) -> float:
        return size.top + (y_high - y) / (y_high - y_low) * plot_h

    esc = html.escape
    bottom, right = size.top + plot_h, size.left + plot_w
    out = [
        f'<svg class="zc-plot" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size.width} {size.height}" role="img" aria-label="{esc(caption or y_title + " / " + x_title)}" font-size="{size.font}">',
        f'<rect x="{size.left}" y="{size.top}" width="{plot_w}" height="{plot_h}" class="zc-plot-frame"/>',
    ]
    for tick in log_ticks(x_low, x_high) if log_x else linear_ticks(x_low, x_high):
        x = sx(tick)
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{size.top}" y2="{bottom}" class="zc-plot-grid"/><text x="{x:.1f}" y="{bottom + size.font + 3}" text-anchor="middle" class="zc-plot-tick">{number(tick)}</text>')
    for tick in linear_ticks(y_low, y_high):
        y = sy(tick)
        out.append(f'<line x1="{size.left}" x2="{right}" y1="{y:.1f}" y2="{y:.1f}" class="zc-plot-grid"/><text x="{size.left - 4}" y="{y + size.font / 3:.1f}" text-anchor="end" class="zc-plot-tick">{number(tick)}</text>')
    out.append(f'<text x="{size.left + plot_w / 2:.1f}" y="{size.height - 6}" text-anchor="middle" class="zc-plot-title">{esc(x_title)}</text>')
    out.append(f'<text transform="translate({size.font + 2},{size.top + plot_h / 2:.1f}) rotate(-90)" text-anchor="middle" class="zc-plot-title">{esc(y_title)}</text>')

    front = pareto_front(usable)
    on_front = set(map(id, front))
    if len(front) > 1:
        path = " ".join(f"{sx(p.x):.1f},{sy(p.y):.1f}" for p in front)
        out.append(f'<polyline points="{path}" class="zc-plot-front"><title>{esc(front_label)}</title></polyline>')
    colour = colours(list(series) + sorted({p.series for p in usable} - set(series)))
    # The circles of one group (one card's models) follow from its points and the axes alone:
    # `memo` keeps them between drawings of the same chart, so after one card changed only its
    # group is formatted again. A group is reused only when its points are the very objects
    # drawn last time (the caller keeps them while the card is unchanged) and the same of
    # them are on the front.
    table = memo.table((caption, x_title, x_low, x_high, y_low, y_high, log_x, astuple(size), tuple(colour.items()))) if memo is not None else None
    placed = _Boxes()
    for group, members in itertools.groupby(usable, key=attrgetter("group")):
        run = tuple(members)
        fronts = tuple(i for i, point in enumerate(run) if id(point) in on_front)
        kept = table.get(group) if table is not None and group else None
        if kept is None or kept[0] != fronts or len(kept[1]) != len(run) or not all(a is b for a, b in zip(kept[1], run)):
            circles, boxes = [], []
            for i, point in enumerate(run):
                cx, cy = sx(point.x), sy(point.y)
                tip = esc(point.tooltip or f"{point.label}: {number(point.x)}, {number(point.y)}")
                radius, klass = (5, "zc-plot-point zc-plot-on-front") if i in fronts else (4, "zc-plot-point")
                circles.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{radius}" fill="{colour[point.series]}" class="{klass}"><title>{tip}</title></circle>')
                boxes.append((cx - 5, cy - 5, cx + 5, cy + 5))
            kept = (fronts, run, "".join(circles), boxes)
            if table is not None and group:
                table[group] = kept
        out.append(kept[2])
        placed.add_points(kept[3])

    # Labels: the front first, then the rest while they fit. Each tries four spots around its
    # point; one that would cover a point or a label already placed is left out (its point
    # keeps its tooltip).
    label_font = size.font - 1
    candidates = front + ([p for p in usable if id(p) not in on_front] if len(usable) <= LABEL_ALL_LIMIT else [])
    for point in candidates:
        width = len(point.label) * label_font * CHAR_WIDTH
        x, y = sx(point.x), sy(point.y)
        for left, baseline in ((x + 6, y - 5), (x + 6, y + label_font + 3), (x - 6 - width, y - 5), (x - 6 - width, y + label_font + 3)):
            box = (left, baseline - label_font, left + width, baseline + 2)
            inside = size.left <= box[0] and box[2] <= right and size.top <= box[1] and box[3] <= bottom
            if inside and not placed.overlaps(box):
                placed.add(box)
                out.append(f'<text x="{left:.1f}" y="{baseline:.1f}" font-size="{label_font}" class="zc-plot-label">{esc(point.label)}</text>')
                break
    out.append("</svg>")
    return "".join(out)


class Memo:
    """What earlier `scatter` calls drew, per chart (caption, titles, axes, colours); charts the last round did not draw are dropped at `rotate`."""

    def __init__(self) -> None:
        self.previous: dict[tuple[object, ...], dict[str, tuple[object, ...]]] = {}
        self.current: dict[tuple[object, ...], dict[str, tuple[object, ...]]] = {}

    def table(self, axes: tuple[object, ...]) -> dict[str, Any]:
        """The groups drawn on these axes: group -> (front indices, points, circles, boxes)."""
        if axes not in self.current:
            self.current[axes] = self.previous.get(axes, {})
        return self.current[axes]

    def rotate(self) -> None:
        """Start a new round: only what the finished round used is kept."""
        self.previous, self.current = self.current, {}


class _Boxes:
    """Rectangles (left, top, right, bottom) in a grid of cells, so an overlap test looks at neighbours only.

    A point's box (10 units square, smaller than a cell) is filed under the cell of its centre
    and found from the neighbouring cells; a label's box is filed under every cell it spans.
    """

    CELL = 24.0

    def __init__(self) -> None:
        self.cells: dict[tuple[int, int], list[tuple[float, float, float, float]]] = {}

    def add_points(self, boxes: list[tuple[float, float, float, float]]) -> None:
        cells, cell = self.cells, self.CELL
        for box in boxes:
            key = (int((box[0] + box[2]) / 2 // cell), int((box[1] + box[3]) / 2 // cell))
            found = cells.get(key)
            if found is None:
                cells[key] = [box]
            else:
                found.append(box)

    def _span(self, box: tuple[float, float, float, float], margin: int) -> list[tuple[int, int]]:
        cell = self.CELL
        return [(i, j) for i in range(int(box[0] // cell) - margin, int(box[2] // cell) + 1 + margin)
                for j in range(int(box[1] // cell) - margin, int(box[3] // cell) + 1 + margin)]

    def add(self, box: tuple[float, float, float, float]) -> None:
        for key in self._span(box, 0):
            self.cells.setdefault(key, []).append(box)

    def overlaps(self, box: tuple[float, float, float, float]) -> bool:
        seen = self.cells
        return any(
            box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3]
            for key in self._span(box, 1) for b in seen.get(key, ())
        )


def colours(series: Sequence[str]) -> dict[str, str]:
    """The colour of each series, in palette order."""
    return {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(series)}


def legend(series: Sequence[str], front_label: str) -> str:
    """An HTML legend for the colours `scatter` gives `series` (pass the same sequence)."""
    items = [f'<span class="zc-plot-key"><span class="zc-plot-swatch" style="background:{colour}"></span>{html.escape(name)}</span>' for name, colour in colours(series).items() if name]
    items.append(f'<span class="zc-plot-key"><span class="zc-plot-swatch zc-plot-swatch-front"></span>{html.escape(front_label)}</span>')
    return f'<div class="zc-plot-legend">{"".join(items)}</div>'
