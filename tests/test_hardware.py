"""hardware: one id per device however it is spelled, what this host has, every latency claim's target."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from zoocards import hardware
from zoocards.hardware import Target
from zoocards.load import load_file, load_text


@pytest.mark.parametrize(("name", "expected"), [
    # nvidia-smi, cards and READMEs spell the same GPU differently; form factor and memory never count
    ("Tesla V100-SXM2-16GB", "nvidia-v100"),
    ("Tesla V100-SXM2-32GB", "nvidia-v100"),
    ("Tesla V100-PCIE-16GB", "nvidia-v100"),
    ("NVIDIA V100", "nvidia-v100"),
    ("V100", "nvidia-v100"),
    ("Tesla V100S-PCIE-32GB", "nvidia-v100"),
    ("Tesla T4", "nvidia-t4"),
    ("T4", "nvidia-t4"),
    ("NVIDIA T4", "nvidia-t4"),
    ("NVIDIA A100-SXM4-40GB", "nvidia-a100"),
    ("NVIDIA A10", "nvidia-a10"),  # not the A100
    ("NVIDIA GeForce RTX 3090", "nvidia-rtx-3090"),
    ("RTX 3090", "nvidia-rtx-3090"),
    ("NVIDIA GeForce GTX 1080 Ti", "nvidia-gtx-1080ti"),
    # boards: the module is the same SoC as the board
    ("RDK X5", "rdk-x5"),
    ("RDK X5 Module", "rdk-x5"),
    ("rdk_x5", "rdk-x5"),
    ("Jetson AGX Orin", "jetson-agx-orin"),
    # CPUs: trademarks, "CPU", the clock and the core count go; the vendor is added when missing
    ("Intel(R) Xeon(R) Gold 6148 CPU @ 2.40GHz", "intel-xeon-gold-6148"),
    ("Intel Xeon Gold 6148", "intel-xeon-gold-6148"),
    ("Xeon Gold 6148", "intel-xeon-gold-6148"),
    ("Intel(R) Xeon(R) CPU E5-2680 v4 @ 2.40GHz", "intel-xeon-e5-2680-v4"),
    ("AMD EPYC 7B13 64-Core Processor", "amd-epyc-7b13"),
    ("EPYC 7B13", "amd-epyc-7b13"),
    ("AMD EPYC", "amd-epyc"),  # what a KVM guest's /proc/cpuinfo may say
    ("Intel(R) Core(TM) i7-8700 CPU @ 3.20GHz", "intel-core-i7-8700"),
    ("AMD Ryzen 9 5950X 16-Core Processor", "amd-ryzen-9-5950x"),
    ("Cortex-A55", "cortex-a55"),
    ("Qualcomm Snapdragon 855", "qualcomm-snapdragon-855"),
    ("", "unknown"),
])
def test_normalise(name: str, expected: str) -> None:
    assert hardware.normalise(name) == expected
    assert hardware.normalise(expected) == expected  # an id is its own id


def _fake_host(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, cpuinfo: str | None, outputs: dict[str, str]) -> None:
    """/proc/cpuinfo from text, and lscpu/nvidia-smi answering from `outputs` (missing: not installed)."""
    path = tmp_path / "cpuinfo"
    if cpuinfo is not None:
        path.write_text(cpuinfo, encoding="utf-8")
    monkeypatch.setattr(hardware, "CPUINFO", path)
    monkeypatch.setattr(hardware.shutil, "which", lambda name: f"/usr/bin/{name}" if name in outputs else None)

    def run(argv: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(argv, 0, stdout=outputs[argv[0]], stderr="")

    monkeypatch.setattr(hardware.subprocess, "run", run)
    monkeypatch.delenv(hardware.BOARD_ENV, raising=False)


def test_this_host_gpu_server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # a V100 server: the CPU from /proc/cpuinfo, four identical GPUs listed once
    cpuinfo = "processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Gold 6148 CPU @ 2.40GHz\n"
    _fake_host(monkeypatch, tmp_path, cpuinfo, {"nvidia-smi": "Tesla V100-SXM2-16GB\n" * 4})
    assert hardware.this_host() == [
        {"id": "intel-xeon-gold-6148", "name": "Intel(R) Xeon(R) Gold 6148 CPU @ 2.40GHz", "kind": "cpu", "source": "/proc/cpuinfo"},
        {"id": "nvidia-v100", "name": "Tesla V100-SXM2-16GB", "kind": "gpu", "source": "nvidia-smi"},
    ]


def test_this_host_arm_board(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # an ARM board: no "model name" in /proc/cpuinfo, lscpu knows the core; the board is declared
    _fake_host(monkeypatch, tmp_path, "processor\t: 0\nCPU part\t: 0xd05\n", {"lscpu": "Architecture: aarch64\nModel name:  Cortex-A55\n"})
    monkeypatch.setenv(hardware.BOARD_ENV, "RDK X5 Module")
    assert hardware.this_host() == [
        {"id": "cortex-a55", "name": "Cortex-A55", "kind": "cpu", "source": "lscpu"},
        {"id": "rdk-x5", "name": "RDK X5 Module", "kind": "board", "source": "declared"},
    ]
    # a flag beats the environment
    assert hardware.this_host("RDK X3")[-1] == {"id": "rdk-x3", "name": "RDK X3", "kind": "board", "source": "declared"}


def test_this_host_nothing_to_probe(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # no /proc/cpuinfo, no lscpu, no nvidia-smi: nothing is made up
    _fake_host(monkeypatch, tmp_path, None, {})
    assert hardware.this_host() == []


def test_this_host_here() -> None:
    # on the machine running the tests there is at least its CPU, named from a real source
    devices = hardware.this_host()
    assert devices and devices[0]["kind"] == "cpu" and devices[0]["source"] in ("/proc/cpuinfo", "lscpu")


@pytest.mark.parametrize(("text", "kind", "runtime", "provider"), [
    ("Paddle Inference + TensorRT", "gpu", "paddle-inference", "tensorrt"),
    ("Paddle Inference (oneDNN)", "cpu", "paddle-inference", "onednn"),
    ("paddle inference, GPU", "gpu", "paddle-inference", "cuda"),
    ("ONNX Runtime CUDA EP", "gpu", "onnxruntime", "cuda"),
    ("onnxruntime", "cpu", "onnxruntime", None),  # names no provider: any of the runtime's matches
    ("TensorRT", "gpu", "tensorrt-native", "tensorrt"),  # bare TensorRT: the engine itself
    ("TensorRT 8.6 FP16", "gpu", "tensorrt-native", "tensorrt"),
    ("MKLDNN", "cpu", None, "onednn"),  # a provider but no runtime: the claim cannot be re-run
    ("BPU (Bayes-e), nv12 input", "board", "board-sdk", "bpu"),
    ("Paddle Lite", "board", "paddle-lite", None),
    ("OpenVINO", "cpu", "openvino", "openvino"),
    ("", "gpu", None, None),
])
def test_runtime_and_provider_from_text(text: str, kind: str, runtime: str | None, provider: str | None) -> None:
    assert hardware.table_runtime({"runtime": text, "hardware_kind": kind}) == (runtime, provider)


def test_structured_fields_win_over_text() -> None:
    # PaddleClas writes "TensorRT" for Paddle Inference with TensorRT: the card says so in runtime_id
    bench = {"runtime": "TensorRT", "runtime_id": "paddle-inference", "provider": "tensorrt", "hardware_kind": "gpu"}
    assert hardware.table_runtime(bench) == ("paddle-inference", "tensorrt")


CARD = """\
schema_version: 1
id: tiny
name: {zh: 小, en: Tiny}
summary: {zh: 测试。, en: Test.}
task: image-classification
dataset: ImageNet-1k
units: {accuracy: fraction, flops: {scale: G, convention: MACs}, params: M}
models:
  - {name: Tiny_A, input_size: 224, metrics: {params: 1.0}}
