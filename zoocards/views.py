"""Zoo-wide views (leaderboard, plots) and the plots of each family page, both languages.

Part of stage 5: pure, `{relative path: text}` out. The rows come from `zoo.py`, so every
figure shows the text and badge of the family page it links to.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypedDict

from markupsafe import Markup

from zoocards import plots, render, zoo
from zoocards.load import Card

# Per-family charts are smaller: several sit side by side under the metrics table.
FAMILY_SIZE = plots.Size(width=400, height=280)


class LeaderboardRow(TypedDict):
    card: str
    family: str
    model: str
    anchor: str
    dataset: str
    input_size: int
    cells: dict[str, Markup]


class LeaderboardContext(TypedDict):
    lang: str
    t: dict[str, Markup]
    columns: list[dict[str, Any]]
    rows: list[LeaderboardRow]
    show_dataset: bool


class Chart(TypedDict):
    caption: str
    svg: Markup


class PlotSection(TypedDict):
    dataset: str
    anchor: str
    legend: Markup
    charts: list[Chart]


def _cell(figure: zoo.Figure | None, t: dict[str, Markup]) -> Markup:
    if figure is None:
        return Markup("")
    return Markup(render.cell(figure["text"])) + render.badge(figure["verification"], t)


def latency_header(column: zoo.LatencyColumn, t: dict[str, Markup]) -> str:
    """`NVIDIA T4 FP16`, `RDK X5 INT8 threads=1`, or this site's CPU."""
    if column["hardware"] == zoo.HERE:
        return str(t["measured_here_short"])
    parts = [column["hardware"]] + [x for x in (column["precision"], None if column["threads"] is None else f"{t['threads']}={column['threads']}") if x]
    return " ".join(parts)


def leaderboard_context(entries: list[zoo.Entry], lang: str, t: dict[str, Markup]) -> LeaderboardContext:
    """Every model in one table: model figures, then batch-1 latency per hardware and precision."""
    latency = zoo.latency_columns(entries)
    columns = [{"key": c["key"], "label": render.cell(latency_header(c, t))} for c in latency]
    rows = []
    for entry in entries:
        figures = entry["figures"]
        cells = {metric: _cell(figures.get(metric), t) for metric in ("top1", "top5", "flops", "params")}
        cells.update({c["key"]: _cell(figures.get(c["key"]), t) for c in latency})
        rows.append(LeaderboardRow(
            card=entry["card"], family=entry["family"][lang], model=entry["model"], anchor=entry["anchor"],
            dataset=entry["dataset"], input_size=entry["input_size"], cells=cells,
        ))
    return LeaderboardContext(lang=lang, t=t, columns=columns, rows=rows, show_dataset=len({e["dataset"] for e in entries}) > 1)


def _points(entries: list[zoo.Entry], x_key: str, series_of: dict[str, str], unit: str, lang: str) -> list[plots.Point]:
    points = []
    for entry in entries:
        x, y = entry["figures"].get(x_key), entry["figures"].get("top1")
        if x is None or y is None:
            continue
        tooltip = f"{entry['model']} · {entry['family'][lang]}: top-1 {y['text']}%, {x['text']} {unit}"
        points.append(plots.Point(x=float(x["value"]), y=float(y["value"]), label=entry["model"], series=series_of.get(entry["card"], ""), tooltip=tooltip))
    return points


def charts(entries: list[zoo.Entry], lang: str, t: dict[str, Markup], size: plots.Size, series_of: dict[str, str]) -> list[Chart]:
    series = sorted(set(series_of.values()))
    """Top-1 against FLOPs, Params and each batch-1 latency column; charts with under two points are left out."""
    axes = [("flops", str(t["flops"]), "G MACs"), ("params", str(t["params"]), "M")]
    axes += [(c["key"], f"{t['latency']} · {latency_header(c, t)}, {t['batch']}=1", "ms") for c in zoo.latency_columns(entries)]
    out = []
    for key, x_title, unit in axes:
        points = _points(entries, key, series_of, unit, lang)
        if len(points) < 2:
            continue
        caption = f"{t['top1']} — {x_title}"
        svg = plots.scatter(points, x_title, str(t["top1"]), front_label=str(t["pareto_front"]), caption=caption, series=series, size=size)
        out.append(Chart(caption=caption, svg=Markup(svg)))
    return out


def family_plots(entries: list[zoo.Entry], lang: str, t: dict[str, Markup]) -> list[Chart]:
    """The charts of one family page (one colour: the models are all of this family)."""
    return charts(entries, lang, t, FAMILY_SIZE, {})


def plot_sections(entries: list[zoo.Entry], lang: str, t: dict[str, Markup]) -> list[PlotSection]:
    """Zoo-wide charts, one section per dataset (accuracies on different datasets do not compare)."""
    sections = []
    datasets = sorted({e["dataset"] for e in entries}, key=lambda d: (-sum(e["dataset"] == d for e in entries), d))
    for dataset in datasets:
        mine = [e for e in entries if e["dataset"] == dataset]
        families = {e["card"]: e["family"][lang] for e in mine}
        # Colour by family while the palette tells them apart; beyond that, one colour and tooltips.
        series_of = families if len(families) <= len(plots.PALETTE) else {}
        found = charts(mine, lang, t, plots.Size(), series_of)
        if found:
            legend = plots.legend(sorted(set(series_of.values())), str(t["pareto_front"]))
            sections.append(PlotSection(dataset=dataset, anchor="dataset-" + render.anchor(dataset).removeprefix("model-"), legend=Markup(legend), charts=found))
    return sections


def render_views(cards: list[Card], verifications: list[dict[str, Any]], records: dict[str, list[dict[str, Any]]], templates_dir: Path = render.TEMPLATES_DIR) -> dict[str, str]:
    """The leaderboard and the plots page, both languages."""
    env = render.environment(templates_dir)
    entries = zoo.zoo_entries(cards, verifications, records)
    pages = {}
    for lang in render.LANGUAGES:
        t = render.strings(templates_dir, lang)
        pages[f"zoo/leaderboard.{lang}.md"] = env.get_template("leaderboard.md.j2").render(**leaderboard_context(entries, lang, t))
        pages[f"zoo/plots.{lang}.md"] = env.get_template("plots.md.j2").render(lang=lang, t=t, sections=plot_sections(entries, lang, t))
    return pages
