"""Stage 4 (pure): join every claimed figure to the measurement that re-ran it.

No I/O and no paddle: cards, measurement records and a description of this host in,
one `Verification` per claimed figure (plus one ONNX-export verdict per model) out.
Claims and measurements meet on identity (card, model, metric, hardware, precision,
batch size, threads), never on list position; a latency or fps claim meets a timing only on
the claim's hardware id, runtime, provider (when the claim names one) and precision
(`timing_matches`). Every tolerance lives in this module.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal
from collections.abc import Iterator
from typing import Any, NamedTuple, TypedDict

from zoocards import diagnose, hardware, units
from zoocards.diagnose import Explanation
from zoocards.hardware import Target
from zoocards.load import Card, KeyPath, format_path
from zoocards.units import ACCURACY_METRICS, MODEL_METRICS

STATUSES = ("verified", "mismatch", "not_run", "failed")


# The margin a busy host's repeatability report falls back to (`"busy": true`, a run started at
# a load above the core count): an earlier report at load 5-7 had runs up to 457% apart, which
# measures the other processes, not the method, and would accept any timing.
DEFAULT_LATENCY_MARGIN = Decimal("0.25")


def latency_margin(report: dict[str, Any]) -> Decimal:
    """The latency margin a repeatability report supports: its largest relative difference, rounded up to a whole percent.

    `report` is perf/latency_repeat.json (scripts/bench_latency_repeat.py): two cold runs of
    every seed-zoo timing, and the distribution of their per-(model, batch) relative differences
    under `relative_difference` (`p50`, `p90`, `max`, as fractions). The largest difference two
    runs of one timing on one quiet host showed is what noise alone can do; a claim further off
    than that (plus its rounding) is a different speed.
    """
    if report.get("busy"):
        return DEFAULT_LATENCY_MARGIN  # a busy host's spread says nothing about the method
    largest = Decimal(str(report["relative_difference"]["max"]))
    return (largest * 100).to_integral_value(rounding=ROUND_CEILING) / 100


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
    # Timings: `latency_margin(perf/latency_repeat.json)`, the largest relative difference
    # between two cold runs of the same (model, runtime, batch) on one host, rounded up to a
    # whole percent (tests/test_compare.py checks this figure against the file). The committed
    # report (quiet 2-core AMD EPYC, 54 pairs of the seed zoo, onnxruntime and Paddle Inference):
    # p50 3.4%, p90 9.2%, max 38.2% (DigitsNet, 0.07 vs 0.09 ms; the largest above 1 ms is
    # MixNet_S on onnxruntime, 14.6 vs 19.5 ms, 33.6%). fps is 1 / latency: the same margin.
    "latency": Decimal("0.39"),
    "fps": Decimal("0.39"),
    "classes": Decimal("0"),
}
# Accuracy re-runs differ from a zoo's own evaluation by a few tenths of a point when the
# image decoder or resize implementation differs (PIL here, OpenCV in PaddleClas).
ACCURACY_MARGIN_POINTS = Decimal("0.5")
# The ONNX export passes when max |paddle - onnxruntime| <= this x max |paddle output|.
# FP32 reordering (fused BatchNorm, other conv algorithms) leaves ~1e-6 of the output
# scale even in 150-layer networks; a mistranslated operator leaves 1e-2 or more.
ONNX_MAX_RELATIVE_ERROR = 1e-4
# Above that but within this (a decade below the smallest mistranslation seen, 1e-2: CSPDarkNet53's
# LeakyReLU leaves 0.26, LeViT 0.06-0.17), an export still passes when the bisection reproduced
# every layer's output (zoocards.workers.export.LAYER_RELATIVE_ERROR; DLA169: 582 layers, 1.4e-4)...
ONNX_ROUNDING_RELATIVE_ERROR = 2e-3
# ... or when the first layer past the layer threshold is of a type reproduced at least this many
# times before it (ResNet152: blocks.40.conv2.bn after 120 BatchNorms, 3.9e-4 at the output).
ONNX_ROUNDING_SAME_TYPE = 10
# A mismatch's explanation (diagnose.py) must land this close to the claim, plus half a unit of
# its last digit: tighter than the verification margin, which already absorbs counting
# differences of a few percent, so that "reproduced by" means reproduced. Parameter counts are
# exact (0.5% leaves room for a claim rounded to three figures); compute counters disagree by
# about 1% on what an activation or a pooling costs.
DIAGNOSIS_MARGIN = {"params": Decimal("0.005"), "flops": Decimal("0.01")}

ONNX_UNIT = "relative error"
# How a display unit reads after a number in a reason ("99.3%", "0.34 G MACs").
_UNIT_LABEL = {"top1": "%", "top5": "%", "flops": " G MACs", "params": " M", "latency": " ms", "fps": " fps", "classes": ""}
# Where each metric's measurement comes from.
_RECORD_KIND = {"params": "count", "flops": "count", "classes": "count", "top1": "accuracy", "top5": "accuracy", "latency": "latency", "fps": "latency"}
# Providers that run on the host CPU: a GPU's claim is never judged against one of them.
CPU_PROVIDERS = ("cpu", "onednn")
# What a claim that names no precision is taken to mean: zoos leave FP32 unsaid.
DEFAULT_PRECISION = "FP32"


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
    # Timings only: the claim's hardware id, runtime and provider (hardware.Target), and, when a
    # timing judged it, where that timing ran (`Timing.provenance`).
    hardware_id: str | None
    runtime: str | None
    provider: str | None
    timing: dict[str, Any] | None
    # Params/compute mismatches only: the counting convention that reproduces the claim (diagnose.py).
    explanation: Explanation | None


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
    target: Target | None
    runtime_text: str | None


class Timing(NamedTuple):
    """A latency record seen through its target: where, with what, and the per-batch statistics."""

    model: str
    status: str
    reason: str | None
    hardware: str
    hardware_name: str
    hardware_kind: str
    runtime: str
    runtime_version: str | None
    provider: str
    precision: str
    threads: int | None
    batches: dict[str, dict[str, Any]]
    measured_at: str | None
    legacy: bool
    record: dict[str, Any]

    def provenance(self) -> dict[str, Any]:
        """Where this timing ran, as the site and verification.json show it."""
        return {"hardware": self.hardware, "hardware_name": self.hardware_name, "hardware_kind": self.hardware_kind, "runtime": self.runtime,
                "runtime_version": self.runtime_version, "provider": self.provider, "precision": self.precision, "threads": self.threads,
                "measured_at": self.measured_at}

    def label(self) -> str:
        """`AMD EPYC (amd-epyc), onnxruntime 1.32.0 + cpu, FP32, 2 threads`."""
        runtime = " ".join(x for x in (self.runtime, self.runtime_version) if x)
        threads = f", {_threads(self.threads)}" if self.threads else ""
        return f"{self.hardware_name} ({self.hardware}), {runtime} + {self.provider}, {self.precision}{threads}"


# Old latency records (before timings were keyed by target) timed the exported model with
# onnxruntime's CPU provider in FP32 on the CPU their `env.host` names, whatever GPUs that host
# also listed; they are read as exactly that, so they can answer claims about that CPU and never a
# GPU's (the AlexNet/V100 case of issue 16).
_LEGACY_PROVIDERS = {"CPUExecutionProvider": "cpu", "DnnlExecutionProvider": "onednn", "CUDAExecutionProvider": "cuda", "TensorrtExecutionProvider": "tensorrt"}


def timing(record: dict[str, Any]) -> Timing | None:
    """A latency record as a Timing (old records without a target as onnxruntime/CPU on their host); None for other kinds."""
    if record.get("kind") != "latency":
        return None
    result = record.get("result") or {}
    target = record.get("target")
    if target is not None:
        return Timing(
            model=record["model"], status=record["status"], reason=record.get("reason"), hardware=target["hardware"],
            hardware_name=target.get("hardware_name") or target["hardware"], hardware_kind=target.get("hardware_kind") or "cpu",
            runtime=target["runtime"], runtime_version=target.get("runtime_version"), provider=target["provider"],
            precision=target.get("precision") or DEFAULT_PRECISION, threads=target.get("threads"),
            batches={str(k): v for k, v in (result.get("batches") or {}).items()}, measured_at=record.get("measured_at"), legacy=False, record=record,
        )
    env = record.get("env") or {}
    host = env.get("host") or (record.get("inputs") or {}).get("hardware") or {}
    runs = result.get("batch_sizes") or {}
    first: dict[str, Any] = next(iter(runs.values()), {})
    cpu = str(host.get("cpu") or "unknown CPU")
    return Timing(
        model=record["model"], status=record["status"], reason=record.get("reason"), hardware=hardware.normalise(cpu), hardware_name=cpu,
        hardware_kind="cpu", runtime="onnxruntime", runtime_version=(env.get("versions") or {}).get("onnxruntime"),
        provider=_LEGACY_PROVIDERS.get(str(first.get("provider", "CPUExecutionProvider")), "cpu"), precision=str(first.get("precision", DEFAULT_PRECISION)),
        threads=result.get("threads") or first.get("threads"), batches={str(k): v for k, v in runs.items()}, measured_at=record.get("measured_at"),
        legacy=True, record=record,
    )


def timing_matches(target: Target, found: Timing) -> bool:
    """Whether a timing answers a claim: same hardware id and kind, runtime, provider (when claimed), precision, threads (when claimed)."""
    if found.hardware != target.hardware_id or found.hardware_kind != target.hardware_kind:
        return False
    if target.hardware_kind == "gpu" and found.provider in CPU_PROVIDERS:
        return False  # a GPU claim is never judged against a CPU run, whatever the host also has
    if target.runtime is None or found.runtime != target.runtime:
        return False
    if target.provider is not None and found.provider != target.provider:
        return False
    if found.precision != (target.precision or DEFAULT_PRECISION):
        return False
    return target.threads is None or found.threads == target.threads


def _threads(count: int) -> str:
    return f"{count} thread" + ("" if count == 1 else "s")


def host_label(host: dict[str, Any]) -> str:
    """`AMD EPYC, 2 cores` (+ GPUs): how a host is named in reasons."""
    label = f"{host.get('cpu', 'unknown CPU')}, {host.get('cores', '?')} cores"
    if host.get("gpus"):
        label += ", " + ", ".join(host["gpus"])
    return label


def hardware_present(hardware_name: str, kind: str | None, host: dict[str, Any]) -> bool:
    """Whether a benchmark's hardware is the host's (by normalised id; boards never are)."""
    wanted = hardware.normalise(hardware_name)
    if kind == "cpu":
        return bool(host.get("cpu")) and hardware.normalise(str(host["cpu"])) == wanted
    if kind == "gpu":
        return any(hardware.normalise(name) == wanted for name in host.get("gpus", []))
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


def _measured(metric: str, record: dict[str, Any]) -> Decimal:
    """The measured count or accuracy in display units."""
    result = record["result"] or {}
    if metric == "params":
        return units.count_to_scale(Decimal(int(result["params"])), "count", "M")
    if metric == "flops":
        return units.flops_to_g_macs(Decimal(int(result["macs"])), "count", "MACs")
    if metric == "classes":
        return Decimal(int(result["outputs"]))
    return units.accuracy_to_percent(Decimal(str(result[metric])), "fraction")  # top1, top5


def _tolerance(claim: _Claim, claimed: Decimal, margins: dict[str, Decimal] = RELATIVE_MARGIN) -> tuple[Decimal, str]:
    half = abs(units.to_display(claim["metric"], units.half_unit_of_last_digit(claim["raw"]), claim["unit"], claim["convention"]))
    if claim["metric"] in ACCURACY_METRICS:
        return half + ACCURACY_MARGIN_POINTS, f"half a unit of the last digit ({_number(half)}) + {ACCURACY_MARGIN_POINTS} points"
    margin = margins[claim["metric"]]
    return half + margin * abs(claimed), f"half a unit of the last digit ({_number(half)}) + {_number(margin * 100)}%"


def _judge(claim: _Claim, claimed: Decimal, measured: Decimal, evidence: dict[str, Any]) -> dict[str, Any]:
    """verified or mismatch, with the reason in both languages."""
    metric = claim["metric"]
    tolerance, how = _tolerance(claim, claimed)
    unit = _UNIT_LABEL[metric]
    shown = f"measured {_number(measured)}{unit}, claimed {_number(claimed)}{unit}"
    shown_zh = f"实测 {_number(measured)}{unit}，声明 {_number(claimed)}{unit}"
    if abs(measured - claimed) <= tolerance:
        return {**evidence, "status": "verified", "measured": float(measured), "reason": f"{shown}; within ±{_number(tolerance)} ({how})", "reason_zh": f"{shown_zh}；在容差 ±{_number(tolerance)} 之内"}
    return {**evidence, "status": "mismatch", "measured": float(measured), "reason": f"{shown}; outside ±{_number(tolerance)} ({how})", "reason_zh": f"{shown_zh}；超出容差 ±{_number(tolerance)}"}


def _explain(claim: _Claim, claimed: Decimal, record: dict[str, Any], model: dict[str, Any]) -> Explanation:
    """Why a params or compute claim is off: diagnose.explain within DIAGNOSIS_MARGIN."""
    metric = claim["metric"]
    result = record["result"] or {}
    tolerance, _ = _tolerance(claim, claimed, DIAGNOSIS_MARGIN)
    count = int(result["params"] if metric == "params" else result["macs"])
    return diagnose.explain(metric, claimed, count, result, lambda value: abs(value - claimed) <= tolerance,
                            convention=claim["convention"], input_size=int(model["input_size"]))


def _verdict(claim: _Claim, model: dict[str, Any] | None, records: dict[tuple[str, str], dict[str, Any]], timings: list[Timing], host: dict[str, Any]) -> dict[str, Any]:
    """status, reason, reason_zh, measured, the record's provenance and any explanation for one claim."""
    metric = claim["metric"]
    if metric == "storage":
        return _not_run("file size of the released weights; not re-run", "发布的权重文件大小；不复测")
    if metric.startswith("reference_"):
        return _not_run("reported by the original authors; re-running needs their training run", "原作者报告的数值；复现需要原作者的训练过程")
    if claim["target"] is not None:
        return _timing_verdict(claim, claim["target"], model, timings, host)
    if claim["hardware"] is not None and metric not in ("params", "flops", "classes"):
        # accuracy in a benchmark table: re-run on this host only, in FP32
        if not hardware_present(claim["hardware"], claim["hardware_kind"], host):
            return _not_run(f"hardware not present: {claim['hardware']} (this run: {host_label(host)})", f"本机没有该硬件：{claim['hardware']}（本次运行：{host_label(host)}）")
        if claim["precision"] not in (None, "FP32"):
            return _not_run(f"precision {claim['precision']} is not re-run (accuracy runs in FP32)", f"不复测 {claim['precision']} 精度（精度评测为 FP32）")
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
    forward_failed = (record.get("result") or {}).get("forward_failed")
    if forward_failed and metric in ("flops", "classes"):
        # the network built (its params were counted) but its forward pass raised
        return {**evidence, "status": "failed", "measured": None, "reason": f"count failed: the forward pass raised {forward_failed}",
                "reason_zh": f"计数失败：前向计算报错 {forward_failed}"}
    if metric == "flops" and claim["input_size"] is not None and claim["input_size"] != int(model["input_size"]):
        return _not_run(f"claimed at input size {claim['input_size']}; compute was counted at {model['input_size']}", f"声明的输入尺寸为 {claim['input_size']}，而计算量按 {model['input_size']} 统计")
    claimed = units.to_display(metric, units.as_decimal(claim["raw"]), claim["unit"], claim["convention"])
    verdict = _judge(claim, claimed, _measured(metric, record), evidence)
    if verdict["status"] == "mismatch" and metric in ("params", "flops"):
        explanation = _explain(claim, claimed, record, model)
        verdict["explanation"] = explanation
        lead, lead_zh = (" — explained: ", " —— 原因：") if explanation["id"] != "none" else (" — not explained: ", " —— 未找到原因：")
        verdict["reason"] += lead + explanation["text"]
        verdict["reason_zh"] += lead_zh + explanation["text_zh"]
    return verdict


