"""What every worker shares: builders, export, onnxruntime sessions and provenance.

Nothing here imports paddle at module level, so the helpers stay cheap; the functions that
need paddle import it when called. The process that runs them is `zoocards.workers.serve`.
"""

from __future__ import annotations

import datetime as _dt
import gc
import importlib
import inspect
import importlib.metadata
import importlib.util
import logging
import os
import platform
import shutil
import subprocess
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# paddle2onnx's default optimiser (polygraphy) pip-installs packages at run time; a
# measurement must never change the environment it measures.
os.environ.setdefault("POLYGRAPHY_AUTOINSTALL_DEPS", "0")

OPSET = 13
# How an export with a fixed batch of 1 starts its note (its batch check cannot run).
FIXED_BATCH_NOTE = "exported with a fixed batch of 1"
# Versions that decide what a measurement means; read without importing paddle.
PACKAGES = ("paddlepaddle", "paddle2onnx", "paddleclas", "onnxruntime", "onnx", "onnxoptimizer", "numpy")

Job = dict[str, Any]


def log(message: str) -> None:
    """Write one progress line to stderr (stdout carries only the result)."""
    print(message, file=sys.stderr, flush=True)


def package_versions(names: tuple[str, ...] = PACKAGES) -> dict[str, str | None]:
    """Installed distribution versions, None when a package is absent."""
    out: dict[str, str | None] = {}
    for name in names:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def cpu_model() -> str:
    """The CPU's marketing name from /proc/cpuinfo (platform.processor() is often empty)."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def usable_cores() -> int:
    """Cores this process may run on (the affinity mask, which containers narrow)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _meminfo(field: str) -> int | None:
    """A /proc/meminfo figure in bytes, None where it cannot be read."""
    try:
        for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def memory_bytes() -> int | None:
    """Total RAM in bytes, None where it cannot be read."""
    return _meminfo("MemTotal")


# The run's directory in RAM (zoocards.measure.ram_scratch), and the share of the available
# memory the files of one model may take there.
RAM_DIR_ENV = "ZOOCARDS_RAM_DIR"
RAM_FILE_SHARE = 0.25


def scratch_dir(need_bytes: int) -> str | None:
    """Where to write `need_bytes` of files read straight back: the run's RAM directory when they fit, else None (the system temp dir)."""
    ram = os.environ.get(RAM_DIR_ENV)
    available = _meminfo("MemAvailable")
    if ram and os.path.isdir(ram) and available and need_bytes <= RAM_FILE_SHARE * available:
        return ram
    return None


def memory_gb() -> float | None:
    """Total RAM in GB from /proc/meminfo, None where it cannot be read."""
    total = memory_bytes()
    return round(total / 1024**3, 1) if total is not None else None


def gpu_names() -> list[str]:
    """NVIDIA GPUs nvidia-smi reports, [] without a driver (no paddle import needed)."""
    if not shutil.which("nvidia-smi"):
        return []
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.strip() for line in out.stdout.splitlines() if line.strip()]


def host_info() -> dict[str, Any]:
    """The hardware a latency figure depends on; no host name (it says nothing about speed)."""
    return {
        "cpu": cpu_model(),
        "cores": usable_cores(),
        "machine": platform.machine(),
        "os": f"{platform.system()} {platform.release()}",
        "memory_gb": memory_gb(),
        "gpus": gpu_names(),
    }


def environment(threads: int | None = None) -> dict[str, Any]:
    """Provenance of a measurement: machine, OS, package versions, UTC time."""
    return {
        "host": host_info(),
        "threads": threads,
        "python": platform.python_version(),
        "versions": package_versions(),
        "date": utc_now(),
    }


def utc_now() -> str:
    """The current UTC time as 2026-11-23T15:00:00Z."""
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def rss_mb() -> float | None:
    """This process's resident memory in MB (VmRSS), None where /proc is absent."""
    try:
        for line in Path("/proc/self/status").read_text(encoding="utf-8").splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except (OSError, ValueError, IndexError):
        pass
    return None


def free_memory() -> None:
    """Give back what the last model held: Python garbage, then the GPU cache when there is one."""
    gc.collect()
    paddle = sys.modules.get("paddle")
    if paddle is not None and paddle.device.is_compiled_with_cuda():
        paddle.device.cuda.empty_cache()


_ppcls_logger_ready = False


