"""Turn an existing PaddleClas-style family page (zh, en, or both) into a card.

The importer reads every Markdown table of the page(s), decides what each column means
from its header (and the section title and footnotes around it), and writes a card whose
numbers are the exact text the page wrote. Every numeric cell either lands in the card or
is listed in the report with its line: nothing is dropped silently.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from zoocards import check, load
from zoocards.errors import ZoocardsError
from zoocards.units import ACCURACY_METRICS, MODEL_METRICS

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,79}$")
NUMBER = re.compile(r"^-?\d+(?:\.\d+)?$")
SCHEMA_LINE = "# yaml-language-server: $schema=../zoocards/schema/card-v1.schema.json"
# A footnote on a model name that says which pretraining its weights had, and the suffix PaddleClas
# gives those weights (SwinTransformer_base_patch4_window7_224_22kto1k_pretrained.pdparams).
PRETRAINING_SUFFIXES = (
    (re.compile(r"22k.*1k", re.I | re.S), "_22kto1k"),
    (re.compile(r"22k", re.I), "_22k"),
)

# (pattern found in a header, section title or footnote, hardware, kind, id stem); first match wins.
HARDWARE = (
    (re.compile(r"RDK\s*X5", re.I), "RDK X5", "board", "rdk-x5"),
    (re.compile(r"RDK\s*X3", re.I), "RDK X3", "board", "rdk-x3"),
    (re.compile(r"RDK\s*Ultra", re.I), "RDK Ultra", "board", "rdk-ultra"),
    (re.compile(r"\bV100\b"), "NVIDIA V100", "gpu", "v100"),
    (re.compile(r"\bA100\b"), "NVIDIA A100", "gpu", "a100"),
    (re.compile(r"\bT4\b"), "NVIDIA T4", "gpu", "t4"),
    (re.compile(r"SD\s?855|Snapdragon\s*855", re.I), "Qualcomm Snapdragon 855", "cpu", "sd855"),
    (re.compile(r"Xeon\s*Gold\s*6148", re.I), "Intel Xeon Gold 6148", "cpu", "xeon-6148"),
    (re.compile(r"Intel\s*CPU", re.I), "Intel CPU", "cpu", "intel-cpu"),
)
RUNTIMES = (("TensorRT", "tensorrt"), ("MKLDNN", "mkldnn"), ("Paddle-Lite", "paddle-lite"), ("Paddle Lite", "paddle-lite"), ("BPU", "bpu"))
# Links every PaddleClas page carries; the site's shared deployment pages cover them.
STANDARD_LINKS = re.compile(r"github\.com/PaddlePaddle/(Serving|Paddle-Lite|Paddle2ONNX)|paddlepaddle\.org\.cn")
DOWNLOAD_FORMATS = ((".pdparams", "pdparams"), (".onnx", "onnx"), (".bin", "bin"), ("_infer.tar", "inference"))


@dataclass(frozen=True)
class Note:
    """One line of the import report."""

    page: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.page}:{self.line}: {self.message}"


@dataclass
class Cell:
    """A table cell with where it was written."""

    text: str
    line: int
    column: int  # 0-based position in its row


@dataclass
class Table:
    """A Markdown table and the text around it that qualifies its figures."""

    header: list[str]
    rows: list[list[Cell]]
    line: int
    section: str
    before: str
    after: str
    lead: str = ""  # the last line of prose before the table


@dataclass
class Page:
    """A parsed page: title, intro prose, tables, links, config path."""

    name: str
    lang: str
    lines: list[tuple[int, str]]
    title: str = ""
    intro: str = ""
    tables: list[Table] = field(default_factory=list)
    config: str | None = None
    config_line: int = 0


@dataclass
class Column:
    """What one table column means."""

    kind: str  # model, input_size, resize_short, metric, bench, download, unknown
    metric: str = ""
    unit: str = ""
    precision: str | None = None
    batch_size: int | None = None
    threads: int | None = None
    label: str | None = None
    hardware: tuple[str, str, str] | None = None


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


@dataclass
class ImportResult:
    """The card text, the report, and the accounting of every figure."""

    text: str
    notes: list[Note]
    figures: int
    landed: int

    @property
    def unmapped(self) -> int:
        return self.figures - self.landed


# --------------------------------------------------------------------------- reading pages


def clean_lines(text: str) -> list[tuple[int, str]]:
    """Lines with their original numbers, minus the junk a web viewer adds when a page is scraped."""
    raw = text.replace("\r\n", "\n").lstrip("\ufeff").split("\n")
    numbered = list(enumerate(raw, start=1))
    # A viewer that renders line gutters leaves '|' / '||' lines between every real line.
    gutter = sum(1 for _, line in numbered if line.strip() in ("|", "||"))
    if gutter > len(numbered) / 3:
        # Every real line is followed by one '|'/'||' pair; a run of k pairs stands for k-1 blank lines.
        kept: list[tuple[int, str]] = []
        pairs = 0
        for n, line in numbered:
            if line.strip() == "||":
                pairs += 1
                continue
            if line.strip() == "|":
                continue
            kept.extend((n, "") for _ in range(max(pairs - 1, 0)))
            pairs = 0
            kept.append((n, line))
        numbered = kept
    # File-viewer header junk ('121 lines', '6.2 KiB', 'Markdown') before the first heading.
    junk = re.compile(r"^\s*(\d+ lines|[\d.]+ (B|KiB|MiB|kB|KB)|Markdown)\s*$")
    start = 0
    while start < len(numbered) and (junk.match(numbered[start][1]) or not numbered[start][1].strip()):
        start += 1
    return numbered[start:]


def split_row(line: str) -> list[str]:
    """Cells of a table line; tolerates missing outer pipes and escaped pipes."""
    body = line.strip()
    if body.startswith("|"):
        body = body[1:]
    if body.endswith("|") and not body.endswith("\\|"):
        body = body[:-1]
    return [c.strip() for c in re.split(r"(?<!\\)\|", body)]


def _is_separator(line: str) -> bool:
    stripped = line.strip()
    return "-" in stripped and "|" in stripped and set(stripped) <= set("|-: ")


def strip_tags(text: str) -> str:
    """Header or cell text without HTML tags, <br> read as a space."""
    text = re.sub(r"<br\s*/?>", " ", text, flags=re.I)
    return " ".join(re.sub(r"<[^>]+>", "", text).replace("**", "").split())


def model_name(cell_text: str) -> str | None:
    """The model a row names, or None when the first cell is not a model name."""
    text = re.sub(r"<sup>.*?</sup>", "", cell_text, flags=re.I)
    text = re.sub(r"<[^>]+>", "", text).replace("**", "").replace("\\", "")
    text = "".join(text.split())
    return text if NAME_PATTERN.match(text) and text.lower() not in ("model", "models", "backbone") else None


def number_text(cell_text: str) -> str | None:
    """The number a cell holds, exactly as written, or None."""
    text = strip_tags(cell_text).replace(" ", "").rstrip("%")
    return text if NUMBER.match(text) else None


def parse_page(text: str, name: str, lang: str) -> Page:
    """Title, intro, tables (with their section and footnotes) and config path of one page."""
    lines = clean_lines(text)
    page = Page(name=name, lang=lang, lines=lines)
    section = ""
    paragraph: list[str] = []
    intro: list[str] = []
    in_intro = False
    in_code = False
    index = 0
    while index < len(lines):
        number, line = lines[index]
        stripped = line.strip()
        if stripped.startswith("```"):
            in_code = not in_code
        heading = re.match(r"^(#{1,6})\s+(.*)$", stripped) if not in_code else None
        if heading:
            level, title = len(heading.group(1)), heading.group(2).strip()
            if level == 1 and not page.title:
                page.title = title
            section = title
            in_intro = bool(re.search(r"模型简介|Model Introduction|^(\d\.?\s*)?(Overview|Introduction)$|^1\.?\s*模型介绍$", title, re.I)) and not page.intro
            if not in_intro and intro:
                page.intro = "\n".join(intro).strip()
                intro = []
            paragraph = []
            index += 1
            continue
        config = re.search(r"`(ppcls/configs/[A-Za-z0-9_./-]+)`", line)
        if config and page.config is None:
            page.config, page.config_line = config.group(1), number
        if not in_code and "|" in stripped and index + 1 < len(lines) and _is_separator(lines[index + 1][1]) and not _is_separator(line):
            header = split_row(line)
            rows: list[list[Cell]] = []
            end = index + 2
            while end < len(lines) and "|" in lines[end][1] and lines[end][1].strip():
                row_line, row_text = lines[end]
                if not _is_separator(row_text):
                    rows.append([Cell(c, row_line, i) for i, c in enumerate(split_row(row_text))])
                end += 1
            after = [ln for _, ln in lines[end:end + 12]]
            after_text = []
            for ln in after:
                if ln.strip().startswith(("#", "|")):
                    break
                after_text.append(ln)
            page.tables.append(Table(header, rows, number, section, " ".join(paragraph[-3:]), "\n".join(after_text), paragraph[-1] if paragraph else ""))
            if in_intro:
                intro.append("")
            paragraph = []
            index = end
            continue
        if in_intro and not re.match(r"^<a name=", stripped):
            intro.append(line.rstrip())
        if stripped and not stripped.startswith("<a "):
            paragraph.append(stripped)
        index += 1
    if intro and not page.intro:
        page.intro = "\n".join(intro).strip()
    if not page.intro:  # no intro section: the first prose paragraph after the title
        page.intro = _first_paragraph(lines)
    page.intro = re.sub(r"\n{3,}", "\n\n", page.intro)
    return page


def _first_paragraph(lines: list[tuple[int, str]]) -> str:
    block: list[str] = []
    for _, line in lines:
        stripped = line.strip()
        if not stripped:
            if block:
                break
            continue
        if stripped.startswith(("#", "-", "*", "|", "<", "!", "[", "```", "English |")) or set(stripped) <= set("-="):
            if block:
                break
            continue
        block.append(line.rstrip())
    return "\n".join(block)


# --------------------------------------------------------------------------- columns


def _scale(text: str, default: str) -> str:
    match = re.search(r"\(\s*([KMGT])\s*\)|\b([KMGT])(?=FLOPs|MACs)|\(([KMGT])\w*\)", text)
    if match:
        return next(g for g in match.groups() if g)
    return default


def _ints(pattern: str, text: str) -> int | None | str:
    match = re.search(pattern + r"\s*=\s*([0-9\\/]+)", text, re.I)
    if not match:
        return None
    value = match.group(1)
    return int(value) if value.isdigit() else value


def hardware_in(text: str) -> tuple[str, str, str] | None:
    """(hardware, kind, id stem) named in a text, or None."""
    for pattern, hardware, kind, stem in HARDWARE:
        if pattern.search(text):
            return hardware, kind, stem
    return None


def classify(header: str, position: int) -> Column:
    """What a column means, from its header text alone."""
    text = strip_tags(header)
    low = text.lower()
    if position == 0:
        return Column("model")
    if re.search(r"storage|存储", low):
        return Column("metric", "storage", _scale(text, "M") + "B")  # 'Storage Size(M)': a file size in MB
    if low in ("size", "crop size", "input size", "尺寸", "输入尺寸") or low.startswith("size"):
        return Column("input_size")
    if "resize" in low:
        return Column("resize_short")
    if "download" in low or "下载" in low:
        return Column("download")
    if re.search(r"categor|classes|类别", low):
        return Column("bench", "classes", "count")
    percent = "%" in text
    if re.search(r"floating[- ]point (precision|accuracy)|浮点精度", low):
        return Column("bench", "top1", "percent", "FP32", label=text)
    if re.search(r"quantiz\w* (precision|accuracy)|量化精度", low):
        return Column("bench", "top1", "percent", "INT8", label=text)
    for metric, pattern in (("reference_top1", r"reference\s*top-?1"), ("reference_top5", r"reference\s*top-?5"), ("top1", r"top-?1"), ("top5", r"top-?5")):
        if re.search(pattern, low):
            return Column("metric", metric, "percent" if percent else "")
    if re.search(r"flops|macs", low):
        return Column("metric", "flops", _scale(text, ""))
    if re.search(r"^param", low) or "参数" in low:
        return Column("metric", "params", _scale(text, ""))
    if re.search(r"fps|frame rate|帧率", low):
        return Column("bench", "fps", "fps", label=None)
    if re.search(r"latency|time|\(ms\)|延迟|耗时", low):
        column = Column("bench", "latency", "s" if re.search(r"\(s\)", low) else "ms")
        precision = re.search(r"\b(FP32|FP16|BF16|INT8|INT4)\b", text, re.I)
        column.precision = precision.group(1).upper() if precision else None
        batch = _ints(r"(?:bs|batch\s*size)", text)
        threads = _ints(r"threads?", text)
        if isinstance(batch, str):
            column.label = text  # e.g. 'Batch Size=1\4': the page does not say which batch
        else:
            column.batch_size = batch
            if batch is None and re.search(r"batch\s*size\s*=\s*1|bs\s*=\s*1", low):
                column.batch_size = 1
        if isinstance(threads, int):
            column.threads = threads
        if re.search(r"single[- ]thread|单线程", low):
            column.threads, column.label = 1, text
        elif re.search(r"multi[- ]thread|多线程", low):
            column.label = text
        column.hardware = hardware_in(text)
        return column
    return Column("unknown", label=text)


def infer_accuracy_unit(values: list[str]) -> str:
    """fraction when every figure is within [0, 1], else percent."""
    numbers = [Decimal(v) for v in values]
    return "fraction" if numbers and all(n <= 1 for n in numbers) else "percent"


# --------------------------------------------------------------------------- builders


def backbone_dir() -> Path | None:
    """Where the installed paddleclas keeps its backbones, found without importing paddleclas or paddle."""
    spec = importlib.util.find_spec("paddleclas")  # a top-level find_spec does not run the package
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "ppcls" / "arch" / "backbone"


@functools.lru_cache(maxsize=1)
def builder_index(directory: Path | None = None) -> dict[str, str]:
    """`Name -> module:Name` for every top-level `def Name(` of the installed ppcls backbones (paddle is never imported)."""
    found: dict[str, str] = {}
    directory = directory or backbone_dir()
    if directory is None or not directory.is_dir():
        return found
    package_root = directory.parent.parent.parent  # .../paddleclas: modules are named ppcls.arch.backbone...
    # legendary_models first: it is what ppcls exports when a name exists twice.
    for path in sorted(directory.rglob("*.py"), key=lambda p: ("legendary_models" not in p.parts, "model_zoo" not in p.parts, str(p))):
        module = ".".join(path.relative_to(package_root).with_suffix("").parts)
        for match in re.finditer(r"^def ([A-Za-z_][A-Za-z0-9_]*)\(", path.read_text(encoding="utf-8", errors="replace"), re.M):
            found.setdefault(match.group(1), f"{module}:{match.group(1)}")
    return found


# --------------------------------------------------------------------------- the import


class _Importer:
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
            # A variant named after its weights (X_22kto1k) is built like its architecture X.
            built = next((n for n in (name, architecture) if n and n in self.backbones), None)
            if built:
                entry["builder"] = self.backbones[built]
            self.models[name] = entry
        return self.models[name]

    def set_metric(self, page: Page, cell: Cell, name: str, metric: str, raw: str, unit: str, header: str) -> None:
        """Store a model-level figure in the card's unit, exactly (Decimal shift only)."""
        kind = "accuracy" if metric in ACCURACY_METRICS else metric
        card_unit = self.units.setdefault(kind, unit)
        value = Decimal(raw)
        if card_unit != unit:
            shift = _shift(kind, unit, card_unit)
            value = value.scaleb(shift)
            self.note(page, cell.line, f"{name} {metric} {raw} converted to {_plain(value)} ({unit} -> {card_unit}, the card's unit)")
        text = raw if card_unit == unit else _plain(value)
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
        context = f"{table.section} {table.before} {_conditions(table)}"
        bench_columns = [i for i, c in enumerate(columns) if c.kind == "bench"]
        accuracy_units = {}
        for i, col in enumerate(columns):
            if col.kind == "metric" and col.metric in ACCURACY_METRICS and not col.unit:
                values = [number_text(row[i].text) for row in table.rows if i < len(row)]
                accuracy_units[i] = infer_accuracy_unit([v for v in values if v])
        benchmark = self.benchmark_for(page, table, columns, headers, bench_columns, context) if bench_columns else None
        quoted: Comparison | None = None
        footnotes = _footnotes(table.after)
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
        note_precision = _note_precision(context)
        specs: list[dict[str, Any]] = []
        identities: set[tuple[Any, ...]] = set()
        for index, col in enumerate(columns):
            spec = _quoted_column(col, headers[index], accuracy_units.get(index, col.unit), note_precision)
            if spec is None:
                continue
            identity = (spec["metric"], spec.get("precision"), spec.get("batch_size"), spec.get("threads"), spec.get("label"))
            if identity in identities and "label" not in spec:
                spec["label"] = headers[index]
            identities.add((spec["metric"], spec.get("precision"), spec.get("batch_size"), spec.get("threads"), spec.get("label")))
            specs.append({**spec, "_index": index})
        hardware = None
        if any(spec["metric"] in ("latency", "fps") for spec in specs):  # a device means something only to timings
            found = next((c.hardware for c in columns if c.hardware), None) or hardware_in(f"{table.section} {table.before}") or hardware_in(_conditions(table))
            hardware = found[0] if found else None
        title = _caption(table.lead)
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
        found = header_hardware or hardware_in(f"{table.section} {table.before}") or hardware_in(_conditions(table))
        if found is None:
            found = ("unknown", "cpu", "unknown")  # reported once the repeated tables are merged away
        hardware, kind, stem = found
        runtime, version = None, None
        for name, _ in RUNTIMES:
            match = re.search(re.escape(name) + r"(?:[- ]?v?(\d+(?:\.\d+)+))?", context, re.I)
            if match:
                runtime, version = name, match.group(1)
                break
        note_precision = _note_precision(context)
        bench_id = stem + (f"-{RUNTIMES[[r for r, _ in RUNTIMES].index(runtime)][1]}" if runtime else "")
        taken = {b.id for b in self.benchmarks}
        base, n = bench_id, 2
        while bench_id in taken:
            bench_id, n = f"{base}-{n}", n + 1
        conditions = _conditions(table)
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