def _conditions(target: Target) -> tuple[str, str]:
    """`NVIDIA V100 with paddle-inference + tensorrt, FP32, batch 1` (en, zh)."""
    runtime = " + ".join(x for x in (target.runtime or "an unnamed runtime", target.provider) if x)
    runtime_zh = " + ".join(x for x in (target.runtime or "未注明的运行时", target.provider) if x)
    precision = target.precision or DEFAULT_PRECISION
    threads = f", {_threads(target.threads)}" if target.threads else ""
    threads_zh = f"，{target.threads} 线程" if target.threads else ""
    return (f"{target.hardware_name} with {runtime}, {precision}, batch {target.batch_size}{threads}",
            f"{target.hardware_name}，{runtime_zh}，{precision}，批大小 {target.batch_size}{threads_zh}")


def _timing_verdict(claim: _Claim, target: Target, model: dict[str, Any] | None, timings: list[Timing], host: dict[str, Any]) -> dict[str, Any]:
    """A latency/fps claim against the newest timing on its own hardware, runtime and precision."""
    where, where_zh = _conditions(target)
    matching = sorted((t for t in timings if timing_matches(target, t)), key=lambda t: t.measured_at or "", reverse=True)
    if not matching:
        if target.runtime is None:
            return _not_run(f"the card names no runtime a re-run can use (runtime: {claim['runtime_text'] or 'not given'}); set the table's runtime_id",
                            f"卡片未注明可复测的运行时（runtime：{claim['runtime_text'] or '未给出'}）；请设置该表的 runtime_id")
        if model is None or not model.get("builder"):
            return _not_run("no builder: the architecture is not available to re-run", "没有 builder：无法重建该网络结构")
        elsewhere = sorted({t.label() for t in timings if t.status == "ok"})
        have = "; ".join(elsewhere) if elsewhere else f"no host has timed {target.model} yet (this run: {host_label(host)})"
        have_zh = "；".join(elsewhere) if elsewhere else f"尚无主机测过 {target.model} 的耗时（本次运行：{host_label(host)}）"
        return _not_run(f"no timing on {where} (timed on: {have})" if elsewhere else f"no timing on {where}; {have}",
                        f"没有 {where_zh} 的耗时（已有耗时：{have_zh}）" if elsewhere else f"没有 {where_zh} 的耗时；{have_zh}")
    found = next((t for t in matching if t.status == "ok"), matching[0])
    evidence = {"measured_at": found.measured_at, "env": found.record.get("env"), "timing": found.provenance()}
    if found.status == "failed":
        reason = found.reason or "unknown failure"
        return {**evidence, "status": "failed", "measured": None, "reason": f"latency failed on {found.label()}: {reason}", "reason_zh": f"在 {found.label()} 上测耗时失败：{reason}"}
    if found.status != "ok":  # the engine declined (e.g. FP16 on a CPU) and said why
        reason = found.reason or found.status
        return {**_not_run(f"not timed on {found.label()}: {reason}", f"未在 {found.label()} 上计时：{reason}"), "timing": found.provenance()}
    stats = found.batches.get(str(target.batch_size))
    if stats is None:
        return {**_not_run(f"batch size {target.batch_size} was not timed on {found.label()}", f"{found.label()} 上没有测批大小 {target.batch_size}"), "timing": found.provenance()}
    median = Decimal(str(stats["median_ms"]))
    measured = median if claim["metric"] == "latency" else Decimal(target.batch_size) * 1000 / median
    claimed = units.to_display(claim["metric"], units.as_decimal(claim["raw"]), claim["unit"], claim["convention"])
    verdict = _judge(claim, claimed, measured, evidence)
    verdict["reason"] += f"; timed on {found.label()}, {found.measured_at}"
    verdict["reason_zh"] += f"；计时于 {found.label()}，{found.measured_at}"
    return verdict


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
        runtime, provider = hardware.table_runtime(bench)
        hardware_id = hardware.normalise(bench["hardware"])
        for r_index, row in enumerate(bench["rows"]):
            for v_index, (value, column) in enumerate(zip(row["values"], bench["columns"])):
                if value is None:
                    continue
                path = ("benchmarks", b_index, "rows", r_index, "values", v_index)
                claim = _claim(card, path, value, column["metric"], column["unit"], "MACs")  # benchmark flops columns are MACs
                claim["hardware"], claim["hardware_kind"] = bench["hardware"], bench["hardware_kind"]
                claim["precision"], claim["batch_size"], claim["threads"] = column.get("precision"), column.get("batch_size"), column.get("threads")
                claim["input_size"] = row.get("input_size")
                claim["runtime_text"] = bench.get("runtime")
                if column["metric"] in ("latency", "fps"):  # the same Target hardware.claim_targets gives
                    claim["target"] = Target(row["model"], hardware_id, bench["hardware"], bench["hardware_kind"], runtime, provider,
                                             column.get("precision"), int(column.get("batch_size") or 1), column.get("threads"))
                out.append((row["model"], claim))
    return out


