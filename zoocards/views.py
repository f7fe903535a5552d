"""Zoo-wide views (leaderboard, plots) and the plots of each family page, both languages.

Part of stage 5: pure, `{relative path: text}` out. The rows come from `zoo.py`, so every
figure shows the text and badge of the family page it links to.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any, TypedDict

from markupsafe import Markup, escape

from zoocards import pages, plots, zoo
from zoocards.load import Card

# Per-family charts are smaller: several sit side by side under the metrics table.
FAMILY_SIZE = plots.Size(width=400, height=280)
# A zoo chart holds hundreds of points and labels its whole Pareto front: one chart per row,
# drawn at about the width the page shows it, so its labels are read at their own size.
ZOO_SIZE = plots.Size(width=960, height=580)


class LeaderboardContext(TypedDict):
    lang: str
    t: dict[str, Markup]
    columns: list[dict[str, Any]]
    rows: list[Markup]  # each card's rows (leaderboard_lines), families in zoo.family_key order
    show_dataset: bool
    groups: str  # JSON for the filters: [[group, [[card id, family], ...]], ...] in the rows' order


class Chart(TypedDict):
    caption: str
    svg: Markup
    unlabelled: list[str]  # the front's models the chart had no room to label, listed under it


class PlotSection(TypedDict):
    dataset: str
    anchor: str
    legend: Markup
    charts: list[Chart]


def _cell(figure: zoo.Figure | None, t: dict[str, Markup], badges: dict[tuple[Any, ...], str]) -> str:
    """A figure and its badge, as safe text; badges repeat across a large zoo, so each distinct one is built once."""
    if figure is None:
        return ""
    v = figure["verification"]
    key = (None,) if v is None else (v["status"], v.get("measured"), v.get("unit"), v.get("reason"), v.get("reason_zh"), str(v.get("acknowledged")))
    badge = badges.get(key)
    if badge is None:
        badge = badges[key] = str(pages.badge(v, t))
    # The text is a number units.plain wrote (digits, sign, point): nothing to escape.
    return figure["text"] + badge


def latency_header(column: zoo.LatencyColumn, t: dict[str, Markup]) -> str:
    """`NVIDIA T4 FP16`, `RDK X5 INT8 threads=1`, or this site's CPU."""
    if column["hardware"] == zoo.HERE:
        return str(t["measured_here_short"])
    parts = [column["hardware"]] + [x for x in (column["precision"], None if column["threads"] is None else f"{t['threads']}={column['threads']}") if x]
    return " ".join(parts)


def leaderboard_lines(entries: list[zoo.Entry], lang: str, t: dict[str, Markup], latency: list[zoo.LatencyColumn], badges: dict[tuple[Any, ...], str], show_dataset: bool) -> Markup:
    """Models' leaderboard rows: model, family, [dataset,] input size, model figures, then batch-1 latency per column.

    The model comes first: wide tables keep their first column in view while they scroll sideways.

    Joined here rather than in a template macro: at 1000 families the table has 8000 rows of ~10
    cells in each language, and a `{{ }}` per cell cost a third of the zoo-wide render.
    """
    lines = []
    for entry in entries:
        card, figures = escape(entry["card"]), entry["figures"]
        cells = [str(entry["input_size"])] + [_cell(figures.get(key), t, badges) for key in ("top1", "top5", "params", "flops")] + [_cell(figures.get(c["key"]), t, badges) for c in latency]
        dataset = f" {pages.cell(entry['dataset'])} |" if show_dataset else ""
        lines.append(f"| [{pages.cell(entry['model'])}](../models/{card}.md#{escape(entry['anchor'])}) | [{pages.cell(entry['family'][lang])}](../models/{card}.md) |{dataset} {' | '.join(cells)} |\n")
    return Markup("".join(lines))


