"""measure: planning, cache keys, targets, failure isolation, persistent workers, sharding, stable files."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from zoocards import measure
from zoocards.load import Card, load_file

CARD = """\
schema_version: 1
id: %(id)s
name: {zh: 测试, en: Test}
summary: {zh: 测试卡片。, en: A test card.}
task: image-classification
dataset: ImageNet-1k
units:
  accuracy: fraction
  flops: {scale: M, convention: MACs}
  params: K
models:
%(models)s"""

MODEL = """\
  - name: %(name)s
    builder: tests.fake_builders:%(builder)s
    input_size: %(size)s
    metrics: {params: %(params)s%(flops)s}
"""

TINY_PARAMS = "0.314"  # K: Conv(3->8, 3x3) 216 + 8, Linear(8->10) 80 + 10
CPU = {"id": "amd-epyc", "name": "AMD EPYC", "kind": "cpu", "source": "/proc/cpuinfo"}
T4 = {"id": "nvidia-t4", "name": "Tesla T4", "kind": "gpu", "source": "nvidia-smi"}
ROOT = Path(__file__).resolve().parent.parent


def write_card(cards_dir: Path, card_id: str, models: list[tuple[str, str]], size: int = 8, params: str = TINY_PARAMS, extra: str = "", flops: str | None = None) -> Path:
    cards_dir.mkdir(parents=True, exist_ok=True)
    body = "".join(MODEL % {"name": name, "builder": builder, "size": size, "params": params, "flops": f", flops: {flops}" if flops else ""} for name, builder in models)
    path = cards_dir / f"{card_id}.yaml"
    path.write_text(CARD % {"id": card_id, "models": body} + extra, encoding="utf-8")
    return path


T4_BENCHMARK = """\
benchmarks:
  - id: t4
    hardware: NVIDIA T4
    hardware_kind: gpu
    runtime: Paddle Inference + TensorRT
    columns:
      - {metric: latency, unit: ms, precision: FP16, batch_size: 8}
      - {metric: latency, unit: ms, precision: FP16, batch_size: 1}
    rows:
      - {model: Tiny_A, values: [2.0, 1.0]}