def init_ppcls_logger() -> None:
    """Initialise ppcls's logger once per process, errors only, on stderr.

    ppcls modules log through `ppcls.utils.logger`, whose logger is None until
    `init_logger()` runs (PaddleClas's own tools call it first); the legendary models
    (ResNet, VGG, MobileNetV1/V3/V4, HRNet, InceptionV3, ESNet) warn while they are built
    and fail with "'NoneType' object has no attribute 'warning'" without it.
    """
    global _ppcls_logger_ready
    if _ppcls_logger_ready:
        return
    from ppcls.utils import logger

    # The handler writes to sys.stdout as it is at this moment: the worker points it at stderr.
    stdout, sys.stdout = sys.stdout, sys.stderr
    try:
        logger.init_logger(log_level=logging.ERROR)
    finally:
        sys.stdout = stdout
    _ppcls_logger_ready = True


def add_ppcls_to_path() -> None:
    """Make `import ppcls` work without `import paddleclas` (whose __init__ needs cv2)."""
    spec = importlib.util.find_spec("paddleclas")
    if spec is None or not spec.submodule_search_locations:
        return
    location = list(spec.submodule_search_locations)[0]
    if location not in sys.path:
        sys.path.insert(0, location)


def resolve_builder(spec: str) -> Callable[..., Any]:
    """`package.module:callable` -> the callable; a user-facing error when it is missing."""
    module_name, sep, attribute = spec.partition(":")
    if not sep or not module_name or not attribute:
        raise WorkerError(f"builder {spec!r} is not of the form module:callable")
    if module_name.split(".")[0] == "ppcls":
        add_ppcls_to_path()
        init_ppcls_logger()
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise WorkerError(f"cannot import {module_name} for builder {spec}: {exc}") from None
    builder = getattr(module, attribute, None)
    if not callable(builder):
        raise WorkerError(f"{module_name} has no callable {attribute} (builder {spec})")
    # paddleclas 2.6.0's hrnet.py builds SE_HRNet_* and then looks its weights' URL up in
    # MODEL_URLS, which has no SE_HRNet_* keys: a KeyError even with pretrained=False. No URL is
    # ever fetched here (weights, when used, are local files), so a missing entry gets an empty one.
    urls = getattr(module, "MODEL_URLS", None)
    if isinstance(urls, dict):
        urls.setdefault(attribute, "")
    return builder  # type: ignore[no-any-return]


def build_model(job: Job, weights: str | None = None, lazy: bool = False) -> Any:
    """Build the job's architecture in eval mode, loading `weights` (.pdparams) if given.

    Builders are called with no arguments: the card's figures describe the zoo's default
    configuration, and the output width is checked against `num_classes` afterwards. The
    build runs under a fresh `unique_name.guard()`: old-style layers name their parameters
    process-wide, and a worker builds many models.

    `lazy` builds under `paddle.LazyGuard`: the parameters get their shapes but not their
    values, so the builder's own random initialisation, which `zoocards.workers.export.sane_init`
    overwrites anyway, is skipped (ViT-B/16: 3.8 s -> 0.2 s). The caller gives every parameter
    a value (`reinit_weights`, then `materialize` for the rest) before a forward pass. A builder
    that cannot build lazily (one that computes with a parameter while it builds) is built
    eagerly instead.
    """
    if lazy and not weights and "paddle" in sys.modules:
        import paddle

        try:
            with paddle.LazyGuard():
                return build_model(job)
        except Exception as exc:
            log(f"cannot build {job['builder']} lazily, building it eagerly: {short_error(exc)}")
    builder = resolve_builder(job["builder"])
    # A few ppcls builders default to pretrained=True (UniFormer_*): they would download weights.
    # Weights come only from local files here, so say pretrained=False wherever it is a parameter.
    kwargs = {"pretrained": False} if "pretrained" in inspect.signature(builder).parameters else {}
    # A builder may set a module global for the next model of its module (UniFormer_base_ls sets
    # `layer_scale = True` and never resets it): a worker serving many models restores them.
    module = sys.modules.get(getattr(builder, "__module__", ""), None)
    saved = {k: v for k, v in vars(module).items() if isinstance(v, (bool, int, float, str)) and not k.startswith("__")} if module else {}
    try:
        if "paddle" in sys.modules:  # a builder that never imported paddle has nothing to seed
            import paddle

            paddle.seed(int(job.get("seed", 0)))
            with paddle.utils.unique_name.guard():
                model = builder(**kwargs)
        else:
            model = builder(**kwargs)
    finally:
        if module is not None:
            vars(module).update(saved)
    if weights:
        import paddle

        state = paddle.load(weights)
        absent = [name for name in model.state_dict() if name not in state]
        if absent:
            raise WorkerError(f"weights {Path(weights).name} lack {len(absent)} tensors of the model, e.g. {absent[0]}")
        model.set_state_dict(state)
    model.eval()
    return model


