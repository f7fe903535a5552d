"""Turn a zoo-wide upstream page (PaddleClas's model_list.md, README.md, paddle_lite_benchmark.md) into
an upstream source, `sources/<id>.yaml` (schema source-v1): every table row with its line, every
figure exactly as written, every download and every other link of the page.

The page's own notes say where its timings ran: an overview list ('GPU ... V100 ... TensorRT-8.0.3.4'),
a device in a column's header ('SD855 time(ms)'), or a footnote marker on a header ('time(ms)*')
resolved by the '*: ...' line under the table. A Paddle-Lite benchmark printed in a code block
becomes a table too. Whatever cannot be mapped is reported with its line, as the card importer does.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from zoocards import load, names, sources
from zoocards.errors import CardError, ZoocardsError
from zoocards.importer.assemble import PRETRAINING_SUFFIXES
from zoocards.importer.columns import RUNTIMES, classify, hardware_in, infer_accuracy_unit
from zoocards.importer.tables import Cell, ImportResult, Note, Page, Table, model_name, number_text, parse_page, strip_tags, table_footnotes

SCHEMA_LINE = "# yaml-language-server: $schema=../zoocards/schema/source-v1.schema.json"
COMMIT = re.compile(r"\b[0-9a-f]{40}\b")
LINK = re.compile(r"https?://[^\s)\]>\"']+")  # what ../shared/tools/seedcheck.py counts as a link
MARKDOWN_LINK = re.compile(r"\[([^\]]*)\]\((https?://[^)\s]+)\)")
# Devices the zoo-wide pages name in ways the card importer's list does not spell.
SOURCE_HARDWARE = (
    (re.compile(r"Xeon[-\s(R)]*Gold[-\s]*6271C", re.I), "Intel Xeon Gold 6271C", "cpu"),
    (re.compile(r"Xeon[-\s(R)]*Gold[-\s]*6148", re.I), "Intel Xeon Gold 6148", "cpu"),
    (re.compile(r"骁龙\s*855|SD\s?855", re.I), "Qualcomm Snapdragon 855", "cpu"),
)
SOURCE_RUNTIMES = (
    (re.compile(r"OpenVINO\s*(\d+(?:\.\d+)+)?", re.I), "OpenVINO"),
    (re.compile(r"PaddlePaddle\s*推理|Paddle Inference", re.I), "Paddle Inference"),
    (re.compile(r"Paddle-?\s?Lite", re.I), "Paddle-Lite"),
)
# Download columns, by header: the key the row's `downloads` gives the link under.
DOWNLOAD_KEYS = (
    (re.compile(r"stage-?1.*(预训练|pretrain)", re.I), "pretrained_stage1"),
    (re.compile(r"预训练|pretrain", re.I), "pretrained"),
    (re.compile(r"inference", re.I), "inference"),
)
# Section headings of the zoo-wide pages, in English (family names stay as they are).
SECTION_WORDS = (
    ("Intel CPU 端知识蒸馏模型", "SSLD-distilled models for Intel CPUs"),
    ("服务器端知识蒸馏模型", "SSLD-distilled server models"),
    ("移动端知识蒸馏模型", "SSLD-distilled mobile models"),
    ("移动端系列", "Mobile models"),
    ("其他模型", "Other models"),
)


# A source import reports as a card import does.
SourceImport = ImportResult


@dataclass
class _Column:
    """One upstream column as the source keeps it (`spec`), or as a download key, or as nothing."""

    index: int
    spec: dict[str, Any] | None = None
    download: str | None = None


@dataclass
class _Table:
    id: str
    line: int
    section: str
    title: dict[str, str]
    columns: list[dict[str, Any]]
    rows: list[dict[str, Any]]
    comments: list[str] = field(default_factory=list)


@dataclass
class _Context:
    """What the page says once for all its timings (its overview list)."""

    gpu: dict[str, Any]
    gpu_line: int = 0


# --------------------------------------------------------------------------- hardware and runtime


def _hardware(text: str) -> tuple[str, str] | None:
    for pattern, hardware, kind in SOURCE_HARDWARE:
        if pattern.search(text):
            return hardware, kind
    found = hardware_in(text)
    return (found[0], found[1]) if found else None


def _runtime(text: str) -> tuple[str, str | None] | None:
    for pattern, runtime in SOURCE_RUNTIMES:
        match = pattern.search(text)
        if match:
            return runtime, (match.group(1) if match.groups() else None)
    for name, _ in RUNTIMES:
        match = re.search(re.escape(name) + r"(?:[- ]?v?(\d+(?:\.\d+)+))?", text, re.I)
        if match:
            return name, match.group(1)
    return None


def _page_context(page: Page) -> _Context:
    """The GPU the page's overview says its unmarked timings ran on ('GPU ... V100 ... FP32+TensorRT-8.0.3.4')."""
    for number, line in page.lines:
        if re.search(r"\bGPU\b", line) and _hardware(line) and not line.strip().startswith("|"):
            hardware, kind = _hardware(line)  # type: ignore[misc]
            spec: dict[str, Any] = {"hardware": hardware, "hardware_kind": kind}
            runtime = _runtime(line)
            if runtime:
                spec["runtime"] = runtime[0]
                if runtime[1]:
                    spec["runtime_version"] = runtime[1]
            precision = re.search(r"\b(FP32|FP16|INT8)\b", line)
            if precision:
                spec["precision"] = precision.group(1)
            return _Context(spec, number)
    return _Context({})


