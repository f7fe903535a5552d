"""Export a model to ONNX and check onnxruntime computes what Paddle computes.

The model is saved with `paddle.jit.save` (dynamic batch), converted by paddle2onnx at
opset 13, and run by onnxruntime's CPU provider on the same seeded random image as Paddle.
The result states both errors and whether the export passed (see `MAX_RELATIVE_ERROR`);
`batch_check` then compares onnxruntime on two images at once with the same two images one at
a time (a fixed or mixed-up batch dimension fails the export, with the reason).

Random weights must not decide the verdict. A builder's own random initialisation can
grow activations layer after layer (BatchNorm running statistics of 0/1 normalise nothing),
until float32 rounding alone makes outputs of ~1e4 differ by a few 1e-2 relative. Before
exporting, `sane_init` therefore gives every model the same numerically sane weights:

* convolution and linear weights ~ N(0, 1/fan_in) from a fixed seed (variance-preserving),
  their biases 0;
* BatchNorm/LayerNorm/GroupNorm scales 1 and shifts 0;
* each BatchNorm's running mean and variance set, in one forward pass over a calibration
  batch (another seed), to the statistics of the input it actually receives, so every
  BatchNorm outputs zero-mean, unit-variance activations, as in a trained network;
* everything else (position embeddings, layer scales, …) from its own initialiser, seeded
  (the worker builds lazily, `build_model(lazy=True)`, so these are the only builder
  initialisations that run).

The weights stay random and generic, so a mistranslated operator still shows. When the
outputs still differ, `first_divergence` bisects to the first layer whose input onnxruntime
reproduces but whose output it does not (every intermediate tensor of the ONNX graph made an
output, matched to each Paddle layer's input and output by shape and value), and the record's
`divergence` names it, with `same_type_reproduced_before`: how many earlier layers of its type
onnxruntime did reproduce. A wrong operator fails at its first use (CSPDarkNet53's first
LeakyReLU); a BatchNorm that drifts past 1e-3 after a hundred reproduced BatchNorms is
float32 rounding grown with depth (zoocards.compare judges the two apart).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from zoocards.compare import ONNX_MAX_RELATIVE_ERROR
from zoocards.workers.common import FIXED_BATCH_NOTE, OPSET, Job, export_onnx, input_shape, log, materialize, ort_session, scratch_dir

# The pass/fail threshold lives with the other tolerances, in zoocards.compare.
MAX_RELATIVE_ERROR = ONNX_MAX_RELATIVE_ERROR
# A layer's tensors count as reproduced within this (looser than the output's threshold:
# an intermediate tensor carries the rounding of every layer before it, unscaled by a head).
LAYER_RELATIVE_ERROR = 1e-3
# Elements compared first when a tensor is matched among many of its shape (`_best_match`).
MATCH_SAMPLE = 256
# Paddle and onnxruntime are compared on one image (Paddle's eager forward is the costly part);
# onnxruntime then runs that image with another at once, which catches a batch dimension the
# export fixed or mixed.
BATCH = 1
BATCH_CHECK = 2
SEED = 0
CALIBRATION_SEED = 1
INIT = "fan_in_normal+bn_calibrated"


def random_batch(job: Job, batch: int = BATCH, seed: int = SEED) -> Any:
    """A reproducible standard-normal NCHW float32 batch for the job's input."""
    import numpy as np

    return np.random.default_rng(seed).standard_normal(input_shape(job, batch)).astype("float32")


def _norm_kind(layer: Any) -> str | None:
    names = [cls.__name__ for cls in type(layer).__mro__]
    if any("BatchNorm" in name for name in names):
        return "batch"
    if any(kind in name for name in names for kind in ("LayerNorm", "GroupNorm", "InstanceNorm")):
        return "other"
    return None


def _numpy_dtype(tensor: Any) -> str:
    """The numpy dtype name of a paddle tensor's dtype (without copying the tensor out)."""
    return str(tensor.dtype).rsplit(".", 1)[-1].replace("bfloat16", "float32")