def materialize(model: Any) -> Any:
    """Give every parameter a lazy build left without a value its own initialiser's value; returns the model."""
    for parameter in model.parameters():
        is_initialized = getattr(parameter, "_is_initialized", None)
        if is_initialized is not None and not is_initialized() and hasattr(parameter, "initialize"):
            parameter.initialize()
    return model


def input_shape(job: Job, batch: int) -> list[int]:
    """NCHW shape of the job's input at `batch`."""
    size = int(job["input_size"])
    return [batch, int(job.get("channels", 3)), size, size]


def paddle_program(prefix: Path) -> Path:
    """The program file jit.save wrote: prefix.json (PIR, paddle >= 3) or prefix.pdmodel before it."""
    json_file = prefix.with_name(prefix.name + ".json")
    return json_file if json_file.exists() else prefix.with_name(prefix.name + ".pdmodel")


def short_error(exc: BaseException) -> str:
    """`Type: message` in one line; for a dy2static error ("In transformed code: ..."), its last line, which says what failed."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    if lines[0].startswith("In transformed code") and len(lines) > 1:
        return lines[-1]
    return f"{type(exc).__name__}: {lines[0]}"


@contextmanager
def sized_resizing(notes: list[str]) -> Iterator[None]:
    """While tracing for export, interpolation by a scale factor is written with the output size it implies.

    paddle2onnx 2.1.0 cannot convert a nearest/bilinear interpolation whose scale is a factor
    in the PIR program ("the 0th elementwise MUST be ir::FloatAttribute", pir_parser.cc:814),
    and it exits the process instead of raising. paddleclas 2.6.0's HRNet upsamples that way.
    With the input's spatial size known at export (only the batch is dynamic), an explicit
    output size is the same operation. `F.interpolate`/`F.upsample` are replaced for the
    duration, also where a ppcls module imported them by name; `notes` says when it applied.
    """
    import paddle.nn.functional as F

    originals = {id(F.interpolate): F.interpolate, id(F.upsample): F.upsample}

    def sized(original: Callable[..., Any]) -> Callable[..., Any]:
        def resize(x: Any, size: Any = None, scale_factor: Any = None, *args: Any, **kwargs: Any) -> Any:
            spatial = list(x.shape[2:])
            channels_first = str(kwargs.get("data_format", "NCHW")).startswith("NC") and not args[3:4]
            if size is None and scale_factor is not None and channels_first and all(isinstance(d, int) and d > 0 for d in spatial):
                factors = list(scale_factor) if isinstance(scale_factor, (list, tuple)) else [scale_factor] * len(spatial)
                size, scale_factor = [int(d * f) for d, f in zip(spatial, factors)], None
                note = "interpolation by a scale factor exported as its output size (paddle2onnx 2.1.0 cannot convert the factor, pir_parser.cc:814)"
                if note not in notes:
                    notes.append(note)
            return original(x, size, scale_factor, *args, **kwargs)
        return resize

    replaced: list[tuple[Any, str, Any]] = []
    owners = [F] + [module for name, module in list(sys.modules.items()) if name.startswith("ppcls.") and module is not None]
    for owner in owners:
        for attribute in ("interpolate", "upsample"):
            value = getattr(owner, attribute, None)
            if value is not None and id(value) in originals:
                replaced.append((owner, attribute, value))
                setattr(owner, attribute, sized(value))
    try:
        yield
    finally:
        for owner, attribute, value in replaced:
            setattr(owner, attribute, value)


_dy2static_cached = False


def cache_dy2static() -> None:
    """Let paddle's dy2static reuse work across the layers and models one worker traces (same programs, less time).

    `paddle.jit.save` converts each layer's `forward` to a static function. paddle 3.3 keys its
    conversion cache by the function object it is given, which for a layer is a bound method made
    afresh at every call: nothing is ever found again, and every instance of every block is
    converted anew (DLA102: 110 conversions of a few distinct functions, half of its 6 s save).
    The conversion of a bound method is a plain function made from the method's own function
    (its source, globals and closure), the same for every instance, so it is cached under that
    function here. And `is_unsupported`, asked for every call traced, rebuilt the list of every
    function of its built-in-like modules each time (1.4 s of that save); the list is kept
    while those modules stay the same. `tests/test_workers.py` checks that the saved programs
    are byte for byte what paddle writes without this. Versions without these internals are
    left as they are.
    """
    global _dy2static_cached
    if _dy2static_cached:
        return
    _dy2static_cached = True
    try:
        from paddle.jit.dy2static import convert_call_func, program_translator
    except ImportError:
        return
    cache = getattr(program_translator, "FunctionCache", None)
    if cache is not None and hasattr(cache, "convert_with_cache") and hasattr(cache, "_convert"):
        original_convert = cache.convert_with_cache

        def convert_with_cache(self: Any, func: Any) -> Any:
            function = getattr(func, "__func__", None)
            if function is None or getattr(func, "__self__", None) is None:
                return original_convert(self, func)
            static_func = self._converted_static_func_caches.get(function)
            if static_func is None:
                static_func = original_convert(self, func)
                self._converted_static_func_caches[function] = static_func
            return static_func

        cache.convert_with_cache = convert_with_cache
    needed = ("is_unsupported", "BUILTIN_LIKELY_MODULES", "get_module_functions", "get_module_defining_path", "is_paddle_func")
    if all(hasattr(convert_call_func, name) for name in needed):
        known: dict[tuple[int, ...], tuple[tuple[str, ...], set[int], list[Any]]] = {}

        def builtins() -> tuple[tuple[str, ...], set[int]]:
            modules = tuple(convert_call_func.BUILTIN_LIKELY_MODULES)
            key = tuple(id(module) for module in modules)
            if key not in known:
                paths = tuple(path for module in modules if (path := convert_call_func.get_module_defining_path(module)) is not None)
                functions = [fn for module in modules for fn in convert_call_func.get_module_functions(module)]
                known.clear()
                known[key] = (paths, {id(fn) for fn in functions}, functions)  # the list keeps the ids valid
            paths, ids, _ = known[key]
            return paths, ids

        def is_unsupported(func: Any) -> bool:
            paths, ids = builtins()
            code = getattr(func, "__code__", None)
            if code is not None and code.co_filename and code.co_filename.startswith(paths):
                return True
            return id(func) in ids or bool(convert_call_func.is_paddle_func(func))

        convert_call_func.is_unsupported = is_unsupported


def _counted_name_struct(framework: Any) -> Callable[..., Any]:
    """paddle's `name_struct` (the layer path each op of a traced program records as `struct_name`), the same names.

    paddle 3.3's version lists every op of the program (`block.ops`) when a layer call starts,
    only to count them, and again when it ends: for every layer call of the trace. This one
    counts them with `block.num_ops()`; the rest is paddle's code as it is.
    """
    @contextmanager
    def name_struct(prefix: Any = None) -> Iterator[None]:
        if framework.in_dygraph_mode():
            yield
            return
        assert prefix, "namescope prefix can not be empty."
        framework._name_struct = framework._name_struct.child(prefix)
        pir = framework.in_pir_mode()
        if pir:
            op_num_before = framework.paddle.static.default_main_program().global_block().num_ops()
        try:
            yield
        finally:
            if pir:
                all_ops = framework.paddle.static.default_main_program().global_block().ops
                for idx in reversed(range(op_num_before, len(all_ops))):
                    op = all_ops[idx]
                    if op.has_attr("struct_name"):
                        continue
                    op.set_str_attr("struct_name", framework._full_name_struct())
            framework._name_struct = framework._name_struct.parent()

    return name_struct


@contextmanager
def quick_tracing() -> Iterator[None]:
    """`paddle.jit.save` without the work whose results it never saves (the saved program is the same, byte for byte).

    * `cache_dy2static` (see there);
    * while tracing, paddle 3.3 records each op's Python call stack (`traceback.extract_stack`,
      called from C++ for every op: 6633 times, 2 s, of CSWinTransformer_tiny_224's 5 s save),
      then maps it back to the source before dy2static (1 s more). The stack serves error
      messages only: it is not in the saved program. Here it is empty while the save runs;
    * `_counted_name_struct` instead of paddle's `name_struct`.

    `tests/test_workers.py` checks that programs and weights are byte for byte what paddle
    writes without this. Versions without these internals are left as they are.
    """
    cache_dy2static()
    framework: Any = sys.modules.get("paddle.base.framework")
    layers: Any = sys.modules.get("paddle.nn.layer.layers")
    patch_names = (framework is not None and layers is not None and getattr(layers, "name_struct", None) is getattr(framework, "name_struct", None)
                   and all(hasattr(framework, name) for name in ("_name_struct", "_full_name_struct", "in_pir_mode", "in_dygraph_mode")))
    original_stack, original_names = traceback.extract_stack, getattr(layers, "name_struct", None)
    traceback.extract_stack = lambda *args, **kwargs: traceback.StackSummary()
    if patch_names:
        layers.name_struct = _counted_name_struct(framework)
    try:
        yield
    finally:
        traceback.extract_stack = original_stack
        if patch_names:
            layers.name_struct = original_names


def export_onnx(model: Any, job: Job, workdir: Path, notes: list[str] | None = None) -> Path:
    """jit.save the model with a dynamic batch (workdir/model.*, what Paddle Inference loads), convert it to ONNX, return the ONNX file.

    What the export had to do differently is appended to `notes`: interpolation written with
    its output size (`sized_resizing`), or a fixed batch of 1 when tracing a dynamic batch
    fails (paddle 3.x's `F.fold` asserts a non-negative element count, which a dynamic batch
    of -1 breaks: MobileViTV2/V3 in paddleclas 2.6.0).
    """
    import paddle
    import paddle2onnx

    notes = [] if notes is None else notes
    shape = input_shape(job, 1)
    prefix = workdir / "model"
    with sized_resizing(notes), quick_tracing():
        try:
            paddle.jit.save(model, str(prefix), input_spec=[paddle.static.InputSpec([None, *shape[1:]], "float32", "x")])
        except Exception as exc:
            log(f"tracing with a dynamic batch failed, exporting with batch 1: {short_error(exc)}")
            paddle.jit.save(model, str(prefix), input_spec=[paddle.static.InputSpec(shape, "float32", "x")])
            notes.append(f"{FIXED_BATCH_NOTE} (tracing a dynamic batch failed: {short_error(exc)})")
    out = workdir / "model.onnx"
    # No optimiser pass: the default (polygraphy) pip-installs packages at run time, and
    # paddle2onnx 2.1's onnxoptimizer list names a pass that does not exist ("eliminate_nop_cast "),
    # so it always fell back to the unoptimised bytes after parsing the whole model once more.
    convert = sys.modules[paddle2onnx.export.__module__]
    errors: list[str] = []
    original_error = convert.logging.error

    def keep_error(message: Any, *args: Any, **kwargs: Any) -> None:
        # paddle2onnx logs a failed conversion and carries on: keep its message for the reason.
        if message:
            errors.append(str(message))
        original_error(message, *args, **kwargs)

    convert.logging.error = keep_error
    try:
        paddle2onnx.export(str(paddle_program(prefix)), str(prefix) + ".pdiparams", str(out), opset_version=OPSET, optimize_tool="none")
    except UnboundLocalError:  # what follows the logged failure inside paddle2onnx.export
        pass
    finally:
        convert.logging.error = original_error
    if not out.exists():
        raise WorkerError(f"paddle2onnx: {errors[0]}" if errors else "paddle2onnx finished without writing the ONNX file")
    return out


# The cores one worker may use while others work beside it (set by zoocards.measure from its
# `parallel`): the checks' onnxruntime sessions and Paddle's OpenMP threads stay within it.
THREADS_ENV = "ZOOCARDS_WORKER_THREADS"


def worker_threads() -> int | None:
    """This worker's share of the cores (`THREADS_ENV`), None when it runs alone."""
    try:
        return max(1, int(os.environ[THREADS_ENV]))
    except (KeyError, ValueError):
        return None


