"""Stage 2: check cards against the schema, then against the rules a schema cannot say.

Every problem names file:line:column and the key path, says what was expected and
what was found, and how to fix it. All problems of all cards are collected; the
caller decides (errors fail, warnings are printed).
"""

from __future__ import annotations

import difflib
import functools
import json
import re
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from zoocards import fastschema, sources
from zoocards.names import identity as model_identity
from zoocards.schema_errors import explain_schema, show as _show

if TYPE_CHECKING:  # jsonschema only explains a failing card: imported then (0.2 s at start-up)
    import jsonschema
from zoocards.errors import Problem
from zoocards.load import Card, KeyPath, format_path
from zoocards.units import ACCURACY_METRICS

SCHEMA_PATH = Path(__file__).parent / "schema" / "card-v1.schema.json"
SCHEMA_URL_SUFFIX = "zoocards/schema/card-v1.schema.json"

# Generated pages that live beside the family pages (models/<id>.<lang>.md).
RESERVED_IDS = {"index": "the family index (models/index.md)"}


@functools.lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    """The card schema, parsed once."""
    with SCHEMA_PATH.open(encoding="utf-8") as handle:
        return json.load(handle)  # type: ignore[no-any-return]


@functools.lru_cache(maxsize=1)
def _validator() -> "jsonschema.protocols.Validator":
    import jsonschema

    cls = jsonschema.validators.validator_for(schema())
    return cls(schema())  # type: ignore[no-any-return]


def _problem(card: Card, path: KeyPath, message: str, severity: str = "error") -> Problem:
    mark = card.mark(path)
    return Problem(card.path, mark.line, mark.column, format_path(path), message, severity)


@functools.lru_cache(maxsize=1)
def _fast_valid() -> fastschema.Check:
    return fastschema.compile_schema(schema())


def _schema_problems(card: Card) -> Iterator[Problem]:
    if _fast_valid()(card.data):
        return  # valid for certain; jsonschema (30x slower) runs only to explain errors
    for path, message in explain_schema(card.data, _validator(), schema()):
        yield _problem(card, path, message)


def _decimal(card: Card, path: KeyPath, value: Any) -> Decimal:
    raw = card.raw_number(path)
    return Decimal(raw) if raw is not None else Decimal(str(value))


def _check_accuracy(card: Card, path: KeyPath, value: Any, unit: str, unit_key: str) -> Iterator[Problem]:
    number = _decimal(card, path, value)
    if unit == "fraction" and not Decimal(0) <= number <= Decimal(1):
        suggestion = "" if number > 100 else f"write {number / 100} or "
        yield _problem(card, path, f"{number} is not a fraction in [0, 1]; {suggestion}set {unit_key}: percent")
    elif unit == "percent" and not Decimal(0) <= number <= Decimal(100):
        yield _problem(card, path, f"{number} is not a percentage in [0, 100]; check the figure against its source")
    elif unit == "percent" and Decimal(0) < number <= Decimal(1):
        yield _problem(card, path, f"{number} looks like a fraction but {unit_key} is percent; write {number * 100} or set {unit_key}: fraction", "warning")