def leaderboard_page(entries: list[zoo.Entry], lang: str, t: dict[str, Markup], templates_dir: Path, fragments: pages.Fragments | None = None, latency: list[zoo.LatencyColumn] | None = None) -> str:
    """Every model in one table: model figures, then batch-1 latency per hardware and precision.

    Each card's rows are one piece, which `fragments` keeps between generations.
    """
    env = pages.environment(templates_dir)
    latency = zoo.latency_columns(entries) if latency is None else latency
    columns = [{"key": c["key"], "label": pages.cell(latency_header(c, t))} for c in latency]
    show_dataset = len({e["dataset"] for e in entries}) > 1
    # A piece depends on its card and on which columns the table has.
    shape = f"{lang}|{show_dataset}|{'|'.join(c['key'] for c in latency)}"
    by_card = pages.group_by_card(entries)
    badges: dict[tuple[Any, ...], str] = {}

    def rows_of(card: str) -> Markup:
        return leaderboard_lines(by_card[card], lang, t, latency, badges, show_dataset)

    # Families as the family index lists them: by group (zoo.GROUP_ORDER), then by name.
    order = sorted(by_card, key=lambda card: zoo.family_key(by_card[card][0]["group"], by_card[card][0]["family"], card))
    rows = [pages.piece(fragments, "leaderboard", card, shape, lambda card=card: rows_of(card)) for card in order]  # type: ignore[misc]
    groups: dict[str, list[list[str]]] = {}
    for card in order:
        first = by_card[card][0]
        groups.setdefault(first["group"].get(lang, ""), []).append([card, first["family"][lang]])
    context = LeaderboardContext(lang=lang, t=t, columns=columns, rows=rows, show_dataset=show_dataset,
                                 groups=json.dumps([[group or str(t["family_index_other"]), families] for group, families in groups.items()], ensure_ascii=False))
    return env.get_template("leaderboard.md.j2").render(**context)


def _points(entries: list[zoo.Entry], x_key: str, series_of: dict[str, str], unit: str, lang: str | None) -> list[plots.Point]:
    points = []
    point = plots.Point._make
    for entry in entries:
        figures = entry["figures"]
        x, y = figures.get(x_key), figures.get("top1")
        if x is None or y is None:
            continue
        family = f" · {entry['family'][lang]}" if lang else ""
        model, card = entry["model"], entry["card"]
        # float() of the figure's text: the same number as of its Decimal value (which is read from that text), made faster.
        points.append(point((float(x["text"]), float(y["text"]), model, series_of.get(card, ""), f"{model}{family}: top-1 {y['text']}%, {x['text']} {unit}", card)))
    return points


def _axes(entries: list[zoo.Entry], latency: list[zoo.LatencyColumn] | None = None) -> list[tuple[str, str, zoo.LatencyColumn | None]]:
    """(figure key, unit, latency column) of every x axis: FLOPs, Params, each batch-1 latency."""
    return [("flops", "G MACs", None), ("params", "M", None)] + [(c["key"], "ms", c) for c in (zoo.latency_columns(entries) if latency is None else latency)]


def _titles(column: zoo.LatencyColumn | None, key: str, t: dict[str, Markup]) -> tuple[str, str]:
    """(x-axis title, caption) in the language of `t`."""
    x_title = str(t[key]) if column is None else f"{t['latency']} · {latency_header(column, t)}, {t['batch']}=1"
    return x_title, f"{t['top1']} — {x_title}"


def charts(entries: list[zoo.Entry], lang: str, t: dict[str, Markup], size: plots.Size, series_of: dict[str, str], fragments: pages.Fragments | None = None, latency: list[zoo.LatencyColumn] | None = None,
           series: list[str] | None = None) -> list[Chart]:
    """Top-1 against FLOPs, Params and each batch-1 latency column; charts with under two points are left out (`series`: the colours' order)."""
    series = sorted(set(series_of.values())) if series is None else series
    by_card = pages.group_by_card(entries)
    out = []
    for key, unit, column in _axes(entries, latency):
        # Each card's points are a piece: their tooltips are made once per card version, and the
        # same list is handed to the chart while the card is unchanged (what its memo keys on).
        groups = [pages.piece(fragments, "points", card, f"{lang}|{key}|{unit}|{series_of.get(card, '')}", lambda mine=mine: _points(mine, key, series_of, unit, lang))  # type: ignore[misc]
                  for card, mine in by_card.items()]
        groups = [points for points in groups if points]
        if sum(map(len, groups)) < 2:
            continue
        x_title, caption = _titles(column, key, t)
        drawing = plots.draw_groups(groups, x_title, str(t["top1"]), front_label=str(t["pareto_front"]), caption=caption, series=series, size=size, memo=fragments.circles if fragments else None)
        out.append(Chart(caption=caption, svg=Markup(drawing.svg), unlabelled=list(drawing.unlabelled)))
    return out


