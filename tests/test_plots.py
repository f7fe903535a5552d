"""Scatter plots: Pareto front, axes, escaping, one line of well-formed SVG, and speed."""

from __future__ import annotations

import math
import random
import xml.etree.ElementTree as ET

import pytest

from zoocards import plots
from zoocards.plots import Point

SVG = "{http://www.w3.org/2000/svg}"


def _labels(points: list[Point]) -> list[str]:
    return [p.label for p in points]


@pytest.mark.parametrize(
    ("points", "front"),
    [
        # each cheaper model is less accurate: all on the front
        ([Point(1, 70, "a"), Point(2, 75, "b"), Point(4, 80, "c")], ["a", "b", "c"]),
        # b costs more than a and scores lower: dominated
        ([Point(1, 70, "a"), Point(2, 65, "b"), Point(4, 80, "c")], ["a", "c"]),
        # same cost: only the more accurate one is on the front
        ([Point(1, 70, "a"), Point(1, 72, "b")], ["b"]),
        # same accuracy at a higher cost adds nothing
        ([Point(1, 70, "a"), Point(3, 70, "b")], ["a"]),
        # input order does not matter
        ([Point(4, 80, "c"), Point(1, 70, "a"), Point(2, 75, "b")], ["a", "b", "c"]),
    ],
)
def test_pareto_front(points: list[Point], front: list[str]) -> None:
    assert _labels(plots.pareto_front(points)) == front


def test_log_ticks_stay_inside_the_range_and_use_round_values() -> None:
    ticks = plots.log_ticks(0.15, 40)
    assert ticks == [0.2, 0.5, 1, 2, 5, 10, 20]
    wide = plots.log_ticks(0.001, 5000)  # seven decades: decades only
    assert wide == [0.001, 0.01, 0.1, 1, 10, 100, 1000]


def test_linear_ticks_are_round() -> None:
    assert plots.linear_ticks(55.2, 84.9) == [60, 65, 70, 75, 80]
    assert plots.linear_ticks(71.1, 83.9) == [72.5, 75, 77.5, 80, 82.5]


def _svg(points: list[Point], **kwargs: object) -> ET.Element:
    text = plots.scatter(points, "Compute (G MACs)", "Top-1 (%)", front_label="Pareto front", **kwargs)  # type: ignore[arg-type]
    assert "\n" not in text, "one line, so Markdown takes it as one raw HTML block"
    return ET.fromstring(text)


def test_every_point_has_a_tooltip_and_front_points_are_marked() -> None:
    points = [Point(0.34, 71.9, "T0"), Point(0.85, 75.9, "T1"), Point(0.9, 70.0, "worse")]
    root = _svg(points)
    circles = root.findall(f"{SVG}circle")
    assert [c.find(f"{SVG}title").text for c in circles] == ["T0: 0.34, 71.9", "T1: 0.85, 75.9", "worse: 0.9, 70"]  # type: ignore[union-attr]
    on_front = [c.find(f"{SVG}title").text.split(":")[0] for c in circles if "zc-plot-on-front" in c.get("class", "")]  # type: ignore[union-attr]
    assert on_front == ["T0", "T1"]
    assert root.find(f"{SVG}polyline") is not None
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "Compute (G MACs)" in texts and "Top-1 (%)" in texts
    assert {"T0", "T1", "worse"} <= set(texts), "few points: every one is labelled"


def test_points_are_placed_by_value() -> None:
    root = _svg([Point(1, 60, "low"), Point(10, 80, "high")])
    low, high = root.findall(f"{SVG}circle")
    assert float(low.get("cx")) < float(high.get("cx"))  # type: ignore[arg-type]
    assert float(low.get("cy")) > float(high.get("cy")), "SVG y grows downwards"  # type: ignore[arg-type]


