"""Time a model's exported files on one target: hardware, runtime, provider, precision, threads.

A target (see zoocards.measure.latency_targets) names where and how a timing runs:

    {"hardware": "amd-epyc", "hardware_name": "AMD EPYC", "hardware_kind": "cpu",
     "runtime": "onnxruntime" | "paddle-inference", "runtime_version": "1.32.0",
     "provider": "cpu" | "onednn" | "cuda" | "tensorrt", "precision": "FP32" | "FP16" | "INT8",
     "threads": 2 | null}

The runtimes, on the files the model job exported (model.onnx, and model.json/.pdiparams that
`paddle.jit.save` wrote, which Paddle Inference loads):

* onnxruntime: providers cpu (CPUExecutionProvider), onednn (DnnlExecutionProvider), cuda
  (CUDAExecutionProvider) and tensorrt (TensorrtExecutionProvider), when this onnxruntime
  build lists them. FP16 runs on tensorrt (`trt_fp16_enable`) and on cuda (the model
  converted by onnxruntime's own float16 converter, inputs and outputs kept FP32).
* Paddle Inference (`paddle.inference`): cpu (plain), onednn (`enable_onednn`), cuda
  (`enable_use_gpu`) and tensorrt (`enable_tensorrt_engine`), GPU ones only where paddle is
  compiled with CUDA. FP16 runs on cuda and tensorrt.

A CPU FP32 onnxruntime target loads the graph the export check's session optimised
(`CPU_OPTIMISED`, ORT_ENABLE_ALL, same onnxruntime, same host) with optimisation off, when the
model job left it: the session is what optimising at load gives, made before the quiet period;
the record says so (`graph`).

What cannot run is `not_run` with the reason, never a timing of something else: FP16 on a
CPU provider (no FP16 kernels; casts would be timed), INT8 anywhere (it needs a model
quantised on calibration images, which zoocards does not have), a provider this build lacks.

Method, per batch size (`time_runs`): a seeded random input; `warmup` untimed runs (at least
one, and no more once they have taken `budget_s`); then timed runs until `budget_s` has
passed, but at least `min_repeats` and at most `max_repeats`. The statistics: median, p10
and p90 (inclusive quantiles), coefficient of variation (sample stdev / mean), repeats and
warm-up runs. Threads are pinned: the runtime gets exactly `threads` intra-op threads, and
on a CPU target the process is bound to that many cores while it times. Idle threads sleep
rather than spin (onnxruntime's `session.intra_op.allow_spinning` = 0, OMP_WAIT_POLICY=PASSIVE
for Paddle's OpenMP), which keeps timings on a shared host from doubling when other processes
want the same cores. The 1/5/15-minute
load average at the start says how busy the host was; the CPU's model name is kept too.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from zoocards.workers.common import CPU_OPTIMISED, Job, WorkerError, cpu_model, input_shape, log, paddle_program, reads_cpu_optimised, usable_cores

DEFAULT_BUDGET: dict[str, Any] = {"warmup": 2, "budget_s": 1.0, "min_repeats": 3, "max_repeats": 200}
ORT_PROVIDERS = {"cpu": "CPUExecutionProvider", "onednn": "DnnlExecutionProvider", "cuda": "CUDAExecutionProvider", "tensorrt": "TensorrtExecutionProvider"}
GPU_PROVIDERS = ("cuda", "tensorrt")
INT8_REASON = "INT8 needs a model quantised on calibration images, which zoocards does not have"


class NotRun(Exception):
    """The target cannot be timed here; the message says why (the record's reason)."""


def summarise(times_ms: list[float], warmup: int) -> dict[str, Any]:
    """Median, p10, p90, coefficient of variation, repeats and warm-up runs of timed runs in ms."""
    ordered = sorted(times_ms)
    if len(ordered) > 1:
        cuts = statistics.quantiles(ordered, n=10, method="inclusive")
        p10, p90 = cuts[0], cuts[-1]
        mean = statistics.fmean(ordered)
        cv = statistics.stdev(ordered) / mean if mean > 0 else 0.0
    else:
        p10 = p90 = ordered[0]
        cv = 0.0
    return {"median_ms": statistics.median(ordered), "p10_ms": p10, "p90_ms": p90, "cv": cv, "repeats": len(ordered), "warmup": warmup,
            "min_ms": ordered[0]}


def time_runs(run: Callable[[], Any], warmup: int, budget_s: float, min_repeats: int, max_repeats: int, clock: Callable[[], float] = time.perf_counter) -> dict[str, Any]:
    """Warm up, then time `run` until the budget is spent (see the module docstring)."""
    started = clock()
    done = 0
    while done < max(1, warmup) and (done == 0 or clock() - started < budget_s):
        run()
        done += 1
    times: list[float] = []
    started = clock()
    while len(times) < max_repeats and (len(times) < min_repeats or clock() - started < budget_s):
        begin = clock()
        run()
        times.append((clock() - begin) * 1000)
    return summarise(times, done)


@contextmanager
def pinned(threads: int | None, cpu: bool) -> Iterator[None]:
    """Bind this process to `threads` cores while a CPU target is timed (runtimes started inside inherit it)."""
    if not cpu or not threads or not hasattr(os, "sched_getaffinity"):
        yield
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, sorted(before)[: max(1, threads)])
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def _ort_runner(onnx_path: Path, target: dict[str, Any], threads: int | None, workdir: Path, optimised: Path | None = None) -> Callable[[Any], Callable[[], Any]]:
    """An onnxruntime session for the target (on `optimised`, the graph already optimised, when given): a function from an input batch to one run."""
    import onnxruntime as ort

    provider = ORT_PROVIDERS.get(str(target["provider"]))
    if provider is None:
        raise NotRun(f"onnxruntime has no provider called {target['provider']}")
    if provider not in ort.get_available_providers():
        raise NotRun(f"this onnxruntime build ({ort.__version__}) has no {provider}; install the build that has it (onnxruntime-gpu for cuda/tensorrt)")
    precision = target["precision"]
    if precision == "INT8":
        raise NotRun(INT8_REASON)
    options: dict[str, Any] = {}
    model_path = onnx_path
    if precision == "FP16":
        if target["provider"] == "tensorrt":
            options = {"trt_fp16_enable": True}
        elif target["provider"] == "cuda":
            model_path = fp16_model(onnx_path, workdir)
        else:
            raise NotRun(f"onnxruntime's {provider} has no FP16 kernels for most operators; an FP16 model would time casts, not FP16 compute")
    elif precision != "FP32":
        raise NotRun(f"precision {precision} is not supported by zoocards' onnxruntime runner")
    session_options = ort.SessionOptions()
    if optimised is not None:
        # Optimised already, by the same onnxruntime on this host (ORT_ENABLE_ALL): loaded as it is,
        # a session starts 4-7 times sooner (CSWin-T 1.38 -> 0.19 s, SENet154_vd 1.90 -> 0.28 s) and
        # computes the same outputs, bit for bit, in the same time.
        model_path = optimised
        session_options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session_options.log_severity_level = 3
    # Idle intra-op threads sleep instead of spinning: with other processes on the cores,
    # spinning threads doubled FasterNet_T0's median here (48 ms against 25 ms at load 6).
    session_options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if threads:
        session_options.intra_op_num_threads = threads
        session_options.inter_op_num_threads = 1
    providers: list[Any] = [(provider, options) if options else provider]
    session = ort.InferenceSession(str(model_path), sess_options=session_options, providers=providers)
    name = session.get_inputs()[0].name

    def prepare(batch: Any) -> Callable[[], Any]:
        return lambda: session.run(None, {name: batch})

    return prepare


