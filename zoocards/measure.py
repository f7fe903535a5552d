"""Stage 3: re-run what the cards claim, in persistent worker processes, and keep the results.

Planning. One `Job` per record to produce: (model, kind) for `count`, `export` and
`accuracy`, and (model, "latency", target) for every place a model is timed (see
`latency_targets`). Each job is keyed by a hash of every input that can change its result;
a job whose stored record has the same key is current and skipped.

Running. The stale jobs of a model form one `ModelJob`: the network is built once and runs
count -> sane init -> export -> ONNX check, and the latency targets are timed on that same
export (no rebuild, no re-export). When only some kinds of a model are stale, only those run
(a stale latency still exports, without checking or touching the export record). Jobs that
would repeat another job's computation (the same architecture under two names: `twins`) run
once, and the twin gets a copy of the record naming the run (`same_run_as`).
`WorkerPool` keeps `parallel` worker processes (`python -m zoocards.workers.serve`), each
importing paddle once and serving many models. Builds, counts, exports and checks run side by
side; a model's exported files then wait in a spool directory, and timings run alone on the
machine, in batches: when the spool holds `SPOOL_MODELS` models or `SPOOL_BYTES` bytes, or no
other work is left, the pool stops handing out models and times the spooled exports one
after another. The running model jobs do not hold the quiet period up: as soon as one worker
slot is free (its worker idle, or retired after a big model), the others are paused (SIGSTOP
to their process groups; their stage clocks stop too) until the spool is timed, then resumed
(SIGCONT). Waiting for them instead left a core idle; with pausing, a cold run of the zoo
spent 2% of its worker-slot seconds idle (`RunStats.slots_s`). Files a worker writes and reads straight back
(jit.save's program and weights, the ONNX file, the spool) go to a directory in RAM (`/dev/shm`)
where the host has one: on this host writing a 178 MB ONNX file to disk took 2.8-3 s, to
/dev/shm 0.1 s. The spool in RAM holds at most `RAM_SPOOL_SHARE` of the memory, and a model too
big for RAM is written to disk (`zoocards.workers.common.scratch_dir`). A crash, a hang (a stage overrunning its
timeout) or running out of memory (RLIMIT_AS) fails only the model it hit: its worker's
process group is killed and the next model gets a fresh worker.

Storing. `measurements/<card id>.json` is written atomically with stable ordering after every
record. Paddle is never imported here: package versions come from importlib.metadata.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zoocards import compare, hardware, units, write
from zoocards.errors import CardError, ZoocardsError
from zoocards.load import Card, card_paths, load_file
from zoocards.lock import project_lock
from zoocards.workers.common import RAM_DIR_ENV, THREADS_ENV, host_info, memory_bytes, package_versions, usable_cores, utc_now
from zoocards.workers.count import needs_other_sizes

SCHEMA_VERSION = 1
KINDS = ("count", "export", "accuracy", "latency")
# Versions that decide what a measurement means (the spec of issue 3), read without importing.
KEY_PACKAGES = ("paddlepaddle", "paddle2onnx", "onnxruntime", "paddleclas")
# Bumped when a worker changes what it measures, so old records become stale.
# count 2: params_by_kind, macs_extra, macs_at; export 2: sane initialisation and bisection;
# latency 2: one record per target, the statistics of zoocards.workers.latency;
# count 3: a network whose forward pass raises still has its parameters counted (`forward_failed`);
# export 3: lazy builds, so the parameters sane_init leaves alone come from their own initialisers.
WORKER_VERSION = {"count": 3, "export": 3, "latency": 2, "accuracy": 1}
# Seconds a stage may run before its worker's process group is killed (`--timeout` sets them
# all). A ViT-L/16 at 384 takes ~30 s to build and ~70 s to export here, three times that
# on a busy host; `start` covers importing paddle.
DEFAULT_TIMEOUT_S = {"start": 300.0, "build": 900.0, "count": 900.0, "export": 1800.0, "check": 900.0, "latency": 1200.0, "accuracy": 3600.0}
# Address-space limit per worker. paddle maps a few GB of virtual memory before it
# computes anything; 12 GB leaves room for two 300M-parameter exports side by side on a
# 24 GB machine.
DEFAULT_MEMORY_MB = 12288
# A worker whose resident memory passed this after a model is replaced by a fresh one:
# allocators keep what the biggest model needed, and the next one may be bigger still.
RECYCLE_RSS_MB = 5000
# glibc's allocator in a worker keeps the memory a model freed for the next one (no mmap for big
# blocks, no trimming of the heap's top), instead of handing it back to the kernel. On a virtual
# machine whose balloon driver reports free memory to the host (this one: virtio_balloon, free
# page reporting), memory handed back is taken away seconds later, and touching it again costs
# the host's page faults: here 1.2-1.9 s per GB against 0.2 s for memory kept, and a model job
# frees and touches its weights, its ONNX file and its tensors several times. On resnet+dla (29
# models) the model jobs took 10% fewer worker-seconds with it (143 and 132 s against 126 and 122 s).
# A worker is still replaced once its resident memory passes RECYCLE_RSS_MB, which now also
# bounds what it keeps. A GLIBC_TUNABLES already set is left as it is.
WORKER_MALLOC = "glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=68719476736"
# The spool of exports waiting to be timed (see the module docstring): timings start when it
# holds this many models or bytes, so that each quiet period serves many timings.
SPOOL_MODELS = 40
SPOOL_BYTES = 6 * 1024**3
# The RAM file systems a run may keep its files in, and the share of the memory its spool may
# take there (the workers need the rest). ZOOCARDS_SCRATCH=disk keeps everything on disk.
RAM_DIRS = (Path("/dev/shm"),)
RAM_SPOOL_SHARE = 0.2
# Seconds each kind usually takes, for the first ETA before any record says better.
TYPICAL_S = {"count": 4.0, "export": 15.0, "accuracy": 60.0, "latency": 8.0}
# Latency method (zoocards.workers.latency): warm-up runs, then timed runs for `budget_s`
# seconds per batch size, at least `min_repeats`, at most `max_repeats`. The figures and the
# arithmetic that chose them: ARCHITECTURE.md, "Measurements".
LATENCY_BUDGET = {"warmup": 2, "budget_s": 1.0, "min_repeats": 3, "max_repeats": 200}
# Every model with a builder is timed at batch 1 on this host's CPU with onnxruntime (the claims'
# own targets come on top, where this host has their hardware). The cards of BOTH_RUNTIMES_CARDS
# (the seed zoo, whose two runtimes the issue-16 report compares) are timed with Paddle
# Inference (oneDNN) as well: for the whole zoo, building its predictor (optimisation passes,
# 0.2-28 s a model here) would cost more than the 45-minute budget of a cold verification holds.
BASELINE_RUNTIMES = (("onnxruntime", "cpu"),)
SECOND_RUNTIME = ("paddle-inference", "onednn")
BOTH_RUNTIMES_CARDS = frozenset({"digits-demo", "fasternet", "mixnet", "others", "regnet"})
# Runtimes zoocards.workers.latency can drive, and the provider a claim means when it names none.
DEFAULT_PROVIDER = {("onnxruntime", "cpu"): "cpu", ("onnxruntime", "gpu"): "cuda", ("paddle-inference", "cpu"): "onednn", ("paddle-inference", "gpu"): "cuda"}
# What identifies a latency record besides its model: where and how it ran. The runtime's
# version is recorded but is not part of it: a re-run with a newer version replaces the record.
TARGET_IDENTITY = ("hardware", "hardware_kind", "runtime", "provider", "precision", "threads")
# Failure texts that mean the process ran out of memory (RLIMIT_AS makes allocations fail).
_OUT_OF_MEMORY = re.compile(r"MemoryError|bad_alloc|Cannot allocate memory|ResourceExhausted|out of memory", re.IGNORECASE)
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass
class Job:
    """One record to produce: its identity, the inputs it is keyed by, what the worker reads."""

    card: str
    model: str
    kind: str
    inputs: dict[str, Any]
    payload: dict[str, Any] = field(default_factory=dict)
    target: dict[str, Any] | None = None
    # A baseline CPU timing: any CPU host's current record of the same runtime answers it,
    # so a CI runner with another CPU does not re-time the whole zoo (see `is_current`).
    baseline: bool = False

    @property
    def key(self) -> str:
        return _sha256_json(self.inputs)

    @property
    def reuse_key(self) -> str:
        """The key without where it ran: equal for the same timing made on another host."""
        return _sha256_json({k: v for k, v in self.inputs.items() if k != "target"})

    @property
    def identity(self) -> tuple[Any, ...]:
        return record_identity({"model": self.model, "kind": self.kind, "target": self.target})

    @property
    def label(self) -> str:
        if self.target is None:
            return f"{self.model} {self.kind}"
        return f"{self.model} latency ({target_label(self.target)})"


def record_identity(record: dict[str, Any]) -> tuple[Any, ...]:
    """(model, kind) of a record, plus where it ran for a latency record (see TARGET_IDENTITY)."""
    if record["kind"] != "latency":
        return (record["model"], record["kind"])
    target = record.get("target") or {}
    return (record["model"], "latency", *(target.get(k) for k in TARGET_IDENTITY))


def target_label(target: dict[str, Any]) -> str:
    """`amd-epyc onnxruntime/cpu FP32 2 threads`."""
    threads = f" {target['threads']} threads" if target.get("threads") else ""
    return f"{target['hardware']} {target['runtime']}/{target['provider']} {target['precision']}{threads}"


def _sort_key(record: dict[str, Any]) -> tuple[str, str, str]:
    return (record["model"], record["kind"], json.dumps([str(x) for x in record_identity(record)[2:]]))


def _sha256_json(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def host_fingerprint() -> dict[str, Any]:
    """This machine as latency figures depend on it (CPU, cores, OS, RAM, GPUs); no paddle import."""
    return host_info()


def _builder_identity(builder: str, root: Path) -> dict[str, Any]:
    """What fixes a builder's architecture: the paddleclas version, or the module's source hash."""
    module = builder.partition(":")[0]
    if module.split(".")[0] == "ppcls":
        return {"builder": builder}  # the paddleclas version in the key covers it
    relative = Path(*module.split("."))
    for base in [root, *map(Path, sys.path)]:
        for candidate in (base / relative.with_suffix(".py"), base / relative / "__init__.py"):
            if candidate.is_file():
                return {"builder": builder, "builder_sha256": _sha256_file(candidate)}
    return {"builder": builder, "builder_sha256": None}


def runtime_version(runtime: str) -> str | None:
    """The installed version of a runtime (its CPU or GPU distribution), read without importing it."""
    names = {"onnxruntime": ("onnxruntime", "onnxruntime-gpu"), "paddle-inference": ("paddlepaddle", "paddlepaddle-gpu")}.get(runtime, ())
    found = package_versions(tuple(names))
    return next((version for version in found.values() if version), None)


def latency_targets(card: Card, model: str, devices: list[dict[str, str]], only: str | None = None) -> list[tuple[dict[str, Any], list[int], bool]]:
    """(target, batch sizes, baseline?) for every timing of `model` this host should make.

    Baseline: batch 1 on this host's CPU with each of BASELINE_RUNTIMES (and SECOND_RUNTIME for
    the cards of BOTH_RUNTIMES_CARDS), every core pinned.
    Claims (hardware.claim_targets): each claim whose hardware this host has and whose runtime
    zoocards can drive, at the claimed provider (the runtime's usual one when none is named),
    precision, threads and batch size; claims of one target share a record. `only` (a
    hardware name or id) keeps the targets on that hardware, none of them a baseline.
    """
    cores = usable_cores()
    groups: dict[tuple[Any, ...], tuple[dict[str, Any], set[int], bool]] = {}

    def add(target: dict[str, Any], batch: int, baseline: bool) -> None:
        ident = tuple(target.get(k) for k in TARGET_IDENTITY)
        known = groups.get(ident)
        if known is None:
            groups[ident] = (target, {batch}, baseline)
        else:
            known[1].add(batch)
            groups[ident] = (known[0], known[1], known[2] and baseline)

    runtimes = [*BASELINE_RUNTIMES, SECOND_RUNTIME] if card.id in BOTH_RUNTIMES_CARDS else list(BASELINE_RUNTIMES)
    for cpu in (d for d in devices if d["kind"] == "cpu"):
        for runtime, provider in runtimes:
            add(_target(cpu, runtime, provider, "FP32", cores), 1, True)
    for claim in hardware.claim_targets(card):
        if claim.model != model or claim.runtime is None or not hardware.runnable(claim, devices):
            continue
        kind = "cpu" if claim.hardware_kind == "cpu" else "gpu"
        chosen = claim.provider or DEFAULT_PROVIDER.get((claim.runtime, kind))
        if (claim.runtime, kind) not in DEFAULT_PROVIDER or chosen is None:
            continue  # a runtime zoocards cannot drive: the claim stays not_run, saying so
        device = next(d for d in devices if d["id"] == claim.hardware_id and d["kind"] == claim.hardware_kind)
        threads = claim.threads or (cores if kind == "cpu" else None)
        add(_target(device, claim.runtime, chosen, claim.precision or "FP32", threads), claim.batch_size, False)
    out = [(target, sorted(batches), baseline) for target, batches, baseline in groups.values()]
    if only is not None:
        wanted = hardware.normalise(only)
        out = [(target, batches, False) for target, batches, _ in out if target["hardware"] == wanted]
    return out


def _target(device: dict[str, str], runtime: str, provider: str, precision: str, threads: int | None) -> dict[str, Any]:
    return {"hardware": device["id"], "hardware_name": device["name"], "hardware_kind": device["kind"], "runtime": runtime,
            "runtime_version": runtime_version(runtime), "provider": provider, "precision": precision, "threads": threads}


def claimed_flops(card: Card, model: dict[str, Any]) -> float | None:
    """The card's compute claim for a model as a plain count in its own convention (for `macs_at`)."""
    value = model.get("metrics", {}).get("flops")
    if value is None:
        return None
    scale = units.model_metric_unit(card.data["units"], "flops")
    return float(units.as_decimal(card.raw_number(("models", card.data["models"].index(model), "metrics", "flops")) or str(value)).scaleb(units.EXPONENT[scale]))


def batch_sizes(card: Card) -> list[int]:
    """Batch sizes the card's benchmark columns mention, [1] when none do."""
    sizes = {int(c["batch_size"]) for b in card.data.get("benchmarks", []) for c in b["columns"] if c.get("batch_size") is not None}
    return sorted(sizes) or [1]


def find_weights(name: str, root: Path) -> Path | None:
    """A model's weights file: in ZOOCARDS_WEIGHTS_DIR, else relative to the repository."""
    candidates = []
    if os.environ.get("ZOOCARDS_WEIGHTS_DIR"):
        candidates.append(Path(os.environ["ZOOCARDS_WEIGHTS_DIR"]) / name)
    candidates.append(root / name)
    return next((c.resolve() for c in candidates if c.is_file()), None)


def find_dataset(card: Card, root: Path) -> Path | None:
    """The card's evaluation data: `demo/<card id>/` when the repository ships one, else ZOOCARDS_DATA_DIR."""
    demo = root / "demo" / card.id
    if (demo / "val_list.txt").is_file():
        return demo.resolve()
    if os.environ.get("ZOOCARDS_DATA_DIR"):
        data = Path(os.environ["ZOOCARDS_DATA_DIR"])
        if (data / "val_list.txt").is_file():
            return data.resolve()
    return None


def _dataset_identity(data_dir: Path) -> dict[str, Any]:
    """The list file's hash plus the images' total size: cheap enough for 50,000 images."""
    list_file = data_dir / "val_list.txt"
    lines = [line.rsplit(maxsplit=1)[0] for line in list_file.read_text(encoding="utf-8").splitlines() if line.strip()]
    total = sum((data_dir / rel).stat().st_size for rel in lines if (data_dir / rel).is_file())
    return {"list_sha256": _sha256_file(list_file), "images": len(lines), "bytes": total}


def plan(cards: list[Card], root: Path, *, only_hardware: str | None = None, devices: list[dict[str, str]] | None = None) -> list[Job]:
    """Every job the cards call for on this machine, in a stable order (`only_hardware`: its latency jobs only)."""
    versions = package_versions(KEY_PACKAGES)
    devices = hardware.this_host() if devices is None else devices
    jobs: list[Job] = []
    for card in cards:
        for model in card.data["models"]:
            if not model.get("builder"):
                continue  # nothing to build: every figure of the model is "not re-run"
            evaluation = dict(model.get("eval") or {})
            base = {
                **_builder_identity(model["builder"], root),
                "input_size": int(model["input_size"]),
                "channels": int(evaluation.get("channels", 3)),
                "versions": versions,
            }
            payload = {"builder": model["builder"], "input_size": int(model["input_size"]), "channels": base["channels"]}
            if only_hardware is None:
                count_job = Job(card.id, model["name"], "count", {"kind": "count", "worker": WORKER_VERSION["count"], **base}, {**payload, "claimed_flops": claimed_flops(card, model)})
                export_job = Job(card.id, model["name"], "export", {"kind": "export", "worker": WORKER_VERSION["export"], **base}, dict(payload))
                jobs.extend([count_job, export_job])
            for target, batches, baseline in latency_targets(card, model["name"], devices, only_hardware):
                inputs = {"kind": "latency", "worker": WORKER_VERSION["latency"], **base, "batches": batches, "budget": LATENCY_BUDGET, "target": target}
                jobs.append(Job(card.id, model["name"], "latency", inputs, {**payload, "batches": batches, "budget": LATENCY_BUDGET, "target": target}, target, baseline))
            weights = find_weights(model["weights"], root) if model.get("weights") else None
            data_dir = find_dataset(card, root) if only_hardware is None else None
            if weights and data_dir:
                accuracy_inputs = {
                    "kind": "accuracy",
                    "worker": WORKER_VERSION["accuracy"],
                    **base,
                    "eval": evaluation,
                    "weights_sha256": _sha256_file(weights),
                    "dataset": _dataset_identity(data_dir),
                }
                jobs.append(Job(card.id, model["name"], "accuracy", accuracy_inputs, {**payload, "eval": evaluation, "weights": str(weights), "data_dir": str(data_dir)}))
    return jobs


def in_shard(card: str, model: str, shard: tuple[int, int]) -> bool:
    """Whether (card, model) belongs to shard i of n (1-based); stable across machines."""
    index, count = shard
    digest = int(hashlib.sha256(f"{card}\0{model}".encode("utf-8")).hexdigest(), 16)
    return digest % count == index - 1


def is_current(job: Job, records: list[dict[str, Any]]) -> bool:
    """Whether a card's stored records answer a job.

    The record of the job's identity must carry the job's key. A count record must also
    carry `macs_at` when the card's compute claim is off the count by more than 5% (so a
    claim edited off the count re-counts at other sizes). A baseline CPU timing is also
    answered by a current record of the same runtime, provider and precision from another
    CPU host.
    """
    mine = next((r for r in records if record_identity(r) == job.identity), None)
    if mine is not None and mine.get("key") == job.key:
        if job.kind == "count" and mine.get("status") == "ok":
            result = mine.get("result") or {}
            return "macs_at" in result or not needs_other_sizes(job.payload.get("claimed_flops"), int(result.get("macs") or 0))
        return True
    if job.baseline and job.target is not None:
        same = ("hardware_kind", "runtime", "provider", "precision")
        return any(r["kind"] == "latency" and r["model"] == job.model and r.get("reuse_key") == job.reuse_key
                   and all((r.get("target") or {}).get(k) == job.target[k] for k in same) for r in records)
    return False


# --- running ----------------------------------------------------------------------------


@dataclass
class ModelJob:
    """The stale jobs of one model, run by one worker on one build (and one timing task)."""

    card: str
    model: str
    parts: list[Job]
    spool: Path | None = None  # where a model task leaves the exported files for timing
    spool_ready: bool = False
    spool_bytes: int = 0
    answered: set[int] = field(default_factory=set)
    started: float = 0.0

    @property
    def timed(self) -> list[int]:
        return [i for i, job in enumerate(self.parts) if job.kind == "latency"]

    def message(self, op: str, task_id: int) -> dict[str, Any]:
        """The JSON line a worker reads for this model's `op` ("model" or "time")."""
        wanted = [i for i in (self.timed if op == "time" else range(len(self.parts))) if i not in self.answered]
        first = self.parts[wanted[0]] if wanted else self.parts[0]
        return {**first.payload, "op": op, "id": task_id, "model": self.model, "dir": str(self.spool) if self.spool else None,
                "parts": [{**self.parts[i].payload, "part": i, "kind": self.parts[i].kind} for i in wanted]}


def twins(jobs: list[Job]) -> tuple[list[Job], dict[int, list[Job]]]:
    """The jobs to run, and for each (by `id`) the later jobs that would compute the same record.

    Two models of one architecture at one input size (ResNet50_vd and ResNet50_vd_ssld, a
    Swin and its 22k-to-1k fine-tune) differ only in trained weights, which counting, the
    export check and timing never load: their jobs have equal keys and payloads, and the
    second would repeat the first bit for bit (seeded weights). The first runs; each twin gets
    a copy of its record that names it (`same_run_as`). Accuracy jobs load weights and always run.
    """
    first: dict[str, Job] = {}
    run: list[Job] = []
    copies: dict[int, list[Job]] = {}
    for job in jobs:
        leader = job if job.kind == "accuracy" else first.setdefault(_sha256_json({"key": job.key, "payload": job.payload}), job)
        if leader is job:
            run.append(job)
        else:
            copies.setdefault(id(leader), []).append(job)
    return run, copies


def twin_record(record: dict[str, Any], leader: Job, twin: Job) -> dict[str, Any]:
    """`twin`'s copy of the record `leader`'s run produced (see `twins`); it cost nothing, so its duration is 0."""
    return {**record, "model": twin.model, "key": twin.key, "inputs": twin.inputs, "duration_s": 0.0,
            "same_run_as": {"card": leader.card, "model": leader.model}}


def group_jobs(jobs: list[Job]) -> list[ModelJob]:
    """The jobs of each (card, model) together, in the order their models first appear."""
    groups: dict[tuple[str, str], ModelJob] = {}
    for job in jobs:
        groups.setdefault((job.card, job.model), ModelJob(job.card, job.model, [])).parts.append(job)
    return list(groups.values())


def _is_ram(path: Path) -> bool:
    """Whether `path` is the mount point of a tmpfs (from /proc/mounts)."""
    try:
        mounts = Path("/proc/mounts").read_text(encoding="utf-8").splitlines()
    except OSError:
        return False
    return any(fields[1] == str(path) and fields[2] == "tmpfs" for fields in (line.split() for line in mounts) if len(fields) > 2)


def ram_scratch() -> Path | None:
    """A new directory in RAM for one run's files (see the module docstring), None when the host has no tmpfs or ZOOCARDS_SCRATCH=disk."""
    if os.environ.get("ZOOCARDS_SCRATCH", "").lower() == "disk":
        return None
    for directory in RAM_DIRS:
        if directory.is_dir() and os.access(directory, os.W_OK) and _is_ram(directory):
            _remove_orphans(directory)
            try:
                return Path(tempfile.mkdtemp(prefix=f"zoocards-run-{os.getpid()}-", dir=directory))
            except OSError:
                continue
    return None


def _remove_orphans(directory: Path) -> None:
    """Remove the RAM directories of runs whose process is gone (killed before its cleanup ran): they would hold RAM until a reboot."""
    for path in directory.glob("zoocards-run-*-*"):
        pid = path.name.split("-")[2]
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(path, ignore_errors=True)
        except PermissionError:
            pass  # another user's live process


def _limit_memory(memory_mb: int | None) -> Callable[[], None] | None:
    if not memory_mb:
        return None
    limit = memory_mb * 1024 * 1024

    def apply() -> None:  # runs in the child between fork and exec
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return apply


def _last_line(lines: Iterable[str]) -> str:
    """The last error line among `lines` (paddle2onnx ends its "[ERROR] ..." with a lone ".": the
    error is the line that says so), else the last non-empty line."""
    cleaned = [_ANSI.sub("", line).strip() for line in lines]
    cleaned = [line for line in cleaned if line and line != "."]
    logged = [line for line in cleaned if "[ERROR]" in line]  # what paddle2onnx says before it aborts
    errors = [line for line in cleaned if "Error" in line]
    return (logged or errors or cleaned or [""])[-1]


def worker_env(root: Path, threads: int | None = None, scratch: Path | None = None) -> dict[str, str]:
    """The environment of a worker process: import paths, its share of the cores, its RAM directory, its allocator."""
    # The card's repository first (builders such as zoocards.demo or tests.*), then this package's.
    path = [str(root), str(Path(__file__).resolve().parent.parent), os.environ.get("PYTHONPATH")]
    env = {**os.environ, "POLYGRAPHY_AUTOINSTALL_DEPS": "0", "PYTHONPATH": os.pathsep.join(filter(None, path))}
    if threads:
        # Its share of the cores for builds, counts, exports and checks (a timing sets its own).
        env[THREADS_ENV] = str(threads)
        env.setdefault("OMP_NUM_THREADS", str(threads))
    if scratch is not None:
        env[RAM_DIR_ENV] = str(scratch)
    # Idle OpenMP threads (Paddle's oneDNN) sleep instead of spinning: on a shared host spinning
    # threads fight other processes for the cores and double the timings (see zoocards.workers.latency).
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    env.setdefault("GLIBC_TUNABLES", WORKER_MALLOC)
    return env


class Worker:
    """One `zoocards.workers.serve` process: its pipes, the task it runs and that task's deadline."""

    def __init__(self, number: int, root: Path, memory_mb: int | None, events: "queue.Queue[tuple[Worker, dict[str, Any] | None]]",
                 threads: int | None = None, scratch: Path | None = None) -> None:
        env = worker_env(root, threads, scratch)
        self.number = number
        self.memory_mb = memory_mb
        self.stderr: deque[str] = deque(maxlen=60)
        self.ready = False
        self.task: tuple[str, ModelJob, int] | None = None  # (op, model job, task id)
        self.stage = "start"
        self.deadline = time.monotonic() + DEFAULT_TIMEOUT_S["start"]
        self.limit_s = DEFAULT_TIMEOUT_S["start"]
        self.rss_mb = 0.0
        self.paused_at: float | None = None
        # The running job's stage clocks so far (its last stage event) and when its current stage
        # started, less pauses: what a worker killed in that stage never reports with `done`.
        self.clocks: dict[str, dict[str, float]] = {}
        self.stage_started = 0.0
        self.process = subprocess.Popen(
            [sys.executable, "-m", "zoocards.workers.serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            cwd=root, env=env, start_new_session=True, preexec_fn=_limit_memory(memory_mb),
        )
        threading.Thread(target=self._read_events, args=(events,), daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    def _read_events(self, events: "queue.Queue[tuple[Worker, dict[str, Any] | None]]") -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            try:
                events.put((self, json.loads(raw)))
            except ValueError:
                self.stderr.append(raw.decode("utf-8", "replace"))
        events.put((self, None))  # the process closed its events: it ended

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        for raw in self.process.stderr:
            self.stderr.append(raw.decode("utf-8", "replace"))

    def send(self, message: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        if message.get("op") in ("model", "time"):
            self.stderr.clear()
        self.process.stdin.write((json.dumps(message) + "\n").encode("utf-8"))
        self.process.stdin.flush()

    def pause(self) -> None:
        """Stop the worker's process group (SIGSTOP) while the timings run alone; its deadline waits too."""
        self.paused_at = time.monotonic()
        try:
            os.killpg(self.process.pid, signal.SIGSTOP)
        except ProcessLookupError:
            pass

    def resume(self) -> float:
        """Let a paused worker go on (SIGCONT), its deadline moved by the pause; returns the seconds it was paused."""
        if self.paused_at is None:
            return 0.0
        paused = time.monotonic() - self.paused_at
        self.paused_at = None
        self.deadline += paused
        self.stage_started += paused
        try:
            os.killpg(self.process.pid, signal.SIGCONT)
        except ProcessLookupError:
            pass
        return paused

    def kill(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGKILL)  # the worker's own children (if any) too
        except ProcessLookupError:
            pass

    def close(self) -> None:
        """Let the worker finish its loop (stdin closed), killing it if it does not."""
        try:
            if self.process.stdin is not None:
                self.process.stdin.close()
            self.process.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            self.kill()
            self.process.wait()

    def death_reason(self) -> str:
        """Why the process ended, from its exit status and the last thing it wrote on stderr."""
        code = self.process.wait()
        # Only what the worker wrote for its current model (`send` clears the rest), and only its
        # end: an earlier model's message must not name this death.
        tail = list(self.stderr)[-40:]
        text = "".join(tail)
        last = _last_line(tail)
        if self.memory_mb and (code == -signal.SIGKILL or _OUT_OF_MEMORY.search(text)):
            return f"killed: out of memory (limit {self.memory_mb} MB)"
        if code < 0:
            return f"killed by signal {signal.Signals(-code).name}" + (f": {last}" if last else "")
        return last or f"the worker exited with status {code}"


@dataclass
class RunStats:
    """Where a run's time went: wall and CPU seconds per stage, each model's wall time, the biggest worker."""

    stages: dict[str, dict[str, float]] = field(default_factory=dict)
    per_model_s: dict[str, float] = field(default_factory=dict)
    peak_rss_mb: float = 0.0
    side_by_side_s: float = 0.0
    alone_s: float = 0.0
    workers_started: int = 0
    paused_s: float = 0.0  # model jobs' seconds stopped while the timings ran (in their stages' wall seconds)
    # Worker-seconds by what the worker slots did (slots = `parallel`): a model job running, a
    # timing running, or nothing (a slot with no worker, a worker starting, one waiting for work).
    slots_s: dict[str, float] = field(default_factory=dict)
    # Wall seconds of the stages workers were killed in (a crash, a timeout, the memory limit), from
    # the stage's start to the kill, less pauses; the stages they finished are in `stages`.
    killed_s: dict[str, float] = field(default_factory=dict)

    def add_slots(self, seconds: float, models: int, timings: int, starting: int, slots: int) -> None:
        for name, count in (("model", models), ("timing", timings), ("starting", starting), ("idle", max(0, slots - models - timings - starting))):
            self.slots_s[name] = self.slots_s.get(name, 0.0) + seconds * count

    def add_stages(self, stages: dict[str, dict[str, float]]) -> None:
        for name, spent in stages.items():
            mine = self.stages.setdefault(name, {"wall_s": 0.0, "cpu_s": 0.0, "count": 0})
            mine["wall_s"] += spent.get("wall_s", 0.0)
            mine["cpu_s"] += spent.get("cpu_s", 0.0)
            mine["count"] += 1


class Progress:
    """`[7/26] regnet: RegNetX_4GF count, export, latency ×2 … 1m20s left` on stderr, the ETA from earlier durations."""

    def __init__(self, groups: list[ModelJob], estimates: dict[str, float], parallel: int) -> None:
        self.total = len(groups)
        self.parallel = max(1, parallel)
        self.started = 0
        self.left = {id(job): estimates.get(f"{job.card}/{job.model}/{job.kind}", TYPICAL_S[job.kind]) for group in groups for job in group.parts}
        self.alone = {id(job) for group in groups for job in group.parts if job.kind == "latency"}

    def eta(self) -> float:
        return sum(s if key in self.alone else s / self.parallel for key, s in self.left.items())

    def start(self, group: ModelJob) -> None:
        self.started += 1
        kinds: dict[str, int] = {}
        for job in group.parts:
            kinds[job.kind] = kinds.get(job.kind, 0) + 1
        what = ", ".join(kind if n == 1 else f"{kind} ×{n}" for kind, n in kinds.items())
        print(f"[{self.started}/{self.total}] {group.card}: {group.model} {what} … {_duration(self.eta())} left", file=sys.stderr, flush=True)

    def finish(self, job: Job, record: dict[str, Any]) -> None:
        self.left.pop(id(job), None)
        if record["status"] == "failed":
            print(f"    {job.card}: {job.label} failed: {record['reason']}", file=sys.stderr, flush=True)


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


class WorkerPool:
    """Runs model jobs on `parallel` persistent workers and their timings alone (see the module docstring)."""

    def __init__(self, groups: list[ModelJob], root: Path, *, timeout_s: float | None, memory_mb: int | None, parallel: int,
                 progress: Progress, on_record: Callable[[Job, dict[str, Any]], None], stats: RunStats) -> None:
        self.root = root
        self.timeout_s = timeout_s
        self.memory_mb = memory_mb
        self.parallel = max(1, parallel)
        self.progress = progress
        self.on_record = on_record
        self.stats = stats
        self.events: queue.Queue[tuple[Worker, dict[str, Any] | None]] = queue.Queue()
        self.workers: list[Worker] = []
        self.scratch = ram_scratch()
        self.spool_root = Path(tempfile.mkdtemp(prefix="zoocards-spool-", dir=self.scratch))
        total = memory_bytes()
        self.spool_limit = SPOOL_BYTES if self.scratch is None or not total else min(SPOOL_BYTES, int(RAM_SPOOL_SHARE * total))
        self.models: deque[ModelJob] = deque()
        self.timings: deque[ModelJob] = deque()
        self.spool_bytes = 0
        self.timing_mode = False
        self.task_ids = 0
        for group in groups:
            if all(job.kind == "latency" and job.payload.get("onnx") for job in group.parts):
                self.timings.append(group)  # an ONNX file to time as it is: nothing to build
            else:
                self.models.append(group)

    # -- records ----------------------------------------------------------------------

    def _record(self, group: ModelJob, index: int, status: str, reason: str | None, result: dict[str, Any] | None, duration_s: float, env: dict[str, Any] | None) -> None:
        if index in group.answered:
            return
        group.answered.add(index)
        job = group.parts[index]
        record: dict[str, Any] = {"model": job.model, "kind": job.kind, "key": job.key, "inputs": job.inputs, "status": status, "reason": reason,
                                  "result": result, "measured_at": utc_now(), "duration_s": round(duration_s, 1), "env": env}
        if job.kind == "latency":
            record["target"] = job.target
            record["reuse_key"] = job.reuse_key
        self.progress.finish(job, record)
        self.on_record(job, record)

    def _fail_rest(self, op: str, group: ModelJob, reason: str) -> None:
        """Every part the ended task still owed fails with `reason` (its timings too, unless its files wait in the spool)."""
        owed = group.timed if op == "time" else [i for i in range(len(group.parts)) if not (group.spool_ready and i in group.timed)]
        for index in owed:
            self._record(group, index, "failed", reason, None, 0.0, None)

    # -- workers ------------------------------------------------------------------------

    def _spawn(self) -> Worker:
        share = max(1, usable_cores() // self.parallel)
        worker = Worker(len(self.workers) + self.stats.workers_started, self.root, self.memory_mb, self.events, share, self.scratch)
        self.stats.workers_started += 1
        self.workers.append(worker)
        return worker

    def _dispatch(self, op: str, group: ModelJob) -> None:
        worker = next((w for w in self.workers if w.task is None and w.paused_at is None), None) or self._spawn()
        self.task_ids += 1
        if op == "model":
            group.spool = self.spool_root / str(self.task_ids)
            group.started = time.monotonic()
            self.progress.start(group)
        worker.task = (op, group, self.task_ids)
        if worker.ready:
            worker.stage, worker.limit_s = "dispatch", DEFAULT_TIMEOUT_S["start"]
            worker.deadline = time.monotonic() + worker.limit_s
        try:
            worker.send(group.message(op, self.task_ids))
        except OSError:
            pass  # the worker died meanwhile: its end event fails the task

    def _retire(self, worker: Worker) -> None:
        self.workers.remove(worker)
        worker.close()

    def _ended(self, worker: Worker, reason: str | None = None) -> None:
        """A worker died, was killed or hit its limit: fail what it owed, forget it."""
        if worker in self.workers:
            self.workers.remove(worker)
        worker.kill()
        why = reason or worker.death_reason()
        if worker.task is not None:
            self.stats.add_stages(worker.clocks)
            if worker.stage not in ("start", "dispatch"):
                self.stats.killed_s[worker.stage] = self.stats.killed_s.get(worker.stage, 0.0) + time.monotonic() - worker.stage_started
            op, group, _ = worker.task
            worker.task = None
            self._fail_rest(op, group, why)
            self._finish_task(op, group)

    def _finish_task(self, op: str, group: ModelJob) -> None:
        if op == "model":
            self.stats.per_model_s[f"{group.card}/{group.model}"] = time.monotonic() - group.started
            if group.spool_ready and any(i not in group.answered for i in group.timed):
                self.timings.append(group)
                return
        else:
            self.stats.per_model_s[f"{group.card}/{group.model}"] = self.stats.per_model_s.get(f"{group.card}/{group.model}", 0.0) + time.monotonic() - group.started
        if group.spool is not None:
            self.spool_bytes -= group.spool_bytes
            shutil.rmtree(group.spool, ignore_errors=True)

    # -- events -------------------------------------------------------------------------

    def _handle(self, worker: Worker, event: dict[str, Any] | None) -> None:
        if event is None:
            if worker in self.workers:
                self._ended(worker)
            return
        kind = event.get("event")
        if kind == "ready":
            worker.ready = True
            worker.rss_mb = float(event.get("rss_mb") or 0)
            worker.stage, worker.limit_s = "dispatch", DEFAULT_TIMEOUT_S["start"]
            worker.deadline = time.monotonic() + worker.limit_s
            return
        if worker.task is None:
            return
        op, group, task_id = worker.task
        if event.get("id") != task_id:
            return
        if kind == "stage":
            if worker.stage in ("start", "dispatch") and op == "model":
                group.started = time.monotonic()  # a model's time starts with its first stage, not with a worker's start
            worker.stage = str(event["stage"])
            worker.clocks, worker.stage_started = event.get("stages") or {}, time.monotonic()
            worker.limit_s = self.timeout_s or DEFAULT_TIMEOUT_S.get(worker.stage, DEFAULT_TIMEOUT_S["export"])
            worker.deadline = time.monotonic() + worker.limit_s
        elif kind == "result":
            self._record(group, int(event["part"]), event["status"], event.get("reason"), event.get("result"), float(event.get("duration_s") or 0), event.get("env"))
        elif kind == "spooled":
            group.spool_ready = True
            group.spool_bytes = int(event.get("bytes") or 0)
            self.spool_bytes += group.spool_bytes
        elif kind == "oom":
            self._ended(worker, f"out of memory (limit {self.memory_mb} MB)" if self.memory_mb else "out of memory")
        elif kind == "done":
            if worker.paused_at is not None:  # it finished just before its pause: nothing to hold
                self.stats.paused_s += worker.resume()
            self.stats.add_stages(event.get("stages") or {})
            worker.clocks = {}
            worker.rss_mb = float(event.get("rss_mb") or 0)
            self.stats.peak_rss_mb = max(self.stats.peak_rss_mb, worker.rss_mb)
            worker.task = None
            self._fail_rest(op, group, "the worker answered nothing for this measurement")
            self._finish_task(op, group)
            if worker.rss_mb > RECYCLE_RSS_MB:
                self._retire(worker)

    # -- the loop -----------------------------------------------------------------------

    def _busy(self) -> list[Worker]:
        return [w for w in self.workers if w.task is not None]

    def _running(self) -> list[Worker]:
        """Busy workers that are not paused: the ones whose deadlines run."""
        return [w for w in self._busy() if w.paused_at is None]

    def _slot_state(self) -> tuple[int, int, int]:
        """(model jobs running, timing slots, workers starting) now; a timing runs alone, so it fills every slot."""
        running = self._running()
        if any(w.task is not None and w.task[0] == "time" for w in running):
            return 0, self.parallel, 0
        starting = sum(1 for w in running if not w.ready)
        return min(self.parallel, len(running) - starting), 0, starting

    def _resume_all(self) -> None:
        for worker in self.workers:
            if worker.paused_at is not None:
                paused = worker.resume()
                self.stats.paused_s += paused
                if worker.task is not None:
                    worker.task[1].started += paused  # a model's time leaves out its pause

    def _schedule(self) -> None:
        busy = self._busy()
        full = len(self.timings) >= SPOOL_MODELS or self.spool_bytes >= self.spool_limit
        if not self.timing_mode and self.timings and (full or not self.models):
            self.timing_mode = True  # stop handing out models; time once the running ones finish
        if self.timing_mode and self.timings and len(busy) < self.parallel:
            # A slot is free (its worker idle, or retired after a big model: the timing starts a
            # fresh one): pause the model jobs still running rather than wait for them.
            for worker in busy:
                if worker.paused_at is None and worker.task is not None and worker.task[0] == "model":
                    worker.pause()
            busy = self._running()
        if self.timing_mode:
            if not busy and self.timings:
                group = self.timings.popleft()
                group.started = time.monotonic()
                print(f"    timing {group.card}: {group.model} ({len(group.timed)} target{'s' if len(group.timed) > 1 else ''})", file=sys.stderr, flush=True)
                self._dispatch("time", group)
            elif not busy and not self.timings:
                self.timing_mode = False
                self._resume_all()
        if not self.timing_mode:
            while self.models and len(self._busy()) < self.parallel:
                self._dispatch("model", self.models.popleft())

    def run(self) -> None:
        """Until every model is measured and timed; kills every worker on the way out."""
        mode_started, was_timing = time.monotonic(), False
        ticked, state = mode_started, (0, 0, 0)
        try:
            while self.models or self.timings or self._busy():
                now = time.monotonic()
                self.stats.add_slots(now - ticked, *state, self.parallel)
                ticked = now
                self._schedule()
                state = self._slot_state()
                if self.timing_mode != was_timing:
                    now = time.monotonic()
                    if was_timing:
                        self.stats.alone_s += now - mode_started
                    else:
                        self.stats.side_by_side_s += now - mode_started
                    mode_started, was_timing = now, self.timing_mode
                busy = self._running()
                if not busy:
                    if not self._busy():
                        continue
                    self._resume_all()  # only paused workers left (their timings failed to start): let them go on
                    continue
                wait = max(0.05, min(w.deadline for w in busy) - time.monotonic())
                try:
                    worker, event = self.events.get(timeout=min(wait, 5.0))
                except queue.Empty:
                    for late in [w for w in busy if time.monotonic() > w.deadline]:
                        self._ended(late, f"timed out after {late.limit_s:g} s" + ("" if late.stage in ("build", "count", "export", "check", "latency", "accuracy") else f" ({late.stage})"))
                    continue
                self._handle(worker, event)
            now = time.monotonic()
            self.stats.add_slots(now - ticked, *state, self.parallel)
            if was_timing:
                self.stats.alone_s += now - mode_started
            else:
                self.stats.side_by_side_s += now - mode_started
        finally:
            self._resume_all()  # a stopped process would never read the end of its input
            for worker in list(self.workers):
                if worker.task is None:
                    worker.close()
                else:
                    worker.kill()
            shutil.rmtree(self.spool_root, ignore_errors=True)
            if self.scratch is not None:  # what killed workers left behind would hold RAM until a reboot
                shutil.rmtree(self.scratch, ignore_errors=True)


def run_jobs(jobs: list[Job], root: Path, *, timeout_s: float | None = None, memory_mb: int | None = DEFAULT_MEMORY_MB, parallel: int = 2,
             estimates: dict[str, float] | None = None, on_record: Callable[[Job, dict[str, Any]], None] | None = None,
             stats: RunStats | None = None) -> list[tuple[Job, dict[str, Any]]]:
    """Run jobs, one model job per model on `parallel` persistent workers, timings alone; (job, record) in the order they finished.

    A job that would repeat another's computation (`twins`) is not run: it gets a copy of the record.
    """
    to_run, copies = twins(jobs)
    groups = group_jobs(to_run)
    stats = stats if stats is not None else RunStats()
    results: list[tuple[Job, dict[str, Any]]] = []
    # Records are saved by a thread of their own: a save may wait for the project lock (a build
    # holds it for minutes), and the pool's loop must keep reading events and keeping deadlines.
    pending: queue.Queue[tuple[Job, dict[str, Any]] | None] = queue.Queue()
    failure: list[BaseException] = []

    def saver() -> None:
        while (item := pending.get()) is not None:
            if on_record and not failure:
                try:
                    on_record(*item)
                except BaseException as exc:  # re-raised below, after the workers are stopped
                    failure.append(exc)

    def keep(job: Job, record: dict[str, Any]) -> None:
        for done, its_record in [(job, record), *((twin, twin_record(record, job, twin)) for twin in copies.get(id(job), []))]:
            results.append((done, its_record))
            pending.put((done, its_record))

    thread = threading.Thread(target=saver, name="zoocards-saver", daemon=True)
    thread.start()
    progress = Progress(groups, estimates or {}, parallel)
    try:
        WorkerPool(groups, root, timeout_s=timeout_s, memory_mb=memory_mb, parallel=parallel, progress=progress, on_record=keep, stats=stats).run()
    finally:
        pending.put(None)
        thread.join()
    if failure:
        raise failure[0]
    if results:
        print(stage_summary([record for _, record in results], stats.side_by_side_s, stats.alone_s, parallel), file=sys.stderr, flush=True)
    return results


def run_job(job: Job, root: Path, timeout_s: float, memory_mb: int | None) -> dict[str, Any]:
    """Run one job in a worker of its own; always returns a record, never raises for the job's failure."""
    return run_jobs([job], root, timeout_s=timeout_s, memory_mb=memory_mb, parallel=1)[0][1]


def stage_summary(records: list[dict[str, Any]], side_by_side_s: float, alone_s: float, parallel: int) -> str:
    """Where a verification run's time went: wall-clock per phase, then each kind's work and share."""
    work: dict[str, float] = {}
    count: dict[str, int] = {}
    for record in records:
        work[record["kind"]] = work.get(record["kind"], 0.0) + float(record.get("duration_s") or 0.0)
        count[record["kind"]] = count.get(record["kind"], 0) + 1
    total = sum(work.values()) or 1.0
    kinds = ", ".join(f"{kind} ×{count[kind]} {_duration(seconds)} ({seconds / total:.0%})" for kind, seconds in sorted(work.items(), key=lambda item: -item[1]))
    return (f"{len(records)} measurements in {_duration(side_by_side_s + alone_s)}: {_duration(side_by_side_s)} for counts, exports and accuracy "
            f"({max(1, parallel)} at a time), {_duration(alone_s)} for latency (one at a time). Work by kind: {kinds}.")


# --- storage ----------------------------------------------------------------------------


def _measurement_path(measurements_dir: Path, card_id: str) -> Path:
    return measurements_dir / f"{card_id}.json"


def load_records(measurements_dir: Path, card_id: str) -> list[dict[str, Any]]:
    """The stored records of one card ([] when it was never measured)."""
    path = _measurement_path(measurements_dir, card_id)
    if not path.is_file():
        return []
    return parse_records(path, path.read_bytes())


def parse_records(path: Path, data: bytes) -> list[dict[str, Any]]:
    """The records of a measurement file's bytes; `path` names it in errors."""
    try:
        document = json.loads(data.decode("utf-8"))
    except ValueError as exc:
        raise ZoocardsError(f"{path}: not valid JSON ({exc}); delete it and run `zoocards verify` again") from None
    if not isinstance(document, dict) or document.get("schema_version") != SCHEMA_VERSION or not isinstance(document.get("records"), list):
        raise ZoocardsError(f"{path}: not a schema_version {SCHEMA_VERSION} measurement file; delete it and run `zoocards verify` again")
    return list(document["records"])


def save_records(measurements_dir: Path, card_id: str, records: Iterable[dict[str, Any]]) -> Path:
    """Write one card's records atomically, sorted by identity (model, kind, target), so diffs stay small."""
    measurements_dir.mkdir(parents=True, exist_ok=True)
    path = _measurement_path(measurements_dir, card_id)
    ordered = sorted(records, key=_sort_key)
    text = json.dumps({"schema_version": SCHEMA_VERSION, "card": card_id, "records": ordered}, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    write.atomic_write_bytes(path, text.encode("utf-8"))
    return path


def merge_records(existing: list[dict[str, Any]], new: Iterable[dict[str, Any]], models: set[str] | None = None) -> list[dict[str, Any]]:
    """`existing` with the record of each identity of `new` replaced; records of models not in `models` dropped.

    Identity is (model, kind), and for a latency record also its target (TARGET_IDENTITY):
    timings of one model on several hosts, runtimes or precisions coexist. A latency record
    written before timings had targets is replaced by any new timing of its model.
    """
    by_identity = {record_identity(r): r for r in existing}
    for record in new:
        if record["kind"] == "latency" and record.get("target") is not None:
            by_identity.pop(record_identity({"model": record["model"], "kind": "latency", "target": None}), None)
        by_identity[record_identity(record)] = record
    kept = [r for r in by_identity.values() if models is None or r["model"] in models]
    return sorted(kept, key=_sort_key)


def merge_shards(shard_dirs: list[Path], measurements_dir: Path) -> list[Path]:
    """Fold the measurement files of several shard runs (or hardware runners) into `measurements_dir`."""
    written = []
    card_ids = sorted({p.stem for d in shard_dirs for p in d.glob("*.json")})
    for card_id in card_ids:
        records = load_records(measurements_dir, card_id)
        for shard_dir in shard_dirs:
            shard_records = load_records(shard_dir, card_id)
            current = {record_identity(r): r for r in records}
            # A shard also carries the records it did not run (copied from its checkout):
            # take a record from it only when it is newer than the one already merged.
            newer = [r for r in shard_records if record_identity(r) not in current or r.get("measured_at", "") > current[record_identity(r)].get("measured_at", "")]
            records = merge_records(records, newer)
        written.append(save_records(measurements_dir, card_id, records))
    return written


def _estimates(records_by_card: dict[str, list[dict[str, Any]]]) -> dict[str, float]:
    return {f"{card}/{r['model']}/{r['kind']}": float(r.get("duration_s") or 0) for card, records in records_by_card.items() for r in records if r.get("duration_s")}


# --- the command ------------------------------------------------------------------------


def load_cards(cards_dir: Path) -> list[Card]:
    """Load every card, then run the checks when zoocards.check is available; raise on errors."""
    cards, problems = [], []
    for path in card_paths(cards_dir):
        try:
            cards.append(load_file(path))
        except CardError as exc:
            problems.extend(exc.problems)
    if not problems:
        try:
            from zoocards import check
        except ImportError:
            check = None  # type: ignore[assignment]
        if check is not None and hasattr(check, "check_cards"):
            problems.extend(check.check_cards(cards))
    errors = [p for p in problems if p.severity == "error"]
    for problem in problems:
        if problem.severity != "error":
            print(problem, file=sys.stderr)
    if errors:
        raise CardError(errors)
    if not cards:
        raise ZoocardsError(f"no cards in {cards_dir}; add a cards/<id>.yaml first")
    return cards


def check_hardware(name: str, devices: list[dict[str, str]]) -> str:
    """The id of `--hardware NAME` when this host has it; a user error naming what it has otherwise."""
    wanted = hardware.normalise(name)
    if not any(d["id"] == wanted for d in devices):
        have = ", ".join(f"{d['id']} ({d['kind']}: {d['name']})" for d in devices) or "nothing zoocards can identify"
        raise ZoocardsError(f"--hardware {name}: this host has no {wanted}; it has {have}. Run the verification on a host with that hardware (see `zoocards hardware`)")
    return wanted


def measure(cards: list[Card], measurements_dir: Path, root: Path, *, force: bool = False, shard: tuple[int, int] | None = None, kinds: set[str] | None = None,
            models: set[str] | None = None, timeout_s: float | None = None, memory_mb: int | None = DEFAULT_MEMORY_MB, jobs: int = 2,
            hardware_name: str | None = None, stats: RunStats | None = None) -> dict[str, list[dict[str, Any]]]:
    """Run the stale jobs of `cards` and save; returns every card's records afterwards.

    `hardware_name` (`verify --hardware`): only the latency targets on that hardware of this
    host, each re-timed here unless this host's own record is current.
    """
    if kinds and not kinds <= set(KINDS):
        raise ZoocardsError(f"unknown measurement kind(s) {', '.join(sorted(kinds - set(KINDS)))}; choose from {', '.join(KINDS)}")
    if shard is not None and not 1 <= shard[0] <= shard[1]:
        raise ZoocardsError(f"shard {shard[0]}/{shard[1]}: write i/n with 1 <= i <= n, e.g. 2/4")
    devices = hardware.this_host()
    if hardware_name is not None:
        check_hardware(hardware_name, devices)
    records = {card.id: load_records(measurements_dir, card.id) for card in cards}
    todo = [
        job for job in plan(cards, root, only_hardware=hardware_name, devices=devices)
        if (kinds is None or job.kind in kinds)
        and (models is None or job.model in models)
        and (shard is None or in_shard(job.card, job.model, shard))
        and (force or not is_current(job, records[job.card]))
    ]
    builders = {card.id: {m["name"] for m in card.data["models"] if m.get("builder")} for card in cards}
    lock = threading.Lock()

    def save(job: Job, record: dict[str, Any]) -> None:  # after every job: an interrupted run keeps what it measured
        # Read, merged and written under the project lock: another verify (a CI shard in the
        # same workspace) may have saved records of this card since this run read the file.
        with lock, project_lock(root, what="verify"):
            records[job.card] = merge_records(load_records(measurements_dir, job.card), [record], builders[job.card])
            save_records(measurements_dir, job.card, records[job.card])

    if todo:
        print(f"{len(todo)} measurement(s) of {len(group_jobs(todo))} model(s) to run", file=sys.stderr)
    run_jobs(todo, root, timeout_s=timeout_s, memory_mb=memory_mb, parallel=jobs, estimates=_estimates(records), on_record=save, stats=stats)
    with project_lock(root, what="verify"):
        for card in cards:  # drop records of models that lost their builder or left the card
            stored_now = load_records(measurements_dir, card.id)
            records[card.id] = merge_records(stored_now, [], builders[card.id])
            if records[card.id] != stored_now or not _measurement_path(measurements_dir, card.id).exists():
                save_records(measurements_dir, card.id, records[card.id])
    return records


def verify_command(cards_dir: Path, measurements_dir: Path, *, force: bool = False, strict: bool = False, shard: tuple[int, int] | None = None, kinds: set[str] | None = None,
                   models: set[str] | None = None, timeout_s: float | None = None, memory_mb: int | None = None, jobs: int = 2, hardware_name: str | None = None) -> int:
    """Re-run stale measurements, save them, print the summary; 1 under strict on unacknowledged mismatches."""
    cards = load_cards(cards_dir)
    root = cards_dir.resolve().parent
    records = measure(cards, measurements_dir, root, force=force, shard=shard, kinds=kinds, models=models, timeout_s=timeout_s,
                      memory_mb=memory_mb or DEFAULT_MEMORY_MB, jobs=jobs, hardware_name=hardware_name)
    verifications = compare.verify(cards, records, host_fingerprint())
    print(format_summary(compare.summary(verifications)))
    mismatches = [v for v in verifications if v["status"] == "mismatch"]
    for v in mismatches:
        note = " (acknowledged)" if v["acknowledged"] else ""
        print(f"mismatch{note}: {v['card']} {v['model']} {v['metric']} ({v['source']}): {v['reason']}")
    failures = [v for v in verifications if v["status"] == "failed"]
    for v in failures:
        print(f"failed: {v['card']} {v['model']} {v['metric']}: {v['reason']}")
    if strict and any(not v["acknowledged"] for v in mismatches):
        return 1
    return 0


def format_summary(counts: dict[str, dict[str, int]]) -> str:
    """A plain-text table: one row per metric, one column per status."""
    statuses = list(compare.STATUSES)
    width = max([len("metric"), *map(len, counts)])
    lines = ["metric".ljust(width) + "".join(s.rjust(10) for s in statuses)]
    for metric in sorted(counts):
        lines.append(metric.ljust(width) + "".join(str(counts[metric].get(s, 0)).rjust(10) for s in statuses))
    totals = {s: sum(c.get(s, 0) for c in counts.values()) for s in statuses}
    lines.append("total".ljust(width) + "".join(str(totals[s]).rjust(10) for s in statuses))
    return "\n".join(lines)