def _quoted_column(col: Column, header: str, unit: str, note_precision: str | None) -> dict[str, Any] | None:
    """The comparison column for a page column (benchmark column spec), or None when a comparison cannot hold it."""
    if col.kind == "metric" and col.metric in ("top1", "top5", "reference_top1", "reference_top5"):
        column: dict[str, Any] = {"metric": col.metric.removeprefix("reference_"), "unit": unit or "percent"}
        if col.metric.startswith("reference_"):
            column["label"] = header  # the authors' figure, told apart by its heading
        return column
    if col.kind == "metric" and col.metric in ("flops", "params"):
        scale = col.unit or ("M" if col.metric == "params" else "G")
        return {"metric": col.metric, "unit": scale} if scale in ("K", "M", "G") else None
    if col.kind != "bench":
        return None
    column = {"metric": col.metric, "unit": col.unit or "ms"}
    precision = col.precision or (note_precision if col.metric == "latency" else None)
    for key, value in (("precision", precision), ("batch_size", col.batch_size), ("threads", col.threads), ("label", col.label)):
        if value is not None:
            column[key] = value
    return column


def _note_precision(context: str) -> str | None:
    """The precision a table's section or note states for all its timings ('精度类型为 FP32')."""
    match = re.search(r"(?:精度类型为|precision(?: type)? (?:is|of))\s*(FP32|FP16|INT8)", context, re.I)
    return match.group(1).upper() if match else None


