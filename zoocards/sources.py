"""Upstream sources: pages that quote figures of many families a second time (PaddleClas's model
list, its README, its Paddle-Lite benchmark), kept as `sources/<id>.yaml` and read here.

A source is not a card: it makes no claim zoocards verifies by measuring. Its figures are
claims of the upstream page, each with its line there, so they can be shown on the site and
set against the cards' figures and against each other (`source_claims`). The YAML is read by
`zoocards.load` (marks and raw number text) and checked like a card: every problem names
file:line:column, the key path, and how to fix it. No paddle here.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, NamedTuple

from zoocards import fastschema, load, names, units
from zoocards.errors import CardError, Problem, display_path
from zoocards.load import KeyPath, format_path
from zoocards.schema_errors import explain_schema

if TYPE_CHECKING:  # jsonschema only explains a failing file
    import jsonschema

SOURCES_DIR = "sources"
SCHEMA_PATH = Path(__file__).parent / "schema" / "source-v1.schema.json"
SCHEMA_URL_SUFFIX = "zoocards/schema/source-v1.schema.json"
MAX_SOURCE_BYTES = 4_000_000  # the README's source is ~250 kB

# The units each metric may be written in (the schema lists all of them; this says which fit which).
METRIC_UNITS = {
    "top1": {"fraction", "percent"},
    "top5": {"fraction", "percent"},
    "baseline_top1": {"fraction", "percent"},
    "top1_gain": {"fraction", "percent"},
    "latency": {"ms", "s"},
    "flops": {"K", "M", "G"},
    "params": {"K", "M", "G"},
    "storage": {"MB"},
}
# Column keys that only mean something for timings.
TIMING_KEYS = ("hardware", "hardware_kind", "runtime", "runtime_version", "precision", "batch_size", "threads", "statistic")


@dataclass
class Source:
    """One upstream source: its data, and (through `card`) where each value was written and how."""

    path: Path
    card: load.Card  # the loaded YAML: data, marks, raw number text
    digest: str = ""  # sha256 of the file's bytes, when read from a file (what its pages are keyed by)

    @property
    def data(self) -> dict[str, Any]:
        return self.card.data

    @property
    def id(self) -> str:
        return str(self.card.data.get("id", self.path.stem))

    @property
    def url(self) -> str:
        """The upstream page at its pinned commit."""
        return str(self.card.data["upstream"]["url"])

    def where(self, path: KeyPath) -> str:
        """`sources/x.yaml:LINE:COL` of the value at `path`."""
        mark = self.card.mark(path)
        return f"{display_path(self.path)}:{mark.line}:{mark.column}"


class SourceClaim(NamedTuple):
    """One figure an upstream source states about one model, in the site's display unit.

    `value` is exact (Decimal): percent for top1/top5 (and top1_gain, in percentage points),
    G for flops in the source's own convention (every PaddleClas page counts multiply-accumulates
    with paddle.flops, so these are G MACs like the cards' flops; never halved), M for params,
    ms for latency, MB for storage. `raw` is the text the source wrote. `file` and `line` are
    the upstream file and the row's line there; `url` links to that line at the pinned commit;
    `where` is the value's place in sources/<id>.yaml (to fix it).
    """

    source_id: str
    model: str
    metric: str  # top1, top5, top1_gain, latency, latency_min, latency_max, flops, params, storage
    value: Decimal
    raw: str
    hardware: str | None
    precision: str | None
    batch_size: int | None
    file: str
    line: int
    url: str
    threads: int | None = None
    runtime: str | None = None
    where: str = ""


# --------------------------------------------------------------------------- loading


def source_paths(root: Path) -> list[Path]:
    """The source files of a project (`<root>/sources/*.yaml`), in a stable order."""
    return load.card_paths(root / SOURCES_DIR)


def load_source(path: Path, data: bytes | None = None) -> Source:
    """Read and parse one source file; raise CardError naming file:line:column on malformed input."""
    try:
        data = path.read_bytes() if data is None else data
    except OSError as exc:
        raise CardError([Problem(path, 1, 1, "(file)", f"cannot read the source: {exc.strerror}")]) from None
    if len(data) > MAX_SOURCE_BYTES:
        raise CardError([Problem(path, 1, 1, "(file)", f"the source is {len(data)} bytes, over the {MAX_SOURCE_BYTES}-byte limit; split the upstream page into several sources")])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise CardError([Problem(path, line, column, "(file)", f"byte 0x{data[exc.start]:02x} is not UTF-8; save the source as UTF-8")]) from None
    return Source(path, load.load_text(text.replace("\r\n", "\n"), path))


def load_sources(root: Path) -> list[Source]:
    """Every source of the project (`<root>/sources/*.yaml`), checked; raise CardError listing every error of every file."""
    loaded, problems = _load_checked(source_paths(root))
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise CardError(errors)
    return loaded


def source_problems(paths: list[Path]) -> list[Problem]:
    """All problems (errors and warnings) of the given source files, including those between them."""
    return _load_checked(paths)[1]


# Each file's loaded source and problems, by the hash of its bytes: a generation (every `mkdocs serve`
# rebuild) reads the sources again, and parsing the two big ones costs ~0.7 s that an unchanged file need not.
_KEPT: dict[Path, tuple[str, Source | None, list[Problem]]] = {}


def _load_checked(paths: list[Path]) -> tuple[list[Source], list[Problem]]:
    loaded: list[Source] = []
    problems: list[Problem] = []
    for path in paths:
        try:
            data = path.read_bytes()
        except OSError as exc:
            problems.append(Problem(path, 1, 1, "(file)", f"cannot read the source: {exc.strerror}"))
            continue
        key = hashlib.sha256(data).hexdigest()
        kept = _KEPT.get(path)
        if kept is None or kept[0] != key:
            try:
                source: Source | None = load_source(path, data)
                source.digest = key  # type: ignore[union-attr]
                found = check_source(source) if source is not None else []
            except CardError as error:
                source, found = None, list(error.problems)
            kept = _KEPT[path] = (key, source, found)
        problems.extend(kept[2])
        if kept[1] is not None:
            loaded.append(kept[1])
    problems.extend(_cross_source_problems(loaded))
    return loaded, sorted(problems)


def source_warnings(sources: list[Source]) -> list[Problem]:
    """The warnings of loaded sources (printed by `zoocards check`, never failing it)."""
    return [p for source in sources for p in check_source(source) if p.severity == "warning"]


# --------------------------------------------------------------------------- checking


@functools.lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    """The source schema, parsed once."""
    with SCHEMA_PATH.open(encoding="utf-8") as handle:
        return json.load(handle)  # type: ignore[no-any-return]


@functools.lru_cache(maxsize=1)
def _fast_valid() -> fastschema.Check:
    return fastschema.compile_schema(schema())


@functools.lru_cache(maxsize=1)
def _validator() -> "jsonschema.protocols.Validator":
    import jsonschema

    cls = jsonschema.validators.validator_for(schema())
    return cls(schema())  # type: ignore[no-any-return]


def _problem(source: Source, path: KeyPath, message: str, severity: str = "error") -> Problem:
    mark = source.card.mark(path)
    return Problem(source.path, mark.line, mark.column, format_path(path), message, severity)


def _schema_problems(source: Source) -> Iterator[Problem]:
    """The schema's verdict, in the words `zoocards check` uses for cards."""
    if _fast_valid()(source.data):
        return
    for path, message in explain_schema(source.data, _validator(), schema()):
        yield _problem(source, path, message)