# The graph onnxruntime's CPU provider optimised (ORT_ENABLE_ALL) when the export was checked,
# saved beside the export for the CPU timings (see zoocards.workers.latency), and the biggest
# model it is saved for (onnxruntime writes one protobuf, which cannot pass 2 GB).
CPU_OPTIMISED = "model.cpu-optimised.onnx"
CPU_OPTIMISED_MAX_BYTES = 1536 * 1024**2


def reads_cpu_optimised(target: dict[str, Any]) -> bool:
    """Whether a latency target times the graph onnxruntime's CPU provider optimises (`CPU_OPTIMISED`)."""
    return target.get("runtime") == "onnxruntime" and target.get("provider") == "cpu" and target.get("precision") == "FP32"


def ort_session(onnx_path: Path, threads: int | None = None, provider: str = "CPUExecutionProvider", save_optimised: Path | None = None) -> Any:
    """An onnxruntime session with quiet logs, idle threads that sleep, and a fixed intra-op thread count (default: this worker's share).

    `save_optimised`: where to write the graph as this session optimised it (CPU provider only).
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only; warnings flood stderr otherwise
    # Two workers side by side each ran a 2-thread session with spinning threads on 2 cores.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    threads = threads or worker_threads()
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    if save_optimised is not None and provider == "CPUExecutionProvider" and onnx_path.stat().st_size <= CPU_OPTIMISED_MAX_BYTES:
        options.optimized_model_filepath = str(save_optimised)
    return ort.InferenceSession(str(onnx_path), sess_options=options, providers=[provider])


class WorkerError(Exception):
    """A failure the worker reports as a one-line reason, not a traceback."""
