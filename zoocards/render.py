"""Stage 5: turn cards, verifications and measurements into Markdown pages, in memory.

Pure: `render_site` returns `{relative path: text}` and touches no file. Escaping, the
catalogue, the Jinja environment and badges live in `pages.py`, which `views.py` and `zoo.py`
use too (their names are re-exported here for callers that know them as `render.X`). The
family page's long tables are joined in Python (`table_row`), which escapes each cell exactly
as autoescaping does.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterable, TypedDict

from markupsafe import Markup, escape

from zoocards import compare, units, views, zoo
from zoocards.compare import STATUSES
from zoocards.load import Card, KeyPath
from zoocards.names import canonical
from zoocards.pages import (  # noqa: F401 - re-exported: build.py, exports.py and tests call them render.X
    BADGE_SYMBOL,
    LANGUAGES,
    TEMPLATES_DIR,
    Fragments,
    anchor,
    attr,
    badge,
    cell,
    display_text,
    environment,
    fast_escape,
    figure_cell,
    forget_templates,
    group_by_card,
    markup,
    model_link,
    piece,
    prose,
    source_of,
    strings,
    table_row,
    use_bytecode_cache,
)
from zoocards.sources import Source
from zoocards.units import MODEL_METRICS

# Above this many families the verification report counts the figures not re-run by reason
# instead of listing each (the plugin's nav_family_limit has the same default).
REPORT_FAMILY_LIMIT = 60


class ModelRow(TypedDict):
    name: str
    anchor: str
    input_size: int
    resize_short: int | None
    cells: dict[str, Markup]  # per metric: the figure with its badge (`figure_cell`)
    line: Markup  # the row as the metrics table shows it (`table_row`)


class ComparisonTable(TypedDict):
    """Another family's figures as the source quotes them: no badges, nothing re-run."""

    caption: str
    sizes: bool
    headers: list[Markup]
    rows: list[dict[str, Any]]


class BenchmarkTable(TypedDict):
    id: str
    hardware: str
    runtime: str
    source: str
    source_url: str
    conditions: str
    resize: bool  # some row was run with its own resize_short
    headers: list[Markup]
    rows: list[dict[str, Any]]
    rerun: Markup  # where its timings were re-run (`rerun_line`), empty for a table without timings


class FamilyContext(TypedDict):
    lang: str
    t: dict[str, Markup]
    card: dict[str, Any]
    card_id: str
    models: list[ModelRow]
    # Columns most cards lack are shown only when some model of the card has them.
    show_resize_short: bool
    show_storage: bool
    comparisons: list[ComparisonTable]
    benchmarks: list[BenchmarkTable]
    measured_here: dict[str, Any] | None
    exports: list[dict[str, Any]]
    downloads: list[Markup]  # table rows
    summary: dict[str, int]
    acknowledged: list[dict[str, Any]]
    configured: list[dict[str, Any]]  # the models with a training config of their own


def _display(card: Card, path: KeyPath, metric: str, value: Any, unit: str, convention: str = "MACs") -> str:
    return display_text(card.raw.get(path), value, metric, unit, convention)


_EMPTY = Markup("")