def _footnotes(page: Page, table: Table) -> dict[str, tuple[int, str]]:
    """'*: text' and '[1]: text' lines after a table, up to the next heading, by marker ('*', '**', '1'); the first of each wins."""
    found: dict[str, tuple[int, str]] = {}
    for number, line in page.lines:
        if number <= table.line:
            continue
        stripped = line.strip()
        if stripped.startswith("#"):
            break
        match = re.match(r"^(\*+)\s*[:：]\s*(.+)$", stripped) or re.match(r"^\\?\[(\d+)\\?\]\s*[:：]\s*(.+)$", stripped)
        if match:
            found.setdefault(match.group(1), (number, match.group(2)))
    return found


# --------------------------------------------------------------------------- tables


def _header_text(header: str) -> str:
    """A header as the page shows it: tags and <br> read as spaces, footnote stars kept ('time(ms)* bs=1')."""
    text = re.sub(r"<br\s*/?>", " ", header, flags=re.I)
    text = re.sub(r"<sup>\s*(\*+)\s*</sup>", r"\1", text, flags=re.I)
    return " ".join(re.sub(r"<[^>]+>", "", text).split())


def _en_title(section: str) -> str:
    for zh, en in SECTION_WORDS:
        if zh in section:
            return en
    match = re.match(r"^(.*?)\s*系列$", section)
    if match:
        family = match.group(1).strip()
        return f"{family} families" if "&" in family else f"{family} family"
    return section


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "table"


def _section_title(section: str) -> str:
    text = re.sub(r"<sup>.*?</sup>", "", section, flags=re.I | re.S)
    text = strip_tags(text)
    return re.sub(r"^[\d.]+\s*|^[一二三四五六七八九十]+、\s*", "", text).strip()


