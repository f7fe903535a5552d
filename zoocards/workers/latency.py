"""Time onnxruntime inference of a model on this host, per batch size and provider.

The model is exported as in the `export` worker (or an existing ONNX file is timed, when
the job names one). For each batch size: `warmup` untimed runs, then timed runs until
`budget_s` seconds have passed or `max_repeats` runs were made, but at least
`min_repeats`. The time budget keeps 45-GMAC models on a 2-core machine to about ten
seconds per batch size; the record states how many runs the statistics rest on.
Providers: the CPU one always, CUDA and TensorRT when onnxruntime lists them.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from zoocards.workers.common import Job, build_model, environment, export_onnx, input_shape, log, ort_session, run, usable_cores

GPU_PROVIDERS = ("CUDAExecutionProvider", "TensorrtExecutionProvider")
DEFAULTS = {"warmup": 3, "budget_s": 10.0, "max_repeats": 200, "min_repeats": 3}


def time_session(session: Any, batch: Any, warmup: int, budget_s: float, max_repeats: int, min_repeats: int) -> dict[str, Any]:
    """Latency statistics in milliseconds of `session` on `batch`."""
    feed = {session.get_inputs()[0].name: batch}
    # Warm-up is bounded by half the budget too: one run of a 45-GMAC model at batch 8
    # takes several seconds on two cores.
    warm_started = time.perf_counter()
    done = 0
    while done < warmup and (done == 0 or time.perf_counter() - warm_started < budget_s / 2):
        session.run(None, feed)
        done += 1
    times: list[float] = []
    started = time.perf_counter()
    while len(times) < max_repeats and (len(times) < min_repeats or time.perf_counter() - started < budget_s):
        begin = time.perf_counter()
        session.run(None, feed)
        times.append((time.perf_counter() - begin) * 1000)
    ordered = sorted(times)
    return {
        "median_ms": statistics.median(ordered),
        "p90_ms": ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))],
        "min_ms": ordered[0],
        "max_ms": ordered[-1],
        "mean_ms": statistics.fmean(ordered),
        "stdev_ms": statistics.stdev(ordered) if len(ordered) > 1 else 0.0,
        "repeats": len(ordered),
        "warmup": done,
    }


def providers() -> list[str]:
    """Providers to time: CPU, plus the GPU ones this onnxruntime build offers."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    return ["CPUExecutionProvider"] + [p for p in GPU_PROVIDERS if p in available]


def bench(onnx_path: Path, job: Job) -> dict[str, Any]:
    """Time `onnx_path` at every batch size of the job, on every provider."""
    import numpy as np

    settings = {name: job.get(name, default) for name, default in DEFAULTS.items()}
    threads = int(job.get("threads") or usable_cores())
    rng = np.random.default_rng(0)
    runs = []
    for provider in providers():
        session = ort_session(onnx_path, threads=threads, provider=provider)
        for batch_size in job.get("batch_sizes") or [1]:
            batch = rng.standard_normal(input_shape(job, int(batch_size))).astype("float32")
            log(f"timing {provider} batch {batch_size}")
            stats = time_session(session, batch, int(settings["warmup"]), float(settings["budget_s"]), int(settings["max_repeats"]), int(settings["min_repeats"]))
            runs.append({"provider": provider, "batch_size": int(batch_size), "threads": threads, "precision": "FP32", **stats})
    # The CPU runs keyed by batch size: what the site shows as "measured here".
    cpu = {str(r["batch_size"]): r for r in runs if r["provider"] == "CPUExecutionProvider"}
    # Other processes on the host slow the timings down; the load says how busy it was.
    load = [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None
    return {"provider": "CPUExecutionProvider", "batch_sizes": cpu, "runs": runs, "threads": threads, "budget": settings, "load_average_1_5_15min": load}


def main(job: Job) -> dict[str, Any]:
    """Worker entry point: export (unless given an ONNX file) and time."""
    threads = int(job.get("threads") or usable_cores())
    if job.get("onnx"):
        result = bench(Path(job["onnx"]), job)
    else:
        model = build_model(job)
        with tempfile.TemporaryDirectory(prefix="zoocards-latency-") as tmp:
            result = bench(export_onnx(model, job, Path(tmp)), job)
    result["env"] = environment(threads)
    return result


if __name__ == "__main__":
    run(main)