"""


def fake_record(job: measure.Job, params: int = 314, measured_at: str = "2026-11-23T15:00:00Z") -> dict[str, Any]:
    """What a worker run would record for a successful job, without running anything."""
    result: dict[str, Any] = {"params": params, "macs": 1728, "outputs": 10}
    if job.kind == "latency":
        result = {"batches": {"1": {"median_ms": 1.0, "p10_ms": 0.9, "p90_ms": 1.2, "cv": 0.1, "repeats": 10, "warmup": 2}}, "load_avg": [0.1, 0.1, 0.1], "cpu_model": "AMD EPYC"}
    record = {"model": job.model, "kind": job.kind, "key": job.key, "inputs": job.inputs, "status": "ok", "reason": None,
              "result": result, "measured_at": measured_at, "duration_s": 1.0, "env": None}
    if job.kind == "latency":
        record["target"] = job.target
        record["reuse_key"] = job.reuse_key
    return record


class Recorder:
    """Stands in for run_jobs: remembers which jobs ran and records them as run."""

    def __init__(self) -> None:
        self.ran: list[tuple[str, str]] = []

    def __call__(self, jobs: list[measure.Job], root: Path, **options: Any) -> list[tuple[measure.Job, dict[str, Any]]]:
        out = []
        for job in jobs:
            self.ran.append((job.model, job.kind))
            record = fake_record(job)
            options["on_record"](job, record)
            out.append((job, record))
        return out


def cards_of(cards_dir: Path) -> list[Card]:
    return [load_file(p) for p in sorted(cards_dir.glob("*.yaml"))]


@pytest.fixture
def cpu_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """This host, as the tests see it: one AMD EPYC, no GPU (whatever runs the tests)."""
    monkeypatch.setattr(measure.hardware, "this_host", lambda declared_board=None: [CPU])
    monkeypatch.setattr(measure, "usable_cores", lambda: 2)


def targets(jobs: list[measure.Job]) -> list[tuple[str, str, str, str, int | None, list[int], bool]]:
    return sorted((j.target["hardware"], j.target["runtime"], j.target["provider"], j.target["precision"], j.target["threads"], j.payload["batches"], j.baseline)
                  for j in jobs if j.target is not None)


def test_plan_times_every_model_on_this_cpu_and_skips_models_without_builder(tmp_path: Path, cpu_only: None) -> None:
    path = write_card(tmp_path / "cards", "plan", [("Tiny_A", "TinyNet")], extra=T4_BENCHMARK)
    path.write_text(path.read_text(encoding="utf-8").replace("benchmarks:", "  - name: NoBuilder\n    input_size: 224\n    metrics: {params: 1.0}\nbenchmarks:"), encoding="utf-8")
    jobs = measure.plan(cards_of(tmp_path / "cards"), tmp_path)
    assert [(j.model, j.kind) for j in jobs] == [("Tiny_A", "count"), ("Tiny_A", "export"), ("Tiny_A", "latency")]
    # the T4 claims are not this host's work: batch 1 on this CPU is
    assert targets(jobs) == [("amd-epyc", "onnxruntime", "cpu", "FP32", 2, [1], True)]


def test_the_seed_cards_are_timed_with_paddle_inference_too(tmp_path: Path, cpu_only: None) -> None:
    write_card(tmp_path / "cards", "regnet", [("Tiny_A", "TinyNet")])
    assert "regnet" in measure.BOTH_RUNTIMES_CARDS
    jobs = measure.plan(cards_of(tmp_path / "cards"), tmp_path)
    assert targets(jobs) == [("amd-epyc", "onnxruntime", "cpu", "FP32", 2, [1], True), ("amd-epyc", "paddle-inference", "onednn", "FP32", 2, [1], True)]


def test_a_host_with_the_claimed_gpu_times_the_claims_at_their_batch_sizes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No GPU here: nvidia-smi is faked by the device list `this_host` returns."""
    monkeypatch.setattr(measure.hardware, "this_host", lambda declared_board=None: [CPU, T4])
    monkeypatch.setattr(measure, "usable_cores", lambda: 2)
    write_card(tmp_path / "cards", "gpu", [("Tiny_A", "TinyNet")], extra=T4_BENCHMARK)
    jobs = measure.plan(cards_of(tmp_path / "cards"), tmp_path)
    assert ("nvidia-t4", "paddle-inference", "tensorrt", "FP16", None, [1, 8], False) in targets(jobs)
    # --hardware nvidia-t4: only the T4's timings, none of the CPU's, nothing else
    only = measure.plan(cards_of(tmp_path / "cards"), tmp_path, only_hardware="Tesla T4")
    assert targets(only) == [("nvidia-t4", "paddle-inference", "tensorrt", "FP16", None, [1, 8], False)]
    assert {j.kind for j in only} == {"latency"}


def test_hardware_this_host_lacks_is_a_user_error_naming_what_it_has(tmp_path: Path, cpu_only: None) -> None:
    write_card(tmp_path / "cards", "hw", [("Tiny_A", "TinyNet")])
    with pytest.raises(measure.ZoocardsError) as error:
        measure.measure(cards_of(tmp_path / "cards"), tmp_path / "m", tmp_path, hardware_name="NVIDIA V100")
    assert str(error.value) == ("--hardware NVIDIA V100: this host has no nvidia-v100; it has amd-epyc (cpu: AMD EPYC). "
                                "Run the verification on a host with that hardware (see `zoocards hardware`)")