class _SourceImporter:
    def __init__(self, page: Page, context: _Context) -> None:
        self.page = page
        self.context = context
        self.notes: list[Note] = []
        self.tables: list[_Table] = []
        self.figures = 0
        self.landed = 0

    def note(self, line: int, message: str) -> None:
        self.notes.append(Note(self.page.name, line, message))

    def columns(self, table: Table) -> list[_Column]:
        """What each upstream column becomes; reported when nothing."""
        out: list[_Column] = []
        headers = [_header_text(h) for h in table.header]
        models = [model_name(row[0].text) for row in table.rows if row]
        distilled = bool(models) and all(m and m.endswith("_ssld") for m in models)
        footnotes = _footnotes(self.page, table)
        for index, header in enumerate(table.header):
            text = headers[index]
            column = _Column(index)
            out.append(column)
            if index == 0:
                continue
            download = next((key for pattern, key in DOWNLOAD_KEYS if pattern.search(text) and re.search(r"下载|download", text, re.I)), None)
            if download:
                column.download = download
                continue
            spec: dict[str, Any] = {"header": text}
            column.spec = spec
            if re.search(r"acc\s*gain", text, re.I):
                spec.update(metric="top1_gain", unit=self.accuracy_unit(table, index))
                continue
            if re.search(r"模型大小|model size", text, re.I):
                scale = re.search(r"\(\s*([KMG])B?\s*\)", text)
                spec.update(metric="storage", unit=(scale.group(1) if scale else "M") + "B")
                continue
            kind = classify(header, index)
            if kind.kind == "metric" and kind.metric == "reference_top1" and distilled:
                # In the SSLD tables, 'Reference Top-1 Acc' is the same architecture trained without
                # distillation (the note under them says so): a top-1 claim about that model.
                spec.update(metric="baseline_top1", unit=kind.unit or self.accuracy_unit(table, index))
            elif kind.kind == "metric" and kind.metric in ("top1", "top5"):
                spec.update(metric=kind.metric, unit=kind.unit or self.accuracy_unit(table, index))
            elif kind.kind == "metric" and kind.metric in ("flops", "params"):
                spec.update(metric=kind.metric, unit=kind.unit or ("M" if kind.metric == "params" else "G"))
                if kind.metric == "flops":
                    spec["convention"] = "MACs"  # paddle.flops, which the pages name, counts multiply-accumulates
                if not kind.unit:
                    self.note(table.line, f"column '{text}' does not say its scale; assumed {spec['unit']}")
            elif kind.kind == "bench" and kind.metric == "latency":
                spec.update(metric="latency", unit=kind.unit or "ms")
                spec.update(self.timing(table, header, text, footnotes))
                if kind.batch_size is not None:
                    spec["batch_size"] = kind.batch_size
                if kind.threads is not None:
                    spec["threads"] = kind.threads
            else:
                column.spec = None
                self.note(table.line, f"column '{text}': not a figure a source can hold; its cells are reported below")
        return out

    def accuracy_unit(self, table: Table, index: int) -> str:
        values = [number_text(row[index].text) for row in table.rows if index < len(row)]
        return infer_accuracy_unit([v for v in values if v])

    def timing(self, table: Table, header: str, text: str, footnotes: dict[str, tuple[int, str]]) -> dict[str, Any]:
        """Hardware, runtime and precision of a timing column: its header, its footnote, else the page's GPU."""
        marker = re.search(r"<sup>\s*(\*+)\s*</sup>|\)(\*+)", header)
        if marker:
            stars = marker.group(1) or marker.group(2)
            if stars not in footnotes:
                self.note(table.line, f"column '{text}' carries the mark '{stars}', but no '{stars}:' line follows the table; set its hardware by hand")
                return {}
            line, note = footnotes[stars]
            spec: dict[str, Any] = {}
            found = _hardware(note)
            if found:
                spec.update(hardware=found[0], hardware_kind=found[1])
            runtime = _runtime(note)
            if runtime:
                spec["runtime"] = runtime[0]
                if runtime[1]:
                    spec["runtime_version"] = runtime[1]
            return spec
        found = _hardware(text)
        if found:
            return {"hardware": found[0], "hardware_kind": found[1]}
        if not self.context.gpu:
            self.note(table.line, f"column '{text}': the page names no device for its timings; set hardware by hand")
        return dict(self.context.gpu)

    def table(self, table: Table, title_counts: dict[str, int]) -> None:
        columns = self.columns(table)
        specs = [c for c in columns if c.spec is not None]
        section = _section_title(table.section)
        zh_title, en_title = section, _en_title(section)
        title_counts[section] = title_counts.get(section, 0) + 1
        if title_counts[section] > 1:
            zh_title, en_title = f"{zh_title}（表 {title_counts[section]}）", f"{en_title} (table {title_counts[section]})"
        taken = {t.id for t in self.tables}
        table_id, n = _slug(_en_title(section)), 2
        while table_id in taken:
            table_id, n = f"{_slug(_en_title(section))}-{n}", n + 1
        out = _Table(table_id, table.line, section, {"zh": zh_title, "en": en_title}, [dict(c.spec) for c in specs if c.spec], [])
        for row in table.rows:
            numbers = sum(1 for c in row[1:] if number_text(c.text))
            self.figures += numbers
            links = [url for c in row[1:] for url in LINK.findall(c.text)]
            self.figures += len(links)
            name = model_name(row[0].text) if row else None
            if name is None:
                if numbers or links:
                    self.note(row[0].line, f"not imported: {numbers} figures and {len(links)} links of a row whose first cell '{strip_tags(row[0].text)}' is not a model name")
                continue
            if len(row) != len(table.header):
                self.note(row[0].line, f"{name}: {len(row)} cells for {len(table.header)} columns; cells were matched to headers by position — check the row against the page and fix it by hand with a comment")
            model = self.pretrained_name(row[0], names.canonical(name), table)
            entry: dict[str, Any] = {"model": model}
            written = names.clean(row[0].text.replace("\\", ""))
            if written != model:
                entry["written"] = written
            if any(c.spec and c.spec["metric"] == "baseline_top1" for c in columns):
                entry["baseline"] = model.removesuffix("_ssld")
            entry["line"] = row[0].line
            values: list[str | None] = []
            downloads: dict[str, str] = {}
            for column in columns[1:]:
                cell = row[column.index] if column.index < len(row) else None
                if column.download:
                    urls = LINK.findall(cell.text) if cell else []
                    for url in urls:
                        if column.download in downloads:
                            self.note(cell.line if cell else row[0].line, f"not imported: {model}: a second {column.download} link {url}")
                            continue
                        downloads[column.download] = url
                        self.landed += 1
                    continue
                raw = number_text(cell.text) if cell else None
                if column.spec is None:
                    if raw is not None:
                        self.note(row[0].line, f"not imported: {model}: {strip_tags(table.header[column.index])} = {raw} — a column the source cannot hold")
                    continue
                if raw is None and cell is not None and strip_tags(cell.text) not in ("", "-", "—", "--"):
                    self.note(cell.line, f"{model}: '{strip_tags(cell.text)}' under '{column.spec['header']}' is not a number; kept as null")
                if raw is not None:
                    self.landed += 1
                values.append(raw)
            for cell in row[len(table.header):]:
                raw = number_text(cell.text)
                if raw is not None:
                    self.note(cell.line, f"not imported: {model}: {raw} — a cell beyond the last header; fix the row by hand")
                for url in LINK.findall(cell.text):
                    self.note(cell.line, f"not imported: {model}: link {url} — a cell beyond the last header; fix the row by hand")
            entry["values"] = values
            if downloads:
                entry["downloads"] = downloads
            out.rows.append(entry)
        if out.rows and out.columns:
            self.tables.append(out)
        elif out.rows or table.rows:
            self.note(table.line, "not imported: a table with no model rows or no figure columns")

    def pretrained_name(self, cell: Cell, model: str, table: Table) -> str:
        """A row whose name carries a footnote on its pretraining is the zoo's model for those weights (X_22kto1k), as in the cards."""
        marker = re.search(r"<sup>\s*\\?\[?\s*(\d+)\s*\\?\]?\s*</sup>", cell.text, re.I)
        if marker is None:
            return model
        footnote = _footnotes(self.page, table).get(marker.group(1))
        if footnote is None:
            self.note(cell.line, f"{model}: footnote mark [{marker.group(1)}], but no '[{marker.group(1)}]:' line follows in its section; imported under its plain name")
            return model
        line, text = footnote
        suffix = next((suffix for pattern, suffix in PRETRAINING_SUFFIXES if pattern.search(text)), None)
        if suffix is None or model.endswith(suffix):
            return model
        where = "" if table_footnotes(table.after).get(marker.group(1)) else f" (the mark has no footnote under its own table; read from line {line}, the next one in its section)"
        self.note(cell.line, f"{model}: footnote [{marker.group(1)}] says these weights were pretrained on ImageNet-22k; imported as {model}{suffix}, as the cards name them{where}")
        return model + suffix

    def lite_benchmarks(self) -> None:
        """Paddle-Lite benchmark output printed in code blocks ('Threads=1 ...', 'Name min = .. max = .. average = ..')."""
        lines = self.page.lines
        index = 0
        device = next((_hardware(line) for _, line in lines if _hardware(line) and not line.strip().startswith(("|", "```"))), None)
        count = 0
        while index < len(lines):
            number, line = lines[index]
            if line.strip() != "PaddleLite Benchmark":
                index += 1
                continue
            start = number
            threads = None
            rows: dict[str, dict[str, Any]] = {}
            order: list[int] = []
            index += 1
            while index < len(lines) and not lines[index][1].strip().startswith("```"):
                row_line, text = lines[index]
                setting = re.match(r"^\s*Threads=(\d+)", text)
                result = re.match(r"^\s*([A-Za-z][\w.-]*)\s+min\s*=\s*([\d.]+)\s+max\s*=\s*([\d.]+)\s+average\s*=\s*([\d.]+)\s*$", text)
                if setting:
                    threads = int(setting.group(1))
                    if threads not in order:
                        order.append(threads)
                elif result and threads is not None:
                    row = rows.setdefault(result.group(1), {"line": row_line, "figures": {}})
                    row["figures"][threads] = result.groups()[1:]
                    self.figures += 3
                elif text.strip():
                    self.note(row_line, f"not imported: '{text.strip()}' in a benchmark block is neither a Threads= line nor a result line")
                index += 1
            count += 1
            columns: list[dict[str, Any]] = []
            for threads in order:
                for statistic in ("min", "max", "average"):
                    spec: dict[str, Any] = {"header": f"Threads={threads} {statistic}", "metric": "latency", "unit": "ms", "statistic": statistic}
                    if device:
                        spec.update(hardware=device[0], hardware_kind=device[1])
                    spec.update(runtime="Paddle-Lite", threads=threads)
                    columns.append(spec)
            table = _Table(f"paddle-lite-{count}", start, "", {"zh": f"Paddle-Lite 测速输出 {count}", "en": f"Paddle-Lite benchmark output {count}"}, columns, [])
            for name, row in rows.items():
                values = [figure for threads in order for figure in row["figures"].get(threads, (None, None, None))]
                self.landed += sum(1 for v in values if v is not None)
                for threads, (low, high, _) in row["figures"].items():
                    if Decimal(low) > Decimal(high):
                        table.comments.append(f"upstream line {row['line']}: at Threads={threads} the page prints min {low} above max {high}; kept as printed")
                model = names.canonical(name)
                table.rows.append({"model": model, "line": row["line"], "values": values})
            if device is None:
                self.note(start, "benchmark block: the page names no device; set hardware by hand")
            self.unit_claims(index, table)
            self.tables.append(table)

    def unit_claims(self, index: int, table: _Table) -> None:
        """What the prose after a benchmark block says its unit is; Paddle-Lite's benchmark prints milliseconds."""
        said_ms = next((n for n, line in self.page.lines if re.search(r"`[\d.]+\s*ms`", line)), None)
        for number, line in self.page.lines[index + 1:]:
            if line.strip().startswith(("```", "#")):
                break
            if re.search(r"\bFPS\b", line):
                also = f"; line {said_ms} of the page gives such a figure in ms" if said_ms else ""
                table.comments.append(f"upstream line {number} calls these figures FPS; they are milliseconds per image, as Paddle-Lite's benchmark prints them{also}")
                self.note(number, f"the page calls the benchmark figures at line {table.line} FPS; imported as ms (Paddle-Lite's benchmark prints milliseconds{also})")
                return

    def links(self) -> list[dict[str, Any]]:
        """Every link outside the tables (prose, lists, code blocks), once per line and URL."""
        found: list[dict[str, Any]] = []
        for number, line in self.page.lines:
            if line.strip().startswith("|"):
                continue
            labels = {url: text.strip() for text, url in MARKDOWN_LINK.findall(line)}
            for url in LINK.findall(line):
                self.figures += 1
                self.landed += 1
                label = labels.get(url) or url.rstrip("/").rsplit("/", 1)[-1]
                found.append({"line": number, "url": url, "label": label})
        return found