def _decimal(source: Source, path: KeyPath, value: Any) -> Decimal:
    raw = source.card.raw_number(path)
    return Decimal(raw) if raw is not None else Decimal(str(value))


def _semantic_problems(source: Source) -> Iterator[Problem]:
    data = source.data
    if data["id"] != source.path.stem:
        yield _problem(source, ("id",), f"id '{data['id']}' must equal the file name '{source.path.stem}'; rename the file to {data['id']}.yaml or change the id")
    upstream = data["upstream"]
    expected_url = f"https://github.com/{upstream['repo']}/blob/{upstream['commit']}/{upstream['file']}"
    if upstream["url"] != expected_url:
        yield _problem(source, ("upstream", "url"), f"does not match repo, commit and file; write {expected_url}")
    table_ids: dict[str, int] = {}
    for t_index, table in enumerate(data["tables"]):
        base: KeyPath = ("tables", t_index)
        if table["id"] in table_ids:
            yield _problem(source, base + ("id",), f"table id '{table['id']}' is already used by tables[{table_ids[table['id']]}]; ids are unique within a source")
        table_ids.setdefault(table["id"], t_index)
        yield from _table_problems(source, base, table)


def _table_problems(source: Source, base: KeyPath, table: dict[str, Any]) -> Iterator[Problem]:
    columns = table["columns"]
    for c_index, column in enumerate(columns):
        path = base + ("columns", c_index)
        metric = column["metric"]
        if column["unit"] not in METRIC_UNITS[metric]:
            yield _problem(source, path + ("unit",), f"unit '{column['unit']}' does not fit metric '{metric}'; use one of: {', '.join(sorted(METRIC_UNITS[metric]))}")
        if metric == "flops" and "convention" not in column:
            yield _problem(source, path, "missing key 'convention': say what the flops count (for example: convention: MACs)")
        if metric != "flops" and "convention" in column:
            yield _problem(source, path + ("convention",), f"a convention belongs to flops columns only, not to '{metric}'; remove it")
        if metric != "latency":
            for key in TIMING_KEYS:
                if key in column:
                    yield _problem(source, path + (key,), f"'{key}' describes a timing, but this column holds '{metric}'; remove it or set metric: latency")
        elif "hardware" in column and "hardware_kind" not in column:
            yield _problem(source, path, "missing key 'hardware_kind' (for example: hardware_kind: gpu)")
    identities: dict[tuple[Any, ...], int] = {}
    for c_index, column in enumerate(columns):
        identity = tuple(column.get(k) for k in ("metric", "unit", *TIMING_KEYS))
        if identity in identities:
            yield _problem(source, base + ("columns", c_index), f"measures the same thing as columns[{identities[identity]}] (same metric and conditions); give each its own conditions")
        identities.setdefault(identity, c_index)
    seen: dict[str, int] = {}
    has_baseline = any(c["metric"] == "baseline_top1" for c in columns)
    for r_index, row in enumerate(table["rows"]):
        path = base + ("rows", r_index)
        model = row["model"]
        if names.canonical(model) != model:
            yield _problem(source, path + ("model",), f"'{model}' is not spelled as zoocards.names.canonical spells it; write {names.canonical(model)} (keep the upstream spelling in `written`)")
        written = row.get("written")
        if written is not None and written == model:
            yield _problem(source, path + ("written",), "repeats `model`; keep `written` only for a name the upstream spells another way, or remove it", "warning")
        key = model
        if key in seen:
            yield _problem(source, path + ("model",), f"'{key}' already has a row in this table (rows[{seen[key]}]); a table lists each model once — merge the rows")
        seen.setdefault(key, r_index)
        if "baseline" in row and not has_baseline:
            yield _problem(source, path + ("baseline",), "names a baseline model, but no column of this table is baseline_top1; remove it")
        values = row["values"]
        if len(values) != len(columns):
            yield _problem(source, path + ("values",), f"{len(values)} values for {len(columns)} columns; give one value per column (null for an empty cell)")
            continue
        for v_index, (value, column) in enumerate(zip(values, columns)):
            if value is None:
                continue
            vpath = path + ("values", v_index)
            number = _decimal(source, vpath, value)
            if column["metric"] == "baseline_top1" and "baseline" not in row:
                yield _problem(source, vpath, f"a baseline_top1 figure, but the row names no baseline model; add `baseline: <model>` (for example: baseline: {model.removesuffix('_ssld')})")
            if number < 0 and column["metric"] != "top1_gain":
                yield _problem(source, vpath, f"{number} is negative; a {column['metric']} figure cannot be")
            elif column["unit"] == "fraction" and column["metric"] != "top1_gain" and number > 1:
                yield _problem(source, vpath, f"{number} is not a fraction in [0, 1]; check the figure against line {row['line']} upstream, or set the column's unit: percent")
            elif column["unit"] == "percent" and number > 100:
                yield _problem(source, vpath, f"{number} is not a percentage in [0, 100]; check the figure against line {row['line']} upstream")