def _footnotes(after: str) -> dict[str, str]:
    """`[1]：text` lines under a table, by marker."""
    found = {}
    for line in after.split("\n"):
        match = re.match(r"^\s*\\?\[(\d+)\\?\]\s*[:：]?\s*(.+)$", line)
        if match:
            found[match.group(1)] = match.group(2).strip()
    return found


def _caption(lead: str) -> str:
    """The caption a short line ending in a colon gives the table under it ('Comparison with other networks:')."""
    text = lead.replace("**", "").strip()
    if not re.search(r"[:：]$", text) or len(text) > 100 or text.startswith(("|", "#", "<", "-", "*")):
        return ""
    return text.rstrip(":：").strip()


def _conditions(table: Table) -> str:
    match = re.search(r"\*\*(备注|注|Note)[^*]*\*\*[:：]?\s*(.*)", table.after, re.S)
    if not match:
        return ""
    text = match.group(2).strip().split("\n\n")[0]
    return "\n".join(line for line in text.split("\n") if not line.strip().startswith("<a ")).strip()


def _shift(kind: str, unit: str, target: str) -> int:
    if kind == "accuracy":
        return 2 if (unit, target) == ("fraction", "percent") else -2
    exponent = {"K": 3, "M": 6, "G": 9, "T": 12}
    return exponent[unit[0]] - exponent[target[0]]  # storage units read KB, MB, GB


