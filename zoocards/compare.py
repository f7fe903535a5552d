"""Stage 4 (pure): join every claimed figure to the measurement that re-ran it.

No I/O and no paddle: cards, measurement records and a description of this host in,
one `Verification` per claimed figure (plus one ONNX-export verdict per model) out.
Claims and measurements meet on identity (card, model, metric, hardware, precision,
batch size, threads), never on list position. Every tolerance lives in this module.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, TypedDict

from zoocards import units
from zoocards.load import Card, KeyPath, format_path
from zoocards.units import ACCURACY_METRICS, MODEL_METRICS

STATUSES = ("verified", "mismatch", "not_run", "failed")

# A claim is verified when |measured - claimed| <= half a unit of its last written digit
# (a claim of 6.2 stands for 6.15..6.25) plus a margin:
RELATIVE_MARGIN = {
    # Parameter counts are exact; 1% absorbs zoos that count a classifier bias or an
    # auxiliary layer differently, while a wrong variant (usually 10%+ apart) still fails.
    "params": Decimal("0.01"),
    # FLOPs counters disagree on what counts: some add BatchNorm, activations, pooling,
    # elementwise adds, biases or the squeeze-excitation FCs; on CNNs these add 1-3% to the
    # convolution and FC MACs this project counts.
    "flops": Decimal("0.03"),
    # CPU timings of the same model on the same host vary 10-20% between runs (turbo,
    # neighbours on a shared machine); 25% flags a real difference, not noise.
    "latency": Decimal("0.25"),
    "fps": Decimal("0.25"),
    "classes": Decimal("0"),
}
# Accuracy re-runs differ from a zoo's own evaluation by a few tenths of a point when the
# image decoder or resize implementation differs (PIL here, OpenCV in PaddleClas).
ACCURACY_MARGIN_POINTS = Decimal("0.5")
# The ONNX export passes when max |paddle - onnxruntime| <= this x max |paddle output|.
# FP32 reordering (fused BatchNorm, other conv algorithms) leaves ~1e-6 of the output
# scale even in 150-layer networks; a mistranslated operator leaves 1e-2 or more.
ONNX_MAX_RELATIVE_ERROR = 1e-4

ONNX_UNIT = "relative error"
# How a display unit reads after a number in a reason ("99.3%", "0.34 G MACs").
_UNIT_LABEL = {"top1": "%", "top5": "%", "flops": " G MACs", "params": " M", "latency": " ms", "fps": " fps", "classes": ""}
# Where each metric's measurement comes from.
_RECORD_KIND = {"params": "count", "flops": "count", "classes": "count", "top1": "accuracy", "top5": "accuracy", "latency": "latency", "fps": "latency"}


class Verification(TypedDict):
    """One claimed figure (or one export check) with its verdict and evidence."""

    card: str
    model: str
    metric: str
    claimed: float | None
    claimed_raw: str
    measured: float | None
    unit: str
    status: str
    reason: str
    reason_zh: str
    measured_at: str | None
    env: dict[str, Any] | None
    hardware: str | None
    precision: str | None
    batch_size: int | None
    threads: int | None
    source: str
    acknowledged: dict[str, str] | None


class _Claim(TypedDict):
    """A claim before it meets its measurement."""

    metric: str
    raw: str
    unit: str
    convention: str
    source: KeyPath
    hardware: str | None
    hardware_kind: str | None
    precision: str | None
    batch_size: int | None
    threads: int | None
    input_size: int | None


def host_label(host: dict[str, Any]) -> str:
    """`AMD EPYC, 2 cores` (+ GPUs): how a host is named in reasons."""
    label = f"{host.get('cpu', 'unknown CPU')}, {host.get('cores', '?')} cores"
    if host.get("gpus"):
        label += ", " + ", ".join(host["gpus"])
    return label


def hardware_present(hardware: str, kind: str | None, host: dict[str, Any]) -> bool:
    """Whether a benchmark's hardware is the host's (by name; boards never are)."""
    wanted = hardware.strip().lower()
    if kind == "cpu":
        cpu = str(host.get("cpu", "")).lower()
        return bool(cpu) and (wanted in cpu or cpu in wanted)
    if kind == "gpu":
        return any(wanted in name.lower() or name.lower() in wanted for name in host.get("gpus", []))
    return False


def _raw_text(raw: str, metric: str, unit: str, convention: str) -> str:
    if metric in ACCURACY_METRICS:
        return f"{raw} %" if unit == "percent" else raw
    if metric == "flops":
        return f"{raw} {unit} {convention}"
    if metric == "classes" or unit == "count":
        return raw
    return f"{raw} {unit}"


def _number(value: Decimal) -> str:
    """A measured or derived figure for a reason: at most 6 significant digits."""
    return units.plain(Decimal(f"{value:.6g}").normalize())


def _measured(metric: str, record: dict[str, Any], claim: _Claim) -> tuple[Decimal | None, str | None]:
    """The measured figure in display units, or (None, why it cannot be compared)."""
    result = record["result"] or {}
    if metric == "params":
        return units.count_to_scale(Decimal(int(result["params"])), "count", "M"), None
    if metric == "flops":
        return units.flops_to_g_macs(Decimal(int(result["macs"])), "count", "MACs"), None
    if metric == "classes":
        return Decimal(int(result["outputs"])), None
    if metric in ("top1", "top5"):
        return units.accuracy_to_percent(Decimal(str(result[metric])), "fraction"), None
    # latency / fps: the CPU run at the claimed batch size and thread count
    run = (result.get("batch_sizes") or {}).get(str(claim["batch_size"] or 1))
    if run is None:
        return None, f"batch size {claim['batch_size'] or 1} was not timed"
    if claim["threads"] is not None and int(run["threads"]) != claim["threads"]:
        return None, f"claimed with {claim['threads']} threads, timed with {run['threads']}"
    median = Decimal(str(run["median_ms"]))
    if metric == "latency":
        return median, None
    return Decimal(int(run["batch_size"])) * 1000 / median, None


def _tolerance(claim: _Claim, claimed: Decimal) -> tuple[Decimal, str]:
    half = abs(units.to_display(claim["metric"], units.half_unit_of_last_digit(claim["raw"]), claim["unit"], claim["convention"]))
    if claim["metric"] in ACCURACY_METRICS:
        return half + ACCURACY_MARGIN_POINTS, f"half a unit of the last digit ({_number(half)}) + {ACCURACY_MARGIN_POINTS} points"
    margin = RELATIVE_MARGIN[claim["metric"]]
    return half + margin * abs(claimed), f"half a unit of the last digit ({_number(half)}) + {_number(margin * 100)}%"


def _verdict(claim: _Claim, card: Card, model: dict[str, Any] | None, records: dict[tuple[str, str], dict[str, Any]], host: dict[str, Any]) -> dict[str, Any]:
    """status, reason, reason_zh, measured and the record's provenance for one claim."""
    metric = claim["metric"]
    if metric == "storage":
        return _not_run("file size of the released weights; not re-run", "发布的权重文件大小；不复测")
    if metric.startswith("reference_"):
        return _not_run("reported by the original authors; re-running needs their training run", "原作者报告的数值；复现需要原作者的训练过程")
    if claim["hardware"] is not None and metric not in ("params", "flops", "classes"):
        # A timing stays valid for the host that made it, even when this run is elsewhere.
        timed = records.get((model["name"], "latency")) if model and metric in ("latency", "fps") else None
        timed_on = (timed.get("env") or {}).get("host") if timed and timed["status"] == "ok" else None
        if not hardware_present(claim["hardware"], claim["hardware_kind"], timed_on or host):
            return _not_run(f"hardware not present: {claim['hardware']} (this run: {host_label(host)})", f"本机没有该硬件：{claim['hardware']}（本次运行：{host_label(host)}）")
        if claim["precision"] not in (None, "FP32"):
            return _not_run(f"precision {claim['precision']} is not re-run (measurements run in FP32)", f"不复测 {claim['precision']} 精度（测量均为 FP32）")
    if model is None or not model.get("builder"):
        return _not_run("no builder: the architecture is not available to re-run", "没有 builder：无法重建该网络结构")
    kind = _RECORD_KIND[metric]
    record = records.get((model["name"], kind))
    if record is None:
        if kind == "accuracy":
            return _not_run("weights or dataset not available", "没有可用的权重或数据集")
        return _not_run("not measured yet: run `zoocards verify`", "尚未测量：请运行 `zoocards verify`")
    evidence = {"measured_at": record.get("measured_at"), "env": record.get("env")}
    if record["status"] != "ok":
        reason = record.get("reason") or "unknown failure"
        return {**evidence, "status": "failed", "measured": None, "reason": f"{kind} failed: {reason}", "reason_zh": f"{kind} 测量失败：{reason}"}
    if metric == "flops" and claim["input_size"] is not None and claim["input_size"] != int(model["input_size"]):
        return _not_run(f"claimed at input size {claim['input_size']}; compute was counted at {model['input_size']}", f"声明的输入尺寸为 {claim['input_size']}，而计算量按 {model['input_size']} 统计")
    measured, why_not = _measured(metric, record, claim)
    if measured is None:
        return {**_not_run(str(why_not), f"无法比较：{why_not}"), **evidence}
    claimed = units.to_display(metric, units.as_decimal(claim["raw"]), claim["unit"], claim["convention"])
    tolerance, how = _tolerance(claim, claimed)
    unit = _UNIT_LABEL[metric]
    shown = f"measured {_number(measured)}{unit}, claimed {_number(claimed)}{unit}"
    shown_zh = f"实测 {_number(measured)}{unit}，声明 {_number(claimed)}{unit}"
    if abs(measured - claimed) <= tolerance:
        return {**evidence, "status": "verified", "measured": float(measured), "reason": f"{shown}; within ±{_number(tolerance)} ({how})", "reason_zh": f"{shown_zh}；在容差 ±{_number(tolerance)} 之内"}
    hint, hint_zh = _convention_hint(claim, claimed, measured)
    return {**evidence, "status": "mismatch", "measured": float(measured), "reason": f"{shown}; outside ±{_number(tolerance)} ({how}){hint}", "reason_zh": f"{shown_zh}；超出容差 ±{_number(tolerance)}{hint_zh}"}