# --------------------------------------------------------------------------- writing


def _yaml_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _flow(spec: dict[str, Any]) -> str:
    order = ("header", "metric", "unit", "convention", "statistic", "hardware", "hardware_kind", "runtime", "runtime_version", "precision", "batch_size", "threads")
    parts = []
    for key in order:
        if key in spec:
            value = spec[key]
            parts.append(f"{key}: {_yaml_string(value) if isinstance(value, str) and key in ('header', 'hardware', 'runtime', 'runtime_version') else value}")
    return "{" + ", ".join(parts) + "}"


def render_source(source_id: str, page_name: str, upstream: dict[str, str], importer: _SourceImporter, links: list[dict[str, Any]]) -> str:
    """The source as YAML text, numbers written exactly as the page wrote them."""
    rows = sum(len(t.rows) for t in importer.tables)
    name = Path(upstream["file"]).name
    out = [
        SCHEMA_LINE,
        f"# Generated by `zoocards import-source {page_name} -o sources/{source_id}.yaml`, then reviewed: this file is now",
        "# the source of truth. Edit it by hand; a fix of an upstream mistake says, in a comment, which upstream line and what was wrong.",
        f"# Upstream: {upstream['file']} of {upstream['repo']} at commit {upstream['commit']}",
        f"# {upstream['url']}",
        "schema_version: 1",
        f"id: {source_id}",
        "title:",
        f"  zh: {_yaml_string(name)}",
        f"  en: {_yaml_string(name)}",
        "summary:",
        "  zh: " + _yaml_string(f"PaddleClas 文档 {name} 中的 {len(importer.tables)} 张表（{rows} 行）和 {len(links)} 个其他链接，逐行保留原值。"),
        "  en: " + _yaml_string(f"The {len(importer.tables)} tables ({rows} rows) and {len(links)} other links of the PaddleClas page {name}, row by row, figures as written."),
        "upstream:",
        f"  repo: {upstream['repo']}",
        f"  file: {upstream['file']}",
        f"  commit: {_yaml_string(upstream['commit'])}",
        f"  url: {upstream['url']}",
    ]
    if links:
        out.append("links:")
        for link in links:
            out.append(f"  - {{line: {link['line']}, url: {_yaml_string(link['url'])}, label: {_yaml_string(link['label'])}}}")
    out.append("tables:")
    for table in importer.tables:
        out.append(f"  - id: {table.id}")
        for comment in table.comments:
            out.append(f"    # {comment}")
        out.append(f"    line: {table.line}")
        if table.section:
            out.append(f"    section: {_yaml_string(table.section)}")
        out.append(f"    title: {{zh: {_yaml_string(table.title['zh'])}, en: {_yaml_string(table.title['en'])}}}")
        out.append("    columns:")
        for spec in table.columns:
            out.append(f"      - {_flow(spec)}")
        out.append("    rows:")
        for row in table.rows:
            out.append(f"      - model: {row['model']}")
            if "written" in row:
                out.append(f"        written: {_yaml_string(row['written'])}")
            if "baseline" in row:
                out.append(f"        baseline: {row['baseline']}")
            out.append(f"        line: {row['line']}")
            out.append("        values: [" + ", ".join("null" if v is None else v for v in row["values"]) + "]")
            if row.get("downloads"):
                out.append("        downloads:")
                for key in ("pretrained_stage1", "pretrained", "inference"):
                    if key in row["downloads"]:
                        out.append(f"          {key}: {row['downloads'][key]}")
    return "\n".join(out) + "\n"