def fp16_model(onnx_path: Path, workdir: Path) -> Path:
    """The model with FP16 weights and compute, FP32 inputs and outputs (onnxruntime's own converter)."""
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    out = workdir / "model.fp16.onnx"
    if not out.exists():
        onnx.save(convert_float_to_float16(onnx.load(str(onnx_path)), keep_io_types=True), str(out))
    return out


def _paddle_runner(prefix: Path, target: dict[str, Any], threads: int | None, batches: list[int], job: Job) -> Callable[[Any], Callable[[], Any]]:
    """A Paddle Inference predictor for the target: a function from an input batch to one run."""
    import paddle
    from paddle import inference

    provider, precision = str(target["provider"]), target["precision"]
    if precision == "INT8":
        raise NotRun(INT8_REASON)
    if precision not in ("FP32", "FP16"):
        raise NotRun(f"precision {precision} is not supported by zoocards' Paddle Inference runner")
    config = inference.Config(str(paddle_program(prefix)), str(prefix) + ".pdiparams")
    config.disable_glog_info()
    if provider in ("cpu", "onednn"):
        if precision != "FP32":
            raise NotRun("Paddle Inference has no FP16 kernels on a CPU (oneDNN offers bfloat16, which is another precision)")
        config.disable_gpu()
        if provider == "onednn":
            config.enable_onednn()
        else:
            config.disable_onednn()
        config.set_cpu_math_library_num_threads(int(threads or 1))
    elif provider in GPU_PROVIDERS:
        if not paddle.is_compiled_with_cuda():
            raise NotRun(f"paddlepaddle {paddle.__version__} here is the CPU build; install paddlepaddle-gpu to time {provider}")
        mode = inference.PrecisionType.Half if precision == "FP16" else inference.PrecisionType.Float32
        if provider == "cuda":
            config.enable_use_gpu(256, 0, mode)
        else:
            config.enable_use_gpu(256, 0)
            config.enable_tensorrt_engine(workspace_size=1 << 30, max_batch_size=max(batches), min_subgraph_size=3, precision_mode=mode, use_static=False, use_calib_mode=False)
            low, high = input_shape(job, min(batches)), input_shape(job, max(batches))
            config.set_trt_dynamic_shape_info({"x": low}, {"x": high}, {"x": high})
    else:
        raise NotRun(f"Paddle Inference has no provider called {provider}")
    predictor = inference.create_predictor(config)
    handle = predictor.get_input_handle(predictor.get_input_names()[0])

    def prepare(batch: Any) -> Callable[[], Any]:
        def run() -> Any:
            handle.reshape(list(batch.shape))
            handle.copy_from_cpu(batch)
            predictor.run()

        return run

    return prepare