def test_labels_and_titles_are_escaped() -> None:
    hostile = '<script>alert("x")</script>&'
    text = plots.scatter([Point(1, 70, hostile, tooltip=hostile), Point(2, 75, "ok")], "x </text>", "y & z", front_label="<b>front</b>", caption='"quoted"')
    assert "<script>" not in text and "</text>\"" not in text and "<b>" not in text
    root = ET.fromstring(text)  # still well-formed
    assert hostile in [t.text for t in root.iter(f"{SVG}text")]
    assert hostile in [t.text for t in root.iter(f"{SVG}title")]


def test_points_a_log_axis_cannot_show_are_left_out() -> None:
    root = _svg([Point(0, 70, "zero"), Point(1, 71, "a"), Point(math.nan, 72, "nan"), Point(2, 73, "b")])
    assert len(root.findall(f"{SVG}circle")) == 2
    assert plots.scatter([Point(0, 70, "zero")], "x", "y", front_label="f") == ""


def test_series_keep_their_colour_across_charts() -> None:
    order = ["A", "B", "C"]
    only_c = _svg([Point(1, 70, "c1", series="C"), Point(2, 71, "c2", series="C")], series=order)
    assert {c.get("fill") for c in only_c.findall(f"{SVG}circle")} == {plots.colours(order)["C"]}
    assert plots.colours(order)["C"] in plots.legend(order, "front")


@pytest.mark.parametrize("block", [1, 2, 32])
def test_the_front_drawn_from_groups_is_the_front_of_all_their_points(block: int, monkeypatch: pytest.MonkeyPatch) -> None:
    # A chart takes each group's own front, then each block of groups' front, and keeps the
    # front of those: equal to the front of every point, ties (equal cost and accuracy in two
    # groups) and unplaceable points included.
    monkeypatch.setattr(plots, "FRONT_BLOCK", block)
    rng = random.Random(3)
    for _ in range(40):
        groups = []
        for g in range(rng.randint(1, 8)):
            groups.append([Point(rng.choice([0.0, 1.0, 2.0, 2.0, 3.5, rng.uniform(0.1, 9)]), rng.choice([70.0, 71.0, rng.uniform(60, 80)]), f"g{g}m{i}", group=f"g{g}")
                           for i in range(rng.randint(1, 6))])
        text = plots.scatter_groups(groups, "x", "y", front_label="front")
        assert plots.scatter_groups(groups, "x", "y", front_label="front", memo=plots.Memo()) == text
        usable = [p for g in groups for p in g if p.x > 0]
        if not usable:
            assert text == ""
            continue
        drawn = [c for c in ET.fromstring(text).iter(f"{SVG}circle") if "zc-plot-on-front" in c.get("class", "")]
        front = plots.pareto_front(usable)
        assert [c.find(f"{SVG}title").text.split(":")[0] for c in drawn] == sorted((p.label for p in front), key=[p.label for p in usable].index)  # type: ignore[union-attr]


# --------------------------------------------------------------------------- labels
# A label's box is worked out as plots works it out (CHAR_WIDTH per character of the label's font
# size): the tests check the placement, not the font's real glyph widths.

def _label_boxes(root: ET.Element) -> dict[str, tuple[float, float, float, float]]:
    boxes = {}
    for text in root.iter(f"{SVG}text"):
        if text.get("class") == "zc-plot-label":
            left, baseline, font = float(text.get("x", 0)), float(text.get("y", 0)), float(text.get("font-size", 0))
            boxes[text.text or ""] = (left, baseline - font, left + len(text.text or "") * font * plots.CHAR_WIDTH, baseline + 2)
    return boxes


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _crowded_zoo(seed: int, count: int) -> list[Point]:
    """A zoo-like cloud: accuracy rising with log cost, long names like the PaddleClas zoo's."""
    rng = random.Random(seed)
    stems = ["ResNet", "SwinTransformerV2_large_patch4_window", "MobileNetV3_small_x", "NextViT_base_", "PPLCNet_x", "CSWinTransformer_large_", "EfficientNetB"]
    points = []
    for i in range(count):
        cost = 10 ** rng.uniform(-1.5, 2.5)
        points.append(Point(cost, min(89.0, 62 + 6 * math.log10(cost * 40) + rng.gauss(0, 3)), f"{rng.choice(stems)}{i}_{rng.choice(['ssld', '22kto1k', '384', 'x1_0'])}"))
    return points