def import_source(text: str, page_name: str, source_id: str, upstream: dict[str, str]) -> SourceImport:
    """Import one zoo-wide page into a source; every numeric cell and link lands in it or in the report."""
    if not re.match(r"^[a-z0-9][a-z0-9-]{0,62}$", source_id):
        raise ZoocardsError(f"'{source_id}' is not a source id: use lower-case letters, digits and '-' (e.g. paddleclas-model-list)")
    page = parse_page(text, page_name, "zh")
    importer = _SourceImporter(page, _page_context(page))
    counts: dict[str, int] = {}
    for table in page.tables:
        importer.table(table, counts)
    importer.lite_benchmarks()
    links = importer.links()
    if not importer.tables:
        raise ZoocardsError(f"{page_name}: no table with model names and figures, and no benchmark output; nothing to import")
    result = render_source(source_id, page_name, upstream, importer, links)
    try:
        source = sources.Source(Path(f"{source_id}.yaml"), load.load_text(result, Path(f"{source_id}.yaml")))
    except CardError as error:
        raise ZoocardsError("the imported source is not valid YAML (please report this page):\n" + str(error)) from None
    problems = [p for p in sources.check_source(source) if p.severity == "error"]
    for problem in problems:  # an upstream mistake the format refuses (a percentage in a fraction column): fix by hand
        importer.note(0, f"the source fails its check: {problem}")
    return SourceImport(result, sorted(importer.notes, key=lambda n: (n.page, n.line)), importer.figures, importer.landed)