def _claim(card: Card, path: KeyPath, value: Any, metric: str, unit: str, convention: str) -> _Claim:
    raw = card.raw_number(path) or str(value)
    return _Claim(metric=metric, raw=raw, unit=unit, convention=convention, source=path, hardware=None, hardware_kind=None, precision=None,
                  batch_size=None, threads=None, input_size=None, target=None, runtime_text=None)


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
    notes, notes_zh = _export_notes(result)
    divergence = result.get("divergence") or {}
    if relative <= ONNX_MAX_RELATIVE_ERROR:
        return {**evidence, "status": "verified", "measured": float(relative), "reason": f"onnxruntime matches Paddle: {errors}{notes}", "reason_zh": f"onnxruntime 与 Paddle 一致：{errors_zh}{notes_zh}"}
    layers = divergence.get("layers")
    threshold = f"{divergence.get('threshold', 1e-3):.0e}"
    if relative <= ONNX_ROUNDING_RELATIVE_ERROR and divergence.get("found") is False and layers and divergence.get("layers_matched") == layers:
        # Just over the limit, and the bisection reproduced every layer's output: rounding, not a wrong operator.
        return {**evidence, "status": "verified", "measured": float(relative),
                "reason": f"onnxruntime matches Paddle: {errors}; all {layers} layers' outputs reproduced within {threshold} (bisection), so the excess is float32 rounding through a deep network{notes}",
                "reason_zh": f"onnxruntime 与 Paddle 一致：{errors_zh}；逐层比对时全部 {layers} 层的输出都在 {threshold} 之内复现，超出部分是深层网络累积的 float32 舍入误差{notes_zh}"}
    before = divergence.get("same_type_reproduced_before") or 0
    if relative <= ONNX_ROUNDING_RELATIVE_ERROR and divergence.get("found") and before >= ONNX_ROUNDING_SAME_TYPE:
        # The first layer past 1e-3 is of a type onnxruntime reproduced many times before it: the
        # operator converts correctly; what drifts is rounding grown with depth.
        layer, kind = divergence.get("layer"), divergence.get("type")
        return {**evidence, "status": "verified", "measured": float(relative),
                "reason": f"onnxruntime matches Paddle: {errors}; the first layer past {threshold}, {layer} ({kind}), comes after {before} {kind} layers reproduced within it, so the excess is float32 rounding grown with depth, not a wrong operator{notes}",
                "reason_zh": f"onnxruntime 与 Paddle 一致：{errors_zh}；第一个超出 {threshold} 的层 {layer}（{kind}）之前已有 {before} 个 {kind} 层在容差内复现，超出部分是随深度累积的 float32 舍入误差，而不是算子转换错误{notes_zh}"}
    where, where_zh = _divergence_text(divergence)
    return {**evidence, "status": "mismatch", "measured": float(relative), "reason": f"onnxruntime differs from Paddle: {errors}{where}{notes}", "reason_zh": f"onnxruntime 与 Paddle 不一致：{errors_zh}{where_zh}{notes_zh}"}