# Stand-ins for the texts that differ between languages: a family's chart is drawn once, cut at
# the stand-ins, and joined per language with them filled in (x_title, y_title, front label, caption).
_SLOT_NAMES = "xyfc"
_SLOTS = tuple(f"\x00{name}\x00" for name in _SLOT_NAMES)
_SLOT = re.compile(f"\x00([{_SLOT_NAMES}])\x00")


def family_plots(entries: list[zoo.Entry], catalogues: dict[str, dict[str, Markup]]) -> dict[str, list[Chart]]:
    """The charts of one family page per language, each drawn once (one colour: one family)."""
    out: dict[str, list[Chart]] = {lang: [] for lang in catalogues}
    for key, unit, column in _axes(entries):
        points = _points(entries, key, {}, unit, None)
        if len(points) < 2:
            continue
        # Text, slot letter, text, ...: the drawing is scanned once, not once per stand-in and language.
        drawing = plots.draw(points, _SLOTS[0], _SLOTS[1], front_label=_SLOTS[2], caption=_SLOTS[3], size=FAMILY_SIZE)
        pieces = _SLOT.split(drawing.svg)
        for lang, t in catalogues.items():
            x_title, caption = _titles(column, key, t)
            texts = dict(zip(_SLOT_NAMES, map(html.escape, (x_title, str(t["top1"]), str(t["pareto_front"]), caption))))
            svg = "".join([texts[piece] if i % 2 else piece for i, piece in enumerate(pieces)])
            out[lang].append(Chart(caption=caption, svg=Markup(svg), unlabelled=list(drawing.unlabelled)))
    return out


def plot_sections(entries: list[zoo.Entry], lang: str, t: dict[str, Markup], fragments: pages.Fragments | None = None, latency: list[zoo.LatencyColumn] | None = None) -> list[PlotSection]:
    """Zoo-wide charts, one section per dataset (accuracies on different datasets do not compare)."""
    sections = []
    datasets = sorted({e["dataset"] for e in entries}, key=lambda d: (-sum(e["dataset"] == d for e in entries), d))
    for dataset in datasets:
        mine = [e for e in entries if e["dataset"] == dataset]
        # Colour by group (server CNNs, lightweight CNNs, Transformers...), in zoo.GROUP_ORDER: a
        # handful of colours a reader can tell apart; each point's tooltip names its family.
        group_of = {e["card"]: e["group"] for e in mine}
        series_of = {card: group.get(lang, "") or str(t["family_index_other"]) for card, group in group_of.items()}
        series = list(dict.fromkeys(series_of[card] for card in sorted(group_of, key=lambda card: zoo.group_key(group_of[card]))))
        # `latency`, when given, is the whole zoo's: it holds for a section that is the whole zoo
        found = charts(mine, lang, t, ZOO_SIZE, series_of, fragments, latency if len(datasets) == 1 else None, series)
        if found:
            legend = plots.legend(series, str(t["pareto_front"]))
            sections.append(PlotSection(dataset=dataset, anchor="dataset-" + pages.anchor(dataset).removeprefix("model-"), legend=Markup(legend), charts=found))
    return sections


def render_views(cards: list[Card], verifications: list[dict[str, Any]], records: dict[str, list[dict[str, Any]]], templates_dir: Path = pages.TEMPLATES_DIR, entries: list[zoo.Entry] | None = None,
                 fragments: pages.Fragments | None = None, by_card: dict[str, list[dict[str, Any]]] | None = None) -> dict[str, str]:
    """The leaderboard and the plots page, both languages (pass `entries`, or the verifications grouped `by_card`, when already made)."""
    env = pages.environment(templates_dir)
    entries = zoo.zoo_entries(cards, verifications, records, fragments, by_card) if entries is None else entries
    out = {}
    latency = zoo.latency_columns(entries, fragments)  # once: a scan of every figure of the zoo (of the changed cards', with fragments)
    for lang in pages.LANGUAGES:
        t = pages.strings(templates_dir, lang)
        out[f"zoo/leaderboard.{lang}.md"] = leaderboard_page(entries, lang, t, templates_dir, fragments, latency)
        out[f"zoo/plots.{lang}.md"] = env.get_template("plots.md.j2").render(lang=lang, t=t, sections=plot_sections(entries, lang, t, fragments, latency))
    return out
