"""Assembling a card's content from parsed tables: models and their metrics, benchmarks, other families'
comparison rows, downloads, papers and code links, and the accounting of every figure (landed or reported)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from zoocards import names
from zoocards.importer.columns import Column, RUNTIMES, classify, hardware_in, infer_accuracy_unit, stated_precision, plain, quoted_column, unit_shift
from zoocards.importer.tables import Cell, Note, Page, Table, table_caption, table_footnotes, model_name, number_text, strip_tags, table_conditions
from zoocards.units import ACCURACY_METRICS

# A footnote on a model name that says which pretraining its weights had, and the suffix PaddleClas
# gives those weights (SwinTransformer_base_patch4_window7_224_22kto1k_pretrained.pdparams).
PRETRAINING_SUFFIXES = (
    (re.compile(r"22k.*1k", re.I | re.S), "_22kto1k"),
    (re.compile(r"22k", re.I), "_22k"),
)

# Links every PaddleClas page carries; the site's shared deployment pages cover them.
STANDARD_LINKS = re.compile(r"github\.com/PaddlePaddle/(Serving|Paddle-Lite|Paddle2ONNX)|paddlepaddle\.org\.cn")
DOWNLOAD_FORMATS = ((".pdparams", "pdparams"), (".onnx", "onnx"), (".bin", "bin"), ("_infer.tar", "inference"))


@dataclass
class Benchmark:
    """A benchmark being assembled from one table."""

    id: str
    hardware: str
    kind: str
    runtime: str | None
    runtime_version: str | None
    conditions: dict[str, str]
    columns: list[dict[str, Any]]
    rows: dict[str, dict[str, Any]]
    lang: str
    page: str = ""
    line: int = 0
    merged_into: Benchmark | None = None


@dataclass
class Comparison:
    """A comparison table being assembled from the rows of other families in one page table."""

    title: dict[str, str]
    hardware: str | None
    columns: list[dict[str, Any]]
    rows: dict[str, dict[str, Any]]
    page: str
    line: int
    benchmark: Benchmark | None = None  # the benchmark the same table's own rows went to


class Importer:
    def __init__(self, card_id: str, backbones: dict[str, str]) -> None:
        self.card_id = card_id
        self.backbones = backbones
        self.notes: list[Note] = []
        self.models: dict[str, dict[str, Any]] = {}
        self.family: set[str] = set()
        self.units: dict[str, str] = {}
        self.benchmarks: list[Benchmark] = []
        self.comparisons: list[Comparison] = []
        self.renamed: dict[tuple[str, int, str, str, str], list[int]] = {}
        self.downloads: list[dict[str, Any]] = []
        self.papers: list[dict[str, Any]] = []
        self.code: list[dict[str, str]] = []
        self.figures = 0
        self.landed = 0
        self.unmapped_cells: dict[tuple[str, int, str, str], list[str]] = {}
        self.asides: dict[tuple[str, str], list[tuple[int, str]]] = {}

    def note(self, page: Page, line: int, message: str) -> None:
        note = Note(page.name, line, message)
        if note not in self.notes:
            self.notes.append(note)

    def unmapped(self, page: Page, cell: Cell, model: str, header: str, reason: str) -> None:
        """Remember a figure that does not land in the card; reported once per row and reason."""
        key = (page.name, cell.line, model, reason)
        self.unmapped_cells.setdefault(key, []).append(f"{header or '(no header)'} = {number_text(cell.text)}")

    def aside(self, page: Page, line: int, what: str, value: str) -> None:
        """Remember a figure stored where the page's tables do not show it; reported once per column."""
        self.asides.setdefault((page.name, what), []).append((line, value))

    def flush(self) -> None:
        """Turn the grouped figures into report lines."""
        for (page, line, model, reason), cells in self.unmapped_cells.items():
            self.notes.append(Note(page, line, f"not imported: {model}: {', '.join(cells)} — {reason}"))
        for (page, line, marker, text, suffix), lines in self.renamed.items():
            self.notes.append(Note(page, line, f"rows marked [{marker}] (lines {lines[0]}-{lines[-1]}): imported as other models, named with {suffix} as the zoo names weights with the pretraining the footnote states ('{text}'); check the names"))
        for (page, what), items in self.asides.items():
            lines = sorted(line for line, _ in items)
            self.notes.append(Note(page, lines[0], f"{what}: {len(items)} figures (lines {lines[0]}-{lines[-1]}) stored as models[].eval.resize_short (the metrics table shows it; accuracy re-runs resize to it)"))

    # ---- models

    def model(self, name: str, page: Page, line: int, architecture: str | None = None) -> dict[str, Any]:
        if name not in self.models:
            entry: dict[str, Any] = {"name": name, "metrics": {}, "line": line, "architecture": architecture or name}
            # A variant named after its weights (X_22kto1k, X_ssld, Fix_X) is built like its architecture X,
            # and a name the zoo spells two ways (LeViT-128S) like ppcls's spelling.
            builder = names.builder_for(name, self.backbones) or (names.builder_for(architecture, self.backbones) if architecture else None)
            if builder:
                entry["builder"] = builder
            self.models[name] = entry
        return self.models[name]

    def set_metric(self, page: Page, cell: Cell, name: str, metric: str, raw: str, unit: str, header: str) -> None:
        """Store a model-level figure in the card's unit, exactly (Decimal shift only)."""
        kind = "accuracy" if metric in ACCURACY_METRICS else metric
        card_unit = self.units.setdefault(kind, unit)
        value = Decimal(raw)
        if card_unit != unit:
            shift = unit_shift(kind, unit, card_unit)
            value = value.scaleb(shift)
            self.note(page, cell.line, f"{name} {metric} {raw} converted to {plain(value)} ({unit} -> {card_unit}, the card's unit)")
        text = raw if card_unit == unit else plain(value)
        metrics = self.models[name]["metrics"]
        if metric in metrics:
            if Decimal(metrics[metric]) == value:
                self.landed += 1
                return
            self.unmapped(page, cell, name, header, f"conflicts with {metrics[metric]} written earlier for the same model; keep the right one by hand")
            return
        metrics[metric] = text
        self.landed += 1

    # ---- tables

    def import_table(self, page: Page, table: Table, first_table: bool) -> None:
        columns = [classify(h, i) for i, h in enumerate(table.header)]
        headers = [strip_tags(h) for h in table.header]
        numeric_rows = [row for row in table.rows if any(number_text(c.text) for c in row[1:])]
        names = [model_name(row[0].text) if row else None for row in table.rows]
        counted = sum(1 for row in table.rows for c in row[1:] if number_text(c.text))
        self.figures += counted
        if not any(names) or not numeric_rows:
            if counted:
                self.note(page, table.line, f"not imported: table '{' | '.join(headers)}' ({counted} figures) has no model names in its first column (an ablation or comparison of settings)")
            return
        if all(c.kind in ("model", "unknown", "bench") for c in columns) and any(re.search(r"map|miou", h.lower()) for h in headers):
            self.note(page, table.line, f"not imported: table '{' | '.join(headers)}' ({counted} figures) reports another task (detection/segmentation)")
            return
        for col, header in zip(columns, headers):
            if col.kind == "unknown" and header:
                self.note(page, table.line, f"unknown column '{header}': its figures are listed below; the card format has no field for it")
        comparison = not first_table and (any("<b>" in c.text.lower() or "**" in c.text for row in table.rows for c in row[:1]) or re.search(r"比较|对比|compar", table.before, re.I))
        context = f"{table.section} {table.before} {table_conditions(table)}"
        bench_columns = [i for i, c in enumerate(columns) if c.kind == "bench"]
        accuracy_units = {}
        for i, col in enumerate(columns):
            if col.kind == "metric" and col.metric in ACCURACY_METRICS and not col.unit:
                values = [number_text(row[i].text) for row in table.rows if i < len(row)]
                accuracy_units[i] = infer_accuracy_unit([v for v in values if v])
        benchmark = self.benchmark_for(page, table, columns, headers, bench_columns, context) if bench_columns else None
        quoted: Comparison | None = None
        footnotes = table_footnotes(table.after)
        seen_in_table: set[str] = set()
        for row, name in zip(table.rows, names):
            numbers = [(c, number_text(c.text)) for c in row[1:] if number_text(c.text)]
            architecture = name
            if name is not None:
                name = self.footnoted_name(page, table, row[0], name, footnotes)
            if name is None:
                for c, _ in numbers:
                    self.unmapped(page, c, strip_tags(row[0].text) if row else "?", headers[c.column] if c.column < len(headers) else "", "the first cell is not a model name")
                continue
            if name in seen_in_table:
                for c, _ in numbers:
                    self.unmapped(page, c, name, headers[c.column] if c.column < len(headers) else "", f"a second row for {name} in the same table ({strip_tags(row[0].text)}); a card names each model once — add it under its own name")
                continue
            seen_in_table.add(name)
            if comparison and name not in self.family:
                # Another family's model: quoted in the card's comparisons, never one of its models.
                if numbers:
                    quoted = quoted or self.comparison_for(page, table, columns, headers, accuracy_units, context, benchmark)
                    self.quote(page, row, name, columns, headers, quoted)
                continue
            self.model(name, page, row[0].line, architecture)
            if first_table or not comparison:
                self.family.add(name)
            if len(row) != len(columns):
                self.note(page, row[0].line, f"{name}: {len(row)} cells for {len(columns)} columns; cells were matched to headers by position")
            for cell in row[1:]:
                raw = number_text(cell.text)
                if cell.column >= len(columns):
                    if raw:
                        self.unmapped(page, cell, name, "", "a cell beyond the last header")
                    else:
                        self._maybe_download(page, cell, name, "")
                    continue
                col, header = columns[cell.column], headers[cell.column]
                if raw is None:
                    if col.kind == "download" or "](" in cell.text:
                        self._maybe_download(page, cell, name, header)
                    elif col.kind == "input_size":
                        size = re.match(r"^\s*(\d+)\s*[x×*]\s*\d+", strip_tags(cell.text))
                        if size:
                            self._input_size(page, name, size.group(1), benchmark)
                    continue
                self.place(page, table, cell, name, raw, col, header, accuracy_units.get(cell.column, col.unit), benchmark)
        if benchmark and benchmark.rows:
            self.benchmarks.append(benchmark)
        if quoted is not None and quoted.rows:
            self.comparisons.append(quoted)

    def footnoted_name(self, page: Page, table: Table, cell: Cell, name: str, footnotes: dict[str, str]) -> str:
        """The name of a row whose model carries a footnote on its pretraining: the zoo's name for those weights."""
        marker = re.search(r"<sup>\s*\\?\[?\s*(\d+)\s*\\?\]?\s*</sup>", cell.text, re.I)
        text = footnotes.get(marker.group(1), "") if marker else ""
        suffix = next((suffix for pattern, suffix in PRETRAINING_SUFFIXES if pattern.search(text)), None)
        if marker is None or suffix is None or name.endswith(suffix):
            return name
        # Same architecture, other weights: another model, which the zoo names by its suffix.
        self.renamed.setdefault((page.name, table.line, marker.group(1), text, suffix), []).append(cell.line)
        return name + suffix

    def comparison_for(self, page: Page, table: Table, columns: list[Column], headers: list[str], accuracy_units: dict[int, str], context: str, benchmark: Benchmark | None) -> Comparison:
        """An empty comparison with one column per figure column of the table that a comparison can hold."""
        note_precision = stated_precision(context)
        specs: list[dict[str, Any]] = []
        identities: set[tuple[Any, ...]] = set()
        for index, col in enumerate(columns):
            spec = quoted_column(col, headers[index], accuracy_units.get(index, col.unit), note_precision)
            if spec is None:
                continue
            identity = (spec["metric"], spec.get("precision"), spec.get("batch_size"), spec.get("threads"), spec.get("label"))
            if identity in identities and "label" not in spec:
                spec["label"] = headers[index]
            identities.add((spec["metric"], spec.get("precision"), spec.get("batch_size"), spec.get("threads"), spec.get("label")))
            specs.append({**spec, "_index": index})
        hardware = None
        if any(spec["metric"] in ("latency", "fps") for spec in specs):  # a device means something only to timings
            found = next((c.hardware for c in columns if c.hardware), None) or hardware_in(f"{table.section} {table.before}") or hardware_in(table_conditions(table))
            hardware = found[0] if found else None
        title = table_caption(table.lead)
        return Comparison({page.lang: title} if title else {}, hardware, specs, {}, page.name, table.line, benchmark)

    def quote(self, page: Page, row: list[Cell], name: str, columns: list[Column], headers: list[str], quoted: Comparison) -> None:
        """Put another family's figures of one row into a comparison, exactly as written."""
        held = {spec["_index"] for spec in quoted.columns}
        cells = [(cell, raw) for cell in row[1:] if (raw := number_text(cell.text)) is not None]
        # A row needs a figure in a column the comparison holds; an input size alone says nothing to compare.
        entry = quoted.rows.setdefault(name, {"values": {}}) if any(cell.column in held for cell, _ in cells) else None
        for cell, raw in cells:
            header = headers[cell.column] if cell.column < len(headers) else ""
            if entry is not None and cell.column in held:
                entry["values"][cell.column] = raw
                self.landed += 1
            elif entry is not None and cell.column < len(columns) and columns[cell.column].kind == "input_size":
                entry["input_size"] = int(Decimal(raw))
                self.landed += 1
            else:
                self.unmapped(page, cell, name, header, "another family's figure in a column a comparison table cannot hold")

    def merge_duplicate_comparisons(self) -> None:
        """A comparison that quotes the same figures as another (the English twin) is folded into it."""
        kept: list[Comparison] = []
        for quoted in self.comparisons:
            twin = next((k for k in kept if _same_quotes(k, quoted)), None)
            if twin is not None:
                twin.title.update({lang: text for lang, text in quoted.title.items() if lang not in twin.title})
                self.notes.append(Note(quoted.page, quoted.line, f"comparison table repeats the figures of the one at {twin.page}:{twin.line}; merged into it"))
                continue
            rival = next((k for k in kept if list(k.rows) == list(quoted.rows)), None)
            if rival is not None:
                self.notes.append(Note(quoted.page, quoted.line, f"comparison table quotes the models of the one at {rival.page}:{rival.line} with other figures; both kept — keep the right one"))
            kept.append(quoted)
        for quoted in kept:
            own = quoted.benchmark
            while own is not None and own.merged_into is not None:
                own = own.merged_into
            timed = any(c["metric"] in ("latency", "fps") for c in quoted.columns)
            if quoted.hardware is None and timed and own is not None and own is not quoted.benchmark and own.hardware != "unknown":
                # The table's own rows repeat that benchmark's figures, so its timings ran there too.
                quoted.hardware = own.hardware
                self.notes.append(Note(quoted.page, quoted.line, f"comparison table: hardware {own.hardware} taken from benchmark '{own.id}', whose figures the table's own rows repeat"))
        self.comparisons = kept

    def _input_size(self, page: Page, name: str, raw: str, benchmark: Benchmark | None) -> None:
        model = self.models[name]
        size = int(raw)
        model.setdefault("input_size", size)
        if benchmark is not None:
            benchmark.rows.setdefault(name, {"values": {}})["input_size"] = size

    def place(self, page: Page, table: Table, cell: Cell, name: str, raw: str, col: Column, header: str, unit: str, benchmark: Benchmark | None) -> None:
        if col.kind == "input_size":
            self._input_size(page, name, raw, benchmark)
            self.landed += 1
        elif col.kind == "resize_short":
            size = int(Decimal(raw))
            written = self.models[name].setdefault("eval", {}).setdefault("resize_short", size)
            if written != size and benchmark is not None:
                # The page ran this benchmark with other preprocessing: a condition of the run, kept on its row.
                benchmark.rows.setdefault(name, {"values": {}})["resize_short"] = size
                self.note(page, cell.line, f"{name}: resize_short {size} differs from the {written} written earlier; kept on this benchmark's row as a condition of the run — check which is right")
                self.landed += 1
                return
            if written != size:
                self.unmapped(page, cell, name, header, f"conflicts with resize_short {written} written earlier for the same model; keep the right one by hand")
                return
            self.aside(page, cell.line, f"column '{header}'", raw)
            self.landed += 1
        elif col.kind == "metric":
            if col.metric in ("flops", "params") and not unit:
                unit = "M" if col.metric == "params" else "G"
                self.note(page, table.line, f"column '{header}' does not say its scale; assumed {unit} — check units.{col.metric}")
            self.set_metric(page, cell, name, col.metric, raw, unit, header)
        elif col.kind == "bench" and benchmark is not None:
            benchmark.rows.setdefault(name, {"values": {}})["values"][cell.column] = raw
            self.landed += 1
        else:
            self.unmapped(page, cell, name, header, "unknown column")

    def _maybe_download(self, page: Page, cell: Cell, name: str, header: str) -> None:
        for url in re.findall(r"\((https?://[^)\s]+)\)", cell.text):
            self.add_download(page, cell.line, url, name)

    def add_download(self, page: Page, line: int, url: str, name: str | None) -> None:
        fmt = next((f for suffix, f in DOWNLOAD_FORMATS if url.endswith(suffix)), None)
        if fmt is None:
            return
        if name is None:
            stem = url.rsplit("/", 1)[-1]
            candidates = sorted((m for m in self.models if stem.startswith(m + "_") or stem.startswith(m + ".")), key=len, reverse=True)
            if not candidates:
                self.note(page, line, f"download {url}: no model of this card matches its file name; not imported")
                return
            name = candidates[0]
        if any(d["url"] == url for d in self.downloads):
            return
        entry: dict[str, Any] = {"model": name, "format": fmt, "url": url}
        boards = [b.hardware for b in self.benchmarks if b.kind == "board"]
        if fmt == "bin" and boards:
            entry["target"] = boards[0]
        self.downloads.append(entry)

    def benchmark_for(self, page: Page, table: Table, columns: list[Column], headers: list[str], bench_columns: list[int], context: str) -> Benchmark:
        header_hardware = next((c.hardware for c in columns if c.hardware), None)
        # The table's own note may name the hardware; the text after it already belongs to the next table.
        found = header_hardware or hardware_in(f"{table.section} {table.before}") or hardware_in(table_conditions(table))
        if found is None:
            found = ("unknown", "cpu", "unknown")  # reported once the repeated tables are merged away
        hardware, kind, stem = found
        runtime, version = None, None
        for name, _ in RUNTIMES:
            match = re.search(re.escape(name) + r"(?:[- ]?v?(\d+(?:\.\d+)+))?", context, re.I)
            if match:
                runtime, version = name, match.group(1)
                break
        note_precision = stated_precision(context)
        bench_id = stem + (f"-{RUNTIMES[[r for r, _ in RUNTIMES].index(runtime)][1]}" if runtime else "")
        taken = {b.id for b in self.benchmarks}
        base, n = bench_id, 2
        while bench_id in taken:
            bench_id, n = f"{base}-{n}", n + 1
        conditions = table_conditions(table)
        bench = Benchmark(bench_id, hardware, kind, runtime, version, {page.lang: conditions} if conditions else {}, [], {}, page.lang, page.name, table.line)
        identities: set[tuple[Any, ...]] = set()
        for index in bench_columns:
            col = columns[index]
            column: dict[str, Any] = {"metric": col.metric, "unit": col.unit or "ms", "_index": index}
            precision = col.precision or (note_precision if col.metric == "latency" else None)
            if precision:
                column["precision"] = precision
            if col.batch_size is not None:
                column["batch_size"] = col.batch_size
            if col.threads is not None:
                column["threads"] = col.threads
            identity = (col.metric, precision, col.batch_size, col.threads, col.label)
            label = col.label
            if identity in identities and not label:
                label = headers[index]
            if label:
                column["label"] = label
                if col.label and "\\" in col.label:
                    self.note(page, table.line, f"column '{headers[index]}': batch size unclear; imported with the header as its label — set batch_size")
            identities.add((col.metric, precision, col.batch_size, col.threads, label))
            bench.columns.append(column)
        return bench

    # ---- merging two languages

    def merge_duplicate_benchmarks(self) -> None:
        """A table that only repeats figures of another one (often the English twin) is folded into it."""
        while True:
            pair = next(((b, a) for b in self.benchmarks for a in self.benchmarks
                         if a is not b and _repeats(b, a) and (not _repeats(a, b) or self.benchmarks.index(b) > self.benchmarks.index(a))), None)
            if pair is None:
                return
            bench, twin = pair
            twin.conditions.update({lang: text for lang, text in bench.conditions.items() if lang not in twin.conditions})
            bench.merged_into = twin
            for name, row in bench.rows.items():  # conditions only the twin's page gave (a resize column) stay
                for key in ("input_size", "resize_short"):
                    if key in row:
                        twin.rows[name].setdefault(key, row[key])
            self.notes.append(Note(bench.page, bench.line, f"table repeats the figures of benchmark '{twin.id}' ({twin.hardware}); merged into it"))
            self.benchmarks.remove(bench)