_EXPORT_NOTES_ZH = {
    "exported with a fixed batch of 1": "以固定批大小 1 导出",
    "interpolation by a scale factor exported as its output size": "按比例因子的插值改以输出尺寸导出",
}


def _export_notes(result: dict[str, Any]) -> tuple[str, str]:
    """What the export did differently (zoocards.workers.common.export_onnx), as a reason's tail in both languages."""
    notes = list(result.get("export_notes") or [])
    if not notes:
        return "", ""
    zh = []
    for note in notes:
        head = next((zh_text for en, zh_text in _EXPORT_NOTES_ZH.items() if note.startswith(en)), None)
        zh.append(f"{head}（{note}）" if head else note)
    return f"; {'; '.join(notes)}", f"；{'；'.join(zh)}"


def _numbers(settings: dict[str, float] | None) -> str:
    """A layer's or an ONNX node's number settings, as `alpha=0`, for a reason."""
    return ", ".join(f"{key}={value:g}" for key, value in (settings or {}).items())


def _divergence_text(divergence: dict[str, Any]) -> tuple[str, str]:
    """The bisection's finding (zoocards.workers.export.first_divergence) as a reason's tail."""
    if divergence.get("found"):
        layer, kind = divergence.get("layer"), divergence.get("type")
        inp, out = divergence.get("input_rel_err"), divergence.get("output_rel_err")
        op = divergence.get("closest_onnx_op")
        ours, theirs = _numbers(divergence.get("layer_attributes")), _numbers(divergence.get("closest_onnx_attributes"))
        tail = f"; first diverging layer {layer} ({kind}{' ' + ours if ours else ''}"
        tail += f", ONNX {op}{' ' + theirs if theirs else ''})" if op else ")"
        tail_zh = f"；第一个出现偏差的层是 {layer}（{kind}{' ' + ours if ours else ''}" + (f"，ONNX 算子 {op}{' ' + theirs if theirs else ''}）" if op else "）")
        if inp is not None and out is not None:
            tail += f": its input matches to {inp:.1e}, its output is off by {out:.1e}"
            tail_zh += f"：输入相差 {inp:.1e}，输出相差 {out:.1e}"
        return tail, tail_zh
    if divergence.get("layers"):
        last = divergence.get("last_matching_layer")
        return (f"; no single layer was found to diverge ({divergence.get('layers_matched')} of {divergence['layers']} layers matched, the last {last})",
                f"；逐层比对没有定位到单个出错的层（{divergence['layers']} 层中 {divergence.get('layers_matched')} 层对上，最后一个是 {last}）")
    if divergence.get("error"):
        return f"; the bisection failed: {divergence['error']}", f"；逐层比对失败：{divergence['error']}"
    return "", ""