def time_target(workdir: Path, job: Job, part: dict[str, Any]) -> dict[str, Any]:
    """Time one latency part (a target and its batch sizes) on the files in `workdir`; raises NotRun when it cannot run."""
    import numpy as np

    target = part["target"]
    batches = sorted(int(b) for b in part.get("batches") or [1])
    budget = {**DEFAULT_BUDGET, **(part.get("budget") or {})}
    cpu = target["hardware_kind"] == "cpu" and target["provider"] not in GPU_PROVIDERS
    threads = int(target["threads"]) if target.get("threads") else (usable_cores() if cpu else None)
    load = [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None
    with pinned(threads, cpu):
        started = time.perf_counter()
        optimised = workdir / CPU_OPTIMISED if not part.get("onnx") and reads_cpu_optimised(target) and (workdir / CPU_OPTIMISED).exists() else None
        if target["runtime"] == "onnxruntime":
            prepare = _ort_runner(Path(part["onnx"]) if part.get("onnx") else workdir / "model.onnx", target, threads, workdir, optimised)
        elif target["runtime"] == "paddle-inference":
            if part.get("onnx"):
                raise NotRun("Paddle Inference needs the model Paddle saved; only an ONNX file was given")
            prepare = _paddle_runner(workdir / "model", target, threads, batches, job)
        else:
            raise NotRun(f"zoocards cannot drive the runtime {target['runtime']}; it times onnxruntime and Paddle Inference")
        setup_s = time.perf_counter() - started
        rng = np.random.default_rng(0)
        results = {}
        for batch_size in batches:
            batch = rng.standard_normal(input_shape(job, batch_size)).astype("float32")
            log(f"timing {target['runtime']} {target['provider']} {target['precision']} batch {batch_size}")
            results[str(batch_size)] = time_runs(prepare(batch), int(budget["warmup"]), float(budget["budget_s"]), int(budget["min_repeats"]), int(budget["max_repeats"]))
    if not results:
        raise WorkerError("no batch size to time")
    result = {"batches": results, "load_avg": load, "cpu_model": cpu_model(), "threads": threads, "setup_s": round(setup_s, 3), "budget": budget}
    if optimised is not None:
        result["graph"] = "optimised when the export was checked (ORT_ENABLE_ALL, this host), loaded as it is"
    return result
