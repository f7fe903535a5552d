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
from dataclasses import astuple, dataclass, field
from typing import Any, NamedTuple, Sequence

# Colour-blind-safe categorical palette (Okabe-Ito, without yellow, which is unreadable on white).
PALETTE = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#56b4e9", "#e69f00", "#000000")
CHAR_WIDTH = 0.6  # average glyph width of the label font, in font sizes (Latin model names)
# Above this many points only the Pareto front is labelled: the rest would overlap anyway.
LABEL_ALL_LIMIT = 40


class Point(NamedTuple):
    """One model: cost on x, accuracy on y. (A named tuple: a zoo's charts make 100 000 of them.)"""

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


def _domain(low: float, high: float, log: bool) -> tuple[float, float]:
    if log:
        # A 10% margin in log space each side, and a decade at least, so one point is not on the frame.
        low, high = low / 1.25, high * 1.25
        if high / low < 10:
            middle = math.sqrt(low * high)
            low, high = middle / math.sqrt(10), middle * math.sqrt(10)
        return low, high
    span = high - low or max(abs(high) * 0.1, 1.0)
    return low - span * 0.08, high + span * 0.08


class Drawing(NamedTuple):
    """A chart: the `<svg>` element on one line, and the front's labels it had no room for, which
    the page lists under the chart (a point on the front is never left unnamed without a word)."""

    svg: str
    unlabelled: tuple[str, ...] = ()


def scatter(points: Sequence[Point], x_title: str, y_title: str, *, front_label: str, caption: str = "", series: Sequence[str] = (), log_x: bool = True, size: Size = Size()) -> str:
    """One scatter plot as an `<svg>` element on a single line (safe as a Markdown raw HTML block).

    `series` fixes the colour order, so a family keeps its colour in every chart of a page.
    """
    return draw(points, x_title, y_title, front_label=front_label, caption=caption, series=series, log_x=log_x, size=size).svg


def draw(points: Sequence[Point], x_title: str, y_title: str, *, front_label: str, caption: str = "", series: Sequence[str] = (), log_x: bool = True, size: Size = Size()) -> Drawing:
    """`scatter`, with the labels of front points it could not place."""
    runs = [tuple(run) for _, run in itertools.groupby(points, key=attrgetter("group"))]
    return draw_groups(runs, x_title, y_title, front_label=front_label, caption=caption, series=series, log_x=log_x, size=size)


@dataclass(frozen=True)
class _Group:
    """What one group of points brings to any chart with the same kind of x axis."""

    name: str
    usable: tuple[Point, ...]  # the points a chart can place (finite, and x > 0 on a log axis)
    bounds: tuple[float, float, float, float]  # lowest and highest x, lowest and highest y
    front: tuple[tuple[int, Point], ...]  # the group's own Pareto front, with each point's index in `usable`
    series: frozenset[str]
    xs: tuple[float, ...]  # each usable point's x as the axis places it (its log10 on a log axis)
    ys: tuple[float, ...]
    tips: tuple[str, ...]  # each usable point's tooltip, escaped
    # What follows each circle's coordinates, by fill colour (of one series) and front or not: the
    # same on any axes, so a chart whose axes moved only writes the coordinates again.
    tails: dict[tuple[str, bool], tuple[str, ...]] = field(default_factory=dict, compare=False)

    def tails_for(self, colour: dict[str, str], front: bool) -> tuple[str, ...]:
        radius, klass = (5, "zc-plot-point zc-plot-on-front") if front else (4, "zc-plot-point")
        if len(self.series) != 1:  # several series in one group: not kept
            return tuple(f'" r="{radius}" fill="{colour[p.series]}" class="{klass}"><title>{tip}</title></circle>' for p, tip in zip(self.usable, self.tips))
        fill = colour[next(iter(self.series))]
        made = self.tails.get((fill, front))
        if made is None:
            made = self.tails[fill, front] = tuple(f'" r="{radius}" fill="{fill}" class="{klass}"><title>{tip}</title></circle>' for tip in self.tips)
        return made