def _schema_line_problems(source: Source) -> Iterator[Problem]:
    first = source.card.source.split("\n", 1)[0]
    if "yaml-language-server: $schema=" not in first or SCHEMA_URL_SUFFIX not in first:
        yield Problem(source.path, 1, 1, "(document)", f"the first line should be '# yaml-language-server: $schema=../{SCHEMA_URL_SUFFIX}' so editors complete and check the source", "warning")


def check_source(source: Source) -> list[Problem]:
    """All problems of one source: schema first, the rules a schema cannot say once it passes."""
    problems = list(_schema_problems(source))
    if not problems:
        problems.extend(_semantic_problems(source))
    problems.extend(_schema_line_problems(source))
    return sorted(problems)


def _cross_source_problems(sources: list[Source]) -> Iterator[Problem]:
    seen: dict[str, Source] = {}
    for source in sources:
        if source.id in seen:
            yield _problem(source, ("id",), f"id '{source.id}' is also used by {seen[source.id].path.name}; every source needs its own id")
        seen.setdefault(source.id, source)


# --------------------------------------------------------------------------- claims


def _display(metric: str, value: Decimal, column: dict[str, Any]) -> Decimal:
    """A source figure in the site's display unit (flops stay in the source's convention, at G)."""
    unit = column["unit"]
    if metric in ("top1", "top5", "baseline_top1", "top1_gain"):
        return units.accuracy_to_percent(value, unit)
    if metric in ("flops", "params"):
        return units.count_to_scale(value, unit, units.DISPLAY_UNIT[metric])
    if metric == "latency":
        return units.latency_to_ms(value, unit)
    if metric == "storage":
        return units.storage_to_mb(value, unit)
    raise ValueError(f"no display unit for {metric}")  # the schema's enum keeps this unreachable


