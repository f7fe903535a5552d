"""compare: claims joined to measurements, tolerance edges, conventions, reasons (pure, fast)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from zoocards import compare
from zoocards.load import Card, load_text

HOST = {"cpu": "AMD EPYC", "cores": 2, "machine": "x86_64", "os": "Linux", "memory_gb": 24.0, "gpus": []}

CARD = """\
schema_version: 1
id: tiny
name: {zh: 小, en: Tiny}
summary: {zh: 测试。, en: Test.}
task: image-classification
dataset: ImageNet-1k
units:
  accuracy: %(accuracy)s
  flops: {scale: %(flops_scale)s, convention: %(convention)s}
  params: M
models:
  - name: Tiny_A
    builder: tests.fake_builders:TinyNet
    input_size: 224
    metrics: {top1: %(top1)s, top5: %(top5)s, reference_top1: 0.75, flops: %(flops)s, params: %(params)s}
%(acknowledged)s  - name: Tiny_NoBuilder
    input_size: 224
    metrics: {params: 1.0}
benchmarks:
  - id: v100
    hardware: NVIDIA V100
    hardware_kind: gpu
    columns:
      - {metric: latency, unit: ms, precision: FP32, batch_size: 1}
      - {metric: params, unit: M}
      - {metric: classes, unit: count}
    rows:
      - {model: Tiny_A, values: [1.25, 6.2, 1000]}
  - id: epyc
    hardware: AMD EPYC
    hardware_kind: cpu
    columns:
      - {metric: latency, unit: ms, precision: FP32, batch_size: 1, threads: 2}
    rows:
      - {model: Tiny_A, values: [%(cpu_latency)s]}