def _group(points: Sequence[Point], log_x: bool) -> _Group | None:
    usable = tuple(p for p in points if math.isfinite(p.x) and math.isfinite(p.y) and (p.x > 0 or not log_x))
    if not usable:
        return None
    xs, ys = [p.x for p in usable], [p.y for p in usable]
    index = {id(p): i for i, p in enumerate(usable)}
    # A point beaten inside its group is beaten in any chart holding the group: the chart's front is
    # the front of the groups' fronts.
    front = tuple((index[id(p)], p) for p in pareto_front(usable))
    placed = tuple(map(math.log10, xs)) if log_x else tuple(xs)
    tips = tuple(html.escape(p.tooltip or f"{p.label}: {number(p.x)}, {number(p.y)}") for p in usable)
    return _Group(usable[0].group, usable, (min(xs), max(xs), min(ys), max(ys)), front, frozenset(p.series for p in usable), placed, tuple(ys), tips)


# Groups whose fronts are joined (and kept) together before the chart's front is taken: a
# family's sizes are often all on its own front, so a zoo's groups alone would leave thousands.
FRONT_BLOCK = 32


def _front_of(groups: Sequence[_Group]) -> list[Point]:
    return pareto_front([p for g in groups for _, p in g.front])


def scatter_groups(groups: Sequence[Sequence[Point]], x_title: str, y_title: str, *, front_label: str, caption: str = "", series: Sequence[str] = (), log_x: bool = True, size: Size = Size(), memo: "Memo | None" = None) -> str:
    """`scatter` of points given in groups (one card's models each), drawn in order (see `draw_groups`)."""
    return draw_groups(groups, x_title, y_title, front_label=front_label, caption=caption, series=series, log_x=log_x, size=size, memo=memo).svg


