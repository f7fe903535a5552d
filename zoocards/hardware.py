"""Hardware identity: one stable id per device, whatever a card, nvidia-smi or /proc/cpuinfo calls it.

A latency claim and a timing meet on this id (plus runtime, provider, precision, batch and
threads), so `Tesla V100-SXM2-16GB` (nvidia-smi), `NVIDIA V100` (a card) and `V100` (a README)
must all come out as `nvidia-v100`. Nothing here imports paddle; `this_host` runs
`nvidia-smi` and `lscpu` at most once each.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple

# ---------------------------------------------------------------------------------------
# The alias table. Each entry is (pattern, id): the pattern is matched (re.search) against the
# *cleaned* name (lower case, "(R)"/"(TM)"/clock/"CPU"/"Processor" dropped, '-' and '_' read
# as spaces, see `_clean`), the first entry that matches gives the id; `\1`-style groups
# expand into it. Names no entry matches get their cleaned words joined by '-' (so CPUs need
# no entry: "Intel(R) Xeon(R) Gold 6148 CPU @ 2.40GHz" -> "intel-xeon-gold-6148").
# Memory size and form factor never enter an id: a V100 with 16 or 32 GB, SXM2 or PCIe, runs
# an image classifier at the speed the zoos quote for "V100".
# Add an entry when a card or a runner names a device two ways; tests/test_hardware.py
# lists the spellings each entry must absorb.
ALIASES: tuple[tuple[str, str], ...] = (
    # NVIDIA data-centre GPUs ("Tesla V100-SXM2-16GB", "NVIDIA A100-SXM4-40GB", "V100").
    (r"\bv100s?\b", "nvidia-v100"),
    (r"\bt4\b", "nvidia-t4"),
    (r"\bp4\b", "nvidia-p4"),
    (r"\bp40\b", "nvidia-p40"),
    (r"\bp100\b", "nvidia-p100"),
    (r"\ba100\b", "nvidia-a100"),
    (r"\ba10\b", "nvidia-a10"),
    (r"\ba30\b", "nvidia-a30"),
    (r"\bh100\b", "nvidia-h100"),
    (r"\bl4\b", "nvidia-l4"),
    (r"\bl40s?\b", "nvidia-l40"),
    # NVIDIA desktop GPUs: "NVIDIA GeForce RTX 3090", "RTX 3090", "GTX 1080 Ti".
    (r"\b(rtx|gtx)\s*(\d{3,4})(?:\s*(ti|super))?\b", r"nvidia-\1-\2\3"),
    # Jetson modules (boards with an NVIDIA GPU): "Jetson AGX Orin", "NVIDIA Jetson Orin Nano".
    (r"\bjetson\s+(agx\s+orin|orin\s+nano|orin\s+nx|xavier\s+nx|agx\s+xavier|nano)\b", r"jetson-\1"),
    # D-Robotics (Horizon) RDK boards: "RDK X5", "RDK X5 Module", "rdk_x5".
    (r"\brdk\s*(x3|x5|ultra)\b", r"rdk-\1"),
    # Huawei Ascend NPUs: "Ascend 310P3", "Ascend910B".
    (r"\bascend\s*(\d{3})", r"ascend-\1"),
    # CPUs named without the vendor ("Xeon Gold 6148", "EPYC 7B13"): the vendor is added so they
    # meet the name /proc/cpuinfo gives. The rest of the name follows the default rule.
    (r"^(?:intel\s+)?xeon\s+(.+)$", r"intel-xeon-\1"),
    (r"^(?:amd\s+)?epyc\s+(.+)$", r"amd-epyc-\1"),
)

# Words that say nothing about which device it is; removed before matching. Order matters:
# the clock goes before the bare "cpu".
_NOISE: tuple[str, ...] = (
    r"\((?:r|tm|c)\)",  # Intel(R) Xeon(R), Core(TM)
    r"@\s*[\d.]+\s*[gm]hz",  # CPU @ 2.40GHz
    r"\bcpu\b",
    r"\bprocessor\b",
    r"\b\d+[\s-]core\b",  # 64-Core
    r"\bwith\s+radeon\s+graphics\b",
    r"\b(?:sxm\d?|pcie|nvl|hbm\d?e?)\b",  # V100-SXM2, A100-PCIE (form factor)
    r"\b\d+\s*gb\b",  # 16GB, 40GB (memory size)
    r"\bmodule\b",  # "RDK X5 Module" is the same SoC as "RDK X5"
)
_NOISE_RE = re.compile("|".join(_NOISE))
_ALIAS_RE = tuple((re.compile(pattern), target) for pattern, target in ALIASES)

# Where a device's identity came from (the `source` of `this_host`).
SOURCES = ("/proc/cpuinfo", "lscpu", "nvidia-smi", "declared")
CPUINFO = Path("/proc/cpuinfo")
# The environment variable a board's runner sets to declare what it is (boards cannot be probed).
BOARD_ENV = "ZOOCARDS_BOARD"


def _clean(name: str) -> str:
    """Lower case, noise words gone, '-', '_' and repeated spaces read as one space."""
    text = name.lower().replace("_", " ").replace("-", " ")
    text = _NOISE_RE.sub(" ", text)
    return " ".join(text.split())


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


@functools.lru_cache(maxsize=4096)  # a zoo names a handful of devices thousands of times
def normalise(name: str) -> str:
    """A hardware name -> its stable id (`Tesla V100-SXM2-16GB` -> `nvidia-v100`); ids map to themselves."""
    cleaned = _clean(name)
    for pattern, target in _ALIAS_RE:
        match = pattern.search(cleaned)
        if match:
            return _slug(match.expand(target))
    return _slug(cleaned) or "unknown"


def _cpu_from_cpuinfo() -> str | None:
    """The `model name` of /proc/cpuinfo (x86; many ARM kernels leave it out)."""
    try:
        text = CPUINFO.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        if line.lower().startswith("model name"):
            value = line.split(":", 1)[1].strip()
            if value:
                return value
    return None


def _run(argv: list[str]) -> str | None:
    """stdout of a probe command, None when it is missing or fails (never raises)."""
    if not shutil.which(argv[0]):
        return None
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def _cpu_from_lscpu() -> str | None:
    """`Model name:` of lscpu, which also knows ARM cores (Cortex-A55) from their part number."""
    out = _run(["lscpu"])
    for line in (out or "").splitlines():
        if line.strip().lower().startswith("model name"):
            value = line.split(":", 1)[1].strip()
            if value and value != "-":
                return value
    return None


def _gpus_from_nvidia_smi() -> list[str]:
    out = _run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"])
    return [line.strip() for line in (out or "").splitlines() if line.strip()]


def device(name: str, kind: str, source: str) -> dict[str, str]:
    """One device as `this_host` lists it."""
    return {"id": normalise(name), "name": name, "kind": kind, "source": source}


def this_host(declared_board: str | None = None) -> list[dict[str, str]]:
    """The devices of this host: its CPU, its NVIDIA GPUs (one entry per model), a declared board."""
    devices: list[dict[str, str]] = []
    cpu = _cpu_from_cpuinfo()
    if cpu is not None:
        devices.append(device(cpu, "cpu", "/proc/cpuinfo"))
    else:
        cpu = _cpu_from_lscpu()
        if cpu is not None:
            devices.append(device(cpu, "cpu", "lscpu"))
    seen: set[str] = set()
    for name in _gpus_from_nvidia_smi():  # eight identical GPUs are one device to time on
        if name not in seen:
            seen.add(name)
            devices.append(device(name, "gpu", "nvidia-smi"))
    board = declared_board or os.environ.get(BOARD_ENV, "").strip() or None
    if board:
        devices.append(device(board, "board", "declared"))
    return devices


# ---------------------------------------------------------------------------------------
# Runtimes and providers, from a benchmark table's `runtime_id`/`provider` fields when it has
# them, else from its free-text `runtime`.
RUNTIMES = ("paddle-inference", "onnxruntime", "tensorrt-native", "board-sdk", "openvino", "paddle-lite", "other")
PROVIDERS = ("cpu", "onednn", "cuda", "tensorrt", "openvino", "bpu", "npu")
# (pattern on the lower-case runtime text, runtime id); the first match wins, so "Paddle
# Inference + TensorRT" is Paddle Inference with the TensorRT provider, and a bare "TensorRT" is
# TensorRT itself.
_RUNTIME_WORDS: tuple[tuple[str, str], ...] = (
    (r"paddle\s*[-_]?\s*inference|paddle\s+infer\b|analysis\s*predictor", "paddle-inference"),
    (r"paddle\s*[-_]?\s*lite", "paddle-lite"),
    (r"onnx\s*[-_]?\s*runtime|\bort\b", "onnxruntime"),
    (r"openvino", "openvino"),
    (r"tensor\s*rt|\btrt\b", "tensorrt-native"),
    (r"\bbpu\b|\bnpu\b|\bhbdk\b|\bhb_dnn\b|toolchain|\bsdk\b", "board-sdk"),
)
# (pattern, provider): the first match wins, so the accelerator is named, not the host CPU.
_PROVIDER_WORDS: tuple[tuple[str, str], ...] = (
    (r"tensor\s*rt|\btrt\b", "tensorrt"),
    (r"\bcuda\b|\bgpu\b|cudnn", "cuda"),
    (r"one\s*dnn|mkl\s*-?dnn|\bmkldnn\b", "onednn"),
    (r"openvino", "openvino"),
    (r"\bbpu\b", "bpu"),
    (r"\bnpu\b", "npu"),
    (r"\bcpu\b", "cpu"),
)


def runtime_of(text: str | None, hardware_kind: str | None = None) -> str | None:
    """The runtime a table's text names (None when it names none: then the claim cannot be re-run)."""
    lowered = (text or "").lower()
    for pattern, runtime in _RUNTIME_WORDS:
        if re.search(pattern, lowered):
            return runtime
    if lowered and hardware_kind == "board":
        return "board-sdk"  # a board's own accelerator runs only through the vendor's toolchain
    return None