def upstream_of(page: Path, repo: str, path: str | None, commit: str | None) -> dict[str, str]:
    """repo, file, commit and URL of a page; the commit is read from a README.md beside or above the page when not given."""
    if commit is None:
        for readme in (page.parent / "README.md", page.parent.parent / "README.md"):
            if readme.is_file() and readme.resolve() != page.resolve():
                match = COMMIT.search(readme.read_text(encoding="utf-8", errors="replace"))
                if match:
                    commit = match.group(0)
                    break
    if commit is None or not COMMIT.fullmatch(commit):
        raise ZoocardsError(f"{page}: which upstream commit is this page from? pass --commit with its 40-hex id")
    file = path or f"docs/zh_CN/models/ImageNet1k/{page.name}"
    return {"repo": repo, "file": file, "commit": commit, "url": f"https://github.com/{repo}/blob/{commit}/{file}"}


def import_source_file(page: Path, source_id: str, repo: str = "PaddlePaddle/PaddleClas", path: str | None = None, commit: str | None = None) -> SourceImport:
    """Read a zoo-wide page from disk and import it as the source `source_id`."""
    try:
        text = page.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ZoocardsError(f"{page}: cannot read the page ({error}); pass a UTF-8 Markdown file") from None
    return import_source(text, page.name, source_id, upstream_of(page, repo, path, commit))
