"""Export a model to ONNX and check onnxruntime computes what Paddle computes.

The model is saved with `paddle.jit.save` (dynamic batch), converted by paddle2onnx at
opset 13 with onnxoptimizer, and run by onnxruntime's CPU provider on the same seeded
random batch of 2 as Paddle. The result states both errors and whether the export passed
(see `MAX_RELATIVE_ERROR`). The working directory is temporary unless `keep_dir` is set.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from zoocards.compare import ONNX_MAX_RELATIVE_ERROR
from zoocards.workers.common import OPSET, Job, build_model, environment, export_onnx, input_shape, log, ort_session, run

# The pass/fail threshold lives with the other tolerances, in zoocards.compare.
MAX_RELATIVE_ERROR = ONNX_MAX_RELATIVE_ERROR
BATCH = 2
SEED = 0


def random_batch(job: Job, batch: int = BATCH, seed: int = SEED) -> Any:
    """A reproducible standard-normal NCHW float32 batch for the job's input."""
    import numpy as np

    return np.random.default_rng(seed).standard_normal(input_shape(job, batch)).astype("float32")


def compare_outputs(expected: Any, actual: Any) -> dict[str, Any]:
    """Errors of `actual` against `expected` and the pass/fail verdict."""
    import numpy as np

    expected = np.asarray(expected, dtype="float64")
    actual = np.asarray(actual, dtype="float64")
    if expected.shape != actual.shape:
        return {"passed": False, "max_abs_err": None, "max_rel_err": None, "reason": f"output shapes differ: paddle {list(expected.shape)}, onnxruntime {list(actual.shape)}"}
    abs_err = float(np.max(np.abs(expected - actual)))
    scale = float(np.max(np.abs(expected)))
    rel_err = abs_err / scale if scale > 0 else (0.0 if abs_err == 0 else float("inf"))
    if not np.all(np.isfinite(actual)):
        return {"passed": False, "max_abs_err": None, "max_rel_err": None, "reason": "onnxruntime produced non-finite values"}
    return {"passed": rel_err <= MAX_RELATIVE_ERROR, "max_abs_err": abs_err, "max_rel_err": rel_err, "output_scale": scale}


def export_and_check(model: Any, job: Job, workdir: Path) -> dict[str, Any]:
    """Export `model` into `workdir` and compare Paddle with onnxruntime on one batch."""
    import paddle

    batch = random_batch(job)
    with paddle.no_grad():
        expected = model(paddle.to_tensor(batch)).numpy()
    log("exporting to ONNX")
    onnx_path = export_onnx(model, job, workdir)
    session = ort_session(onnx_path)
    actual = session.run(None, {session.get_inputs()[0].name: batch})[0]
    result = compare_outputs(expected, actual)
    result.update(
        {
            "opset": OPSET,
            "onnx_bytes": onnx_path.stat().st_size,
            "batch": BATCH,
            "seed": SEED,
            "threshold": {"max_relative_error": MAX_RELATIVE_ERROR},
            "onnx_path": str(onnx_path) if job.get("keep_dir") else None,
        }
    )
    return result


def main(job: Job) -> dict[str, Any]:
    """Worker entry point: build, export, compare."""
    model = build_model(job)
    if job.get("keep_dir"):
        workdir = Path(job["keep_dir"])
        workdir.mkdir(parents=True, exist_ok=True)
        result = export_and_check(model, job, workdir)
    else:
        with tempfile.TemporaryDirectory(prefix="zoocards-export-") as tmp:
            result = export_and_check(model, job, Path(tmp))
    result["env"] = environment()
    return result


if __name__ == "__main__":
    run(main)