def _plain(value: Decimal) -> str:
    return format(value, "f")


def _yaml_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _block(text: str, indent: int) -> str:
    pad = " " * indent
    lines = [line.rstrip().replace("\t", "    ") for line in text.strip("\n").split("\n")]
    lines[0] = lines[0].lstrip()
    return "|\n" + "\n".join(pad + line if line else "" for line in lines) + "\n"


# --------------------------------------------------------------------------- links


def page_links(page: Page, importer: _Importer) -> None:
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


# --------------------------------------------------------------------------- writing


def _metrics_flow(metrics: dict[str, str]) -> str:
    return "{" + ", ".join(f"{k}: {metrics[k]}" for k in MODEL_METRICS if k in metrics) + "}"


def render_card(importer: _Importer, card_id: str, pages: list[Page], single: bool) -> str:
    """The card as YAML text, numbers written exactly as the page wrote them."""
    zh = next((p for p in pages if p.lang == "zh"), None)
    en = next((p for p in pages if p.lang == "en"), None)
    both = (zh or en, en or zh)
    out = [SCHEMA_LINE, "# Imported by `zoocards import` from " + ", ".join(p.name for p in pages) + "; review every field, then delete these comments."]
    if single:
        out.append(f"# One language only ({pages[0].lang}): name, summary and notes hold the same text in zh and en; translate them.")
    out += ["schema_version: 1", f"id: {card_id}", "name:"]
    for lang, page in zip(("zh", "en"), both):
        assert page is not None
        out.append(f"  {lang}: {_yaml_string(page.title or card_id)}")
    out.append("summary:  # the page's own introduction, imported as it is: shorten and edit it")
    for lang, page in zip(("zh", "en"), both):
        assert page is not None
        out.append(f"  {lang}: " + _block(page.intro or page.title or card_id, 4).rstrip("\n"))
    out += ["task: image-classification", "dataset: ImageNet-1k"]
    if importer.papers:
        out.append("papers:")
        for paper in importer.papers:
            out.append(f"  - title: {_yaml_string(paper['title'])}")
            out.append(f"    url: {paper['url']}")
    if importer.code:
        out.append("code:")
        for link in importer.code:
            out.append(f"  - label: {_yaml_string(link['label'])}")
            out.append(f"    url: {link['url']}")
    config = next((p.config for p in pages if p.config), None)
    if config:
        out.append(f"training_config: {config}")
    weights = {p.lang: _weights_note(p) for p in pages if _weights_note(p)}
    if weights:
        first = next(iter(weights.values()))
        out.append("weights:" + ("  # one language only: the same text in both" if len(weights) == 1 else ""))
        for lang in ("zh", "en"):
            out.append(f"  {lang}: {_yaml_string(weights.get(lang, first))}")
    accuracy = importer.units.get("accuracy", "fraction")
    out += ["units:", f"  accuracy: {accuracy}", f"  flops: {{scale: {importer.units.get('flops', 'G')}, convention: MACs}}  # PaddleClas 'FLOPs' count multiply-accumulates", f"  params: {importer.units.get('params', 'M')}"]
    if "storage" in importer.units:
        out.append(f"  storage: {importer.units['storage']}  # 'Storage Size(M)': megabytes of the model file")
    out.append("models:")
    for model in importer.models.values():
        out.append(f"  - name: {model['name']}")
        if "builder" in model:
            out.append(f"    builder: {model['builder']}")
        size = model.get("input_size")
        if size is None:
            guessed = re.search(r"_(\d{3})$", model["architecture"])
            size = int(guessed.group(1)) if guessed and 96 <= int(guessed.group(1)) <= 1024 else 224
            out.append(f"    input_size: {size}  # assumed: the page does not give it")
        else:
            out.append(f"    input_size: {size}")
        if "eval" in model:
            out.append(f"    eval: {{resize_short: {model['eval']['resize_short']}}}")
        out.append(f"    metrics: {_metrics_flow(model['metrics'])}")
    if importer.benchmarks:
        out.append("benchmarks:")
    for bench in importer.benchmarks:
        out.append(f"  - id: {bench.id}")
        out.append(f"    hardware: {_yaml_string(bench.hardware)}")
        out.append(f"    hardware_kind: {bench.kind}")
        if bench.runtime:
            out.append(f"    runtime: {_yaml_string(bench.runtime)}")
        if bench.runtime_version:
            out.append(f"    runtime_version: {_yaml_string(bench.runtime_version)}")
        if bench.conditions:
            first = next(iter(bench.conditions.values()))
            out.append("    conditions:" + ("  # one language only: the same text in both" if len(bench.conditions) == 1 else ""))
            for lang in ("zh", "en"):
                out.append(f"      {lang}: {_yaml_string(bench.conditions.get(lang, first))}")
        out.append("    columns:")
        for column in bench.columns:
            parts = [f"metric: {column['metric']}", f"unit: {column['unit']}"]
            for key in ("precision", "batch_size", "threads"):
                if key in column:
                    parts.append(f"{key}: {column[key]}")
            if "label" in column:
                label = _yaml_string(column["label"])
                parts.append(f"label: {{zh: {label}, en: {label}}}")
            out.append("      - {" + ", ".join(parts) + "}")
        out.append("    rows:")
        for name, row in bench.rows.items():
            values = ", ".join(row["values"].get(c["_index"], "null") for c in bench.columns)
            size = f", input_size: {row['input_size']}" if "input_size" in row and row["input_size"] != importer.models[name].get("input_size") else ""
            if "input_size" in row and not size and importer.models[name].get("input_size") is None:
                size = f", input_size: {row['input_size']}"
            resize = f", resize_short: {row['resize_short']}" if "resize_short" in row else ""
            out.append(f"      - {{model: {name}{size}{resize}, values: [{values}]}}")
    out += _comparison_lines(importer.comparisons)
    if importer.downloads:
        out.append("downloads:")
        for download in importer.downloads:
            target = f", target: {_yaml_string(download['target'])}" if "target" in download else ""
            out.append(f"  - {{model: {download['model']}, format: {download['format']}{target}, url: {download['url']}}}")
    return "\n".join(out) + "\n"