def test_cache_hit_starts_no_subprocess(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cpu_only: None) -> None:
    write_card(tmp_path / "cards", "cached", [("Tiny_A", "TinyNet")])
    cards = cards_of(tmp_path / "cards")
    measure.save_records(tmp_path / "m", "cached", [fake_record(j) for j in measure.plan(cards, tmp_path)])
    before = (tmp_path / "m" / "cached.json").read_bytes()

    def no_process(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a cached job started a subprocess")

    monkeypatch.setattr(measure.subprocess, "Popen", no_process)
    measure.measure(cards, tmp_path / "m", tmp_path)
    assert (tmp_path / "m" / "cached.json").read_bytes() == before


def test_changed_inputs_rerun_but_changed_claims_do_not(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cpu_only: None) -> None:
    write_card(tmp_path / "cards", "keys", [("Tiny_A", "TinyNet"), ("Tiny_B", "TinyWide")])
    measure.save_records(tmp_path / "m", "keys", [fake_record(j) for j in measure.plan(cards_of(tmp_path / "cards"), tmp_path)])
    recorder = Recorder()
    monkeypatch.setattr(measure, "run_jobs", recorder)
    # a claim is not an input of any measurement
    write_card(tmp_path / "cards", "keys", [("Tiny_A", "TinyNet"), ("Tiny_B", "TinyWide")], params="9.99")
    measure.measure(cards_of(tmp_path / "cards"), tmp_path / "m", tmp_path)
    assert recorder.ran == []
    # the input size is: every measurement of both models is stale, each model's as one job
    write_card(tmp_path / "cards", "keys", [("Tiny_A", "TinyNet"), ("Tiny_B", "TinyWide")], size=16)
    measure.measure(cards_of(tmp_path / "cards"), tmp_path / "m", tmp_path, kinds={"count"})
    assert sorted(recorder.ran) == [("Tiny_A", "count"), ("Tiny_B", "count")]
    # and once re-run they are current again
    recorder.ran.clear()
    measure.measure(cards_of(tmp_path / "cards"), tmp_path / "m", tmp_path, kinds={"count"})
    assert recorder.ran == []
    # force re-runs what is current
    measure.measure(cards_of(tmp_path / "cards"), tmp_path / "m", tmp_path, kinds={"count"}, models={"Tiny_B"}, force=True)
    assert recorder.ran == [("Tiny_B", "count")]


def test_a_compute_claim_off_the_count_asks_for_the_count_at_other_sizes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cpu_only: None) -> None:
    # fake_record counts 1728 MACs: a claim of 3.456 K (2 x MACs) or 1.75 K (within 5%) needs no other size
    for flops, stale in [("0.003456", False), ("0.00175", False), ("0.0025", True)]:
        write_card(tmp_path / "cards", "sizes", [("Tiny_A", "TinyNet")], flops=flops)
        cards = cards_of(tmp_path / "cards")
        count_job = next(j for j in measure.plan(cards, tmp_path) if j.kind == "count")
        assert count_job.payload["claimed_flops"] == pytest.approx(float(flops) * 1e6)
        assert measure.is_current(count_job, [fake_record(count_job)]) is not stale, flops
        with_sizes = fake_record(count_job)
        with_sizes["result"]["macs_at"] = {"256": 1728 * 1024}
        assert measure.is_current(count_job, [with_sizes])


def test_latency_from_another_cpu_answers_the_baseline_but_not_a_hardware_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cpu_only: None) -> None:
    write_card(tmp_path / "cards", "lat", [("Tiny_A", "TinyNet")])
    jobs = [j for j in measure.plan(cards_of(tmp_path / "cards"), tmp_path) if j.kind == "latency"]
    other_cpu = {"id": "intel-xeon-gold-6148", "name": "Intel(R) Xeon(R) Gold 6148 CPU @ 2.40GHz", "kind": "cpu", "source": "/proc/cpuinfo"}
    elsewhere = [measure.Job(j.card, j.model, j.kind, {**j.inputs, "target": t}, {**j.payload, "target": t}, t, True)
                 for j in jobs for t in [{**j.target, "hardware": other_cpu["id"], "hardware_name": other_cpu["name"], "threads": 40}]]
    assert all(e.key != j.key and e.reuse_key == j.reuse_key and e.identity != j.identity for e, j in zip(elsewhere, jobs))
    measure.save_records(tmp_path / "m", "lat", [fake_record(e) for e in elsewhere])
    recorder = Recorder()
    monkeypatch.setattr(measure, "run_jobs", recorder)
    measure.measure(cards_of(tmp_path / "cards"), tmp_path / "m", tmp_path, kinds={"latency"})
    assert recorder.ran == []
    # `verify --hardware amd-epyc` wants this host's own timings
    measure.measure(cards_of(tmp_path / "cards"), tmp_path / "m", tmp_path, kinds={"latency"}, hardware_name="AMD EPYC")
    assert recorder.ran == [("Tiny_A", "latency")]
    stored = measure.load_records(tmp_path / "m", "lat")
    assert sorted(r["target"]["hardware"] for r in stored) == ["amd-epyc", "intel-xeon-gold-6148"]
    recorder.ran.clear()
    write_card(tmp_path / "cards", "lat", [("Tiny_A", "TinyNet")], size=16)  # a non-hardware input changed
    measure.measure(cards_of(tmp_path / "cards"), tmp_path / "m", tmp_path, kinds={"latency"})
    assert recorder.ran == [("Tiny_A", "latency")]