def _convention_hint(claim: _Claim, claimed: Decimal, measured: Decimal) -> tuple[str, str]:
    """When a compute claim is off by about 2x, the card most likely names the wrong convention."""
    if claim["metric"] != "flops" or measured <= 0:
        return "", ""
    ratio = claimed / measured
    if Decimal("1.85") <= ratio <= Decimal("2.15") and claim["convention"] == "MACs":
        return (" — about 2x the counted MACs: if the source counts FLOPs = 2 x MACs, set units.flops.convention: FLOPs",
                " —— 约为实测 MACs 的 2 倍：若来源按 FLOPs = 2 × MACs 计数，请设置 units.flops.convention: FLOPs")
    if Decimal("0.465") <= ratio <= Decimal("0.54") and claim["convention"] == "FLOPs":
        return (" — about half the counted MACs: if the source counts MACs, set units.flops.convention: MACs",
                " —— 约为实测 MACs 的一半：若来源按 MACs 计数，请设置 units.flops.convention: MACs")
    return "", ""


def _not_run(reason: str, reason_zh: str) -> dict[str, Any]:
    return {"status": "not_run", "measured": None, "reason": reason, "reason_zh": reason_zh, "measured_at": None, "env": None}


def _claims(card: Card) -> list[tuple[str, _Claim]]:
    """(model name, claim) for every figure the card states.

    `comparisons` are left out: they quote other families' figures, which this card does
    not claim (their own cards do), so they get no verdict, and no status counts them.
    """
    data = card.data
    out: list[tuple[str, _Claim]] = []
    unit_of = data["units"]
    for index, model in enumerate(data["models"]):
        for metric in MODEL_METRICS:
            value = model["metrics"].get(metric)
            if value is None:
                continue
            path: KeyPath = ("models", index, "metrics", metric)
            out.append((model["name"], _claim(card, path, value, metric, units.model_metric_unit(unit_of, metric), unit_of["flops"]["convention"])))
        if model.get("num_classes") is not None:
            path = ("models", index, "num_classes")
            out.append((model["name"], _claim(card, path, model["num_classes"], "classes", "count", "MACs")))
    for b_index, bench in enumerate(data.get("benchmarks", [])):
        for r_index, row in enumerate(bench["rows"]):
            for v_index, (value, column) in enumerate(zip(row["values"], bench["columns"])):
                if value is None:
                    continue
                path = ("benchmarks", b_index, "rows", r_index, "values", v_index)
                claim = _claim(card, path, value, column["metric"], column["unit"], "MACs")  # benchmark flops columns are MACs
                claim["hardware"], claim["hardware_kind"] = bench["hardware"], bench["hardware_kind"]
                claim["precision"], claim["batch_size"], claim["threads"] = column.get("precision"), column.get("batch_size"), column.get("threads")
                claim["input_size"] = row.get("input_size")
                out.append((row["model"], claim))
    return out