def _comparison_lines(comparisons: list[Comparison]) -> list[str]:
    """The `comparisons:` section: other families' rows, columns without a figure left out."""
    out = ["comparisons:  # other families' figures, quoted by the page for comparison"] if comparisons else []
    for quoted in comparisons:
        columns = [c for c in quoted.columns if any(c["_index"] in row["values"] for row in quoted.rows.values())]
        first = "  - "
        if quoted.title:
            any_title = next(iter(quoted.title.values()))
            titles = ", ".join(f"{lang}: {_yaml_string(quoted.title.get(lang, any_title))}" for lang in ("zh", "en"))
            out.append(f"{first}title: {{{titles}}}" + ("  # one language only: the same text in both" if len(quoted.title) == 1 else ""))
            first = "    "
        if quoted.hardware:
            out.append(f"{first}hardware: {_yaml_string(quoted.hardware)}")
            first = "    "
        out.append(f"{first}columns:")
        for column in columns:
            parts = [f"metric: {column['metric']}", f"unit: {column['unit']}"]
            parts += [f"{key}: {column[key]}" for key in ("precision", "batch_size", "threads") if key in column]
            if "label" in column:
                label = _yaml_string(column["label"])
                parts.append(f"label: {{zh: {label}, en: {label}}}")
            out.append("      - {" + ", ".join(parts) + "}")
        out.append("    rows:")
        for name, row in quoted.rows.items():
            values = ", ".join(row["values"].get(c["_index"], "null") for c in columns)
            size = f", input_size: {row['input_size']}" if "input_size" in row else ""
            out.append(f"      - {{model: {name}{size}, values: [{values}]}}")
    return out