def reinit_weights(model: Any, seed: int = SEED) -> list[Any]:
    """Fan-in normal conv/linear weights, zero biases, identity norms; returns the BatchNorms left to calibrate."""
    import math

    import numpy as np
    from paddle import nn

    rng = np.random.default_rng(seed)
    transposed = (nn.Conv1DTranspose, nn.Conv2DTranspose, nn.Conv3DTranspose)
    weighted = (nn.Conv1D, nn.Conv2D, nn.Conv3D, nn.Linear, *transposed)
    batch_norms = []
    for layer in model.sublayers(include_self=True):
        if isinstance(layer, weighted):
            weight = layer.weight
            shape = [int(s) for s in weight.shape]
            if isinstance(layer, nn.Linear):
                fan_in = shape[0]  # weight: [in, out]
            elif isinstance(layer, transposed):
                fan_in = math.prod(shape) // shape[1]  # weight: [Cin, Cout / groups, *kernel]
            else:
                fan_in = math.prod(shape[1:])  # weight: [Cout, Cin / groups, *kernel]
            values = rng.standard_normal(shape, dtype=np.float32) / np.float32(math.sqrt(max(1, fan_in)))
            weight.set_value(values.astype(_numpy_dtype(weight)))
            if getattr(layer, "bias", None) is not None:
                layer.bias.set_value(np.zeros(layer.bias.shape, dtype=_numpy_dtype(layer.bias)))
            continue
        kind = _norm_kind(layer)
        if kind is None:
            continue
        scale, shift = getattr(layer, "weight", None), getattr(layer, "bias", None)
        if scale is not None:
            scale.set_value(np.ones(scale.shape, dtype=_numpy_dtype(scale)))
        if shift is not None:
            shift.set_value(np.zeros(shift.shape, dtype=_numpy_dtype(shift)))
        if kind == "batch" and getattr(layer, "_mean", None) is not None and getattr(layer, "_variance", None) is not None:
            batch_norms.append(layer)
    materialize(model)  # a lazy build's other parameters (position embeddings, …): their own initialisers
    return batch_norms


@contextmanager
def calibrating(batch_norms: list[Any]) -> Iterator[None]:
    """While the block runs a forward pass, each BatchNorm takes its running statistics from the input it receives."""
    import paddle

    def calibrate(layer: Any, inputs: tuple[Any, ...]) -> None:
        x = inputs[0]
        layout = str(getattr(layer, "_data_format", None) or getattr(layer, "_data_layout", None) or "NCHW")
        channel = 1 if layout.startswith("NC") or len(x.shape) == 2 else len(x.shape) - 1
        axes = [axis for axis in range(len(x.shape)) if axis != channel]
        if int(x.numel()) // int(x.shape[channel]) < 2:
            # One value per channel (a BatchNorm1D on one image's features) has no variance to
            # take: leave that BatchNorm at mean 0, variance 1 rather than divide by epsilon.
            layer._mean.set_value(paddle.zeros_like(layer._mean))
            layer._variance.set_value(paddle.ones_like(layer._variance))
            return
        layer._mean.set_value(paddle.mean(x, axis=axes).astype(layer._mean.dtype))
        layer._variance.set_value(paddle.var(x, axis=axes, unbiased=False).astype(layer._variance.dtype))

    handles = [layer.register_forward_pre_hook(calibrate) for layer in batch_norms]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def sane_init(model: Any, calibration: Any, seed: int = SEED) -> None:
    """Re-initialise `model` in place (`reinit_weights`), then calibrate its BatchNorms in one forward pass over `calibration`."""
    import paddle

    batch_norms = reinit_weights(model, seed)
    model.eval()
    with calibrating(batch_norms), paddle.no_grad():
        model(paddle.to_tensor(calibration))


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
    if scale == 0:
        return {"passed": False, "max_abs_err": None, "max_rel_err": None, "reason": "Paddle's output is all zeros on the check image: the comparison cannot tell the two apart"}
    return {"passed": rel_err <= MAX_RELATIVE_ERROR, "max_abs_err": abs_err, "max_rel_err": rel_err, "output_scale": scale}