def _semantic_problems(card: Card) -> Iterator[Problem]:
    data = card.data
    if data["id"] in RESERVED_IDS:
        yield _problem(card, ("id",), f"id '{data['id']}' is taken by {RESERVED_IDS[data['id']]}, whose page would replace this family's; choose another id (and file name)")
    if data["id"] != card.path.stem:
        yield _problem(card, ("id",), f"id '{data['id']}' must equal the file name '{card.path.stem}'; rename the file to {data['id']}.yaml or change the id")
    models = data["models"]
    names = [m["name"] for m in models]
    seen: dict[str, int] = {}
    for index, name in enumerate(names):
        if name in seen:
            yield _problem(card, ("models", index, "name"), f"model '{name}' is already defined at models[{seen[name]}]; model names are unique within a card")
        seen.setdefault(name, index)
    known = set(names)

    def unknown_model(path: KeyPath, name: str) -> Problem:
        close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'?" if close else f"models of this card: {', '.join(names)}"
        return _problem(card, path, f"'{name}' is not a model of this card; {hint}")

    units = data["units"]
    # units.storage is optional in the schema: most cards give no file sizes.
    sized = next((index for index, model in enumerate(models) if model["metrics"].get("storage") is not None), None)
    if sized is not None and "storage" not in units:
        yield _problem(card, ("units",), f"missing key 'storage': models[{sized}].metrics.storage gives a file size, so say its unit once here (for example: storage: MB)")
    for index, model in enumerate(models):
        metrics = model["metrics"]
        accuracy_problems = [
            problem
            for metric in ACCURACY_METRICS
            if metrics.get(metric) is not None
            for problem in _check_accuracy(card, ("models", index, "metrics", metric), metrics[metric], units["accuracy"], "units.accuracy")
        ]
        yield from accuracy_problems
        for metric in ("flops", "params", "storage"):
            value = metrics.get(metric)
            if value is not None and value <= 0:
                yield _problem(card, ("models", index, "metrics", metric), f"{value} is not a positive {metric} figure; write the figure, or null when there is none")
        for top1, top5 in (("top1", "top5"), ("reference_top1", "reference_top5")):
            if accuracy_problems:
                break
            if metrics.get(top1) is not None and metrics.get(top5) is not None and metrics[top5] < metrics[top1]:
                yield _problem(card, ("models", index, "metrics", top5), f"{top5} {metrics[top5]} is below {top1} {metrics[top1]}; top-5 accuracy can never be lower than top-1 — are the columns swapped?")
        for ack_index, ack in enumerate(model.get("acknowledged", [])):
            if metrics.get(ack["metric"]) is None and ack["metric"] != "onnx_export":
                yield _problem(card, ("models", index, "acknowledged", ack_index, "metric"), f"acknowledges a mismatch of {ack['metric']}, but the model claims no {ack['metric']}; remove the acknowledgement")

    for index, paper in enumerate(data.get("papers", [])):
        for model_index, name in enumerate(paper.get("models", [])):
            if name not in known:
                yield unknown_model(("papers", index, "models", model_index), name)

    benchmark_ids: dict[str, int] = {}
    for b_index, bench in enumerate(data.get("benchmarks", [])):
        base: KeyPath = ("benchmarks", b_index)
        if bench["id"] in benchmark_ids:
            yield _problem(card, base + ("id",), f"benchmark id '{bench['id']}' is already used by benchmarks[{benchmark_ids[bench['id']]}]; ids are unique within a card")
        benchmark_ids.setdefault(bench["id"], b_index)
        for r_index, row in enumerate(bench["rows"]):
            if row["model"] not in known:
                yield unknown_model(base + ("rows", r_index, "model"), row["model"])
        yield from _table_problems(card, base, bench, "benchmark")
    # A comparison quotes models of other families: its rows need not be models of this card.
    for c_index, comparison in enumerate(data.get("comparisons", [])):
        yield from _table_problems(card, ("comparisons", c_index), comparison, "table")

    for index, download in enumerate(data.get("downloads", [])):
        if download["model"] not in known:
            yield unknown_model(("downloads", index, "model"), download["model"])


# A Markdown link in card prose: `[text](target)`.
_PROSE_LINK = re.compile(r"\[[^\]\n]*\]\(\s*([^)\s]*)")
# What prose may link to: an absolute URL, an anchor of the same page, or another card (`card:<id>`,
# optionally `card:<id>#<model>`), which renders as a link to that family's page.
# A target with any other scheme (javascript:, data:) is not a page link: prose renders it inert
# as literal text (tests/test_hostile.py), so only scheme-less, relative targets are refused.
_ABSOLUTE_TARGET = re.compile(r"^(https?://|mailto:|#|(?!card:)[A-Za-z][A-Za-z0-9+.-]*:)")
_CARD_TARGET = re.compile(r"^card:([a-z0-9][a-z0-9-]*)(#[\w.-]+)?$")