def _repeats(b: Benchmark, a: Benchmark) -> bool:
    """Does every column of b hold, for every model of b, the figures of a compatible column of a?"""
    # Equal figures on every row are strong evidence; a vaguer hardware name ('Intel CPU', 'unknown') may repeat a precise one.
    if not set(b.rows) <= set(a.rows) or not (b.hardware in (a.hardware, "unknown") or b.kind == a.kind):
        return False

    def compatible(x: dict[str, Any], y: dict[str, Any]) -> bool:
        return x["metric"] == y["metric"] and all(x.get(k) in (None, y.get(k)) for k in ("precision", "batch_size", "threads"))

    def figures(bench: Benchmark, column: dict[str, Any]) -> list[Decimal | None]:
        return [_decimal(bench.rows[m]["values"].get(column["_index"])) for m in b.rows]

    return all(any(compatible(column, other) and figures(b, column) == figures(a, other) for other in a.columns) for column in b.columns)


def _decimal(text: str | None) -> Decimal | None:
    return Decimal(text) if text else None


def _same_quotes(a: Comparison, b: Comparison) -> bool:
    """Do two comparisons quote the same models with the same figures under the same columns?"""
    def spec(column: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(column.get(k) for k in ("metric", "unit", "precision", "batch_size", "threads"))

    if list(a.rows) != list(b.rows) or [spec(c) for c in a.columns] != [spec(c) for c in b.columns]:
        return False
    return all(
        a.rows[m].get("input_size") == b.rows[m].get("input_size")
        and all(_decimal(a.rows[m]["values"].get(x["_index"])) == _decimal(b.rows[m]["values"].get(y["_index"])) for x, y in zip(a.columns, b.columns))
        for m in a.rows
    )


def page_links(page: Page, importer: Importer) -> None:
    """Papers, code and download links of a page's prose (the tables' own links are read with their rows)."""
    in_code = False
    for number, line in page.lines:
        if line.strip().startswith("```"):
            in_code = not in_code
        if in_code:
            for url in re.findall(r"https?://[^\s'\"<>`]+", line):
                importer.add_download(page, number, url, None)
            continue
        if line.strip().startswith("|"):
            continue
        for text, url in re.findall(r"\[([^\]]*(?:\[[^\]]*\][^\]]*)*)\]\((https?://[^)\s]+)\)", line):
            text = text.strip()
            if re.search(r"arxiv\.org|openaccess|neurips|nips\.cc|\.pdf$|/paper", url, re.I) or re.search(r"论文|paper", text + line[:20], re.I):
                if any(url in (p["url"], *p.get("extra_urls", [])) for p in importer.papers):
                    continue
                generic = not text or re.fullmatch(r"(论文地址|论文|paper|arxiv)", text, re.I)
                title = page.title if generic else text
                importer.papers.append({"title": title, "url": url})
                importer.note(page, number, f"paper {url}: title set to '{title}' from the link text; write the paper's real title")
            elif STANDARD_LINKS.search(url):
                continue
            elif "github.com" in url:
                if not any(c["url"] == url for c in importer.code):
                    importer.code.append({"label": text or url, "url": url})
            else:
                importer.add_download(page, number, url, None)