def draw_groups(groups: Sequence[Sequence[Point]], x_title: str, y_title: str, *, front_label: str, caption: str = "", series: Sequence[str] = (), log_x: bool = True, size: Size = Size(), memo: "Memo | None" = None) -> Drawing:
    """`draw` of points given in groups (one card's models each), drawn in order.

    `memo` (a `Memo`) keeps what earlier drawings made of each group: the output is the same
    without it. A group is reused only while it is the very sequence drawn last time (the
    caller keeps it while the card is unchanged), so after one card changed only its group is
    looked at again: the axes, the front and the label test work from per-group summaries.
    """
    found = [memo.group(points, log_x) if memo is not None else _group(points, log_x) for points in groups]
    kept_groups = [g for g in found if g is not None]
    if not kept_groups:
        return Drawing("")
    x_low, x_high = _domain(min(g.bounds[0] for g in kept_groups), max(g.bounds[1] for g in kept_groups), log_x)
    y_top = max(g.bounds[3] for g in kept_groups)
    y_low, y_high = _domain(min(g.bounds[2] for g in kept_groups), y_top, False)
    plot_w, plot_h = size.width - size.left - size.right, size.height - size.top - size.bottom
    # Room for a line of label above the most accurate model, which is on the front: without it
    # that label has no spot above its point and ends up beside another model's point.
    room = min((size.font + 8) / plot_h, 0.5)
    y_high = max(y_high, (y_top - room * y_low) / (1 - room))
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

    blocks = [kept_groups[start:start + FRONT_BLOCK] for start in range(0, len(kept_groups), FRONT_BLOCK)]
    front = pareto_front([p for block in blocks for p in (memo.front_of(block) if memo is not None else _front_of(block))])
    on_front = set(map(id, front))
    if len(front) > 1:
        path = " ".join(f"{sx(p.x):.1f},{sy(p.y):.1f}" for p in front)
        out.append(f'<polyline points="{path}" class="zc-plot-front"><title>{esc(front_label)}</title></polyline>')
    colour = colours(list(series) + sorted(frozenset().union(*(g.series for g in kept_groups)) - set(series)))
    # A group's circles and boxes follow from its points and the axes alone: the chart's memo
    # keeps them between drawings with the same axes, with the boxes filed in a grid.
    chart = memo.chart((caption, x_title, x_low, x_high, y_low, y_high, log_x, astuple(size), tuple(colour.items()))) if memo is not None else _Chart()
    seen: set[tuple[str, int]] = set()
    plot_left, plot_top, y_span = size.left, size.top, y_high - y_low
    x_origin, x_span = (log_low, log_span) if log_x else (x_low, x_high - x_low)
    for group in kept_groups:
        key = (group.name, 0)
        while key in seen:  # the same name twice in one drawing (points not grouped by the caller)
            key = (group.name, key[1] + 1)
        seen.add(key)
        fronts = tuple(i for i, point in group.front if id(point) in on_front)
        kept = chart.groups.get(key)
        if kept is None or kept[0] != fronts or kept[1] is not group.usable:
            # sx and sy written out, with the group's x already on the axis' scale
            tails, front_tails = group.tails_for(colour, False), group.tails_for(colour, True) if fronts else ()
            circles, boxes = [], []
            for i, (px, py) in enumerate(zip(group.xs, group.ys)):
                cx, cy = plot_left + (px - x_origin) / x_span * plot_w, plot_top + (y_high - py) / y_span * plot_h
                circles.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}{front_tails[i] if i in fronts else tails[i]}')
                boxes.append((cx - 5, cy - 5, cx + 5, cy + 5))
            chart.put(key, (fronts, group.usable, "".join(circles)), boxes)
            kept = chart.groups[key]
        out.append(kept[2])
    chart.keep_only(seen)

    # Labels: every point of the front first, then, on a small chart, the rest while they fit. A
    # label tries the four spots beside its point, then (front points only) spots further out in
    # eight directions, joined to the point by a leader line; a spot must stay inside the frame and
    # cover no point and no label. A front label with no spot at all is returned, for the page to
    # list under the chart; another point keeps its tooltip. The front is labelled from its costly
    # end: there the points crowd under the frame's top right corner, with the longest names (on
    # the 53 families of the PaddleClas zoo this leaves 5 of its charts' ~180 front labels unplaced,
    # against 14 from the cheap end).
    label_font = size.font - 1
    frame = (float(size.left), float(size.top), float(right), float(bottom))
    labels = _Boxes()
    leaders: list[str] = []
    texts: list[str] = []
    unlabelled: list[str] = []
    others = [p for g in kept_groups for p in g.usable if id(p) not in on_front] if sum(len(g.usable) for g in kept_groups) <= LABEL_ALL_LIMIT else []
    for point, reach in itertools.chain(((p, LEADER_REACH) for p in reversed(front)), ((p, ()) for p in others)):
        x, y = sx(point.x), sy(point.y)
        spot = place_label(x, y, len(point.label) * label_font * CHAR_WIDTH, label_font, frame, reach, chart.points, labels)
        if spot is None:
            if reach:
                unlabelled.append(point.label)
            continue
        left, baseline, box, leader = spot
        labels.add(box)
        if leader is not None:
            leaders.append(f'<line x1="{leader[0]:.1f}" y1="{leader[1]:.1f}" x2="{leader[2]:.1f}" y2="{leader[3]:.1f}" class="zc-plot-leader"/>')
        texts.append(f'<text x="{left:.1f}" y="{baseline:.1f}" font-size="{label_font}" class="zc-plot-label">{esc(point.label)}</text>')
    out.extend(leaders)
    out.extend(texts)
    out.append("</svg>")
    return Drawing("".join(out), tuple(reversed(unlabelled)))  # in the front's order, by cost


# How far out (in SVG units past the four spots beside a point) a front label may go, ring by
# ring; past the last ring it is listed under the chart instead.
LEADER_REACH = (10.0, 20.0, 32.0, 46.0, 62.0, 80.0, 100.0)
# Directions of the rings' spots, those into the empty corner above and left of a Pareto front
# (no model is both cheaper and more accurate) first, so leader lines do not cross the cloud.
_DIRECTIONS = ((-1, -1), (0, -1), (-1, 0), (1, -1), (-1, 1), (1, 0), (0, 1), (1, 1))

Box = tuple[float, float, float, float]