def _claim(card: Card, path: KeyPath, value: Any, metric: str, unit: str, convention: str) -> _Claim:
    raw = card.raw_number(path) or str(value)
    return _Claim(metric=metric, raw=raw, unit=unit, convention=convention, source=path, hardware=None, hardware_kind=None, precision=None, batch_size=None, threads=None, input_size=None)


def _export_verdict(model: dict[str, Any], records: dict[tuple[str, str], dict[str, Any]]) -> dict[str, Any]:
    if not model.get("builder"):
        return _not_run("no builder: the architecture is not available to export", "没有 builder：无法导出该网络")
    record = records.get((model["name"], "export"))
    if record is None:
        return _not_run("not measured yet: run `zoocards verify`", "尚未测量：请运行 `zoocards verify`")
    evidence = {"measured_at": record.get("measured_at"), "env": record.get("env")}
    if record["status"] != "ok":
        reason = record.get("reason") or "unknown failure"
        return {**evidence, "status": "failed", "measured": None, "reason": f"export failed: {reason}", "reason_zh": f"导出失败：{reason}"}
    result = record["result"] or {}
    relative, absolute = result.get("max_rel_err"), result.get("max_abs_err")
    if relative is None:
        why = result.get("reason", "outputs could not be compared")
        return {**evidence, "status": "mismatch", "measured": None, "reason": f"ONNX outputs differ from Paddle: {why}", "reason_zh": f"ONNX 输出与 Paddle 不一致：{why}"}
    errors = f"max abs error {absolute:.2e}, max relative error {relative:.2e} (limit {ONNX_MAX_RELATIVE_ERROR:.0e})"
    errors_zh = f"最大绝对误差 {absolute:.2e}，最大相对误差 {relative:.2e}（上限 {ONNX_MAX_RELATIVE_ERROR:.0e}）"
    if relative <= ONNX_MAX_RELATIVE_ERROR:
        return {**evidence, "status": "verified", "measured": float(relative), "reason": f"onnxruntime matches Paddle: {errors}", "reason_zh": f"onnxruntime 与 Paddle 一致：{errors_zh}"}
    return {**evidence, "status": "mismatch", "measured": float(relative), "reason": f"onnxruntime differs from Paddle: {errors}", "reason_zh": f"onnxruntime 与 Paddle 不一致：{errors_zh}"}