def _weights_note(page: Page) -> str:
    for _, line in page.lines:
        if re.search(r"权重.*(官方|转)|weights.*(official|convert)", line, re.I) and line.strip().startswith("**"):
            return re.sub(r"^\*\*[^*]*\*\*[:：]?\s*", "", line.strip())
    return ""


def import_pages(sources: list[tuple[str, str, str]], card_id: str, backbones: dict[str, str] | None = None) -> ImportResult:
    """Import (text, display name, lang) pages, zh first, into one card; never drops a figure silently."""
    if not ID_PATTERN.match(card_id):
        raise ZoocardsError(f"'{card_id}' is not a card id: use lower-case letters, digits and '-' (e.g. mixnet), at most 63 characters")
    importer = _Importer(card_id, builder_index() if backbones is None else backbones)
    pages = [parse_page(text, name, lang) for text, name, lang in sources]
    for page in pages:
        for table in page.tables:
            importer.import_table(page, table, first_table=not importer.family)
        page_links(page, importer)
    importer.merge_duplicate_benchmarks()
    importer.merge_duplicate_comparisons()
    for bench in importer.benchmarks:
        if bench.hardware == "unknown":
            importer.notes.append(Note(bench.page, bench.line, f"benchmark '{bench.id}': the page does not say which hardware this table was timed on; set its hardware and hardware_kind"))
    importer.flush()
    if not importer.models:
        raise ZoocardsError(f"{pages[0].name}: no table with model names in its first column; nothing to import")
    for page in pages:
        if page.config and "xxx" in page.config.lower():
            importer.note(page, page.config_line, f"training config `{page.config}` is a placeholder; not imported — write the real path")
            page.config = None
    for name, model in importer.models.items():
        if "builder" not in model:
            importer.notes.append(Note(pages[0].name, model["line"], f"{name}: no `def {model['architecture']}(` in the installed paddleclas; builder omitted (its figures will be 'not re-run')"))
    single = len({p.lang for p in pages}) == 1
    if single:
        importer.notes.append(Note(pages[0].name, 1, f"one language only ({pages[0].lang}): name, summary and notes repeat the same text in zh and en; translate them"))
    text = render_card(importer, card_id, pages, single)
    problems = [p for p in check.check_card(load.load_text(text, Path(f"{card_id}.yaml"))) if p.severity == "error"]
    if problems:
        raise ZoocardsError("the imported card does not pass the checks (please report this page):\n" + "\n".join(str(p) for p in problems))
    return ImportResult(text=text, notes=sorted(importer.notes, key=lambda n: (n.page, n.line)), figures=importer.figures, landed=importer.landed)


def import_files(page: Path, en_page: Path | None, card_id: str) -> ImportResult:
    """Read the page (and its English twin) from disk and import them."""
    sources = []
    for path, lang in ((page, _language(page)), (en_page, "en")):
        if path is None:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise ZoocardsError(f"{path}: cannot read the page ({error}); pass a UTF-8 Markdown file") from None
        sources.append((text, str(path), lang))
    if en_page is not None and sources[0][2] == "en":
        raise ZoocardsError(f"{page} looks English already; pass the Chinese page first and the English one with --en")
    return import_pages(sources, card_id)


def _language(path: Path) -> str:
    text = path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""
    cjk = len(re.findall(r"[\u4e00-\u9fff]", text))
    return "zh" if cjk > 20 or path.stem.endswith(("_cn", "_zh")) else "en"