def provider_of(text: str | None, runtime: str | None = None) -> str | None:
    """The execution provider a table's text names (None when it names none: any provider matches)."""
    lowered = (text or "").lower()
    for pattern, provider in _PROVIDER_WORDS:
        if re.search(pattern, lowered):
            return provider
    if runtime == "tensorrt-native":
        return "tensorrt"
    return None


class Target(NamedTuple):
    """Where and how one latency/fps claim was timed: the conditions a re-run must meet."""

    model: str
    hardware_id: str
    hardware_name: str
    hardware_kind: str
    runtime: str | None
    provider: str | None
    precision: str | None
    batch_size: int
    threads: int | None


def table_runtime(bench: dict[str, Any]) -> tuple[str | None, str | None]:
    """(runtime, provider) of a benchmark table: its structured fields first, then its text."""
    runtime = bench.get("runtime_id") or runtime_of(bench.get("runtime"), bench.get("hardware_kind"))
    provider = bench.get("provider") or provider_of(bench.get("runtime"), runtime)
    return runtime, provider


def claim_targets(card: Any) -> list[Target]:
    """One Target per latency/fps claim of a card, in table order (equal targets repeat: set() them to plan)."""
    data = card.data if hasattr(card, "data") else card
    out: list[Target] = []
    for bench in data.get("benchmarks", []):
        runtime, provider = table_runtime(bench)
        hardware_id = normalise(bench["hardware"])
        for row in bench["rows"]:
            for value, column in zip(row["values"], bench["columns"]):
                if value is None or column["metric"] not in ("latency", "fps"):
                    continue
                out.append(Target(
                    model=row["model"], hardware_id=hardware_id, hardware_name=bench["hardware"],
                    hardware_kind=bench["hardware_kind"], runtime=runtime, provider=provider,
                    precision=column.get("precision"), batch_size=int(column.get("batch_size") or 1),
                    threads=column.get("threads"),
                ))
    return out