def test_merge_keeps_every_hosts_timing_and_replaces_a_legacy_one(cpu_only: None) -> None:
    def timing(hardware: str, runtime: str, when: str, version: str = "1.32.0") -> dict[str, Any]:
        target = {"hardware": hardware, "hardware_name": hardware, "hardware_kind": "gpu" if hardware.startswith("nvidia") else "cpu", "runtime": runtime,
                  "runtime_version": version, "provider": "cpu", "precision": "FP32", "threads": 2}
        return {"model": "A", "kind": "latency", "target": target, "measured_at": when, "status": "ok"}

    legacy = {"model": "A", "kind": "latency", "measured_at": "2026-01-01", "status": "ok", "result": {"batch_sizes": {}}}
    count = {"model": "A", "kind": "count", "measured_at": "2026-01-01", "status": "ok"}
    merged = measure.merge_records([legacy, count, timing("nvidia-t4", "onnxruntime", "2026-01-02")], [timing("amd-epyc", "onnxruntime", "2026-01-03")])
    assert [(r["kind"], (r.get("target") or {}).get("hardware")) for r in merged] == [("count", None), ("latency", "amd-epyc"), ("latency", "nvidia-t4")]
    # a newer runtime version on the same target replaces the older one's record
    newer = measure.merge_records(merged, [timing("amd-epyc", "onnxruntime", "2026-01-04", "1.33.0")])
    assert [(r.get("target") or {}).get("runtime_version") for r in newer if r["kind"] == "latency"] == ["1.33.0", "1.32.0"]


def test_merge_shards_keeps_the_timings_of_every_hardware_runner(tmp_path: Path) -> None:
    def timing(hardware: str, kind: str, when: str) -> dict[str, Any]:
        target = {"hardware": hardware, "hardware_name": hardware, "hardware_kind": kind, "runtime": "paddle-inference", "runtime_version": "3.3.1",
                  "provider": "tensorrt" if kind == "gpu" else "onednn", "precision": "FP32", "threads": None if kind == "gpu" else 2}
        return {"model": "A", "kind": "latency", "target": target, "measured_at": when, "status": "ok", "result": {"batches": {}}}

    measure.save_records(tmp_path / "measurements", "c", [timing("amd-epyc", "cpu", "2026-01-01")])
    measure.save_records(tmp_path / "t4", "c", [timing("amd-epyc", "cpu", "2026-01-01"), timing("nvidia-t4", "gpu", "2026-01-05")])
    measure.save_records(tmp_path / "v100", "c", [timing("amd-epyc", "cpu", "2026-01-01"), timing("nvidia-v100", "gpu", "2026-01-06")])
    measure.merge_shards([tmp_path / "t4", tmp_path / "v100"], tmp_path / "measurements")
    merged = measure.load_records(tmp_path / "measurements", "c")
    assert sorted(r["target"]["hardware"] for r in merged) == ["amd-epyc", "nvidia-t4", "nvidia-v100"]


def test_records_file_is_sorted_stable_and_prunes_removed_models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cpu_only: None) -> None:
    write_card(tmp_path / "cards", "stable", [("Zeta", "TinyNet"), ("Alpha", "TinyWide")])
    monkeypatch.setattr(measure, "run_jobs", Recorder())
    measure.measure(cards_of(tmp_path / "cards"), tmp_path / "m", tmp_path)
    text = (tmp_path / "m" / "stable.json").read_text(encoding="utf-8")
    document = json.loads(text)
    identities = [(r["model"], r["kind"], (r.get("target") or {}).get("runtime")) for r in document["records"]]
    assert identities == [("Alpha", "count", None), ("Alpha", "export", None), ("Alpha", "latency", "onnxruntime"),
                          ("Zeta", "count", None), ("Zeta", "export", None), ("Zeta", "latency", "onnxruntime")]
    assert text == json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    assert [p.name for p in (tmp_path / "m").iterdir()] == ["stable.json"]  # no temporary file left behind
    write_card(tmp_path / "cards", "stable", [("Alpha", "TinyWide")])
    measure.measure(cards_of(tmp_path / "cards"), tmp_path / "m", tmp_path, kinds={"count"})
    assert {r["model"] for r in measure.load_records(tmp_path / "m", "stable")} == {"Alpha"}


def test_strict_fails_on_unacknowledged_mismatch_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], cpu_only: None) -> None:
    cards_dir = tmp_path / "cards"
    write_card(cards_dir, "strict", [("Tiny_A", "TinyNet")], params="0.500")  # measured 0.314 K
    monkeypatch.setattr(measure, "run_jobs", Recorder())
    assert measure.verify_command(cards_dir, tmp_path / "m", kinds={"count"}) == 0
    assert "1 measurement(s) of 1 model(s) to run" in capsys.readouterr().err
    assert measure.verify_command(cards_dir, tmp_path / "m", kinds={"count"}, strict=True) == 1
    assert "mismatch: strict Tiny_A params (models[0].metrics.params): measured 0.000314 M, claimed 0.0005 M" in capsys.readouterr().out
    path = cards_dir / "strict.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "    acknowledged:\n      - {metric: params, reason: {zh: 故意的。, en: On purpose.}}\n", encoding="utf-8")
    assert measure.verify_command(cards_dir, tmp_path / "m", kinds={"count"}, strict=True) == 0