@pytest.mark.parametrize(("seed", "count", "size"), [
    (1, 340, plots.Size(width=760, height=500)),  # the zoo page's chart
    (2, 340, plots.Size()),
    (3, 120, plots.Size(width=400, height=280)),  # a family page's chart size, crowded
    (4, 30, plots.Size(width=400, height=280)),  # few points: the others' labels are placed too
    (5, 340, plots.Size(width=300, height=200)),  # too small for all: some front labels are listed
])
def test_labels_never_overlap_and_no_front_point_goes_unnamed(seed: int, count: int, size: plots.Size) -> None:
    points = _crowded_zoo(seed, count)
    drawing = plots.draw(points, "x", "y", front_label="front", size=size)
    root = ET.fromstring(drawing.svg)
    boxes = _label_boxes(root)
    front = {p.label for p in plots.pareto_front(points)}
    # every front point is labelled in the chart or listed for the page, never both, never neither
    assert front <= set(boxes) | set(drawing.unlabelled)
    assert not set(boxes) & set(drawing.unlabelled)
    assert list(drawing.unlabelled) == [p.label for p in plots.pareto_front(points) if p.label in drawing.unlabelled], "listed by cost, as the front runs"
    placed = list(boxes.values())
    for i, box in enumerate(placed):
        assert size.left <= box[0] and box[2] <= size.width - size.right and size.top <= box[1] and box[3] <= size.height - size.bottom, "inside the frame"
        assert not any(_overlap(box, other) for other in placed[i + 1:]), "labels overlap"
    circles = [(float(c.get("cx", 0)), float(c.get("cy", 0))) for c in root.iter(f"{SVG}circle")]
    assert not any(_overlap(box, (cx - 5, cy - 5, cx + 5, cy + 5)) for box in placed for cx, cy in circles), "a label covers a point"
    # a leader line ends on the box of the label it leads to
    for line in root.iter(f"{SVG}line"):
        if line.get("class") == "zc-plot-leader":
            end = (float(line.get("x2", 0)), float(line.get("y2", 0)))
            assert any(b[0] - 0.1 <= end[0] <= b[2] + 0.1 and b[1] - 0.1 <= end[1] <= b[3] + 0.1 for b in placed)
    if size.width == 300:
        assert drawing.unlabelled, "this chart is too small for its front: the rest are listed"


def test_a_front_label_too_long_for_the_chart_is_listed_not_dropped() -> None:
    long_name = "SwinTransformerV2_large_patch4_window24_384_22kto1k_and_then_some_more"
    drawing = plots.draw([Point(1, 70, "A"), Point(2, 75, long_name)], "x", "y", front_label="front", size=plots.Size(width=300, height=200))
    assert drawing.unlabelled == (long_name,)
    assert long_name not in drawing.svg.split("</circle>")[-1], "no label of it in the chart, only its tooltip"
    assert ">A</text>" in drawing.svg


def test_a_label_beside_its_point_has_no_leader_one_further_out_has() -> None:
    # Four front points a pixel or two apart: one label fits beside its point, the others go further out.
    close = [Point(1.0 + 0.02 * i, 70.0 + 0.15 * i, f"ModelNumber{i}") for i in range(4)]
    drawing = plots.draw([Point(0.2, 50, "low"), *close, Point(20, 90, "high")], "x", "y", front_label="front", size=plots.Size(width=400, height=280))
    assert drawing.unlabelled == ()
    root = ET.fromstring(drawing.svg)
    assert set(_label_boxes(root)) == {"low", "high", *(p.label for p in close)}
    assert sum(line.get("class") == "zc-plot-leader" for line in root.iter(f"{SVG}line")) == 3
