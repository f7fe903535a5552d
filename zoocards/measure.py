"""Stage 3: re-run what the cards claim, in subprocesses, and keep the results.

Plans one job per (model, kind) from the cards, keys each job by a hash of every input that
can change its result, skips jobs whose stored record has the same key, runs the others as
`python -m zoocards.workers.<kind>` (one process per model, killed when it overruns its
time or memory limit) and writes `measurements/<card id>.json` atomically with stable
ordering. Paddle is never imported here: package versions come from importlib.metadata.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import resource
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zoocards import compare, write
from zoocards.errors import CardError, ZoocardsError
from zoocards.load import Card, card_paths, load_file
from zoocards.lock import project_lock
from zoocards.workers.common import host_info, package_versions, utc_now

SCHEMA_VERSION = 1
KINDS = ("count", "export", "accuracy", "latency")
# Versions that decide what a measurement means (the spec of issue 3), read without importing.
KEY_PACKAGES = ("paddlepaddle", "paddle2onnx", "onnxruntime", "paddleclas")
# Bumped when a worker changes what it measures, so old records become stale.
WORKER_VERSION = {"count": 1, "export": 1, "latency": 1, "accuracy": 1}
# Seconds a job may run before its process group is killed. Export of a 45-GMAC model
# takes about a minute here; latency is budgeted per batch size by the worker itself.
DEFAULT_TIMEOUT_S = {"count": 600.0, "export": 1200.0, "accuracy": 3600.0, "latency": 1800.0}
# Address-space limit per worker. paddle maps a few GB of virtual memory before it
# computes anything; 12 GB leaves room for two 130M-parameter exports side by side on a
# 24 GB machine.
DEFAULT_MEMORY_MB = 12288
# Seconds each kind usually takes, for the first ETA before any record says better.
TYPICAL_S = {"count": 20.0, "export": 40.0, "accuracy": 60.0, "latency": 60.0}
# Latency timing budget per batch size (see zoocards.workers.latency).
LATENCY_BUDGET = {"warmup": 3, "budget_s": 10.0, "max_repeats": 200, "min_repeats": 3}
# Failure texts that mean the process ran out of memory (RLIMIT_AS makes allocations fail).
_OUT_OF_MEMORY = re.compile(r"MemoryError|bad_alloc|Cannot allocate memory|ResourceExhausted|out of memory", re.IGNORECASE)
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass
class Job:
    """One measurement to run: its identity, the inputs it is keyed by, what the worker reads."""

    card: str
    model: str
    kind: str
    inputs: dict[str, Any]
    payload: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return _sha256_json(self.inputs)

    @property
    def reuse_key(self) -> str:
        """The key without the hardware: a latency measured elsewhere stays valid for its host."""
        return _sha256_json({k: v for k, v in self.inputs.items() if k != "hardware"})

    @property
    def label(self) -> str:
        return f"{self.model} {self.kind}"


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


def plan(cards: list[Card], root: Path) -> list[Job]:
    """Every job the cards call for on this machine, in a stable order."""
    versions = package_versions(KEY_PACKAGES)
    hardware = host_fingerprint()
    jobs: list[Job] = []
    for card in cards:
        sizes = batch_sizes(card)
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
            for kind in ("count", "export"):
                jobs.append(Job(card.id, model["name"], kind, {"kind": kind, "worker": WORKER_VERSION[kind], **base}, dict(payload)))
            latency_inputs = {"kind": "latency", "worker": WORKER_VERSION["latency"], **base, "batch_sizes": sizes, "threads": None, "budget": LATENCY_BUDGET, "hardware": hardware}
            jobs.append(Job(card.id, model["name"], "latency", latency_inputs, {**payload, "batch_sizes": sizes, **LATENCY_BUDGET}))
            weights = find_weights(model["weights"], root) if model.get("weights") else None
            data_dir = find_dataset(card, root)
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


def is_current(job: Job, record: dict[str, Any] | None) -> bool:
    """A record answers a job when it was keyed the same (latency: ignoring the host)."""
    if record is None:
        return False
    if job.kind == "latency":
        return bool(record.get("reuse_key") == job.reuse_key)
    return bool(record.get("key") == job.key)


# --- running ----------------------------------------------------------------------------


def _limit_memory(memory_mb: int | None) -> Callable[[], None] | None:
    if not memory_mb:
        return None
    limit = memory_mb * 1024 * 1024

    def apply() -> None:  # runs in the child between fork and exec
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return apply


def _last_line(text: str) -> str:
    lines = [_ANSI.sub("", line).strip() for line in text.splitlines()]
    lines = [line for line in lines if line]
    return lines[-1] if lines else ""


def run_job(job: Job, root: Path, timeout_s: float, memory_mb: int | None) -> dict[str, Any]:
    """Run one job in its own process group; always returns a record, never raises for the job's failure."""
    # The card's repository first (builders such as zoocards.demo or tests.*), then this package's.
    path = [str(root), str(Path(__file__).resolve().parent.parent), os.environ.get("PYTHONPATH")]
    env = {**os.environ, "POLYGRAPHY_AUTOINSTALL_DEPS": "0", "PYTHONPATH": os.pathsep.join(filter(None, path))}
    started = time.monotonic()
    status, reason, result = "failed", None, None
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", f"zoocards.workers.{job.kind}"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            cwd=root, env=env, start_new_session=True, preexec_fn=_limit_memory(memory_mb),
        )
    except OSError as exc:
        reason = f"could not start the worker: {exc}"
    else:
        try:
            stdout, stderr = process.communicate(json.dumps(job.payload).encode("utf-8"), timeout=timeout_s)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            stdout, stderr = process.communicate()
            reason = f"timed out after {timeout_s:g} s"
        except BaseException:  # Ctrl-C: do not leave the worker running
            _kill_group(process)
            process.wait()
            raise
        else:
            err = stderr.decode("utf-8", "replace")
            if process.returncode == 0:
                try:
                    result = json.loads(stdout.decode("utf-8").strip().splitlines()[-1])
                    status = "ok"
                except (ValueError, IndexError):
                    reason = "the worker printed no JSON result"
            elif memory_mb and (process.returncode == -signal.SIGKILL or _OUT_OF_MEMORY.search(err)):
                reason = f"killed: out of memory (limit {memory_mb} MB)"
            elif process.returncode < 0:
                reason = f"killed by signal {signal.Signals(-process.returncode).name}" + (f": {_last_line(err)}" if _last_line(err) else "")
            else:
                reason = _last_line(err) or f"exited with status {process.returncode}"
    env_info = result.pop("env", None) if result else None
    record: dict[str, Any] = {
        "model": job.model,
        "kind": job.kind,
        "key": job.key,
        "inputs": job.inputs,
        "status": status,
        "reason": reason,
        "result": result,
        "measured_at": utc_now(),
        "duration_s": round(time.monotonic() - started, 1),
        "env": env_info,
    }
    if job.kind == "latency":
        record["reuse_key"] = job.reuse_key
    return record


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)  # the worker's own children (if any) too
    except ProcessLookupError:
        pass