def verify(cards: list[Card], records: dict[str, list[dict[str, Any]]], host: dict[str, Any]) -> list[Verification]:
    """One verification per claimed figure and one ONNX-export verdict per model."""
    out: list[Verification] = []
    for card in cards:
        mine = records.get(card.id, [])
        by_identity = {(r["model"], r["kind"]): r for r in mine if r["kind"] != "latency"}
        timings_of: dict[str, list[Timing]] = {}
        for record in mine:
            found = timing(record)
            if found is not None:
                timings_of.setdefault(found.model, []).append(found)
        models = {m["name"]: m for m in card.data["models"]}
        acknowledged = {(m["name"], a["metric"]): a["reason"] for m in card.data["models"] for a in m.get("acknowledged", [])}
        for model_name, claim in _claims(card):
            verdict = _verdict(claim, models.get(model_name), by_identity, timings_of.get(model_name, []), host)
            claimed = units.to_display(claim["metric"], units.as_decimal(claim["raw"]), claim["unit"], claim["convention"])
            target = claim["target"]
            out.append(Verification(
                card=card.id, model=model_name, metric=claim["metric"], claimed=float(claimed),
                claimed_raw=_raw_text(claim["raw"], claim["metric"], claim["unit"], claim["convention"]),
                measured=verdict["measured"], unit=units.DISPLAY_UNIT[claim["metric"]], status=verdict["status"],
                reason=verdict["reason"], reason_zh=verdict["reason_zh"], measured_at=verdict["measured_at"], env=verdict["env"],
                hardware=claim["hardware"], precision=claim["precision"], batch_size=claim["batch_size"], threads=claim["threads"],
                source=format_path(claim["source"]), acknowledged=acknowledged.get((model_name, claim["metric"])),
                hardware_id=None if target is None else target.hardware_id, runtime=None if target is None else target.runtime,
                provider=None if target is None else target.provider, timing=verdict.get("timing"), explanation=verdict.get("explanation"),
            ))
        for index, model in enumerate(card.data["models"]):
            verdict = _export_verdict(model, by_identity)
            out.append(Verification(
                card=card.id, model=model["name"], metric="onnx_export", claimed=None, claimed_raw="",
                measured=verdict["measured"], unit=ONNX_UNIT, status=verdict["status"], reason=verdict["reason"],
                reason_zh=verdict["reason_zh"], measured_at=verdict["measured_at"], env=verdict["env"], hardware=None,
                precision="FP32", batch_size=None, threads=None, source=format_path(("models", index)),
                acknowledged=acknowledged.get((model["name"], "onnx_export")),
                hardware_id=None, runtime=None, provider=None, timing=None, explanation=None,
            ))
    return out