def test_unknown_kind_is_a_user_error(tmp_path: Path) -> None:
    write_card(tmp_path / "cards", "kinds", [("Tiny_A", "TinyNet")])
    with pytest.raises(measure.ZoocardsError, match="unknown measurement kind"):
        measure.measure(cards_of(tmp_path / "cards"), tmp_path / "m", tmp_path, kinds={"speed"})


def test_progress_names_each_model_job_and_what_is_left(capsys: pytest.CaptureFixture[str]) -> None:
    jobs = [measure.Job("c", "A", kind, {}) for kind in ("count", "export", "latency", "latency")] + [measure.Job("c", "B", "count", {})]
    groups = measure.group_jobs(jobs)
    assert [(g.model, [j.kind for j in g.parts]) for g in groups] == [("A", ["count", "export", "latency", "latency"]), ("B", ["count"])]
    progress = measure.Progress(groups, {"c/A/export": 30.0}, parallel=2)
    progress.start(groups[0])
    # (4 count + 30 export + 4 count) / 2 workers + 2 x 8 latency alone
    assert capsys.readouterr().err == "[1/2] c: A count, export, latency ×2 … 35s left\n"


def test_a_crash_a_hang_and_a_hog_fail_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cpu_only: None) -> None:
    """Each failure fails its own model only; the models after it run in fresh workers and are timed."""
    pytest.importorskip("paddle")
    pid_file = tmp_path / "hang.pid"
    monkeypatch.setenv("ZOOCARDS_TEST_PID_FILE", str(pid_file))
    models = [("Crashing", "Crash"), ("Hanging", "Hang"), ("Hogging", "Hog"), ("Fine", "TinyNet")]
    write_card(tmp_path / "cards", "broken", models)
    stats = measure.RunStats()
    records = measure.measure(cards_of(tmp_path / "cards"), tmp_path / "m", ROOT, kinds={"count", "latency"}, timeout_s=15, memory_mb=4096, stats=stats)
    by_model: dict[str, list[dict[str, Any]]] = {}
    for record in records["broken"]:
        by_model.setdefault(record["model"], []).append(record)
    assert sorted((r["kind"], r["status"]) for r in by_model["Fine"]) == [("count", "ok"), ("latency", "ok")]
    assert next(r for r in by_model["Fine"] if r["kind"] == "count")["result"]["params"] == 314
    for model, reason in [("Crashing", "RuntimeError: simulated crash while building"), ("Hanging", "timed out after 15 s"), ("Hogging", "out of memory (limit 4096 MB)")]:
        assert {(r["status"], r["reason"]) for r in by_model[model]} == {("failed", reason)}, model
    with pytest.raises(ProcessLookupError):  # the hung worker was killed, not left behind
        os.kill(int(pid_file.read_text()), 0)
    # two workers to start with (Crashing, then Hogging, on the first; Hanging on the second), a fresh one after the hog
    assert stats.workers_started == 3
    # The killed workers' seconds are counted: the hang's 15 s and the hog's build until its limit (in `killed_s`).
    assert set(stats.killed_s) == {"build"} and 15 <= stats.killed_s["build"] < 60


def test_one_worker_serves_many_models(tmp_path: Path, cpu_only: None) -> None:
    """paddle is imported once: three models, one worker process, each model built under its own name guard."""
    pytest.importorskip("paddle")
    write_card(tmp_path / "cards", "many", [("Tiny_A", "TinyNet"), ("Tiny_B", "TinyWide"), ("Tiny_C", "TinyNarrow")])
    stats = measure.RunStats()
    records = measure.measure(cards_of(tmp_path / "cards"), tmp_path / "m", ROOT, kinds={"count", "export"}, jobs=1, stats=stats)
    assert stats.workers_started == 1
    assert {(r["model"], r["kind"], r["status"]) for r in records["many"]} == {(m, k, "ok") for m in ("Tiny_A", "Tiny_B", "Tiny_C") for k in ("count", "export")}
    assert {r["result"]["params"] for r in records["many"] if r["kind"] == "count"} == {314, 16 * 27 + 16 + 16 * 10 + 10, 4 * 27 + 4 + 4 * 10 + 10}
    assert set(stats.stages) == {"build", "count", "export", "check"} and stats.stages["build"]["count"] == 3