def verify(cards: list[Card], records: dict[str, list[dict[str, Any]]], host: dict[str, Any]) -> list[Verification]:
    """One verification per claimed figure and one ONNX-export verdict per model."""
    out: list[Verification] = []
    for card in cards:
        by_identity = {(r["model"], r["kind"]): r for r in records.get(card.id, [])}
        models = {m["name"]: m for m in card.data["models"]}
        acknowledged = {(m["name"], a["metric"]): a["reason"] for m in card.data["models"] for a in m.get("acknowledged", [])}
        for model_name, claim in _claims(card):
            verdict = _verdict(claim, card, models.get(model_name), by_identity, host)
            claimed = units.to_display(claim["metric"], units.as_decimal(claim["raw"]), claim["unit"], claim["convention"])
            out.append(Verification(
                card=card.id, model=model_name, metric=claim["metric"], claimed=float(claimed),
                claimed_raw=_raw_text(claim["raw"], claim["metric"], claim["unit"], claim["convention"]),
                measured=verdict["measured"], unit=units.DISPLAY_UNIT[claim["metric"]], status=verdict["status"],
                reason=verdict["reason"], reason_zh=verdict["reason_zh"], measured_at=verdict["measured_at"], env=verdict["env"],
                hardware=claim["hardware"], precision=claim["precision"], batch_size=claim["batch_size"], threads=claim["threads"],
                source=format_path(claim["source"]), acknowledged=acknowledged.get((model_name, claim["metric"])),
            ))
        for index, model in enumerate(card.data["models"]):
            verdict = _export_verdict(model, by_identity)
            out.append(Verification(
                card=card.id, model=model["name"], metric="onnx_export", claimed=None, claimed_raw="",
                measured=verdict["measured"], unit=ONNX_UNIT, status=verdict["status"], reason=verdict["reason"],
                reason_zh=verdict["reason_zh"], measured_at=verdict["measured_at"], env=verdict["env"], hardware=None,
                precision="FP32", batch_size=None, threads=None, source=format_path(("models", index)),
                acknowledged=acknowledged.get((model["name"], "onnx_export")),
            ))
    return out


def summary(verifications: list[Verification]) -> dict[str, dict[str, int]]:
    """Counts per metric and status (every status present, zeros included)."""
    out: dict[str, dict[str, int]] = {}
    for v in verifications:
        counts = out.setdefault(v["metric"], {status: 0 for status in STATUSES})
        counts[v["status"]] += 1
    return out