def summary(verifications: list[Verification]) -> dict[str, dict[str, int]]:
    """Counts per metric and status (every status present, zeros included)."""
    out: dict[str, dict[str, int]] = {}
    for v in verifications:
        counts = out.setdefault(v["metric"], {status: 0 for status in STATUSES})
        counts[v["status"]] += 1
    return out



# ---------------------------------------------------------------------------------------
# Sources that disagree: the same figure of the same model, written differently by two upstream
# pages (a family page, as its card keeps it, and the zoo-wide list or README, sources/*.yaml).

class Figure(TypedDict):
    """One upstream page's figure: its value in the site's unit, as written, and where."""

    origin: str  # "card" or "source"
    origin_id: str  # the card's or the source's id
    value: float
    raw: str
    where: str  # file:line:col in this repository (the card or the source file)
    file: str | None  # the upstream file (sources), None for a card
    line: int | None  # its line there
    url: str | None  # the upstream page (at its line, for sources)


class Value(TypedDict):
    """One value a figure is written with, and every page that writes it (within rounding)."""

    value: float
    text: str  # the value in the site's unit with the digits it was written with (0.8330 -> "83.30")
    raw: str
    figures: list[Figure]


class Disagreement(TypedDict):
    """One model's figure that upstream pages write with different values."""

    model: str
    card: str | None  # the card describing the model, if any
    metric: str
    unit: str
    hardware: str | None  # hardware id (timings)
    precision: str | None
    batch_size: int | None
    threads: int | None
    values: list[Value]  # two or more, ascending
    spread: float  # largest minus smallest
    ratio: float | None  # largest over smallest (2.0: one page counts FLOPs, the other MACs), None when the smallest is 0