"""

DEFAULTS = {"accuracy": "fraction", "flops_scale": "G", "convention": "MACs", "top1": "0.762", "top5": "0.930", "flops": "0.60", "params": "6.2", "acknowledged": "", "cpu_latency": "10.0"}


def make_card(**overrides: str) -> Card:
    return load_text(CARD % {**DEFAULTS, **overrides}, Path("cards/tiny.yaml"))


def count_record(params: int = 6_240_000, macs: int = 600_000_000, outputs: int = 1000, status: str = "ok", reason: str | None = None) -> dict[str, Any]:
    result = {"params": params, "macs": macs, "outputs": outputs} if status == "ok" else None
    return {"model": "Tiny_A", "kind": "count", "status": status, "reason": reason, "result": result, "measured_at": "2026-11-23T15:00:00Z", "env": {"host": HOST}}


def accuracy_record(top1: float, top5: float) -> dict[str, Any]:
    return {"model": "Tiny_A", "kind": "accuracy", "status": "ok", "reason": None, "result": {"top1": top1, "top5": top5, "images": 50000}, "measured_at": "2026-11-23T15:00:00Z", "env": None}


def export_record(rel: float | None, status: str = "ok", reason: str | None = None) -> dict[str, Any]:
    result = {"max_abs_err": (rel or 0) * 10, "max_rel_err": rel, "passed": rel is not None and rel <= 1e-4, "opset": 13} if status == "ok" else None
    return {"model": "Tiny_A", "kind": "export", "status": status, "reason": reason, "result": result, "measured_at": "2026-11-23T15:00:00Z", "env": None}


def latency_record(median_ms: float, threads: int = 2) -> dict[str, Any]:
    run = {"batch_size": 1, "threads": threads, "median_ms": median_ms, "p90_ms": median_ms}
    return {"model": "Tiny_A", "kind": "latency", "status": "ok", "reason": None, "result": {"batch_sizes": {"1": run}, "threads": threads}, "measured_at": "2026-11-23T15:00:00Z", "env": {"host": HOST}}


def find(verifications: list[compare.Verification], source: str) -> compare.Verification:
    matches = [v for v in verifications if v["source"] == source]
    assert len(matches) == 1, source
    return matches[0]


def run(card: Card, *records: dict[str, Any], host: dict[str, Any] = HOST) -> list[compare.Verification]:
    return compare.verify([card], {card.id: list(records)}, host)


@pytest.mark.parametrize(
    "params, status",
    [
        (6_240_000, "verified"),  # inside half a unit (6.15..6.25) outright
        (6_310_000, "verified"),  # outside half a unit, inside half a unit + 1% of 6.2 (6.312)
        (6_313_000, "mismatch"),  # just past 6.2 + 0.05 + 0.062
        (6_400_000, "mismatch"),  # a different model size
        (6_088_000, "verified"),  # the lower edge: 6.2 - 0.112 = 6.088
        (6_087_000, "mismatch"),
    ],
)
def test_params_tolerance_edges(params: int, status: str) -> None:
    v = find(run(make_card(), count_record(params=params)), "models[0].metrics.params")
    assert v["status"] == status
    assert v["measured"] == pytest.approx(params / 1e6)
    assert v["claimed"] == 6.2 and v["claimed_raw"] == "6.2 M" and v["unit"] == "M"


def test_more_written_digits_mean_a_tighter_claim() -> None:
    # 6.20 claims two decimals: half a unit is 0.005, so 6.28 (ok for "6.2") is now a mismatch
    assert find(run(make_card(params="6.2"), count_record(params=6_280_000)), "models[0].metrics.params")["status"] == "verified"
    assert find(run(make_card(params="6.20"), count_record(params=6_280_000)), "models[0].metrics.params")["status"] == "mismatch"


def test_flops_margin_is_three_percent() -> None:
    # 0.60 G MACs: tolerance 0.005 + 0.018 = 0.023
    assert find(run(make_card(), count_record(macs=622_000_000)), "models[0].metrics.flops")["status"] == "verified"
    assert find(run(make_card(), count_record(macs=624_000_000)), "models[0].metrics.flops")["status"] == "mismatch"


def test_flops_convention_flops_is_twice_macs() -> None:
    # 1.20 GFLOPs = 0.60 G MACs: the same 0.6 G MACs network verifies under either convention
    flops_card = make_card(convention="FLOPs", flops="1.20")
    v = find(run(flops_card, count_record(macs=600_000_000)), "models[0].metrics.flops")
    assert (v["status"], v["claimed"], v["claimed_raw"]) == ("verified", 0.6, "1.20 G FLOPs")
    # ...while reading 1.20 as MACs would be twice the measured compute
    assert find(run(make_card(flops="1.20"), count_record(macs=600_000_000)), "models[0].metrics.flops")["status"] == "mismatch"


def test_flops_scale_m_macs() -> None:
    v = find(run(make_card(flops_scale="M", flops="600"), count_record(macs=600_000_000)), "models[0].metrics.flops")
    assert (v["status"], v["claimed"], v["unit"], v["claimed_raw"]) == ("verified", 0.6, "G", "600 M MACs")


@pytest.mark.parametrize(
    "accuracy, top1, measured, status",
    [
        ("fraction", "0.762", 0.7620, "verified"),
        ("fraction", "0.762", 0.7674, "verified"),  # 0.54 points off: inside 0.05 + 0.5
        ("fraction", "0.762", 0.7676, "mismatch"),  # 0.56 points off
        ("percent", "76.2", 0.7674, "verified"),  # the same claim written in percent
        ("percent", "76.20", 0.7671, "mismatch"),  # two decimals: 0.005 + 0.5 < 0.51
    ],
)
def test_accuracy_in_fraction_or_percent(accuracy: str, top1: str, measured: float, status: str) -> None:
    v = find(run(make_card(accuracy=accuracy, top1=top1, top5="93.0" if accuracy == "percent" else "0.930"), accuracy_record(measured, 0.93)), "models[0].metrics.top1")
    assert v["status"] == status
    assert v["unit"] == "percent" and v["claimed"] == pytest.approx(76.2) and v["measured"] == pytest.approx(measured * 100)


def test_accuracy_without_record_is_not_run() -> None:
    v = find(run(make_card(), count_record()), "models[0].metrics.top1")
    assert (v["status"], v["reason"], v["reason_zh"]) == ("not_run", "weights or dataset not available", "没有可用的权重或数据集")


def test_reference_figures_are_not_run_with_reason() -> None:
    v = find(run(make_card(), count_record(), accuracy_record(0.762, 0.93)), "models[0].metrics.reference_top1")
    assert v["status"] == "not_run"
    assert v["reason"] == "reported by the original authors; re-running needs their training run"


def test_absent_hardware_is_not_run_and_names_both() -> None:
    v = find(run(make_card(), count_record()), "benchmarks[0].rows[0].values[0]")
    assert (v["status"], v["hardware"], v["precision"], v["batch_size"]) == ("not_run", "NVIDIA V100", "FP32", 1)
    assert v["reason"] == "hardware not present: NVIDIA V100 (this run: AMD EPYC, 2 cores)"


def test_hardware_independent_benchmark_cells_use_the_count() -> None:
    verifications = run(make_card(), count_record(outputs=1000))
    assert find(verifications, "benchmarks[0].rows[0].values[1]")["status"] == "verified"  # params column
    classes = find(verifications, "benchmarks[0].rows[0].values[2]")
    assert (classes["metric"], classes["status"], classes["measured"]) == ("classes", "verified", 1000.0)
    assert find(run(make_card(), count_record(outputs=10)), "benchmarks[0].rows[0].values[2]")["status"] == "mismatch"


def test_latency_on_this_host_is_compared() -> None:
    assert find(run(make_card(cpu_latency="10.0"), latency_record(11.0)), "benchmarks[1].rows[0].values[0]")["status"] == "verified"
    assert find(run(make_card(cpu_latency="10.0"), latency_record(20.0)), "benchmarks[1].rows[0].values[0]")["status"] == "mismatch"
    # the claim states 2 threads; a 1-thread timing answers a different question
    assert find(run(make_card(cpu_latency="10.0"), latency_record(10.0, threads=1)), "benchmarks[1].rows[0].values[0]")["status"] == "not_run"


def test_acknowledged_mismatch_carries_its_reason() -> None:
    block = "    acknowledged:\n      - {metric: params, reason: {zh: 论文按另一种方式计数。, en: The paper counts differently.}}\n"
    card = make_card(acknowledged=block)
    v = find(run(card, count_record(params=7_000_000)), "models[0].metrics.params")
    assert v["status"] == "mismatch"
    assert v["acknowledged"] == {"zh": "论文按另一种方式计数。", "en": "The paper counts differently."}
    assert find(run(card, count_record()), "models[0].metrics.flops")["acknowledged"] is None


def test_failed_measurement_carries_its_reason() -> None:
    v = find(run(make_card(), count_record(status="failed", reason="timed out after 600 s")), "models[0].metrics.params")
    assert (v["status"], v["reason"], v["measured"]) == ("failed", "count failed: timed out after 600 s", None)


def test_model_without_builder_is_not_run() -> None:
    verifications = run(make_card(), count_record())
    assert find(verifications, "models[1].metrics.params")["reason"] == "no builder: the architecture is not available to re-run"
    assert find(verifications, "models[1]")["status"] == "not_run"


def test_no_record_yet_is_not_run() -> None:
    assert find(run(make_card()), "models[0].metrics.params")["reason"] == "not measured yet: run `zoocards verify`"


@pytest.mark.parametrize(
    "record, status",
    [
        (export_record(2e-7), "verified"),
        (export_record(5e-3), "mismatch"),  # outputs differ beyond 1e-4 of their scale
        (export_record(None), "mismatch"),  # shapes differed: nothing to compare
        (export_record(None, status="failed", reason="paddle2onnx: unsupported op"), "failed"),
    ],
)
def test_onnx_export_verdict(record: dict[str, Any], status: str) -> None:
    v = find(run(make_card(), record), "models[0]")
    assert (v["metric"], v["status"], v["unit"]) == ("onnx_export", status, "relative error")


def test_every_claim_gets_exactly_one_verification() -> None:
    card = make_card()
    sources = [v["source"] for v in run(card, count_record())]
    assert len(sources) == len(set(sources))
    # 5 model metrics + 1 for the builder-less model + 3 + 1 benchmark cells + 2 export rows
    assert len(sources) == 5 + 1 + 3 + 1 + 2


def test_summary_counts_every_status() -> None:
    counts = compare.summary(run(make_card(), count_record()))
    assert counts["params"] == {"verified": 2, "mismatch": 0, "not_run": 1, "failed": 0}
    assert counts["latency"] == {"verified": 0, "mismatch": 0, "not_run": 2, "failed": 0}


def test_a_timing_from_another_host_answers_claims_about_that_host() -> None:
    # timed on an AMD EPYC machine; this run is on an Intel one: the claim still has its answer
    intel = {**HOST, "cpu": "Intel Xeon"}
    v = find(run(make_card(cpu_latency="10.0"), latency_record(10.5)), "benchmarks[1].rows[0].values[0]")
    assert find(run(make_card(cpu_latency="10.0"), latency_record(10.5), host=intel), "benchmarks[1].rows[0].values[0]")["status"] == v["status"] == "verified"
    # without a timing, the claim's hardware is simply absent from this run
    absent = find(run(make_card(cpu_latency="10.0"), host=intel), "benchmarks[1].rows[0].values[0]")
    assert absent["reason"] == "hardware not present: AMD EPYC (this run: Intel Xeon, 2 cores)"


def test_storage_is_a_file_size_and_never_re_run() -> None:
    card = load_text(CARD.replace("  params: M\n", "  params: M\n  storage: KB\n", 1).replace("reference_top1: 0.75,", "reference_top1: 0.75, storage: 24800,", 1) % DEFAULTS, Path("cards/tiny.yaml"))
    v = find(run(card, count_record()), "models[0].metrics.storage")
    assert (v["status"], v["claimed"], v["claimed_raw"], v["unit"]) == ("not_run", 24.8, "24800 KB", "MB")
    assert (v["reason"], v["reason_zh"]) == ("file size of the released weights; not re-run", "发布的权重文件大小；不复测")


def test_comparison_figures_are_quotes_not_claims() -> None:
    comparison = "comparisons:\n  - columns: [{metric: top1, unit: percent}, {metric: params, unit: M}]\n    rows: [{model: OtherNet_A, values: [70.1, 5.0]}, {model: Tiny_A, values: [76.2, 6.2]}]\n"
    card = load_text(CARD % DEFAULTS + comparison, Path("cards/tiny.yaml"))
    verifications = run(card, count_record())
    # Another family's figure is claimed (and verified) on that family's card, never here.
    assert not [v for v in verifications if v["source"].startswith("comparisons")]
    assert len(verifications) == len(run(make_card(), count_record()))


def test_a_twofold_compute_mismatch_names_the_convention_to_set() -> None:
    # 1.20 written as MACs on a 0.60 G MACs network: the card most likely means FLOPs
    v = find(run(make_card(flops="1.20"), count_record(macs=600_000_000)), "models[0].metrics.flops")
    assert v["status"] == "mismatch"
    assert v["reason"].endswith("— about 2x the counted MACs: if the source counts FLOPs = 2 x MACs, set units.flops.convention: FLOPs")
    assert "units.flops.convention: FLOPs" in v["reason_zh"]
    # ...and the opposite slip, 0.30 G written as FLOPs (0.15 G MACs), points back to MACs
    v = find(run(make_card(convention="FLOPs", flops="0.30"), count_record(macs=300_000_000)), "models[0].metrics.flops")
    assert v["reason"].endswith("— about half the counted MACs: if the source counts MACs, set units.flops.convention: MACs")
    # a 10% mismatch carries no such hint
    v = find(run(make_card(flops="0.66"), count_record(macs=600_000_000)), "models[0].metrics.flops")
    assert v["status"] == "mismatch" and "convention" not in v["reason"]
