"""The zoo as one table: every model of every card with every figure in the site's display unit.

Pure, like render: cards, verification records and measurement records in, `Entry` rows out.
The leaderboard, the plots and the exports all read these rows, so a figure shows the same
text everywhere (conversion goes through `pages.display_text`, which the family pages use too).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Iterable, Mapping, TypedDict

from zoocards import compare, pages, units
from zoocards.load import Card, KeyPath

# The model-table figures every zoo-wide view and export carries, in the family table's order.
# (storage is a file size, not a figure the leaderboard or the exports compare models on).
MODEL_METRICS = tuple(metric for metric in units.MODEL_METRICS if metric != "storage")
# The latency every leaderboard column shows: one image at a time.
LEADERBOARD_BATCH = 1
HERE = "here"  # the `hardware` of a latency this site measured itself
# The family groups as PaddleClas' readers know them, in the order every page lists them (the
# family index, the navigation, the leaderboard, the plots' colours). A card names its group in
# free text (`group: {zh, en}`); a group not listed here follows these, by its English name.
GROUP_ORDER: tuple[dict[str, str], ...] = (
    {"zh": "服务器端卷积网络", "en": "Server CNNs"},
    {"zh": "轻量级卷积网络", "en": "Lightweight CNNs"},
    {"zh": "视觉 Transformer", "en": "Vision Transformers"},
)
_GROUP_RANK = {label: rank for rank, group in enumerate(GROUP_ORDER) for label in group.values()}


class Figure(TypedDict):
    """One figure of one model, converted, with where it was claimed and its verdict."""

    key: str
    metric: str
    value: Decimal
    text: str
    unit: str
    hardware: str | None
    precision: str | None
    batch_size: int | None
    threads: int | None
    source: str
    verification: dict[str, Any] | None


class Entry(TypedDict):
    """One model of the zoo."""

    card: str
    family: dict[str, str]
    group: dict[str, str]
    task: str
    dataset: str
    model: str
    anchor: str
    input_size: int
    figures: dict[str, Figure]


class LatencyColumn(TypedDict):
    """A leaderboard latency column: one (hardware, precision, threads) at batch size 1."""

    key: str
    hardware: str
    precision: str | None
    threads: int | None


def group_key(group: Mapping[str, str]) -> tuple[int, str]:
    """Where a group sorts: the groups of GROUP_ORDER first, in that order (known by either
    language's label), then the others by English name, a card without a group last."""
    english = group.get("en", "")
    rank = _GROUP_RANK.get(english, _GROUP_RANK.get(group.get("zh", ""), len(GROUP_ORDER) + (0 if english or group.get("zh") else 1)))
    return rank, english.casefold()


def family_key(group: Mapping[str, str], name: Mapping[str, str], card_id: str) -> tuple[tuple[int, str], str, str]:
    """Where a family sorts: by its group (`group_key`), then alphabetically by English name,
    the same in both languages and in the navigation (a card's `group`, `name` and id)."""
    return group_key(group), name["en"].casefold(), card_id


def nav_groups(families: Iterable[tuple[str, Mapping[str, Any]]]) -> list[tuple[dict[str, str], list[str]]]:
    """The families as the family index groups them, for the navigation: per group in order, its
    labels (`{zh, en}`, empty for no group) and its card ids by name. `families` are (card id,
    card data) pairs; data not shaped like a card's sorts by its id (check reports it)."""
    shaped = []
    for card_id, data in families:
        group, name = data.get("group"), data.get("name")
        group, name = group if isinstance(group, dict) else {}, name if isinstance(name, dict) else {}
        labels = {"zh": str(group.get("zh", "")), "en": str(group.get("en", ""))}
        shaped.append((family_key(labels, {"en": str(name.get("en", card_id))}, card_id), labels, card_id))
    out: list[tuple[dict[str, str], list[str]]] = []
    for key, labels, card_id in sorted(shaped, key=lambda item: item[0]):
        if out and group_key(out[-1][0]) == key[0]:
            out[-1][1].append(card_id)
        else:
            out.append((labels, [card_id]))
    return out


def figure_key(metric: str, hardware: str | None = None, precision: str | None = None, batch_size: int | None = None, threads: int | None = None) -> str:
    """The zoo-wide name of a figure: `top1`, or `latency[NVIDIA T4, FP16, bs=1]`."""
    if hardware is None:
        return metric
    parts = [hardware] + [x for x in (precision, None if batch_size is None else f"bs={batch_size}", None if threads is None else f"threads={threads}") if x]
    return f"{metric}[{', '.join(parts)}]"


def card_entries(card: Card, verifications: Iterable[dict[str, Any]], records: list[dict[str, Any]]) -> list[Entry]:
    """The rows of one card; a benchmark figure claimed twice for a model keeps the first."""
    data = card.data
    card_id = card.id  # once, not per verification
    by_source = {v["source"]: v for v in verifications if v["card"] == card_id}
    raw = card.raw
    unit_of = data["units"]
    convention = unit_of["flops"]["convention"]
    # What a model-table figure of each metric shares: its unit as written and as shown.
    model_metrics = [(metric, units.model_metric_unit(unit_of, metric), units.DISPLAY_UNIT.get(metric, "")) for metric in MODEL_METRICS]
    entries: dict[str, Entry] = {}
    for index, model in enumerate(data["models"]):
        figures: dict[str, Figure] = {}
        claimed = model["metrics"]
        for metric, unit, shown in model_metrics:
            value = claimed.get(metric)
            if value is None:
                continue
            path: KeyPath = ("models", index, "metrics", metric)
            text = pages.display_text(raw.get(path), value, metric, unit, convention)
            source = pages.source_of(path)
            figures[metric] = {"key": metric, "metric": metric, "value": units.as_decimal(text), "text": text, "unit": shown, "hardware": None,
                               "precision": None, "batch_size": None, "threads": None, "source": source, "verification": by_source.get(source)}
        entries[model["name"]] = {
            "card": card_id, "family": data["name"], "group": data.get("group", {"zh": "", "en": ""}), "task": data["task"],
            "dataset": data["dataset"], "model": model["name"], "anchor": pages.anchor(model["name"]),
            "input_size": int(model["input_size"]), "figures": figures,
        }
    for b_index, bench in enumerate(data.get("benchmarks", [])):
        hardware = bench["hardware"]
        # Per column, once: its zoo-wide key and what each of its figures carries besides its value.
        columns = [(figure_key(c["metric"], hardware, c.get("precision"), c.get("batch_size"), c.get("threads")), c) for c in bench["columns"]]
        for r_index, row in enumerate(bench["rows"]):
            entry = entries.get(row["model"])
            if entry is None:
                continue
            figures = entry["figures"]
            for v_index, (value, (key, column)) in enumerate(zip(row["values"], columns)):
                if value is None or key in figures:
                    continue
                path = ("benchmarks", b_index, "rows", r_index, "values", v_index)
                metric = column["metric"]
                text = pages.display_text(raw.get(path), value, metric, column["unit"])
                source = pages.source_of(path)
                figures[key] = {"key": key, "metric": metric, "value": units.as_decimal(text), "text": text, "unit": units.DISPLAY_UNIT.get(metric, ""),
                                "hardware": hardware, "precision": column.get("precision"), "batch_size": column.get("batch_size"),
                                "threads": column.get("threads"), "source": source, "verification": by_source.get(source)}
    # The "measured here" column: each model's newest onnxruntime FP32 timing on a CPU at batch 1,
    # the timing every model with a builder gets (records of several hosts and runtimes coexist).
    here: dict[str, compare.Timing] = {}
    for found in map(compare.timing, records):
        if (found is None or found.status != "ok" or found.hardware_kind != "cpu" or found.runtime != "onnxruntime" or found.precision != "FP32"
                or str(LEADERBOARD_BATCH) not in found.batches):
            continue
        if found.model not in here or (found.measured_at or "") > (here[found.model].measured_at or ""):
            here[found.model] = found
    for model_name, found in here.items():
        entry = entries.get(model_name)
        if entry is None:
            continue
        stats = found.batches[str(LEADERBOARD_BATCH)]
        # Two decimals, as the family page's "measured here" table shows it.
        key = figure_key("latency", HERE, "FP32", LEADERBOARD_BATCH)
        entry["figures"][key] = Figure(
            key=key, metric="latency", value=Decimal(f"{stats['median_ms']:.2f}"), text=f"{stats['median_ms']:.2f}", unit="ms",
            hardware=HERE, precision="FP32", batch_size=LEADERBOARD_BATCH, threads=None, source=f"measurements/{card_id}.json", verification=None,
        )
    return list(entries.values())


def zoo_entries(cards: list[Card], verifications: list[dict[str, Any]], records: dict[str, list[dict[str, Any]]], fragments: pages.Fragments | None = None,
                by_card: dict[str, list[dict[str, Any]]] | None = None) -> list[Entry]:
    """Every model of every card, cards in id order, models in card order (`fragments` keeps each card's rows; `by_card`: the verifications grouped, if done already)."""
    if by_card is None:
        by_card = pages.group_by_card(verifications)
    out: list[Entry] = []
    for card in sorted(cards, key=lambda c: c.id):
        out.extend(pages.piece(fragments, "entries", card.id, "", lambda card=card: card_entries(card, by_card.get(card.id, []), records.get(card.id, []))))  # type: ignore[misc]
    return out


def latency_columns(entries: Iterable[Entry], fragments: pages.Fragments | None = None) -> list[LatencyColumn]:
    """The batch-1 latency columns present, claimed hardware by name, this site's CPU last.

    With `fragments`, each card's columns are a piece: after a one-card edit only that card's
    figures are scanned again, not the zoo's 70 000 (at 1000 families)."""
    if fragments is not None:
        return _merged(pages.piece(fragments, "latency", card, "", lambda mine=mine: latency_columns(mine)) for card, mine in pages.group_by_card(entries).items())  # type: ignore[misc]
    seen: dict[str, LatencyColumn] = {}
    for entry in entries:
        for figure in entry["figures"].values():
            if figure["metric"] == "latency" and figure["batch_size"] == LEADERBOARD_BATCH and figure["key"] not in seen:
                assert figure["hardware"] is not None
                seen[figure["key"]] = LatencyColumn(key=figure["key"], hardware=figure["hardware"], precision=figure["precision"], threads=figure["threads"])
    return _merged([list(seen.values())])


def _merged(lists: Iterable[list[LatencyColumn]]) -> list[LatencyColumn]:
    # A column is named by its key (hardware, precision, threads), so any one of equal ones will do.
    seen = {column["key"]: column for columns in lists for column in columns}
    return sorted(seen.values(), key=lambda c: (c["hardware"] == HERE, c["hardware"], c["precision"] or "", c["threads"] or 0))