# The figures both a card and a source can state, in the unit they are compared in. Compute is
# compared as written (G of the page's own convention, never halved): two pages that both write
# 1.370 agree, whatever the card declares they mean.
_COMPARED = {"top1": "percent", "top5": "percent", "flops": "G", "params": "M", "storage": "MB", "latency": "ms"}


class _Stated(NamedTuple):
    model: str
    metric: str
    hardware: str | None  # hardware id (timings only)
    precision: str | None
    batch_size: int | None
    threads: int | None
    value: Decimal
    half: Decimal
    figure: Figure


def _card_figures(card: Card) -> Iterator[_Stated]:
    """Every figure a card states that a source can state too (model metrics, and timings)."""
    from zoocards import names
    from zoocards.errors import display_path

    unit_of = card.data["units"]
    shown_path = display_path(card.path)  # once: it resolves the path

    def figure(path: KeyPath, raw: str, value: Decimal, url: str | None) -> Figure:
        mark = card.mark(path)
        return Figure(origin="card", origin_id=card.id, value=float(value), raw=raw, where=f"{shown_path}:{mark.line}:{mark.column}",
                      file=None, line=None, url=url)

    for index, model in enumerate(card.data["models"]):
        for metric in ("top1", "top5", "flops", "params", "storage"):
            value = model["metrics"].get(metric)
            if value is None:
                continue
            path: KeyPath = ("models", index, "metrics", metric)
            raw = card.raw_number(path) or str(value)
            unit = units.model_metric_unit(unit_of, metric)
            shown, half = (units.to_display(metric, Decimal(x), unit, "MACs") for x in (raw, units.half_unit_of_last_digit(raw)))
            yield _Stated(names.canonical(model["name"]), metric, None, None, None, None, shown, abs(half), figure(path, raw, shown, None))
    for b_index, bench in enumerate(card.data.get("benchmarks", [])):
        hardware_id = hardware.normalise(bench["hardware"])
        for r_index, row in enumerate(bench["rows"]):
            for v_index, (value, column) in enumerate(zip(row["values"], bench["columns"])):
                if value is None or column["metric"] != "latency":
                    continue
                path = ("benchmarks", b_index, "rows", r_index, "values", v_index)
                raw = card.raw_number(path) or str(value)
                shown, half = (units.latency_to_ms(Decimal(x), column["unit"]) for x in (raw, units.half_unit_of_last_digit(raw)))
                yield _Stated(names.canonical(row["model"]), "latency", hardware_id, column.get("precision"), column.get("batch_size") or 1, column.get("threads"),
                              shown, half, figure(path, raw, shown, bench.get("source_url")))