def _strings(value: Any, path: KeyPath) -> Iterator[tuple[KeyPath, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, path + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, path + (index,))


def _text_position(card: Card, path: KeyPath, needle: str) -> tuple[int, int]:
    """Line and column of `needle` in the card's source, searching from the value's own line
    (a block scalar's text starts on the lines after its mark)."""
    start = card.mark(path)
    lines = card.source.split("\n")
    for number in range(start.line - 1, len(lines)):
        column = lines[number].find(needle)
        if column >= 0:
            return number + 1, column + 1
    return start.line, start.column


def _link_problems(card: Card, known_cards: set[str] | None) -> Iterator[Problem]:
    """Links in prose that the site cannot follow: relative paths (the build fails on them), or,
    given the ids of all cards, references to cards that do not exist (and only those)."""
    for path, text in _strings(card.data, ()):
        for match in _PROSE_LINK.finditer(text):
            target = match.group(1)
            if _ABSOLUTE_TARGET.match(target):
                continue
            line, column = _text_position(card, path, match.group(0))
            where = format_path(path)
            reference = _CARD_TARGET.match(target)
            if reference or known_cards is not None:
                if reference and known_cards is not None and reference.group(1) not in known_cards:
                    message = f"link to card '{reference.group(1)}', but no card has that id; use the id of a file in cards/ (e.g. card:{next(iter(sorted(known_cards)), 'resnet')})"
                    yield Problem(card.path, line, column, where, message)
                continue
            message = (
                f"relative link '{target}' in prose: the site has no page at that path, so the strict build fails; "
                "write an absolute URL (https://...), or link another family's card as [text](card:<card id>)"
            )
            yield Problem(card.path, line, column, where, message)


def _table_problems(card: Card, base: KeyPath, table: dict[str, Any], noun: str) -> Iterator[Problem]:
    """Columns and rows of a benchmark or comparison table: one value per column, in a unit that fits."""
    columns = table["columns"]
    identities = Counter(
        (c["metric"], c.get("precision"), c.get("batch_size"), c.get("threads"), json.dumps(c.get("label"), sort_keys=True)) for c in columns
    )
    for c_index, column in enumerate(columns):
        identity = (column["metric"], column.get("precision"), column.get("batch_size"), column.get("threads"), json.dumps(column.get("label"), sort_keys=True))
        if identities[identity] > 1:
            yield _problem(card, base + ("columns", c_index), "two columns measure the same thing (same metric, precision, batch_size, threads and label); give each its own conditions or a label")
            identities[identity] = 0
        yield from _column_unit_problems(card, base + ("columns", c_index), column)
    rows_seen: dict[tuple[str, Any], int] = {}
    for r_index, row in enumerate(table["rows"]):
        path = base + ("rows", r_index)
        row_key = (row["model"], row.get("input_size"))
        if row_key in rows_seen:
            yield _problem(card, path + ("model",), f"'{row['model']}' already has a row in this {noun} (rows[{rows_seen[row_key]}]); merge the two rows")
        rows_seen.setdefault(row_key, r_index)
        values = row["values"]
        if len(values) != len(columns):
            yield _problem(card, path + ("values",), f"{len(values)} values for {len(columns)} columns; give one value per column (null for an empty cell)")
            continue
        for v_index, (value, column) in enumerate(zip(values, columns)):
            if value is None:
                continue
            vpath = path + ("values", v_index)
            if value < 0:
                yield _problem(card, vpath, f"{value} is negative; a {column['metric']} figure cannot be")
            elif column["unit"] in ("fraction", "percent"):
                yield from _check_accuracy(card, vpath, value, column["unit"], format_path(base + ("columns", v_index, "unit")))
        yield from _latency_order(card, path, values, columns)


def _column_unit_problems(card: Card, path: KeyPath, column: dict[str, Any]) -> Iterator[Problem]:
    allowed = {
        "latency": {"ms", "s"}, "fps": {"fps"}, "top1": {"fraction", "percent"}, "top5": {"fraction", "percent"},
        "params": {"K", "M", "G"}, "flops": {"K", "M", "G"}, "classes": {"count"},
    }[column["metric"]]
    if column["unit"] not in allowed:
        yield _problem(card, path + ("unit",), f"unit '{column['unit']}' does not fit metric '{column['metric']}'; use one of: {', '.join(sorted(allowed))}")


def _latency_order(card: Card, path: KeyPath, values: list[Any], columns: list[dict[str, Any]]) -> Iterator[Problem]:
    """Warn when latency falls as the batch grows under otherwise equal conditions."""
    series: dict[tuple[Any, ...], list[tuple[int, int, float]]] = {}
    for index, (value, column) in enumerate(zip(values, columns)):
        if column["metric"] == "latency" and value is not None and column.get("batch_size") is not None:
            key = (column.get("precision"), column.get("threads"), column["unit"])
            series.setdefault(key, []).append((column["batch_size"], index, value))
    for points in series.values():
        points.sort()
        for (small_batch, _, small), (big_batch, index, big) in zip(points, points[1:]):
            if big < small:
                yield _problem(
                    card, path + ("values", index),
                    f"latency {big} at batch {big_batch} is below {small} at batch {small_batch}; latency usually grows with batch size — check the column order",
                    "warning",
                )


# A cell starting with one of these runs as a formula when models.csv is opened in a
# spreadsheet; the exports keep text exact, so such a name is refused at the source.
_FORMULA_START = ("=", "+", "-", "@")


def _formula_problems(card: Card) -> Iterator[Problem]:
    for lang in ("zh", "en"):
        text = card.data.get("name", {}).get(lang)
        if isinstance(text, str) and text.lstrip().startswith(_FORMULA_START):
            yield _problem(card, ("name", lang), f"{_show(text)} starts with '{text.lstrip()[0]}', which spreadsheets run as a formula when they open the exports; start the name with a letter or digit")


def _cross_card_problems(cards: list[Card]) -> Iterator[Problem]:
    by_slug: dict[str, Card] = {}
    for card in cards:
        slug = str(card.data.get("id", card.path.stem)).lower()
        if slug in by_slug:
            other = by_slug[slug]
            yield _problem(card, ("id",), f"id '{slug}' is also used by {other.path.name}; every family needs its own id")
        by_slug.setdefault(slug, card)
    for card in cards:
        yield from _link_problems(card, set(by_slug))
    # A model belongs to one card; another family's page that lists it quotes it in `comparisons`.
    owner: dict[str, tuple[Card, str]] = {}
    for card in by_slug.values():  # a card whose id is taken is reported for that alone
        models = card.data.get("models")
        if not isinstance(models, list):
            continue
        for index, model in enumerate(models):
            name = model.get("name") if isinstance(model, dict) else None
            if not isinstance(name, str):
                continue
            first = owner.setdefault(model_identity(name), (card, name))
            if first[0] is not card:
                message = (f"model '{name}' is already a model of {first[0].path.name} (as '{first[1]}'); a model belongs to one card: "
                           "quote it here in a `comparisons` table instead")
                # A warning: the site builds, but the model is measured twice and listed twice.
                yield _problem(card, ("models", index, "name"), message, "warning")


def _schema_line_problems(card: Card) -> Iterator[Problem]:
    first = card.source.lstrip("\ufeff").split("\n", 1)[0]
    if "yaml-language-server: $schema=" not in first or SCHEMA_URL_SUFFIX not in first:
        yield Problem(card.path, 1, 1, "(document)", f"the first line should be '# yaml-language-server: $schema=../{SCHEMA_URL_SUFFIX}' so editors complete and check the card", "warning")


def check_card(card: Card) -> list[Problem]:
    """All problems of one card: schema first, semantics only once the schema passes."""
    problems = list(_schema_problems(card))
    if not problems:
        problems.extend(_semantic_problems(card))
        problems.extend(_formula_problems(card))
        problems.extend(_link_problems(card, None))
    problems.extend(_schema_line_problems(card))
    return problems


def cross_card_problems(cards: list[Card]) -> list[Problem]:
    """Problems between cards (a shared id, a link to a card that does not exist), which checking each card alone cannot see."""
    return list(_cross_card_problems(cards))


def check_cards(cards: list[Card]) -> list[Problem]:
    """All problems of all cards, including those between cards."""
    problems: list[Problem] = []
    for card in cards:
        problems.extend(check_card(card))
    problems.extend(_cross_card_problems(cards))
    return sorted(problems)


def check_sources(root: Path, paths: list[Path] | None = None) -> list[Problem]:
    """All problems (errors and warnings) of the project's upstream sources, `<root>/sources/*.yaml` (or the given files); see zoocards.sources."""
    return sources.source_problems(sources.source_paths(root) if paths is None else paths)