def _index_verifications(verifications: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {v["source"]: v for v in verifications}


# A figure of the metrics or a benchmark table: its text in the site's unit, escaped as
# autoescaping would, and its verification.
Claim = tuple[Markup, "dict[str, Any] | None"]


def figure_claims(card: Card, by_source: dict[str, dict[str, Any]]) -> dict[KeyPath, Claim]:
    """Every figure of the card's metrics and benchmark tables, by key path.

    Both pages of a family show the same figures: they are converted and matched with their
    verification once per card, and each language only adds its badges."""
    claims: dict[KeyPath, Claim] = {}
    unit_of = card.data["units"]
    convention = unit_of["flops"]["convention"]
    for index, model in enumerate(card.data["models"]):
        for metric in MODEL_METRICS:
            value = model["metrics"].get(metric)
            if value is not None:
                path: KeyPath = ("models", index, "metrics", metric)
                text = _display(card, path, metric, value, units.model_metric_unit(unit_of, metric), convention)
                claims[path] = (fast_escape(text), by_source.get(source_of(path)))
    for b_index, bench in enumerate(card.data.get("benchmarks", [])):
        for r_index, row in enumerate(bench["rows"]):
            for v_index, (value, column) in enumerate(zip(row["values"], bench["columns"])):
                if value is not None:
                    path = ("benchmarks", b_index, "rows", r_index, "values", v_index)
                    text = _display(card, path, column["metric"], value, column["unit"])
                    claims[path] = (fast_escape(text), by_source.get(source_of(path)))
    return claims


def model_rows(card: Card, claims: dict[KeyPath, Claim], t: dict[str, Markup], show_resize_short: bool, show_storage: bool) -> list[ModelRow]:
    """The metrics table of a family, every figure in the site's display unit."""
    shown = [metric for metric in MODEL_METRICS if metric != "storage" or show_storage]
    unit_of = card.data["units"]
    halved = unit_of["flops"]["convention"] == "FLOPs"
    rows: list[ModelRow] = []
    for index, model in enumerate(card.data["models"]):
        cells: dict[str, Markup] = {}
        for metric in MODEL_METRICS:
            path: KeyPath = ("models", index, "metrics", metric)
            claim = claims.get(path)
            if claim is None:
                cells[metric] = _EMPTY
                continue
            text, verification = claim
            mark = badge(verification, t)
            if metric == "flops" and halved:
                # The column is G MACs site-wide; a figure halved from FLOPs keeps its claim beside it.
                raw = card.raw_number(path) or str(model["metrics"][metric])
                unit = units.model_metric_unit(unit_of, metric)
                mark = Markup(f'{mark} <span class="zc-raw" title="{attr(t["claimed"])}">({cell(raw)} {unit} FLOPs)</span>')
            cells[metric] = figure_cell(text, mark)
        resize_short = model.get("eval", {}).get("resize_short")
        target = anchor(model["name"])
        # The model's cell is also the row's anchor.
        first = [Markup(f'<a id="{escape(target)}"></a>{model_link(model["name"], target)}'), model["input_size"]]
        resize = ["" if resize_short is None else resize_short] if show_resize_short else []
        line = table_row(first + resize + [cells[metric] for metric in shown])
        rows.append(ModelRow(name=model["name"], anchor=target, input_size=model["input_size"], resize_short=resize_short, cells=cells, line=line))
    return rows


def _column_header(column: dict[str, Any], lang: str, t: dict[str, Markup]) -> Markup:
    label = column.get("label")
    metric = column["metric"]
    unit = units.DISPLAY_UNIT.get(metric, column["unit"])
    base = {"latency": "latency", "fps": "fps", "top1": "top1", "top5": "top5", "params": "params", "flops": "flops", "classes": "classes"}[metric]
    head = str(t[base])
    if label:
        unit_text = {"percent": "%", "ms": "ms", "fps": "FPS", "M": "M", "G": "G MACs", "count": ""}.get(unit, unit)
        head = str(cell(label[lang])) + (f" ({unit_text})" if unit_text else "")
    conditions = []
    if column.get("precision"):
        conditions.append(column["precision"])
    if column.get("batch_size") is not None:
        conditions.append(f"{t['batch']}={column['batch_size']}")
    if column.get("threads") is not None:
        conditions.append(f"{t['threads']}={column['threads']}")
    return Markup(head + ("<br>" + " ".join(str(cell(c)) for c in conditions) if conditions else ""))


def benchmark_tables(card: Card, claims: dict[KeyPath, Claim], lang: str, t: dict[str, Markup]) -> list[BenchmarkTable]:
    """Claimed benchmark tables, converted to the site's units, with a badge per figure."""
    models = {m["name"]: m for m in card.data["models"]}
    tables: list[BenchmarkTable] = []
    for b_index, bench in enumerate(card.data.get("benchmarks", [])):
        headers = [_column_header(c, lang, t) for c in bench["columns"]]
        resize = any("resize_short" in row for row in bench["rows"])
        rows = []
        timed = []  # the verifications of the table's latency/fps figures
        for r_index, row in enumerate(bench["rows"]):
            cells = []
            for v_index in range(min(len(row["values"]), len(bench["columns"]))):  # as zip() pairs them
                claim = claims.get(("benchmarks", b_index, "rows", r_index, "values", v_index))
                cells.append(_EMPTY if claim is None else figure_cell(claim[0], badge(claim[1], t)))
                if claim is not None and claim[1] is not None and bench["columns"][v_index]["metric"] in ("latency", "fps"):
                    timed.append(claim[1])
            size = row.get("input_size", models[row["model"]]["input_size"])
            target = anchor(row["model"])
            line = table_row([model_link(row["model"], target), size, *([row.get("resize_short", "")] if resize else []), *cells])
            rows.append({"model": row["model"], "anchor": target, "input_size": size, "resize_short": row.get("resize_short", ""), "cells": cells, "line": line})
        runtime = " ".join(x for x in (bench.get("runtime", ""), bench.get("runtime_version", "")) if x)
        tables.append(BenchmarkTable(
            id=bench["id"], hardware=bench["hardware"], runtime=runtime, source=bench.get("source", ""),
            source_url=bench.get("source_url", ""), conditions=bench.get("conditions", {}).get(lang, ""),
            resize=resize, headers=headers, rows=rows, rerun=rerun_line(timed, t) if timed else _EMPTY,
        ))
    return tables


def rerun_line(verifications: list[dict[str, Any]], t: dict[str, Markup]) -> Markup:
    """Under a benchmark table: the conditions its timings are re-run under, and the timings that answered them (host, runtime, date).

    `verifications`: those of the table's latency/fps figures (at least one)."""
    first = verifications[0]
    conditions = f"{first['hardware']} ({first['hardware_id']}) · {first['runtime'] or t['rerun_no_runtime']}" + (f" + {first['provider']}" if first["provider"] else "")
    used: dict[tuple[Any, ...], int] = {}
    for v in verifications:
        timing = v.get("timing")
        if timing and v["status"] in ("verified", "mismatch"):
            key = (timing["hardware_name"], timing["hardware"], " ".join(x for x in (timing["runtime"], timing["runtime_version"]) if x), timing["provider"], (timing["measured_at"] or "")[:10])
            used[key] = used.get(key, 0) + 1
    if not used:
        return Markup(f"**{t['rerun']}**: {cell(conditions)} · {t['rerun_none']}")
    timings = "; ".join(f"{name} ({hardware_id}), {runtime} + {provider}, {day}: {count}/{len(verifications)}" for (name, hardware_id, runtime, provider, day), count in sorted(used.items()))
    return Markup(f"**{t['rerun']}**: {cell(conditions)} · {t['rerun_timed']} {cell(timings)}")


def comparison_tables(card: Card, lang: str, t: dict[str, Markup]) -> list[ComparisonTable]:
    """Other families' figures the card quotes, in the site's units; model names stay text (their pages are other cards')."""
    tables: list[ComparisonTable] = []
    for c_index, comparison in enumerate(card.data.get("comparisons", [])):
        rows = []
        for r_index, row in enumerate(comparison["rows"]):
            cells = []
            for v_index, (value, column) in enumerate(zip(row["values"], comparison["columns"])):
                path: KeyPath = ("comparisons", c_index, "rows", r_index, "values", v_index)
                cells.append("" if value is None else _display(card, path, column["metric"], value, column["unit"]))
            rows.append({"model": row["model"], "input_size": row.get("input_size", ""), "cells": cells})
        caption = " · ".join(x for x in (comparison.get("title", {}).get(lang, ""), comparison.get("hardware", "")) if x)
        tables.append(ComparisonTable(
            caption=caption, sizes=any("input_size" in row for row in comparison["rows"]),
            headers=[_column_header(c, lang, t) for c in comparison["columns"]], rows=rows,
        ))
    return tables


def measured_here(card: Card, records: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Every timing zoocards took of this family, one row per (model, where it ran): hardware, runtime, precision, per-batch median (p90), date; or None."""
    newest: dict[tuple[Any, ...], compare.Timing] = {}
    for found in map(compare.timing, records):  # one row per model and place, its newest timing (the one compare judges with)
        if found is not None and found.status == "ok" and found.batches:
            key = (found.model, found.hardware, found.runtime, found.provider, found.precision, found.threads)
            if key not in newest or (found.measured_at or "") > (newest[key].measured_at or ""):
                newest[key] = found
    timings = list(newest.values())
    if not timings:
        return None
    order = {m["name"]: i for i, m in enumerate(card.data["models"])}
    timings.sort(key=lambda found: (order.get(found.model, len(order)), found.hardware, found.runtime, found.provider, found.precision, found.threads or 0))
    batches = sorted({int(b) for found in timings for b in found.batches})
    rows = []
    for found in timings:
        cells = []
        for batch in batches:
            stats = found.batches.get(str(batch))
            cells.append("" if stats is None else f"{stats['median_ms']:.2f} ({stats['p90_ms']:.2f})")
        runtime = " ".join(x for x in (found.runtime, found.runtime_version) if x) + f" + {found.provider}"
        threads = "" if found.threads is None else str(found.threads)
        rows.append(table_row([model_link(found.model, anchor(found.model)), f"{found.hardware_name} ({found.hardware})", runtime, found.precision, threads, *cells,
                               (found.measured_at or "")[:10]]))
    return {"batches": batches, "rows": rows, "hosts": len({found.hardware for found in timings})}


def export_rows(card: Card, by_model_metric: dict[tuple[str, str], dict[str, Any]], records: list[dict[str, Any]], t: dict[str, Markup]) -> list[dict[str, Any]]:
    """Per model: did Paddle -> ONNX conversion work, and how close were the outputs."""
    results = {r["model"]: r for r in records if r["kind"] == "export"}
    rows = []
    for model in card.data["models"]:
        verification = by_model_metric.get((model["name"], "onnx_export"))
        if verification is None:
            continue
        record = results.get(model["name"])
        result = record["result"] if record and record["status"] == "ok" else {}
        row = {
            "model": model["name"],
            "anchor": anchor(model["name"]),
            "badge": badge(verification, t),
            "status": t[f"status_{verification['status']}"],
            # None when onnxruntime produced non-finite values (the status and its reason say so)
            "max_abs": f"{result['max_abs_err']:.2e}" if result.get("max_abs_err") is not None else "",
            "max_rel": f"{result['max_rel_err']:.2e}" if result.get("max_rel_err") is not None else "",
            "opset": result.get("opset", ""),
        }
        row["line"] = table_row([model_link(row["model"], row["anchor"]), row["status"] + row["badge"], row["max_abs"], row["max_rel"], row["opset"]])
        rows.append(row)
    return rows


def download_rows(card: Card, lang: str) -> list[Markup]:
    """The downloads table: model, format, target, file, note."""
    return [
        table_row([model_link(d["model"], anchor(d["model"])), cell(d["format"]), cell(d.get("target", "")), Markup(f"<{escape(d['url'])}>"),
                   cell(d["note"][lang]) if d.get("note") else ""])
        for d in card.data.get("downloads", [])
    ]


def summarise(verifications: Iterable[dict[str, Any]]) -> dict[str, int]:
    """How many figures have each status."""
    counts = Counter(v["status"] for v in verifications)
    return {status: counts.get(status, 0) for status in STATUSES}


def family_context(card: Card, verifications: list[dict[str, Any]], records: list[dict[str, Any]], lang: str, templates_dir: Path, claims: dict[KeyPath, Claim] | None = None) -> FamilyContext:
    """Everything a family page shows, in one language (`claims`: the card's `figure_claims`, if made already)."""
    t = strings(templates_dir, lang)
    card_id = card.id  # once: Card.id is a property, asked here for every verification otherwise
    mine = [v for v in verifications if v["card"] == card_id]
    if claims is None:
        claims = figure_claims(card, _index_verifications(mine))
    by_model_metric = {(v["model"], v["metric"]): v for v in mine if v["metric"] == "onnx_export"}
    acknowledged = [
        {"model": m["name"], "metric": a["metric"], "reason": a["reason"][lang]}
        for m in card.data["models"] for a in m.get("acknowledged", [])
    ]
    show_resize_short = any(m.get("eval", {}).get("resize_short") is not None for m in card.data["models"])
    show_storage = any(m["metrics"].get("storage") is not None for m in card.data["models"])
    return FamilyContext(
        lang=lang, t=t, card=card.data, card_id=card_id,
        models=model_rows(card, claims, t, show_resize_short, show_storage),
        show_resize_short=show_resize_short,
        show_storage=show_storage,
        comparisons=comparison_tables(card, lang, t),
        benchmarks=benchmark_tables(card, claims, lang, t),
        measured_here=measured_here(card, records),
        exports=export_rows(card, by_model_metric, records, t),
        downloads=download_rows(card, lang),
        summary=summarise(mine),
        acknowledged=acknowledged,
        configured=[m for m in card.data["models"] if "training_config" in m],
    )


def render_family(card: Card, verifications: list[dict[str, Any]], records: list[dict[str, Any]], templates_dir: Path = TEMPLATES_DIR) -> dict[str, str]:
    """The pages of one family, both languages; depends on that card alone."""
    template = environment(templates_dir).get_template("family.md.j2")
    plots = views.family_plots(zoo.card_entries(card, verifications, records), {lang: strings(templates_dir, lang) for lang in LANGUAGES})
    card_id = card.id
    claims = figure_claims(card, _index_verifications(v for v in verifications if v["card"] == card_id))  # for both languages
    pages = {}
    for lang in LANGUAGES:
        context = family_context(card, verifications, records, lang, templates_dir, claims)
        pages[f"models/{card_id}.{lang}.md"] = template.render(**context, plots=plots[lang])
    return pages


def render_zoo(cards: list[Card], verifications: list[dict[str, Any]], templates_dir: Path = TEMPLATES_DIR, performance: dict[str, Any] | None = None,
               fragments: Fragments | None = None, by_card: dict[str, list[dict[str, Any]]] | None = None) -> dict[str, str]:
    """The pages about the whole zoo (family index, verification report, performance), both languages (`by_card`: the verifications grouped, if done already)."""
    env = environment(templates_dir)
    index = env.get_template("families.md.j2")
    report = env.get_template("verification.md.j2")
    sections: Any = env.get_template("_zoo_pieces.md.j2").module  # its macros, as attributes
    ordered = sorted(cards, key=lambda c: c.id)
    by_family = sorted(cards, key=lambda c: zoo.family_key(c.data.get("group", {}), c.data["name"], c.id))
    if by_card is None:
        by_card = group_by_card(verifications)
    # A large zoo's report would list tens of thousands of figures nobody re-ran (a 1000-family
    # report is ~20 MB of Markdown): there, those are counted by reason; each family page still
    # gives every figure's reason in its badge.
    collapse = len(cards) > REPORT_FAMILY_LIMIT
    summaries = {card.id: piece(fragments, "summary", card.id, "", lambda: summarise(by_card.get(card.id, []))) for card in ordered}
    total = {status: sum(summary[status] for summary in summaries.values()) for status in STATUSES}  # = summarise(verifications)
    pages: dict[str, str] = {}
    for lang in LANGUAGES:
        t = strings(templates_dir, lang)
        # Groups in zoo.GROUP_ORDER, families alphabetical within each (zoo.family_key).
        groups: dict[str, list[dict[str, Any]]] = {}
        for card in by_family:
            group = card.data.get("group", {}).get(lang, "")
            row = {"id": card.id, "name": card.data["name"][lang], "models": len(card.data["models"]), "summary": summaries[card.id]}
            groups.setdefault(group, []).append(piece(fragments, "index", card.id, lang, lambda row=row: Markup(sections.family_index_row(row))))  # type: ignore[misc, arg-type]
        pages[f"models/index.{lang}.md"] = index.render(lang=lang, t=t, groups=list(groups.items()))

        def family_section(card: Card, lang: str = lang, t: dict[str, Markup] = t) -> Markup:
            mine = by_card.get(card.id, [])
            listed = [v for v in mine if v["status"] != "not_run"] if collapse else mine
            not_run: Counter[str] = Counter()
            if collapse:
                for v in mine:
                    if v["status"] == "not_run":
                        not_run[(v.get("reason_zh") if lang == "zh" else v.get("reason")) or ""] += 1
            family = {"id": card.id, "name": card.data["name"][lang], "rows": verification_rows([card], listed, lang),
                      "not_run": sorted(not_run.items(), key=lambda item: (-item[1], item[0]))}
            return Markup(sections.verification_family(family, t))

        families = [piece(fragments, "verification", card.id, f"{lang}|{collapse}", lambda card=card: family_section(card)) for card in ordered]  # type: ignore[misc]
        pages[f"zoo/verification.{lang}.md"] = report.render(lang=lang, t=t, families=families, summary=total, mismatches=mismatch_rows(ordered, verifications, lang))
        pages[f"zoo/performance.{lang}.md"] = env.get_template("performance.md.j2").render(
            lang=lang, t=t, bench=performance, sizes=performance_rows(performance), targets=performance_targets(performance, t)
        )
    return pages


NOT_TIMED = "—"  # a figure the benchmark did not take for this size (`--mkdocs-max`, `--floor-max`)


def performance_rows(bench: dict[str, Any] | None) -> list[dict[str, str]]:
    """The Performance page's table: one row per zoo size of perf/bench.json (scripts/bench_build.py)."""
    rows = []
    for size in (bench or {}).get("sizes", []):
        if "error" in size:
            continue
        own, build, plain, warm = size["zoocards"], size.get("mkdocs_build"), size.get("mkdocs_plain"), size.get("make_cards_warm")
        rows.append({
            "families": str(size["families"]), "models": str(size["models"]),
            "load_check": f"{own['load_check']:.2f}", "render": f"{own['render']:.2f}", "zoocards": f"{own['total_s']:.2f}",
            "cached": f"{size['zoocards_cached']['load_check_render_s']:.2f}" if "zoocards_cached" in size else "",
            # a figure corrected / a figure that moves a chart's axis / a summary edited
            "one_card": " / ".join(f"{size['incremental'][k]['seconds']:.2f}" for k in ("one_card", "one_card_axis", "one_card_prose") if k in size["incremental"]),
            "mkdocs": f"{build['seconds']:.1f}" if build else NOT_TIMED, "plain": f"{plain['seconds']:.1f}" if plain else NOT_TIMED,
            "share": f"{size['ratios']['zoocards_to_mkdocs_build']:.1%}" if build else NOT_TIMED,
            "warm": f"{warm['seconds']:.1f}" if warm else NOT_TIMED, "peak": f"{build['peak_rss_mb']:.0f}" if build else NOT_TIMED,
            "site": f"{size['site']['bytes'] / 1e6:.1f} / {size['site']['files']}" if build else NOT_TIMED,
        })
    return rows


# The targets of issue 7, checked at TARGET_FAMILIES (else the largest zoo measured): (name, figure path, limit, kind).
PERFORMANCE_TARGETS = (
    ("target_lcr_cold", ("zoocards", "load_check_render_s"), 3.0, "s"),
    ("target_lcr_cached", ("zoocards_cached", "load_check_render_s"), 3.0, "s"),
    ("target_share_cold", ("ratios", "load_check_render_to_mkdocs_build"), 0.05, "share"),
    ("target_share_cached", ("ratios", "cached_load_check_render_to_mkdocs_build"), 0.05, "share"),
    ("target_one_card", ("incremental", "one_card", "seconds"), 0.5, "s"),
    ("target_one_card_axis", ("incremental", "one_card_axis", "seconds"), 0.5, "s"),
    ("target_one_card_prose", ("incremental", "one_card_prose", "seconds"), 0.5, "s"),
    ("target_warm", ("ratios", "make_cards_warm_to_plain"), 1.2, "ratio"),
)
_TARGET_FORMAT = {"s": "{:.2f} s", "share": "{:.1%}", "ratio": "{:.2f}×"}


TARGET_FAMILIES = 1000  # the issue sets its targets "at 1000 families"


def performance_targets(bench: dict[str, Any] | None, t: dict[str, Markup]) -> tuple[str, list[dict[str, Any]]]:
    """(families, rows): each target against the zoo of TARGET_FAMILIES families, else the largest measured; a figure not measured is said so, never passed."""
    sizes = [s for s in (bench or {}).get("sizes", []) if "error" not in s]
    if not sizes:
        return "", []
    size = next((s for s in sizes if s["families"] == TARGET_FAMILIES), None) or max(sizes, key=lambda s: s["families"])
    rows = []
    for name, path, limit, kind in PERFORMANCE_TARGETS:
        value: Any = size
        for part in path:
            value = value.get(part) if isinstance(value, dict) else None
        shape = _TARGET_FORMAT[kind]
        rows.append({"target": t[name], "limit": shape.format(limit).replace(".00 s", " s"), "value": "" if value is None else shape.format(value),
                     "met": None if value is None else value <= limit})
    return str(size["families"]), rows


def render_site(cards: list[Card], verifications: list[dict[str, Any]], records: dict[str, list[dict[str, Any]]], templates_dir: Path = TEMPLATES_DIR, performance: dict[str, Any] | None = None) -> dict[str, str]:
    """Every generated page of the site, both languages: `{path under site_src: Markdown}`."""
    pages: dict[str, str] = {}
    by_card = group_by_card(verifications)  # once: a scan per card is quadratic in the zoo's size
    for card in cards:
        pages.update(render_family(card, by_card.get(card.id, []), records.get(card.id, []), templates_dir))
    pages.update(render_zoo_pages(cards, verifications, records, templates_dir, performance, by_card=by_card))
    return pages


def render_zoo_pages(cards: list[Card], verifications: list[dict[str, Any]], records: dict[str, list[dict[str, Any]]], templates_dir: Path = TEMPLATES_DIR, performance: dict[str, Any] | None = None,
                     fragments: Fragments | None = None, by_card: dict[str, list[dict[str, Any]]] | None = None) -> dict[str, str]:
    """Every page that summarises more than one card, both languages (`fragments`: per-card pieces to reuse;
    `by_card`: the verifications grouped by card, if done already: a grouping costs 10 ms of a one-card edit at 1000 families)."""
    by_card = group_by_card(verifications) if by_card is None else by_card
    pages = {**render_zoo(cards, verifications, templates_dir, performance, fragments, by_card),
             **views.render_views(cards, verifications, records, templates_dir, fragments=fragments, by_card=by_card)}
    if fragments is not None:
        fragments.prune()
    return pages


# Where the verification report takes the section on sources that disagree (add_disagreements).
DISAGREEMENTS_MARKER = "<!-- zoocards:disagreements -->"
_COMPARED_UNIT = {"percent": "%", "G": "G, as written", "M": "M", "MB": "MB", "ms": "ms"}


def add_disagreements(pages: dict[str, str], disagreements: list[Any], cards: list[Card], upstream: list[Any], templates_dir: Path = TEMPLATES_DIR) -> list[Any]:
    """Put the figures upstream pages write differently (compare.disagreements) into the verification report, both languages; returns them.

    The report is kept between generations without its sources (build's zoo cache), so the
    section goes in after, at DISAGREEMENTS_MARKER; with no source at all the marker is removed."""
    section: Any = environment(templates_dir).get_template("_disagreements.md.j2").module
    for lang in LANGUAGES:
        path = f"zoo/verification.{lang}.md"
        if path not in pages:
            continue
        text = ""
        if upstream:
            t = strings(templates_dir, lang)
            text = str(section.section(disagreement_rows(disagreements, cards, upstream, lang, t), upstream, t))
        pages[path] = pages[path].replace(DISAGREEMENTS_MARKER + "\n", text, 1)
    return disagreements


def disagreement_rows(disagreements: list[Any], cards: list[Card], upstream: list[Any], lang: str, t: dict[str, Markup]) -> list[Markup]:
    """One table row per disagreeing figure: the model, the figure and its conditions, each value with the pages that write it, their ratio."""
    families = {c.id: c.data["name"][lang] for c in cards}
    titles = {s.id: s.data["title"][lang] for s in upstream}
    # A disagreement names the model by its canonical spelling (LeViT_128); its row on the family
    # page is anchored by the card's own (LeViT-128).
    spelled = {(c.id, canonical(m["name"])): m["name"] for c in cards for m in c.data["models"]}
    rows = []
    for d in disagreements:
        target = anchor(spelled.get((d["card"], d["model"]), d["model"]))
        model = Markup(f"[{cell(d['model'])}](../models/{escape(d['card'])}.md#{escape(target)})") if d["card"] else cell(d["model"])
        conditions = " ".join(str(x) for x in (d["hardware"], d["precision"], f"bs={d['batch_size']}" if d["batch_size"] else None,
                                               f"{t['threads']}={d['threads']}" if d["threads"] else None) if x)
        values = []
        for value in d["values"]:
            pages_of = []
            for figure in value["figures"]:
                if figure["origin"] == "card":
                    pages_of.append(f"[{cell(families.get(figure['origin_id'], figure['origin_id']))}](../models/{escape(figure['origin_id'])}.md) ({cell(figure['where'])})")
                else:
                    pages_of.append(f"[{cell(titles.get(figure['origin_id'], figure['origin_id']))}, L{figure['line']}]({escape(figure['url'])})")
            values.append(f"**{cell(value['text'])}**: " + ", ".join(dict.fromkeys(pages_of)))
        spread = units.plain(Decimal(format(d["spread"], ".4g")))
        if d["unit"] != "percent" and d["ratio"] is not None:  # a ratio says more for counts and timings (2: FLOPs vs MACs)
            spread += f" (×{d['ratio']:.3g})"
        rows.append(table_row([model, f"{d['metric']} ({_COMPARED_UNIT.get(d['unit'], d['unit'])})", conditions, Markup("<br>".join(values)), spread]))
    return rows


def mismatch_rows(cards: list[Card], verifications: list[dict[str, Any]], lang: str) -> list[Markup]:
    """The report's table of params/compute mismatches with what explains each (diagnose.py), as table rows."""
    names = {c.id: c.data["name"][lang] for c in cards}
    rows = []
    for v in sorted((v for v in verifications if v["status"] == "mismatch" and v.get("explanation")), key=lambda v: (v["card"], v["model"], v["metric"], v["source"])):
        explanation = v["explanation"]
        text = explanation["text_zh"] if lang == "zh" else explanation["text"]
        measured = "" if v.get("measured") is None else units.plain(Decimal(f"{v['measured']:.6g}")) + (" G MACs" if v["metric"] == "flops" else " M")
        rows.append(table_row([Markup(f"[{cell(names.get(v['card'], v['card']))}](#{v['card']})"), Markup(f"[{cell(v['model'])}](../models/{escape(v['card'])}.md#{escape(anchor(v['model']))})"),
                               v["metric"], v["claimed_raw"], measured, text]))
    return rows


def verification_rows(cards: list[Card], verifications: list[dict[str, Any]], lang: str) -> list[dict[str, Any]]:
    """The verification report's table: every figure, ordered by card, model and metric."""
    names = {c.id: c.data["name"][lang] for c in cards}
    rows = []
    for v in sorted(verifications, key=lambda v: (v["card"], v["model"], v["metric"], v["source"])):
        conditions = " ".join(str(x) for x in (v.get("hardware"), v.get("precision"), f"bs={v['batch_size']}" if v.get("batch_size") else None) if x)
        rows.append({
            **v,
            "family": names.get(v["card"], v["card"]),
            "conditions": conditions,
            "claimed_text": v.get("claimed_raw") or "",
            "measured_text": "" if v.get("measured") is None else units.plain(Decimal(str(v["measured"]))),
            "reason_text": (v.get("reason_zh") if lang == "zh" else v.get("reason")) or "",
        })
    return rows


# --------------------------------------------------------------------------- upstream sources

_SOURCE_DOWNLOADS = ("pretrained_stage1", "pretrained", "inference")


def render_sources(upstream: list[Source], cards: list[Card], templates_dir: Path = TEMPLATES_DIR) -> dict[str, str]:
    """A page per upstream source and their index (always: the nav lists it), both languages: every row, figure and link, each model linked to its family page when a card has it."""
    families = {canonical(model["name"]): (card.id, model["name"]) for card in cards for model in card.data["models"]}
    # The pages follow from the sources' text, the models the cards have and the templates: kept while those hold
    # (the README's page alone takes 0.2 s to make, and a one-card edit changes none of them).
    key = hashlib.sha256(repr(([(s.path, s.digest or s.card.source) for s in upstream], sorted(families.items()), str(templates_dir), _templates_text(templates_dir))).encode()).hexdigest()
    if _SOURCE_PAGES and _SOURCE_PAGES[0] == key:
        return dict(_SOURCE_PAGES[1])
    env = environment(templates_dir)
    page, index = env.get_template("source.md.j2"), env.get_template("sources.md.j2")
    pages: dict[str, str] = {}
    for lang in LANGUAGES:
        t = strings(templates_dir, lang)
        listed = []
        for source in upstream:
            data = source.data
            tables = [_source_table(source, t_index, families, lang, t) for t_index in range(len(data["tables"]))]
            rows = [row for table in data["tables"] for row in table["rows"]]
            links = [table_row([Markup(f"[{link['line']}]({escape(data['upstream']['url'])}#L{link['line']})"), Markup(f"[{cell(link.get('label', link['url']))}]({escape(link['url'])})")])
                     for link in data.get("links", [])]
            downloads = sum(len(row.get("downloads", {})) for row in rows)
            pages[f"zoo/sources/{source.id}.{lang}.md"] = page.render(lang=lang, t=t, source=data, tables=tables, rows=len(rows), downloads=downloads, links=links)
            listed.append({"id": source.id, "title": data["title"][lang], "file": data["upstream"]["file"], "url": data["upstream"]["url"], "tables": len(tables),
                           "rows": len(rows), "on_cards": sum(1 for row in rows if row["model"] in families)})
        pages[f"zoo/sources/index.{lang}.md"] = index.render(lang=lang, t=t, sources=listed)
    _SOURCE_PAGES[:] = [key, dict(pages)]
    return pages


_SOURCE_PAGES: list[Any] = []  # [key, pages] of the last render_sources


def _templates_text(templates_dir: Path) -> list[bytes]:
    """What the source pages are made with: their templates and the catalogues."""
    texts = []
    for name in ("source.md.j2", "sources.md.j2", os.path.join("i18n", "zh.yaml"), os.path.join("i18n", "en.yaml")):
        try:
            with open(os.path.join(templates_dir, name), "rb") as handle:
                texts.append(handle.read())
        except FileNotFoundError:
            texts.append(b"")
    return texts


def _source_table(source: Source, t_index: int, families: dict[str, tuple[str, str]], lang: str, t: dict[str, Markup]) -> dict[str, Any]:
    """One upstream table as Markdown rows: the model (linked to its family), every figure as written, the downloads, the upstream line."""
    table = source.data["tables"][t_index]
    url = escape(source.data["upstream"]["url"])
    headers = [t["model"]]
    for column in table["columns"]:
        conditions = [column.get("hardware"), " ".join(x for x in (column.get("runtime"), column.get("runtime_version")) if x) or None, column.get("precision"),
                      f"bs={column['batch_size']}" if "batch_size" in column else None, f"threads={column['threads']}" if "threads" in column else None]
        shown = " · ".join(str(x) for x in conditions if x)
        headers.append(Markup(f"{cell(column['header'])}<br><small>{cell(shown)}</small>") if shown else cell(column["header"]))
    headers += [t["source_downloads"], t["source_line"]]
    rows = []
    for r_index, row in enumerate(table["rows"]):
        written = row.get("written", row["model"])
        family = families.get(row["model"])
        name = Markup(f"[{cell(written)}](../../models/{family[0]}.md#{anchor(family[1])})") if family else cell(written)
        if written != row["model"]:  # the name the cards and claims use
            name = Markup(f"{name} <small>({cell(row['model'])})</small>")
        figures = [cell(source.card.raw_number(("tables", t_index, "rows", r_index, "values", v_index)) or str(value)) if value is not None else "—"
                   for v_index, value in enumerate(row["values"])]
        downloads = Markup(" · ").join(Markup(f"[{t['source_' + key]}]({escape(row['downloads'][key])})") for key in _SOURCE_DOWNLOADS if key in row.get("downloads", {}))
        rows.append(table_row([name, *figures, downloads, Markup(f"[{row['line']}]({url}#L{row['line']})")]))
    return {"id": table["id"], "title": cell(table["title"][lang]), "line": table["line"], "section": table.get("section", ""),
            "notes": table["notes"][lang] if "notes" in table else "", "header": table_row(headers),
            "align": Markup("| :-- | " + " | ".join("--:" for _ in table["columns"]) + " | :-- | --: |"), "rows": rows}