class Progress:
    """`[7/26] RegNetX_4GF export … 1m20s left` on stderr, the ETA from typical durations."""

    def __init__(self, jobs: list[Job], estimates: dict[str, float], parallel: int) -> None:
        self.total = len(jobs)
        self.remaining = {id(j): estimates.get(f"{j.card}/{j.model}/{j.kind}", TYPICAL_S[j.kind]) for j in jobs}
        self.parallel = {id(j): (1 if j.kind == "latency" else max(1, parallel)) for j in jobs}
        self.done = 0
        self.started = 0
        self.lock = threading.Lock()

    def start(self, job: Job) -> None:
        with self.lock:
            self.started += 1
            left = sum(seconds / self.parallel[key] for key, seconds in self.remaining.items())
            print(f"[{self.started}/{self.total}] {job.card}: {job.label} … {_duration(left)} left", file=sys.stderr, flush=True)

    def finish(self, job: Job, record: dict[str, Any]) -> None:
        with self.lock:
            self.done += 1
            self.remaining.pop(id(job), None)
            if record["status"] != "ok":
                print(f"    {job.card}: {job.label} failed: {record['reason']}", file=sys.stderr, flush=True)


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


def run_jobs(jobs: list[Job], root: Path, *, timeout_s: float | None = None, memory_mb: int | None = DEFAULT_MEMORY_MB, parallel: int = 2, estimates: dict[str, float] | None = None, on_record: Callable[[Job, dict[str, Any]], None] | None = None) -> list[tuple[Job, dict[str, Any]]]:
    """Run jobs: count/export/accuracy `parallel` at a time, then latency alone, one by one."""
    progress = Progress(jobs, estimates or {}, parallel)
    results: list[tuple[Job, dict[str, Any]]] = []
    lock = threading.Lock()

    def one(job: Job) -> None:
        progress.start(job)
        record = run_job(job, root, timeout_s or DEFAULT_TIMEOUT_S[job.kind], memory_mb)
        progress.finish(job, record)
        with lock:
            results.append((job, record))
            if on_record:
                on_record(job, record)

    shared = [j for j in jobs if j.kind != "latency"]
    alone = [j for j in jobs if j.kind == "latency"]
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        for future in [pool.submit(one, job) for job in shared]:
            future.result()
    side_by_side = time.perf_counter() - started
    for job in alone:  # timing runs with nothing else on the machine
        one(job)
    if results:
        print(stage_summary([record for _, record in results], side_by_side, time.perf_counter() - started - side_by_side, parallel), file=sys.stderr, flush=True)
    return results


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
    """Write one card's records atomically, sorted by (model, kind), so diffs stay small."""
    measurements_dir.mkdir(parents=True, exist_ok=True)
    path = _measurement_path(measurements_dir, card_id)
    ordered = sorted(records, key=lambda r: (r["model"], r["kind"]))
    text = json.dumps({"schema_version": SCHEMA_VERSION, "card": card_id, "records": ordered}, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    write.atomic_write_bytes(path, text.encode("utf-8"))
    return path


def merge_records(existing: list[dict[str, Any]], new: Iterable[dict[str, Any]], models: set[str] | None = None) -> list[dict[str, Any]]:
    """`existing` with each (model, kind) of `new` replaced; records of models not in `models` dropped."""
    by_identity = {(r["model"], r["kind"]): r for r in existing}
    for record in new:
        by_identity[(record["model"], record["kind"])] = record
    kept = [r for r in by_identity.values() if models is None or r["model"] in models]
    return sorted(kept, key=lambda r: (r["model"], r["kind"]))


def merge_shards(shard_dirs: list[Path], measurements_dir: Path) -> list[Path]:
    """Fold the measurement files of several shard runs into `measurements_dir`."""
    written = []
    card_ids = sorted({p.stem for d in shard_dirs for p in d.glob("*.json")})
    for card_id in card_ids:
        records = load_records(measurements_dir, card_id)
        for shard_dir in shard_dirs:
            shard_records = load_records(shard_dir, card_id)
            current = {(r["model"], r["kind"]): r for r in records}
            # A shard also carries the records it did not run (copied from its checkout):
            # take a record from it only when it is newer than the one already merged.
            newer = [r for r in shard_records if (r["model"], r["kind"]) not in current or r.get("measured_at", "") > current[(r["model"], r["kind"])].get("measured_at", "")]
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


def measure(cards: list[Card], measurements_dir: Path, root: Path, *, force: bool = False, shard: tuple[int, int] | None = None, kinds: set[str] | None = None, models: set[str] | None = None, timeout_s: float | None = None, memory_mb: int | None = DEFAULT_MEMORY_MB, jobs: int = 2) -> dict[str, list[dict[str, Any]]]:
    """Run the stale jobs of `cards` and save; returns every card's records afterwards."""
    if kinds and not kinds <= set(KINDS):
        raise ZoocardsError(f"unknown measurement kind(s) {', '.join(sorted(kinds - set(KINDS)))}; choose from {', '.join(KINDS)}")
    if shard is not None and not 1 <= shard[0] <= shard[1]:
        raise ZoocardsError(f"shard {shard[0]}/{shard[1]}: write i/n with 1 <= i <= n, e.g. 2/4")
    records = {card.id: load_records(measurements_dir, card.id) for card in cards}
    stored = {(card, r["model"], r["kind"]): r for card, rs in records.items() for r in rs}
    todo = [
        job for job in plan(cards, root)
        if (kinds is None or job.kind in kinds)
        and (models is None or job.model in models)
        and (shard is None or in_shard(job.card, job.model, shard))
        and (force or not is_current(job, stored.get((job.card, job.model, job.kind))))
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
        print(f"{len(todo)} measurement(s) to run", file=sys.stderr)
    run_jobs(todo, root, timeout_s=timeout_s, memory_mb=memory_mb, parallel=jobs, estimates=_estimates(records), on_record=save)
    with project_lock(root, what="verify"):
        for card in cards:  # drop records of models that lost their builder or left the card
            stored_now = load_records(measurements_dir, card.id)
            records[card.id] = merge_records(stored_now, [], builders[card.id])
            if records[card.id] != stored_now or not _measurement_path(measurements_dir, card.id).exists():
                save_records(measurements_dir, card.id, records[card.id])
    return records


def verify_command(cards_dir: Path, measurements_dir: Path, *, force: bool = False, strict: bool = False, shard: tuple[int, int] | None = None, kinds: set[str] | None = None, models: set[str] | None = None, timeout_s: float | None = None, memory_mb: int | None = None, jobs: int = 2) -> int:
    """Re-run stale measurements, save them, print the summary; 1 under strict on unacknowledged mismatches."""
    cards = load_cards(cards_dir)
    root = cards_dir.resolve().parent
    records = measure(cards, measurements_dir, root, force=force, shard=shard, kinds=kinds, models=models, timeout_s=timeout_s, memory_mb=memory_mb or DEFAULT_MEMORY_MB, jobs=jobs)
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