def place_label(x: float, y: float, width: float, font: int, frame: Box, reach: Sequence[float], points: "_Boxes", labels: "_Boxes") -> tuple[float, float, Box, Box | None] | None:
    """Where a label of `width` goes beside the point at (x, y): (left, baseline, its box, the
    leader line from the point to it or None), or None when every spot leaves the frame or
    covers a point or a label already placed."""

    def free(box: Box) -> bool:
        return frame[0] <= box[0] and box[2] <= frame[2] and frame[1] <= box[1] and box[3] <= frame[3] and not points.overlaps(box) and not labels.overlaps(box)

    # The four spots beside the point, as every chart has always tried them.
    for left, baseline in ((x + 6, y - 5), (x + 6, y + font + 3), (x - 6 - width, y - 5), (x - 6 - width, y + font + 3)):
        box = (left, baseline - font, left + width, baseline + 2)
        if free(box):
            return left, baseline, box, None
    for distance in reach:
        for dx, dy in _DIRECTIONS:
            left = x + 6 + distance if dx > 0 else x - 6 - distance - width if dx < 0 else x - width / 2
            baseline = y - 5 - distance if dy < 0 else y + font + 3 + distance if dy > 0 else y + font / 3
            box = (left, baseline - font, left + width, baseline + 2)
            if free(box):
                # From the point's edge to the nearest point of the label's box.
                near_x, near_y = min(max(x, box[0]), box[2]), min(max(y, box[1]), box[3])
                length = math.hypot(near_x - x, near_y - y) or 1.0
                start = (x + (near_x - x) * 5 / length, y + (near_y - y) * 5 / length)
                return left, baseline, box, (start[0], start[1], near_x, near_y)
    return None


class _Chart:
    """The groups drawn on one chart's axes: circles by group, and every point's box in a grid."""

    def __init__(self) -> None:
        self.groups: dict[tuple[str, int], tuple[tuple[int, ...], tuple[Point, ...], str]] = {}
        self.boxes: dict[tuple[str, int], list[tuple[float, float, float, float]]] = {}
        self.points = _Boxes()

    def put(self, key: tuple[str, int], drawn: tuple[tuple[int, ...], tuple[Point, ...], str], boxes: list[tuple[float, float, float, float]]) -> None:
        self._drop(key)
        self.groups[key], self.boxes[key] = drawn, boxes
        self.points.add_points(boxes)

    def keep_only(self, keys: set[tuple[str, int]]) -> None:
        for key in set(self.groups) - keys:
            self._drop(key)

    def _drop(self, key: tuple[str, int]) -> None:
        if key in self.groups:
            del self.groups[key]
            self.points.remove_points(self.boxes.pop(key))


class Memo:
    """What earlier drawings made: each group's summary, and per chart (caption, titles, axes,
    colours) each group's circles; what the last round did not use is dropped at `rotate`."""

    def __init__(self) -> None:
        self.previous: dict[tuple[object, ...], _Chart] = {}
        self.current: dict[tuple[object, ...], _Chart] = {}
        self.previous_groups: dict[tuple[int, bool], tuple[Sequence[Point], _Group | None]] = {}
        self.current_groups: dict[tuple[int, bool], tuple[Sequence[Point], _Group | None]] = {}
        self.previous_fronts: dict[tuple[int, ...], tuple[list[_Group], list[Point]]] = {}
        self.current_fronts: dict[tuple[int, ...], tuple[list[_Group], list[Point]]] = {}

    def chart(self, axes: tuple[object, ...]) -> _Chart:
        """The groups drawn on these axes."""
        if axes not in self.current:
            self.current[axes] = self.previous.get(axes) or _Chart()
        return self.current[axes]

    def group(self, points: Sequence[Point], log_x: bool) -> _Group | None:
        """The summary of a group, kept while the caller passes the very same sequence."""
        key = (id(points), log_x)
        hit = self.current_groups.get(key) or self.previous_groups.get(key)
        if hit is None or hit[0] is not points:
            hit = (points, _group(points, log_x))
        self.current_groups[key] = hit
        return hit[1]

    def front_of(self, block: list[_Group]) -> list[Point]:
        """The front of a block of group summaries, kept while the block holds the very same ones."""
        key = tuple(map(id, block))
        hit = self.current_fronts.get(key) or self.previous_fronts.get(key)
        if hit is None or not all(a is b for a, b in zip(hit[0], block)):
            hit = (block, _front_of(block))
        self.current_fronts[key] = hit
        return hit[1]

    def rotate(self) -> None:
        """Start a new round: only what the finished round used is kept."""
        self.previous, self.current = self.current, {}
        self.previous_groups, self.current_groups = self.current_groups, {}
        self.previous_fronts, self.current_fronts = self.current_fronts, {}