def test_one_architecture_under_two_names_is_run_once(tmp_path: Path, cpu_only: None) -> None:
    """An _ssld twin (same builder, same input size) takes a copy of the first model's records, naming it."""
    pytest.importorskip("paddle")
    write_card(tmp_path / "cards", "twins", [("Tiny_A", "TinyNet"), ("Tiny_A_ssld", "TinyNet"), ("Tiny_B", "TinyWide")])
    write_card(tmp_path / "cards", "wide", [("Tiny_B_22kto1k", "TinyWide")])  # a card after "twins": Tiny_B runs first
    stats = measure.RunStats()
    records = measure.measure(cards_of(tmp_path / "cards"), tmp_path / "m", ROOT, kinds={"count", "export", "latency"}, jobs=1, stats=stats)
    assert stats.stages["build"]["count"] == 2  # two architectures, four models
    by = {(r["model"], r["kind"]): r for rs in records.values() for r in rs}
    assert len(by) == 4 * 3 and all(r["status"] == "ok" for r in by.values())
    for twin, first, card in [("Tiny_A_ssld", "Tiny_A", "twins"), ("Tiny_B_22kto1k", "Tiny_B", "twins")]:
        for kind in ("count", "export", "latency"):
            copy, original = by[(twin, kind)], by[(first, kind)]
            assert copy["same_run_as"] == {"card": card, "model": first} and copy["duration_s"] == 0.0
            assert copy["result"] == original["result"] and copy["key"] == original["key"]
            assert "same_run_as" not in original
    # the copies are current: a second run runs nothing
    again = measure.RunStats()
    measure.measure(cards_of(tmp_path / "cards"), tmp_path / "m", ROOT, kinds={"count", "export", "latency"}, jobs=1, stats=again)
    assert again.workers_started == 0


def test_twins_need_equal_payloads_and_accuracy_always_runs() -> None:
    base = {"kind": "count", "builder": "b", "input_size": 224}
    jobs = [measure.Job("c", "A", "count", base, {"claimed_flops": 1.0}), measure.Job("c", "A_ssld", "count", base, {"claimed_flops": 1.0}),
            measure.Job("c", "A_384", "count", {**base, "input_size": 384}, {"claimed_flops": 1.0}),
            measure.Job("c", "A_other_claim", "count", base, {"claimed_flops": 9.0}),
            measure.Job("c", "A", "accuracy", {"kind": "accuracy"}, {}), measure.Job("c", "A_ssld", "accuracy", {"kind": "accuracy"}, {})]
    run, copies = measure.twins(jobs)
    assert [j.model for j in run] == ["A", "A_384", "A_other_claim", "A", "A_ssld"]
    assert {k: [j.model for j in v] for k, v in copies.items()} == {id(jobs[0]): ["A_ssld"]}


