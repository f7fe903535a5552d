"""What a table column means: its header read as a metric, a unit and its scale, or a timing with its
precision, batch and threads; the hardware and runtime a header, section or note names; exact unit shifts."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from zoocards.importer.tables import strip_tags

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


def quoted_column(col: Column, header: str, unit: str, note_precision: str | None) -> dict[str, Any] | None:
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


def stated_precision(context: str) -> str | None:
    """The precision a table's section or note states for all its timings ('精度类型为 FP32')."""
    match = re.search(r"(?:精度类型为|precision(?: type)? (?:is|of))\s*(FP32|FP16|INT8)", context, re.I)
    return match.group(1).upper() if match else None


def unit_shift(kind: str, unit: str, target: str) -> int:
    """The power of ten that takes a figure from `unit` to `target` (percent/fraction, K/M/G/T scales)."""
    if kind == "accuracy":
        return 2 if (unit, target) == ("fraction", "percent") else -2
    exponent = {"K": 3, "M": 6, "G": 9, "T": 12}
    return exponent[unit[0]] - exponent[target[0]]  # storage units read KB, MB, GB


def plain(value: Decimal) -> str:
    """A Decimal written out without an exponent."""
    return format(value, "f")
