"""A measurement worker that serves many models: `python -m zoocards.workers.serve`.

Started by zoocards.measure (`WorkerPool`), it imports paddle once, then reads one JSON job
per line on stdin and writes JSON events, one per line, on its original stdout (fd 1 is
pointed at stderr first, so paddle's and paddle2onnx's prints, some from C++, cannot corrupt
them). Jobs:

* `{"op": "model", "id", "model", "builder", "input_size", "channels", "parts": [...], "dir"}`
  builds the network once and runs, for the parts asked: count (whose forward pass also
  calibrates the sane initialisation, see zoocards.workers.export) -> export -> ONNX check,
  then leaves the exported files (for onnxruntime's CPU timings, the graph the check's session
  optimised) in `dir` when latency parts follow (the orchestrator times
  them later, alone on the machine) and removes them otherwise; an accuracy part builds again
  with the weights it names.
* `{"op": "time", "id", "model", "input_size", "channels", "parts": [...], "dir"}` times the
  latency parts on the files a model job left in `dir`.

Events: `{"event": "ready"}` once imports are done; per job, `{"event": "stage", "stage"}`
when a stage starts (the orchestrator's timeout clock; with the clocks of the
job's stages so far), `{"event": "result", "part",
"status", "reason", "result", "duration_s", "env"}` per part, `{"event": "spooled",
"bytes"}` when files were left for timing, and `{"event": "done", "stages", "rss_mb"}`.
Memory is given back between models (`free_memory`); a MemoryError ends the worker after its
report (its heap is not trusted any more), and the orchestrator starts a fresh one.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from zoocards.workers.common import (CPU_OPTIMISED, Job, WorkerError, build_model, free_memory, host_info, log, materialize, ort_session, package_versions,
                                     reads_cpu_optimised, rss_mb, scratch_dir, short_error, utc_now)

Emit = Callable[[dict[str, Any]], None]
OUT_OF_MEMORY_EXIT = 3


def one_line(exc: BaseException) -> str:
    """A failure as the record's reason: the worker's own message, else `short_error` (one line)."""
    if isinstance(exc, WorkerError):
        return str(exc)
    return short_error(exc)


class Session:
    """One job's bookkeeping: stage clocks, per-part durations, the events it sends."""

    def __init__(self, job: Job, emit: Emit, env: dict[str, Any]) -> None:
        self.job = job
        self.emit = emit
        self.env = env
        self.stages: dict[str, dict[str, float]] = {}
        self.current: str | None = None

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Announce a stage (its timeout starts; the clocks of the stages before it go along, for a worker killed in this one) and clock its wall and CPU seconds."""
        self.current = name
        self.emit({"event": "stage", "id": self.job["id"], "stage": name, "stages": {stage: dict(spent) for stage, spent in self.stages.items()}})
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            spent = self.stages.setdefault(name, {"wall_s": 0.0, "cpu_s": 0.0})
            spent["wall_s"] += time.perf_counter() - wall
            spent["cpu_s"] += time.process_time() - cpu

    def seconds(self, *names: str) -> float:
        return round(sum(self.stages.get(name, {}).get("wall_s", 0.0) for name in names), 2)

    def result(self, part: dict[str, Any], status: str, reason: str | None, result: dict[str, Any] | None, duration_s: float, threads: int | None = None) -> None:
        self.emit({"event": "result", "id": self.job["id"], "part": part["part"], "status": status, "reason": reason, "result": result,
                   "duration_s": duration_s, "env": {**self.env, "threads": threads, "date": utc_now()}})


def run_model(job: Job, session: Session) -> None:
    """Build once; count (calibrating the sane weights in the same pass), export, check; leave the files for timing when asked."""
    from zoocards.workers import accuracy, count, export

    parts = job["parts"]
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for part in parts:
        by_kind.setdefault(part["kind"], []).append(part)
    checks, timed = by_kind.get("export", []), by_kind.get("latency", [])
    built = [p for p in parts if p["kind"] != "accuracy"]
    model = None
    if built:
        try:
            with session.stage("build"):
                # Lazily: the sane weights (or, for a count alone, `materialize`) give the values.
                model = build_model(job, lazy=True)
        except MemoryError:
            raise
        except Exception as exc:
            for part in built:
                session.result(part, "failed", one_line(exc), None, session.seconds("build"))
    if model is not None:
        calibrated = False
        for part in by_kind.get("count", []):
            try:
                with session.stage("count"):
                    if (checks or timed) and not calibrated:
                        # Counts depend on shapes only: the sane weights go in first, and the
                        # counting pass calibrates the BatchNorms on the calibration image.
                        batch_norms = export.reinit_weights(model)
                        result = count.run_count(model, {**job, **part}, export.random_batch(job, export.BATCH, export.CALIBRATION_SEED),
                                                 lambda: export.calibrating(batch_norms))
                        calibrated = result.get("macs") is not None  # no forward pass, no calibration
                    else:
                        result = count.run_count(materialize(model), {**job, **part})
                session.result(part, "ok", None, result, session.seconds("build", "count"))
            except MemoryError:
                raise
            except Exception as exc:
                session.result(part, "failed", one_line(exc), None, session.seconds("build", "count"))
        if checks or timed:
            _export(job, session, model, checks, timed, calibrated)
    del model
    free_memory()
    for part in by_kind.get("accuracy", []):
        try:
            with session.stage("accuracy"):
                result = accuracy.main({**job, **part})
            result.pop("env", None)
            session.result(part, "ok", None, result, session.seconds("accuracy"))
        except MemoryError:
            raise
        except Exception as exc:
            session.result(part, "failed", one_line(exc), None, session.seconds("accuracy"))


def _export(job: Job, session: Session, model: Any, checks: list[dict[str, Any]], timed: list[dict[str, Any]], calibrated: bool) -> None:
    """Initialise (unless counting did), export, check: the export parts get the check, the latency parts the files (or the failure)."""
    import paddle

    from zoocards.workers import export

    # jit.save's weights, the ONNX file and the graph onnxruntime optimised: each about the size of the parameters.
    weight_bytes = sum(math.prod(int(d) for d in p.shape) * 4 for p in model.parameters())  # lazy parameters have shapes, no numel()
    workdir = Path(tempfile.mkdtemp(prefix="zoocards-export-", dir=scratch_dir(4 * weight_bytes)))
    try:
        try:
            with session.stage("export"):
                if not calibrated:
                    export.sane_init(model, export.random_batch(job, export.BATCH, export.CALIBRATION_SEED))
                batch = export.random_batch(job)
                if checks:
                    with paddle.no_grad():
                        expected = export._first_output(model(paddle.to_tensor(batch))).numpy()
                notes: list[str] = []
                onnx_path = export.export_onnx(model, job, workdir, notes)
        except MemoryError:
            raise
        except Exception as exc:
            reason = one_line(exc)
            for part in checks:
                session.result(part, "failed", reason, None, session.seconds("export"))
            for part in timed:
                session.result(part, "failed", f"not timed: the export failed: {reason}", None, 0.0)
            return
        # The CPU timings load the graph onnxruntime optimised here, side by side, instead of
        # optimising it again while they run alone (zoocards.workers.latency).
        optimised = workdir / CPU_OPTIMISED if any(reads_cpu_optimised(part["target"]) for part in timed) else None
        for part in checks:
            try:
                with session.stage("check"):
                    result = export.check(model, onnx_path, batch, expected, notes=notes, save_optimised=optimised)
                session.result(part, "ok", None, result, session.seconds("export", "check"))
            except MemoryError:
                raise
            except Exception as exc:
                session.result(part, "failed", one_line(exc), None, session.seconds("export", "check"))
        if optimised is not None and not checks:
            # No check made a session (a stale latency alone): one is made for the graph only.
            try:
                with session.stage("export"):
                    ort_session(onnx_path, save_optimised=optimised)
            except MemoryError:
                raise
            except Exception as exc:  # the timing optimises the graph itself
                log(f"onnxruntime could not optimise the graph ahead of the timing: {one_line(exc)}")
        if optimised is not None and not optimised.exists():
            optimised = None  # too big to save (CPU_OPTIMISED_MAX_BYTES), or onnxruntime failed: the timing optimises at load
        if timed:
            # onnxruntime reads one ONNX file: the model Paddle saved (as big again) and, when the
            # CPU timings have their optimised graph, the exported one need not wait in the spool,
            # which then holds twice the models between two quiet periods.
            paddle_too = any(part["target"].get("runtime") == "paddle-inference" for part in timed)
            plain_onnx = optimised is None or any(
                part["target"].get("runtime") == "onnxruntime" and not reads_cpu_optimised(part["target"]) for part in timed)
            spool = Path(job["dir"])
            spool.mkdir(parents=True, exist_ok=True)
            for path in workdir.iterdir():
                if path.is_file() and (paddle_too or path == optimised or (path == onnx_path and plain_onnx)):
                    shutil.move(str(path), str(spool / path.name))  # a rename when both are in RAM
            size = sum(f.stat().st_size for f in spool.iterdir() if f.is_file())
            session.emit({"event": "spooled", "id": job["id"], "bytes": size})
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def run_time(job: Job, session: Session) -> None:
    """Time every latency part of the job on the files in its `dir`."""
    from zoocards.workers import latency

    workdir = Path(job["dir"]) if job.get("dir") else Path(tempfile.mkdtemp(prefix="zoocards-time-"))
    for part in job["parts"]:
        threads = part["target"].get("threads")
        started = time.perf_counter()
        try:
            with session.stage("latency"):
                result = latency.time_target(workdir, job, part)
            threads = result["threads"]
            session.result(part, "ok", None, result, round(time.perf_counter() - started, 2), threads)
        except latency.NotRun as exc:
            session.result(part, "not_run", str(exc), None, round(time.perf_counter() - started, 2), threads)
        except MemoryError:
            raise
        except Exception as exc:
            session.result(part, "failed", one_line(exc), None, round(time.perf_counter() - started, 2), threads)


def serve(stdin: TextIO, emit: Emit) -> int:
    """Answer jobs until stdin closes; the exit status (3 after running out of memory)."""
    env = {"host": host_info(), "python": sys.version.split()[0], "versions": package_versions()}
    emit({"event": "ready", "pid": os.getpid(), "rss_mb": rss_mb()})
    for line in stdin:
        if not line.strip():
            continue
        job = json.loads(line)
        session = Session(job, emit, env)
        try:
            (run_time if job.get("op") == "time" else run_model)(job, session)
        except MemoryError:
            # Every part the failed stage left unanswered fails as out of memory; then this process ends.
            emit({"event": "oom", "id": job["id"], "stage": session.current})
            return OUT_OF_MEMORY_EXIT
        emit({"event": "done", "id": job["id"], "stages": session.stages, "rss_mb": rss_mb()})
        free_memory()
    return 0


def main() -> int:
    """Keep the real stdout for events, send everything else to stderr, import paddle once, serve."""
    events = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    os.environ.setdefault("POLYGRAPHY_AUTOINSTALL_DEPS", "0")

    def emit(event: dict[str, Any]) -> None:
        events.write(json.dumps(event, sort_keys=True) + "\n")
        events.flush()

    try:
        import paddle  # noqa: F401  (once per worker: this is what a persistent worker saves)
    except ImportError:
        pass  # builders that need no paddle (tests) still run
    return serve(sys.stdin, emit)


if __name__ == "__main__":
    raise SystemExit(main())