# A source's figures by (id, sha256 of its file): a generation (every `mkdocs serve` rebuild) sets
# the same few thousand figures against the cards again, and reading them costs more than comparing.
_SOURCE_FIGURES: dict[tuple[str, str], list[_Stated]] = {}


def _source_figures(source: Any) -> list[_Stated]:
    """Every figure of an upstream source that a card could state too (kept per file content when the source knows its digest)."""
    digest = getattr(source, "digest", "")
    if not digest:
        return list(_read_source_figures(source))
    key = (source.id, digest)
    if key not in _SOURCE_FIGURES:
        if len(_SOURCE_FIGURES) > 64:  # edits of a source under `serve` leave old versions behind
            _SOURCE_FIGURES.clear()
        _SOURCE_FIGURES[key] = list(_read_source_figures(source))
    return _SOURCE_FIGURES[key]


def _read_source_figures(source: Any) -> Iterator[_Stated]:
    from zoocards import sources

    for claim in sources.source_claims(source):
        if claim.metric not in _COMPARED:
            continue  # min/max timings, accuracy gains: no card states them
        raw = Decimal(claim.raw)
        scale = claim.value / raw if raw else Decimal(1)
        figure = Figure(origin="source", origin_id=claim.source_id, value=float(claim.value), raw=claim.raw, where=claim.where, file=claim.file,
                        line=claim.line, url=claim.url)
        timed = claim.metric == "latency"
        yield _Stated(claim.model, claim.metric, hardware.normalise(claim.hardware) if timed and claim.hardware else None, claim.precision if timed else None,
                      (claim.batch_size or 1) if timed else None, claim.threads if timed else None, claim.value,
                      abs(units.half_unit_of_last_digit(claim.raw) * scale), figure)


def _conditions_groups(figures: list[_Stated]) -> list[list[_Stated]]:
    """Figures of one model, metric, device, batch and thread count, split by precision; one that names none joins every precision."""
    named = sorted({f.precision for f in figures if f.precision is not None})
    if not named:
        return [figures]
    return [[f for f in figures if f.precision in (precision, None)] for precision in named]


def _clusters(figures: list[_Stated]) -> list[list[_Stated]]:
    """Figures in ascending value, grouped with the first of their group while they agree with it within rounding."""
    groups: list[list[_Stated]] = []
    for figure in sorted(figures, key=lambda f: f.value):
        if groups and abs(figure.value - groups[-1][0].value) <= max(figure.half, groups[-1][0].half):
            groups[-1].append(figure)
        else:
            groups.append([figure])
    return groups


def disagreements(cards: list[Card], upstream: list[Any]) -> list[Disagreement]:
    """Every model figure that upstream pages (a card's family page, sources/*.yaml) write with different values.

    Two figures differ when they are further apart than half a unit of the last digit of the
    less precise one: 79.7 and 79.74 agree (79.7 may be 79.74 rounded), 79.7 and 79.76 do not.
    Figures are compared within one model, metric and, for timings, device, batch size, thread
    count and precision (a page that names no precision matches any). Ordered by card and model.
    """
    from zoocards import names

    stated: dict[tuple[Any, ...], list[_Stated]] = {}
    owner: dict[str, str] = {}
    for card in cards:
        for model in card.data["models"]:
            owner.setdefault(names.canonical(model["name"]), card.id)
        for figure in _card_figures(card):
            stated.setdefault((figure.model, figure.metric, figure.hardware, figure.batch_size, figure.threads), []).append(figure)
    for source in upstream:
        for figure in _source_figures(source):
            stated.setdefault((figure.model, figure.metric, figure.hardware, figure.batch_size, figure.threads), []).append(figure)
    out: list[Disagreement] = []
    for (model, metric, hardware_id, batch_size, threads), figures in stated.items():
        if len(figures) < 2:
            continue
        for group in _conditions_groups(figures):
            clusters = _clusters(group)
            if len(clusters) < 2:
                continue
            precision = next((f.precision for f in group if f.precision is not None), None)
            values = [Value(value=float(c[0].value), text=units.plain(c[0].value), raw=c[0].figure["raw"], figures=[f.figure for f in c]) for c in clusters]
            out.append(Disagreement(model=model, card=owner.get(model), metric=metric, unit=_COMPARED[metric], hardware=hardware_id, precision=precision,
                                    batch_size=batch_size, threads=threads, values=values, spread=float(clusters[-1][0].value - clusters[0][0].value),
                                    ratio=float(clusters[-1][0].value / clusters[0][0].value) if clusters[0][0].value else None))
    return sorted(out, key=lambda d: (d["card"] or "~", d["model"], list(_COMPARED).index(d["metric"]), d["hardware"] or "", d["batch_size"] or 0, d["threads"] or 0, d["precision"] or ""))