def _first_output(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = next(iter(value.values()), None)
    return value


def paddle_intermediates(model: Any, batch: Any) -> list[dict[str, Any]]:
    """Every leaf layer's first input and output on `batch`, in execution order (numpy)."""
    import paddle

    seen: list[dict[str, Any]] = []
    handles = []
    for path, layer in model.named_sublayers():
        if list(layer.children()):
            continue

        def hook(layer: Any, inputs: tuple[Any, ...], output: Any, path: str = path) -> None:
            first_in, first_out = _first_output(inputs), _first_output(output)
            if isinstance(first_in, paddle.Tensor) and isinstance(first_out, paddle.Tensor):
                seen.append({"layer": path, "type": type(layer).__name__, "module": layer, "input": first_in.numpy(), "output": first_out.numpy()})

        handles.append(layer.register_forward_post_hook(hook))
    try:
        with paddle.no_grad():
            model(paddle.to_tensor(batch))
    finally:
        for handle in handles:
            handle.remove()
    return seen


def _layer_numbers(layer: Any) -> dict[str, float]:
    """A Paddle layer's own number settings (LeakyReLU's `_negative_slope`, an epsilon), leaving out what every Layer has."""
    import paddle

    common = set(vars(paddle.nn.Layer()))
    return {key.lstrip("_"): round(float(value), 8) for key, value in sorted(vars(layer).items())
            if key not in common and isinstance(value, (int, float)) and not isinstance(value, bool)}


def onnx_intermediates(onnx_path: Path, batch: Any) -> tuple[dict[str, Any], dict[str, str], dict[str, dict[str, float]]]:
    """Every float tensor the ONNX graph computes on `batch` (name -> array), the op type producing each and that node's number attributes."""
    import onnx
    from onnx import shape_inference

    model = onnx.load(str(onnx_path))
    inferred = shape_inference.infer_shapes(model)
    floats = {v.name for v in inferred.graph.value_info if v.type.tensor_type.elem_type == onnx.TensorProto.FLOAT}
    producer = {name: node.op_type for node in model.graph.node for name in node.output}
    # The producing node's number attributes (LeakyRelu's alpha, an epsilon): the evidence of a
    # mistranslated operator is often one of them.
    attributes = {name: {a.name: round(float(onnx.helper.get_attribute_value(a)), 8) for a in node.attribute
                         if a.type in (onnx.AttributeProto.FLOAT, onnx.AttributeProto.INT)}
                  for node in model.graph.node for name in node.output}
    present = {o.name for o in model.graph.output}
    for name in producer:
        if name in floats and name not in present:
            model.graph.output.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    with tempfile.TemporaryDirectory(prefix="zoocards-bisect-", dir=scratch_dir(2 * onnx_path.stat().st_size)) as tmp:
        path = Path(tmp) / "all_outputs.onnx"
        onnx.save(model, str(path), save_as_external_data=True, location="weights.bin")
        session = ort_session(path)
        names = [o.name for o in session.get_outputs()]
        values = session.run(names, {session.get_inputs()[0].name: batch})
    return dict(zip(names, values)), producer, attributes


def _relative(expected: Any, actual: Any, scale: float | None = None) -> float:
    """max |expected - actual| / max |expected|; `scale` stands for max |expected| when the caller has it (or compares a part of the tensors)."""
    import numpy as np

    if scale is None:
        scale = float(np.max(np.abs(expected))) if expected.size else 0.0
    error = float(np.max(np.abs(expected.astype("float64") - actual.astype("float64")))) if expected.size else 0.0
    return error / scale if scale > 0 else (0.0 if error == 0 else float("inf"))


def _best_match(array: Any, by_shape: dict[tuple[int, ...], list[tuple[str, Any]]], samples: dict[tuple[int, ...], Any] | None = None) -> tuple[str | None, float | None]:
    """The ONNX tensor of the same shape closest to `array`: (name, relative error), (None, None) if no tensor has the shape.

    Exactly the first candidate of least `_relative` error, without comparing every candidate
    in full (a deep ResNeXt has hundreds of 256×56×56 tensors, and every layer looks up its
    input and its output): the error on `MATCH_SAMPLE` evenly spaced elements is a lower bound
    of the error on all of them (same scale, a maximum over fewer differences), so candidates
    are compared in full in order of their bounds until no bound can beat the best found.
    The bounds of all candidates are one array operation on their samples, which `samples`
    (shape -> the candidates' samples as rows) keeps from one lookup to the next.
    """
    import numpy as np

    key = tuple(array.shape)
    candidates = by_shape.get(key, [])
    if not candidates:
        return None, None
    scale = float(np.max(np.abs(array))) if array.size else 0.0
    if len(candidates) == 1 or not np.isfinite(scale) or array.size <= MATCH_SAMPLE:
        return min(((name, _relative(array, value)) for name, value in candidates), key=lambda item: item[1])
    where = np.linspace(0, array.size - 1, MATCH_SAMPLE).astype(np.int64)
    rows = samples.get(key) if samples is not None else None
    if rows is None:
        rows = np.stack([value.reshape(-1)[where] for _, value in candidates]).astype("float64")
        if samples is not None:
            samples[key] = rows
    # `_relative` of the sample and each candidate's sample, all at once (the same float64 arithmetic).
    errors = np.max(np.abs(array.reshape(-1)[where].astype("float64") - rows), axis=1)
    quotients = errors / scale if scale > 0 else np.where(errors == 0, 0.0, np.inf)
    bounds = sorted(zip(quotients.tolist(), range(len(candidates))))
    best: tuple[int, float] | None = None
    for bound, index in bounds:
        if best is not None and bound > best[1]:
            break
        error = _relative(array, candidates[index][1], scale)
        if best is None or error < best[1] or (error == best[1] and index < best[0]):
            best = (index, error)
    assert best is not None
    return candidates[best[0]][0], best[1]


def first_divergence(model: Any, onnx_path: Path, batch: Any) -> dict[str, Any]:
    """The first layer whose input onnxruntime reproduces but whose output it does not (see the module docstring)."""
    layers = paddle_intermediates(model, batch)
    tensors, producer, attributes = onnx_intermediates(onnx_path, batch)
    tensors.setdefault("(input)", batch)
    by_shape: dict[tuple[int, ...], list[tuple[str, Any]]] = {}
    for name, value in tensors.items():
        by_shape.setdefault(tuple(value.shape), []).append((name, value))
    matched = 0
    last_match: str | None = None
    reproduced: dict[str, int] = {}  # layer type -> how many layers of it were reproduced so far
    samples: dict[tuple[int, ...], Any] = {}
    for entry in layers:
        in_name, in_err = _best_match(entry["input"], by_shape, samples)
        out_name, out_err = _best_match(entry["output"], by_shape, samples)
        if out_err is not None and out_err <= LAYER_RELATIVE_ERROR:
            matched += 1
            last_match = entry["layer"]
            reproduced[entry["type"]] = reproduced.get(entry["type"], 0) + 1
            continue
        if in_err is not None and in_err <= LAYER_RELATIVE_ERROR and out_err is not None:
            return {
                "found": True, "layer": entry["layer"], "type": entry["type"], "input_rel_err": in_err, "output_rel_err": out_err,
                "output_scale": float(abs(entry["output"]).max()), "closest_onnx_tensor": out_name, "closest_onnx_op": producer.get(out_name or ""),
                "closest_onnx_attributes": attributes.get(out_name or "", {}), "layer_attributes": _layer_numbers(entry["module"]),
                "last_matching_layer": last_match, "layers_matched_before": matched, "same_type_reproduced_before": reproduced.get(entry["type"], 0),
                "layers": len(layers), "onnx_tensors": len(tensors),
                "threshold": LAYER_RELATIVE_ERROR,
            }
    return {"found": False, "layers_matched": matched, "layers": len(layers), "last_matching_layer": last_match, "onnx_tensors": len(tensors),
            "threshold": LAYER_RELATIVE_ERROR}


def export_and_check(model: Any, job: Job, workdir: Path, *, init: bool = True) -> dict[str, Any]:
    """Sanely initialise `model` (unless `init` is false), export it into `workdir` and compare Paddle with onnxruntime."""
    import paddle

    if init:
        sane_init(model, random_batch(job, BATCH, CALIBRATION_SEED))
    batch = random_batch(job)
    with paddle.no_grad():
        expected = _first_output(model(paddle.to_tensor(batch))).numpy()
    log("exporting to ONNX")
    notes: list[str] = []
    onnx_path = export_onnx(model, job, workdir, notes)
    return check(model, onnx_path, batch, expected, init=INIT if init else "builder", notes=notes)


def check(model: Any, onnx_path: Path, batch: Any, expected: Any, init: str = INIT, notes: list[str] | None = None,
          save_optimised: Path | None = None) -> dict[str, Any]:
    """onnxruntime against Paddle's `expected` on `batch`, and at batch 2 against itself; bisect when Paddle and onnxruntime differ.

    `notes` (what the export did differently, from `export_onnx`) go into the result as
    `export_notes`; an export with a fixed batch has no batch check (`batch_check.skipped`).
    `save_optimised`: where the checked session writes the graph it optimised (for the timings).
    """
    import numpy as np

    session = ort_session(onnx_path, save_optimised=save_optimised)
    name = session.get_inputs()[0].name
    actual = session.run(None, {name: batch})[0]
    result = compare_outputs(expected, actual)
    result.update({
        "opset": OPSET, "onnx_bytes": onnx_path.stat().st_size, "batch": int(batch.shape[0]), "seed": SEED, "init": init,
        "threshold": {"max_relative_error": MAX_RELATIVE_ERROR},
    })
    if notes:
        result["export_notes"] = list(notes)
    fixed = next((note for note in notes or [] if note.startswith(FIXED_BATCH_NOTE)), None)
    if result["passed"] and fixed:
        result["batch_check"] = {"batch": BATCH_CHECK, "passed": None, "skipped": fixed}
    elif result["passed"]:
        # The exported batch dimension is dynamic: two images at once must give what each gives alone.
        other = np.ascontiguousarray(-batch[:, :, ::-1])
        alone = np.concatenate([actual, session.run(None, {name: other})[0]])
        together = session.run(None, {name: np.concatenate([batch, other])})[0]
        batched = compare_outputs(alone, together)
        result["batch_check"] = {"batch": BATCH_CHECK, "max_rel_err": batched["max_rel_err"], "passed": batched["passed"]}
        if not batched["passed"]:
            result.update({"passed": False, "max_abs_err": None, "max_rel_err": None, "batch1_max_rel_err": result["max_rel_err"],
                           "reason": f"onnxruntime at batch {BATCH_CHECK} differs from the same images one at a time: "
                                     + (f"max relative error {batched['max_rel_err']:.2e}" if batched["max_rel_err"] is not None else batched.get("reason", ""))})
    del session
    if not result["passed"] and "batch_check" not in result:
        log("outputs differ: bisecting to the first diverging layer")
        try:
            result["divergence"] = first_divergence(model, onnx_path, batch[:1])
        except Exception as exc:  # the bisection is evidence, not the verdict: say why it is missing
            result["divergence"] = {"found": False, "error": f"{type(exc).__name__}: {exc}"}
    return result
