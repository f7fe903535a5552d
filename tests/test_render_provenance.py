"""Family pages say where each timing comes from: the claim's conditions, the re-run's host, runtime and day, every machine that timed the model."""

from __future__ import annotations

from pathlib import Path

from tests.test_compare import CARD, DEFAULTS, latency_record, target_record
from zoocards import compare, render
from zoocards.load import load_text

HOST = {"cpu": "AMD EPYC", "cores": 2, "gpus": []}


def _pages(records: list[dict[str, object]]) -> dict[str, str]:
    card = load_text(CARD % DEFAULTS, Path("cards/tiny.yaml"))
    verifications = [dict(v) for v in compare.verify([card], {card.id: records}, HOST)]
    return render.render_family(card, verifications, records)


def test_every_machine_that_timed_the_model_has_its_row() -> None:
    # one old-shape CPU timing and one V100 timing of the same model: both shown, each with its conditions
    pages = _pages([latency_record(10.0), target_record({1: 1.3, 4: 3.0})])
    en = pages["models/tiny.en.md"]
    table = en[en.index("#### 1.3.3 Timed by zoocards"):].split("\n\n")[2]
    assert table.splitlines() == [
        "| Model | Hardware | Runtime | Precision | threads | Latency (ms)<br>bs=1, median (p90) | Latency (ms)<br>bs=4, median (p90) | Measured at |",
        "| :-- | :-- | :-- | :-- | --: | --: | --: | :-- |",
        "| [Tiny&#95;A](#model-tiny_a) | AMD EPYC (amd-epyc) | onnxruntime + cpu | FP32 | 2 | 10.00 (10.00) |  | 2026-11-23 |",
        "| [Tiny&#95;A](#model-tiny_a) | Tesla V100-SXM2-16GB (nvidia-v100) | paddle-inference 2.6.2 + tensorrt | FP32 |  | 1.30 (1.37) | 3.00 (3.15) | 2026-12-01 |",
    ]


def test_each_benchmark_table_says_how_its_timings_were_re_run() -> None:
    pages = _pages([latency_record(10.5), target_record({1: 1.3})])
    en, zh = pages["models/tiny.en.md"], pages["models/tiny.zh.md"]
    # the V100 table: judged against the V100 timing, named with its runtime and day
    assert ("**Re-run**: NVIDIA V100 (nvidia-v100) · paddle-inference + tensorrt · timed on "
            "Tesla V100-SXM2-16GB (nvidia-v100), paddle-inference 2.6.2 + tensorrt, 2026-12-01: 1/1") in en
    assert "**复测**: NVIDIA V100 (nvidia-v100) · paddle-inference + tensorrt · 计时于 Tesla V100-SXM2-16GB (nvidia-v100)" in zh
    # the CPU table: its claim names onnxruntime on the EPYC, which the old-shape record is
    assert "**Re-run**: AMD EPYC (amd-epyc) · onnxruntime · timed on AMD EPYC (amd-epyc), onnxruntime + cpu, 2026-11-23: 1/1" in en
    # the badge carries the same provenance
    assert "timed on Tesla V100-SXM2-16GB (nvidia-v100), paddle-inference 2.6.2 + tensorrt, FP32, 2026-12-01T10:00:00Z" in en


def test_a_table_nobody_re_ran_says_so() -> None:
    en = _pages([latency_record(10.5)])["models/tiny.en.md"]
    assert ("**Re-run**: NVIDIA V100 (nvidia-v100) · paddle-inference + tensorrt · not re-run yet: no machine has timed these claims under "
            "their own conditions (a lab with this hardware can [lend it as a runner](../contributing.md))") in en


def test_no_timing_no_section() -> None:
    en = _pages([])["models/tiny.en.md"]
    assert "Timed by zoocards" not in en


def test_the_report_lists_each_mismatch_with_its_explanation() -> None:
    from tests.test_compare import count_record, make_card

    card = make_card(flops="1.20")  # 1.20 written as MACs on a 0.60 G MACs network
    verifications = [dict(v) for v in compare.verify([card], {card.id: [count_record()]}, HOST)]
    pages = render.render_zoo([card], verifications)
    en, zh = pages["zoo/verification.en.md"], pages["zoo/verification.zh.md"]
    assert ("| [Tiny](#tiny) | [Tiny&#95;A](../models/tiny.md#model-tiny_a) | flops | 1.20 G MACs | 0.6 G MACs | reproduced by FLOPs = 2 × MACs: 1.2 G MACs; "
            "if the source counts FLOPs, set units.flops.convention: FLOPs |") in en
    assert "## 数据为何对不上 {#mismatches}" in zh and "可由FLOPs = 2 × MACs复现：1.2 G MACs" in zh
    # nothing off, no section
    clean = [dict(v) for v in compare.verify([make_card()], {card.id: [count_record()]}, HOST)]
    assert "{#mismatches}" not in render.render_zoo([make_card()], clean)["zoo/verification.en.md"]


def test_the_report_has_a_section_on_sources_that_disagree(tmp_path: Path) -> None:
    from tests.test_compare import load_source, make_card

    card = make_card()
    listing = load_source(tmp_path, "list", "Model list", [("Tiny_A", 12, "0.770, 6.2, 0.60, 1.25")])
    pages = render.render_zoo([card], [dict(v) for v in compare.verify([card], {}, HOST)])
    found = render.add_disagreements(pages, compare.disagreements([card], [listing]), [card], [listing])
    assert len(found) == 1
    en, zh = pages["zoo/verification.en.md"], pages["zoo/verification.zh.md"]
    assert render.DISAGREEMENTS_MARKER not in en and "## Sources that disagree {#disagreements}" in en and "## 来源之间不一致的数据 {#disagreements}" in zh
    assert ("| [Tiny&#95;A](../models/tiny.md#model-tiny_a) | top1 (%) |  | **76.2**: [Tiny](../models/tiny.md) (cards/tiny.yaml:15:15)<br>"
            "**77.0**: [Model list, L12](https://github.com/PaddlePaddle/PaddleClas/blob/0123456789abcdef0123456789abcdef01234567/docs/list.md#L12) | 0.8 |") in en
    # sources that agree: the section says so; no source at all: no section
    agreeing = load_source(tmp_path, "same", "Same", [("Tiny_A", 12, "0.762, 6.2, 0.60, 1.25")])
    pages = render.render_zoo([card], [])
    render.add_disagreements(pages, compare.disagreements([card], [agreeing]), [card], [agreeing])
    assert "No figure differs between the pages." in pages["zoo/verification.en.md"]
    pages = render.render_zoo([card], [])
    render.add_disagreements(pages, [], [card], [])
    assert "{#disagreements}" not in pages["zoo/verification.en.md"] and render.DISAGREEMENTS_MARKER not in pages["zoo/verification.en.md"]


def test_a_place_shows_its_newest_timing_once() -> None:
    # an old-shape CPU record and a new one for the same place (onnxruntime, CPU, FP32, 2 threads): one row, the newer
    newer = target_record({1: 9.0}, hardware="amd-epyc", name="AMD EPYC", kind="cpu", runtime="onnxruntime", provider="cpu", threads=2, when="2026-12-02T00:00:00Z")
    en = _pages([latency_record(10.0), newer])["models/tiny.en.md"]
    rows = [line for line in en.splitlines() if line.startswith("| [Tiny&#95;A](#model-tiny_a) | AMD EPYC")]
    assert rows == ["| [Tiny&#95;A](#model-tiny_a) | AMD EPYC (amd-epyc) | onnxruntime 2.6.2 + cpu | FP32 | 2 | 9.00 (9.45) | 2026-12-02 |"]