def runnable(target: Target, devices: Iterable[dict[str, str]]) -> bool:
    """Whether a host with these devices has the claim's hardware (the runtime is the worker's to check)."""
    return any(d["id"] == target.hardware_id and d["kind"] == target.hardware_kind for d in devices)


# ---------------------------------------------------------------------------------------
# What `zoocards hardware` reports.
# The runtimes zoocards' latency engine drives (zoocards/workers/); the others are listed for
# the record, and their claims wait for a runner that can run them.
RERUNNABLE_RUNTIMES = ("paddle-inference", "onnxruntime")


def can_rerun(target: Target, devices: Iterable[dict[str, str]]) -> bool:
    """Whether this host can time a claim: its hardware is here and zoocards drives its runtime."""
    return target.runtime in RERUNNABLE_RUNTIMES and runnable(target, devices)


def claimed_hardware(cards: Iterable[Any]) -> list[dict[str, Any]]:
    """Every device the cards' latency/fps claims name, by id: its spellings, kind, claim counts and cards."""
    found: dict[str, dict[str, Any]] = {}
    for card in cards:
        for target in claim_targets(card):
            entry = found.setdefault(target.hardware_id, {"id": target.hardware_id, "names": [], "kind": target.hardware_kind,
                                                          "claims": 0, "rerunnable_claims": 0, "runtimes": [], "cards": []})
            entry["claims"] += 1
            entry["rerunnable_claims"] += target.runtime in RERUNNABLE_RUNTIMES
            for key, value in (("names", target.hardware_name), ("runtimes", f"{target.runtime or 'unknown'}/{target.provider or 'any'}"), ("cards", card.id)):
                if value not in entry[key]:
                    entry[key].append(value)
    return [found[key] for key in sorted(found)]