def test_two_merged_shards_equal_one_full_run(tmp_path: Path, cpu_only: None) -> None:
    pytest.importorskip("paddle")
    models = [("Tiny_A", "TinyNet"), ("Tiny_C", "TinyWide")]
    assert {measure.in_shard("shards", name, (1, 2)) for name, _ in models} == {True, False}  # both shards get work
    write_card(tmp_path / "cards", "shards", models)
    cards = cards_of(tmp_path / "cards")
    full = measure.measure(cards, tmp_path / "full", ROOT, kinds={"count"}, jobs=1)["shards"]
    measure.measure(cards, tmp_path / "s1", ROOT, kinds={"count"}, shard=(1, 2), jobs=1)
    measure.measure(cards, tmp_path / "s2", ROOT, kinds={"count"}, shard=(2, 2), jobs=1)
    assert measure.load_records(tmp_path / "s1", "shards") and measure.load_records(tmp_path / "s2", "shards")
    measure.merge_shards([tmp_path / "s1", tmp_path / "s2"], tmp_path / "merged")
    merged = measure.load_records(tmp_path / "merged", "shards")

    def comparable(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        # when and how long differ between runs; what was measured must not
        return [{k: v for k, v in r.items() if k not in ("measured_at", "duration_s", "env")} for r in records]

    assert comparable(merged) == comparable(full)
    assert [r["model"] for r in merged] == ["Tiny_A", "Tiny_C"]


@pytest.mark.parametrize("seconds, text", [(0.4, "0s"), (59, "59s"), (80, "1m20s"), (3725, "1h02m")])
def test_eta_reads_like_a_clock(seconds: float, text: str) -> None:
    assert measure._duration(seconds) == text


def test_a_verification_run_reports_each_phase_and_each_kind_share_of_the_work() -> None:
    records = [{"kind": "count", "duration_s": 30.0}, {"kind": "export", "duration_s": 90.0}, {"kind": "export", "duration_s": 30.0},
               {"kind": "latency", "duration_s": 50.0}, {"kind": "latency", "duration_s": None}]
    line = measure.stage_summary(records, 80.0, 50.0, 2)
    assert line.startswith("5 measurements in 2m10s: 1m20s for counts, exports and accuracy (2 at a time), 50s for latency (one at a time).")
    # biggest first; shares of the 200 s of work, a record without a duration counting none
    assert line.endswith("Work by kind: export ×2 2m00s (60%), latency ×2 50s (25%), count ×1 30s (15%).")


def script(name: str) -> Any:
    """A module of scripts/ (not a package), imported by path."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_repeatability_pairs_each_timing_of_two_runs_and_reports_the_spread() -> None:
    repeat = script("bench_latency_repeat")

    def run(medians: dict[str, float], failed: str = "") -> dict[str, list[dict[str, Any]]]:
        records = []
        for model, median in medians.items():
            target = {"hardware": "amd-epyc", "hardware_name": "AMD EPYC", "hardware_kind": "cpu", "runtime": "onnxruntime", "runtime_version": "1",
                      "provider": "cpu", "precision": "FP32", "threads": 2}
            stats = {"median_ms": median, "p10_ms": median * 0.9, "p90_ms": median * 1.1, "cv": 0.1, "repeats": 10, "warmup": 2}
            records.append({"model": model, "kind": "latency", "status": "failed" if model == failed else "ok", "target": target,
                            "result": {"batches": {"1": stats}, "load_avg": [1.0, 1.0, 1.0]}})
        return {"c": records}

    found = repeat.pairs(run({"A": 10.0, "B": 4.0, "C": 1.0}), run({"A": 12.0, "B": 4.0, "C": 2.0}, failed="C"))
    # C failed in run 2: no pair; A: |10 - 12| / 10
    assert [(p["model"], p["relative_difference"]) for p in found] == [("A", 0.2), ("B", 0.0)]
    assert repeat.distribution([0.0, 0.1, 0.2, 0.3, 0.4]) == {"pairs": 5, "p50": 0.2, "p90": 0.36, "max": 0.4, "mean": 0.2}


def test_a_dead_workers_reason_is_its_last_logged_error() -> None:
    # paddle2onnx 2.1.0 on MobileViTV2 (no converter for `fold`): it logs, then aborts the process
    lines = ["[Paddle2ONNX] Start parsing the Paddle model file...\n", "\x1b[0;31m[ERROR][Paddle2ONNX] Due to the unsupported operators, the conversion is aborted.\n",
             "C++ Traceback (most recent call last):\n", "FatalError: `Process abort signal` is detected by the operating system.\n", ".\x1b[0m\n"]
    assert measure._last_line(lines) == "[ERROR][Paddle2ONNX] Due to the unsupported operators, the conversion is aborted."
    assert measure._last_line(["Traceback\n", "ValueError: bad\n", "\n"]) == "ValueError: bad"
    assert measure._last_line(["just a line\n"]) == "just a line"


def test_a_run_keeps_its_files_in_ram_only_on_a_tmpfs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ZOOCARDS_SCRATCH", "disk")
    assert measure.ram_scratch() is None
    monkeypatch.delenv("ZOOCARDS_SCRATCH")
    monkeypatch.setattr(measure, "RAM_DIRS", (tmp_path,))
    assert measure.ram_scratch() is None  # a directory on disk is not RAM
    if measure._is_ram(Path("/dev/shm")):
        monkeypatch.setattr(measure, "RAM_DIRS", (Path("/dev/shm"),))
        scratch = measure.ram_scratch()
        assert scratch is not None and scratch.parent == Path("/dev/shm")
        scratch.rmdir()


def test_a_worker_keeps_the_memory_its_models_free(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Workers run with WORKER_MALLOC (unless GLIBC_TUNABLES is set): a big block freed stays in the
    process (glibc's heap, not an mmap handed back), so the next model does not fault it in again."""
    monkeypatch.delenv("GLIBC_TUNABLES", raising=False)
    env = measure.worker_env(ROOT, threads=1, scratch=tmp_path)
    assert env["GLIBC_TUNABLES"] == measure.WORKER_MALLOC and env["OMP_NUM_THREADS"] == "1"
    monkeypatch.setenv("GLIBC_TUNABLES", "glibc.malloc.arena_max=1")
    assert measure.worker_env(ROOT)["GLIBC_TUNABLES"] == "glibc.malloc.arena_max=1"
    if platform.libc_ver()[0] != "glibc":
        pytest.skip("the setting is glibc's")
    # 256 MB malloc'd and freed: with the setting nothing is mmapped (hblkhd) and the heap keeps it (fordblks).
    probe = ("import ctypes\n"
             "class Info(ctypes.Structure): _fields_ = [(n, ctypes.c_size_t) for n in 'arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost'.split()]\n"
             "libc = ctypes.CDLL(None); libc.malloc.restype = ctypes.c_void_p; libc.mallinfo2.restype = Info\n"
             "block = libc.malloc(256 << 20); ctypes.memset(block, 1, 256 << 20); mapped = libc.mallinfo2().hblkhd\n"
             "libc.free(ctypes.c_void_p(block)); print(mapped >> 20, libc.mallinfo2().fordblks >> 20)\n")
    kept = subprocess.run([sys.executable, "-c", probe], env={**os.environ, "GLIBC_TUNABLES": measure.WORKER_MALLOC}, capture_output=True, text=True, check=True)
    mapped, free_in_heap = map(int, kept.stdout.split())
    assert mapped == 0 and free_in_heap >= 256
    default = subprocess.run([sys.executable, "-c", probe], env={k: v for k, v in os.environ.items() if k != "GLIBC_TUNABLES"}, capture_output=True, text=True, check=True)
    assert int(default.stdout.split()[0]) >= 256  # glibc's default: a block this big is an mmap, unmapped on free


@pytest.mark.parametrize("retire", [False, True], ids=["free worker", "retired worker"])
def test_a_model_still_running_is_paused_while_the_spool_is_timed(tmp_path: Path, cpu_only: None, retire: bool) -> None:
    """Timings run alone without waiting for the other worker's model: it is stopped (SIGSTOP)
    while the free slot times the spool, then goes on (SIGCONT) and finishes as usual. A worker
    retired after its model (RECYCLE_RSS_MB) frees its slot too: a fresh worker times the spool."""
    pytest.importorskip("paddle")
    write_card(tmp_path / "cards", "pause", [("Tiny_A", "TinyNet"), ("Slow_B", "Slow")])
    stats = measure.RunStats()
    finished: list[tuple[str, str]] = []
    original = measure.WorkerPool._record

    def record(self: Any, group: Any, index: int, *args: Any, **kwargs: Any) -> None:
        finished.append((group.model, group.parts[index].kind))
        original(self, group, index, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(measure.WorkerPool, "_record", record)
        patch.setenv("ZOOCARDS_TEST_SLOW_S", "8")
        if retire:
            patch.setattr(measure, "RECYCLE_RSS_MB", 0)  # every worker retires after its model
        records = measure.measure(cards_of(tmp_path / "cards"), tmp_path / "m", ROOT, kinds={"count", "latency"}, jobs=2, stats=stats)
    assert all(r["status"] == "ok" for rs in records.values() for r in rs), records
    assert stats.workers_started == (4 if retire else 2)  # retiring: a fresh worker for each of the two timings
    # Tiny_A was timed before Slow_B had even been counted: Slow_B's worker was paused, not waited for.
    assert finished.index(("Tiny_A", "latency")) < finished.index(("Slow_B", "count"))
    assert stats.paused_s > 0
    # The two worker slots' seconds add up to the run's: models, the timing, workers starting, idle.
    assert set(stats.slots_s) == {"model", "timing", "starting", "idle"}
    assert sum(stats.slots_s.values()) == pytest.approx(2 * (stats.side_by_side_s + stats.alone_s), rel=0.02)
    assert stats.slots_s["model"] > 0
    assert stats.slots_s["timing"] > 0 and stats.slots_s["starting"] > 0


def test_a_killed_runs_ram_directory_is_removed_by_the_next_run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A run killed before its cleanup leaves its files in RAM; the next run removes them (its own pid is alive, a dead one's is not)."""
    orphan = tmp_path / "zoocards-run-999999999-abc"
    live = tmp_path / f"zoocards-run-{os.getpid()}-def"
    for path in (orphan, live):
        path.mkdir()
        (path / "model.onnx").write_bytes(b"x")
    measure._remove_orphans(tmp_path)
    assert not orphan.exists() and live.exists()