benchmarks:
  - id: v100
    hardware: NVIDIA V100
    hardware_kind: gpu
    runtime: TensorRT
    runtime_id: paddle-inference
    provider: tensorrt
    columns:
      - {metric: latency, unit: ms, precision: FP32, batch_size: 1}
      - {metric: params, unit: M}
      - {metric: latency, unit: ms, precision: FP16, batch_size: 8}
    rows:
      - {model: Tiny_A, values: [1.25, 1.0, null]}
  - id: board
    hardware: RDK X5
    hardware_kind: board
    runtime: BPU (Bayes-e)
    columns:
      - {metric: latency, unit: ms, precision: INT8, batch_size: 1, threads: 1}
      - {metric: fps, unit: fps, precision: INT8}
    rows:
      - {model: Tiny_A, values: [1.4, 700]}
"""


def test_claim_targets() -> None:
    card = load_text(CARD, Path("cards/tiny.yaml"))
    # the params column is no timing; the empty FP16 cell is no claim; fps without a batch is batch 1
    assert hardware.claim_targets(card) == [
        Target("Tiny_A", "nvidia-v100", "NVIDIA V100", "gpu", "paddle-inference", "tensorrt", "FP32", 1, None),
        Target("Tiny_A", "rdk-x5", "RDK X5", "board", "board-sdk", "bpu", "INT8", 1, 1),
        Target("Tiny_A", "rdk-x5", "RDK X5", "board", "board-sdk", "bpu", "INT8", 1, None),
    ]


def test_runnable() -> None:
    card = load_text(CARD, Path("cards/tiny.yaml"))
    v100, board, _ = hardware.claim_targets(card)
    server = [hardware.device("Intel Xeon Gold 6148", "cpu", "lscpu"), hardware.device("Tesla V100-SXM2-16GB", "gpu", "nvidia-smi")]
    assert hardware.runnable(v100, server) and not hardware.runnable(board, server)
    # a board only counts when it is declared as one
    assert hardware.runnable(board, [hardware.device("RDK X5", "board", "declared")])
    assert not hardware.runnable(board, [hardware.device("RDK X5", "cpu", "lscpu")])


def test_seed_cards_name_their_runtime() -> None:
    # every latency claim of the seed cards has a runtime a re-run can match
    root = Path(__file__).resolve().parent.parent / "cards"
    for name in ("fasternet", "mixnet", "others", "regnet"):
        targets = hardware.claim_targets(load_file(root / f"{name}.yaml"))
        assert targets and all(t.runtime in hardware.RUNTIMES and t.provider in hardware.PROVIDERS for t in targets), name


def _project(tmp_path: Path) -> Path:
    (tmp_path / "cards").mkdir()
    (tmp_path / "cards" / "tiny.yaml").write_text(CARD, encoding="utf-8")
    return tmp_path


def test_cli_reports_what_this_host_can_re_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from zoocards import cli

    root = _project(tmp_path)
    # a fake V100 server (no GPU here): nvidia-smi answers, /proc/cpuinfo names a Xeon
    (tmp_path / "cpuinfo").write_text("model name\t: Intel(R) Xeon(R) Gold 6148 CPU @ 2.40GHz\n", encoding="utf-8")
    monkeypatch.setattr(hardware, "CPUINFO", tmp_path / "cpuinfo")
    monkeypatch.setattr(hardware, "_gpus_from_nvidia_smi", lambda: ["Tesla V100-SXM2-16GB"])
    monkeypatch.delenv(hardware.BOARD_ENV, raising=False)
    assert cli.main(["--root", str(root), "hardware", "-v"]) == 0
    assert capsys.readouterr().out == (
        "This host:\n"
        "  cpu   intel-xeon-gold-6148  Intel(R) Xeon(R) Gold 6148 CPU @ 2.40GHz  (/proc/cpuinfo)\n"
        "  gpu   nvidia-v100           Tesla V100-SXM2-16GB  (nvidia-smi)\n"
        "\n"
        "Claims this host can re-run (hardware here, runtime one of paddle-inference, onnxruntime):\n"
        "  tiny  1 of 3\n"
        "    Tiny_A: NVIDIA V100, paddle-inference + tensorrt, FP32, batch 1\n"
        "1 of 3 latency/fps claims in 1 of 1 cards can be re-run here.\n"
    )
    # a declared RDK X5 has the board, but zoocards does not drive its BPU toolchain
    monkeypatch.setattr(hardware, "_gpus_from_nvidia_smi", lambda: [])
    assert cli.main(["--root", str(root), "hardware", "--board", "RDK X5"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "None of the 3 latency/fps claims of 1 cards can be re-run here; they name: nvidia-v100 (1), rdk-x5 (2)."


def test_cli_lists_the_claimed_hardware_as_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from zoocards import cli

    assert cli.main(["--root", str(_project(tmp_path)), "hardware", "--claimed", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == [
        {"id": "nvidia-v100", "names": ["NVIDIA V100"], "kind": "gpu", "claims": 1, "rerunnable_claims": 1, "runtimes": ["paddle-inference/tensorrt"], "cards": ["tiny"]},
        {"id": "rdk-x5", "names": ["RDK X5"], "kind": "board", "claims": 2, "rerunnable_claims": 0, "runtimes": ["board-sdk/bpu"], "cards": ["tiny"]},
    ]