def _claim_metric(column: dict[str, Any]) -> str:
    metric = str(column["metric"])
    if metric == "baseline_top1":
        return "top1"  # a claim about the row's baseline model
    if metric == "latency" and column.get("statistic") in ("min", "max"):
        return f"latency_{column['statistic']}"
    return metric


def source_claims(source: Source) -> Iterable[SourceClaim]:
    """Every figure of a (checked) source as a claim about one model, in table and row order."""
    upstream = source.data["upstream"]
    for t_index, table in enumerate(source.data["tables"]):
        columns = table["columns"]
        for r_index, row in enumerate(table["rows"]):
            for v_index, (value, column) in enumerate(zip(row["values"], columns)):
                if value is None:
                    continue
                path: KeyPath = ("tables", t_index, "rows", r_index, "values", v_index)
                raw = source.card.raw_number(path) or str(value)
                metric = column["metric"]
                yield SourceClaim(
                    source_id=source.id,
                    model=row["baseline"] if metric == "baseline_top1" else row["model"],
                    metric=_claim_metric(column),
                    value=_display(metric, Decimal(raw), column),
                    raw=raw,
                    hardware=column.get("hardware"),
                    precision=column.get("precision"),
                    batch_size=column.get("batch_size"),
                    file=str(upstream["file"]),
                    line=int(row["line"]),
                    url=f"{upstream['url']}#L{row['line']}",
                    threads=column.get("threads"),
                    runtime=column.get("runtime"),
                    where=source.where(path),
                )


def source_models(sources: Iterable[Source]) -> set[str]:
    """Every model (canonical name) some source has a row for."""
    return {row["model"] for source in sources for table in source.data["tables"] for row in table["rows"]}