def report(cards: list[Any], devices: list[dict[str, str]], verbose: bool = False) -> str:
    """What this host is, and which latency/fps claims of which cards it can re-run (each one with verbose)."""
    lines = ["This host:"]
    width = max([len(d["id"]) for d in devices] + [2])
    lines += [f"  {d['kind']:<5} {d['id']:<{width}}  {d['name']}  ({d['source']})" for d in devices] or ["  (no device could be identified)"]
    total = here = 0
    per_card: list[tuple[str, list[Target], int]] = []
    for card in sorted(cards, key=lambda c: c.id):
        targets = claim_targets(card)
        mine = [t for t in targets if can_rerun(t, devices)]
        total += len(targets)
        here += len(mine)
        if mine:
            per_card.append((card.id, mine, len(targets)))
    lines.append("")
    if not per_card:
        elsewhere = ", ".join(f"{h['id']} ({h['claims']})" for h in claimed_hardware(cards))
        lines.append(f"None of the {total} latency/fps claims of {len(cards)} cards can be re-run here; they name: {elsewhere or 'nothing'}.")
        return "\n".join(lines) + "\n"
    lines.append(f"Claims this host can re-run (hardware here, runtime one of {', '.join(RERUNNABLE_RUNTIMES)}):")
    card_width = max(len(card_id) for card_id, _, _ in per_card)
    for card_id, mine, of in per_card:
        lines.append(f"  {card_id:<{card_width}}  {len(mine)} of {of}")
        if verbose:
            lines += [f"    {t.model}: {t.hardware_name}, {t.runtime} + {t.provider or 'any'}, {t.precision or 'FP32'}, batch {t.batch_size}"
                      + (f", {t.threads} threads" if t.threads else "") for t in mine]
    lines.append(f"{here} of {total} latency/fps claims in {len(per_card)} of {len(cards)} cards can be re-run here.")
    return "\n".join(lines) + "\n"
