"""measure: planning, cache keys, failure isolation, sharding, stable files."""

from __future__ import annotations

import json
import os
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
    metrics: {params: %(params)s}
"""

TINY_PARAMS = "0.314"  # K: Conv(3->8, 3x3) 216 + 8, Linear(8->10) 80 + 10


def write_card(cards_dir: Path, card_id: str, models: list[tuple[str, str]], size: int = 8, params: str = TINY_PARAMS, extra: str = "") -> Path:
    cards_dir.mkdir(parents=True, exist_ok=True)
    body = "".join(MODEL % {"name": name, "builder": builder, "size": size, "params": params} for name, builder in models)
    path = cards_dir / f"{card_id}.yaml"
    path.write_text(CARD % {"id": card_id, "models": body} + extra, encoding="utf-8")
    return path


def fake_record(job: measure.Job, params: int = 314) -> dict[str, Any]:
    """What run_job would return for a successful job, without running anything."""
    record = {"model": job.model, "kind": job.kind, "key": job.key, "inputs": job.inputs, "status": "ok", "reason": None,
              "result": {"params": params, "macs": 1728, "outputs": 10}, "measured_at": "2026-11-23T15:00:00Z", "duration_s": 1.0, "env": None}
    if job.kind == "latency":
        record["reuse_key"] = job.reuse_key
    return record


class Recorder:
    """Stands in for run_job: remembers which jobs ran."""

    def __init__(self) -> None:
        self.ran: list[tuple[str, str]] = []

    def __call__(self, job: measure.Job, root: Path, timeout_s: float, memory_mb: int | None) -> dict[str, Any]:
        self.ran.append((job.model, job.kind))
        return fake_record(job)


def cards_of(cards_dir: Path) -> list[Card]:
    return [load_file(p) for p in sorted(cards_dir.glob("*.yaml"))]


def test_plan_skips_models_without_builder_and_reads_batch_sizes(tmp_path: Path) -> None:
    path = write_card(tmp_path / "cards", "plan", [("Tiny_A", "TinyNet")])
    text = path.read_text(encoding="utf-8") + "  - name: NoBuilder\n    input_size: 224\n    metrics: {params: 1.0}\n"
    text += "benchmarks:\n  - id: t4\n    hardware: NVIDIA T4\n    hardware_kind: gpu\n    columns:\n"
    text += "      - {metric: latency, unit: ms, batch_size: 8}\n      - {metric: latency, unit: ms, batch_size: 1}\n"
    text += "    rows:\n      - {model: Tiny_A, values: [2.0, 1.0]}\n"
    path.write_text(text, encoding="utf-8")
    jobs = measure.plan(cards_of(tmp_path / "cards"), tmp_path)
    assert sorted((j.model, j.kind) for j in jobs) == [("Tiny_A", "count"), ("Tiny_A", "export"), ("Tiny_A", "latency")]
    latency = next(j for j in jobs if j.kind == "latency")
    assert latency.payload["batch_sizes"] == [1, 8]


def test_cache_hit_starts_no_subprocess(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_card(tmp_path / "cards", "cached", [("Tiny_A", "TinyNet")])
    cards = cards_of(tmp_path / "cards")
    measure.save_records(tmp_path / "m", "cached", [fake_record(j) for j in measure.plan(cards, tmp_path)])
    before = (tmp_path / "m" / "cached.json").read_bytes()

    def no_process(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a cached job started a subprocess")

    monkeypatch.setattr(measure.subprocess, "Popen", no_process)
    measure.measure(cards, tmp_path / "m", tmp_path)
    assert (tmp_path / "m" / "cached.json").read_bytes() == before


def test_changed_inputs_rerun_but_changed_claims_do_not(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_card(tmp_path / "cards", "keys", [("Tiny_A", "TinyNet"), ("Tiny_B", "TinyWide")])
    measure.save_records(tmp_path / "m", "keys", [fake_record(j) for j in measure.plan(cards_of(tmp_path / "cards"), tmp_path)])
    recorder = Recorder()
    monkeypatch.setattr(measure, "run_job", recorder)
    # a claim is not an input of any measurement
    write_card(tmp_path / "cards", "keys", [("Tiny_A", "TinyNet"), ("Tiny_B", "TinyWide")], params="9.99")
    measure.measure(cards_of(tmp_path / "cards"), tmp_path / "m", tmp_path, kinds={"count"})
    assert recorder.ran == []
    # the input size is: both models' counts are stale
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


def test_latency_from_another_host_is_kept_until_its_inputs_change(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_card(tmp_path / "cards", "lat", [("Tiny_A", "TinyNet")])
    job = next(j for j in measure.plan(cards_of(tmp_path / "cards"), tmp_path) if j.kind == "latency")
    elsewhere = measure.Job(job.card, job.model, job.kind, {**job.inputs, "hardware": {"cpu": "Other CPU", "cores": 64}}, job.payload)
    assert elsewhere.key != job.key and elsewhere.reuse_key == job.reuse_key
    measure.save_records(tmp_path / "m", "lat", [fake_record(elsewhere)])
    recorder = Recorder()
    monkeypatch.setattr(measure, "run_job", recorder)
    measure.measure(cards_of(tmp_path / "cards"), tmp_path / "m", tmp_path, kinds={"latency"})
    assert recorder.ran == []
    write_card(tmp_path / "cards", "lat", [("Tiny_A", "TinyNet")], size=16)  # a non-hardware input changed
    measure.measure(cards_of(tmp_path / "cards"), tmp_path / "m", tmp_path, kinds={"latency"})
    assert recorder.ran == [("Tiny_A", "latency")]


def test_records_file_is_sorted_stable_and_prunes_removed_models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_card(tmp_path / "cards", "stable", [("Zeta", "TinyNet"), ("Alpha", "TinyWide")])
    monkeypatch.setattr(measure, "run_job", Recorder())
    measure.measure(cards_of(tmp_path / "cards"), tmp_path / "m", tmp_path, kinds={"count", "export"})
    text = (tmp_path / "m" / "stable.json").read_text(encoding="utf-8")
    document = json.loads(text)
    assert [(r["model"], r["kind"]) for r in document["records"]] == [("Alpha", "count"), ("Alpha", "export"), ("Zeta", "count"), ("Zeta", "export")]
    assert text == json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    assert [p.name for p in (tmp_path / "m").iterdir()] == ["stable.json"]  # no temporary file left behind
    write_card(tmp_path / "cards", "stable", [("Alpha", "TinyWide")])
    measure.measure(cards_of(tmp_path / "cards"), tmp_path / "m", tmp_path, kinds={"count"})
    assert {r["model"] for r in measure.load_records(tmp_path / "m", "stable")} == {"Alpha"}


def test_strict_fails_on_unacknowledged_mismatch_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    cards_dir = tmp_path / "cards"
    write_card(cards_dir, "strict", [("Tiny_A", "TinyNet")], params="0.500")  # measured 0.314 K
    monkeypatch.setattr(measure, "run_job", Recorder())
    assert measure.verify_command(cards_dir, tmp_path / "m", kinds={"count"}) == 0
    # progress names the job and what is left: one 20 s count shared by two workers
    assert "[1/1] strict: Tiny_A count … 10s left" in capsys.readouterr().err
    assert measure.verify_command(cards_dir, tmp_path / "m", kinds={"count"}, strict=True) == 1
    assert "mismatch: strict Tiny_A params (models[0].metrics.params): measured 0.000314 M, claimed 0.0005 M" in capsys.readouterr().out
    path = cards_dir / "strict.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "    acknowledged:\n      - {metric: params, reason: {zh: 故意的。, en: On purpose.}}\n", encoding="utf-8")
    assert measure.verify_command(cards_dir, tmp_path / "m", kinds={"count"}, strict=True) == 0


def test_unknown_kind_is_a_user_error(tmp_path: Path) -> None:
    write_card(tmp_path / "cards", "kinds", [("Tiny_A", "TinyNet")])
    with pytest.raises(measure.ZoocardsError, match="unknown measurement kind"):
        measure.measure(cards_of(tmp_path / "cards"), tmp_path / "m", tmp_path, kinds={"speed"})


def test_a_crash_a_hang_and_a_hog_fail_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("paddle")
    pid_file = tmp_path / "hang.pid"
    monkeypatch.setenv("ZOOCARDS_TEST_PID_FILE", str(pid_file))
    models = [("Crashing", "Crash"), ("Hanging", "Hang"), ("Hogging", "Hog"), ("Fine", "TinyNet")]
    write_card(tmp_path / "cards", "broken", models)
    records = measure.measure(cards_of(tmp_path / "cards"), tmp_path / "m", measure_root(tmp_path), kinds={"count"}, timeout_s=20, memory_mb=4096)
    by_model = {r["model"]: r for r in records["broken"]}
    assert by_model["Fine"]["status"] == "ok" and by_model["Fine"]["result"]["params"] == 314
    assert (by_model["Crashing"]["status"], by_model["Crashing"]["reason"]) == ("failed", "RuntimeError: simulated crash while building")
    assert (by_model["Hanging"]["status"], by_model["Hanging"]["reason"]) == ("failed", "timed out after 20 s")
    assert (by_model["Hogging"]["status"], by_model["Hogging"]["reason"]) == ("failed", "killed: out of memory (limit 4096 MB)")
    with pytest.raises(ProcessLookupError):  # the hung worker was killed, not left behind
        os.kill(int(pid_file.read_text()), 0)


def measure_root(tmp_path: Path) -> Path:
    """The directory a test card's builders resolve from: the repository (tests.fake_builders)."""
    return Path(__file__).resolve().parent.parent


def test_two_merged_shards_equal_one_full_run(tmp_path: Path) -> None:
    pytest.importorskip("paddle")
    models = [("Tiny_A", "TinyNet"), ("Tiny_C", "TinyWide")]
    assert {measure.in_shard("shards", name, (1, 2)) for name, _ in models} == {True, False}  # both shards get work
    write_card(tmp_path / "cards", "shards", models)
    cards = cards_of(tmp_path / "cards")
    root = measure_root(tmp_path)
    full = measure.measure(cards, tmp_path / "full", root, kinds={"count"})["shards"]
    measure.measure(cards, tmp_path / "s1", root, kinds={"count"}, shard=(1, 2))
    measure.measure(cards, tmp_path / "s2", root, kinds={"count"}, shard=(2, 2))
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