class _Boxes:
    """Rectangles (left, top, right, bottom), tested for overlap with a new one.

    While there are few (a family's chart), they are one list. Beyond that they are filed in a
    grid of cells, so a test looks at neighbours only: a point's box (10 units square, smaller
    than a cell) under the cell of its centre, and found from the neighbouring cells; a label's
    box under every cell it spans.
    """

    CELL = 24.0
    FEW = 64  # boxes up to which a test looks at them all: cheaper than filing and listing cells

    def __init__(self) -> None:
        self.cells: dict[tuple[int, int], list[tuple[float, float, float, float]]] = {}
        self.few: list[tuple[tuple[float, float, float, float], bool]] | None = []  # (box, is a label), until there are many

    def _centre(self, box: tuple[float, float, float, float]) -> tuple[int, int]:
        return (int((box[0] + box[2]) / 2 // self.CELL), int((box[1] + box[3]) / 2 // self.CELL))

    def _grow(self) -> None:
        if self.few is not None and len(self.few) > self.FEW:
            few, self.few = self.few, None
            for box, label in few:
                if label:
                    self.add(box)
                else:
                    self.add_points([box])

    def add_points(self, boxes: list[tuple[float, float, float, float]]) -> None:
        if self.few is not None:
            self.few.extend((box, False) for box in boxes)
            self._grow()
            return
        cells, size = self.cells, self.CELL
        for box in boxes:
            key = (int((box[0] + box[2]) / 2 // size), int((box[1] + box[3]) / 2 // size))  # _centre, inline: 64 000 boxes per zoo chart
            found = cells.get(key)
            if found is None:
                cells[key] = [box]
            else:
                found.append(box)

    def remove_points(self, boxes: list[tuple[float, float, float, float]]) -> None:
        # An equal box filed by another group is as good.
        for box in boxes:
            if self.few is not None:
                self.few.remove((box, False))
            else:
                self.cells[self._centre(box)].remove(box)

    def _span(self, box: tuple[float, float, float, float], margin: int) -> list[tuple[int, int]]:
        cell = self.CELL
        return [(i, j) for i in range(int(box[0] // cell) - margin, int(box[2] // cell) + 1 + margin)
                for j in range(int(box[1] // cell) - margin, int(box[3] // cell) + 1 + margin)]

    def add(self, box: tuple[float, float, float, float]) -> None:
        if self.few is not None:
            self.few.append((box, True))
            self._grow()
            return
        for key in self._span(box, 0):
            self.cells.setdefault(key, []).append(box)

    def overlaps(self, box: tuple[float, float, float, float]) -> bool:
        left, top, right, bottom = box
        if self.few is not None:
            for b, _ in self.few:
                if left < b[2] and b[0] < right and top < b[3] and b[1] < bottom:
                    return True
            return False
        cells = self.cells
        for key in self._span(box, 1):
            for b in cells.get(key, ()):
                if left < b[2] and b[0] < right and top < b[3] and b[1] < bottom:
                    return True
        return False


def colours(series: Sequence[str]) -> dict[str, str]:
    """The colour of each series, in palette order."""
    return {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(series)}


def legend(series: Sequence[str], front_label: str) -> str:
    """An HTML legend for the colours `scatter` gives `series` (pass the same sequence)."""
    items = [f'<span class="zc-plot-key"><span class="zc-plot-swatch" style="background:{colour}"></span>{html.escape(name)}</span>' for name, colour in colours(series).items() if name]
    items.append(f'<span class="zc-plot-key"><span class="zc-plot-swatch zc-plot-swatch-front"></span>{html.escape(front_label)}</span>')
    return f'<div class="zc-plot-legend">{"".join(items)}</div>'
