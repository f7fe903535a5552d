"""Count a model's parameters and multiply-accumulates at its input size, batch 1.

What is counted, exactly:

* `params`: the number of scalars in the network's learnable parameters, i.e. the sum
  of `numel` over `model.parameters()` minus BatchNorm running statistics. Paddle stores a
  BatchNorm's running mean and variance as non-trainable *parameters* (PyTorch keeps them
  as buffers), but zoos and papers report the learnable count, so they are left out here
  and reported separately as `bn_running_stats` (`params_all` = both).
* `macs`: multiply-accumulates of one forward pass on one image, counted with forward
  hooks on leaf layers:
    - Conv1D/2D/3D: Cout x (Cin / groups) x kernel volume x output positions;
    - Conv transposes: Cin x (Cout / groups) x kernel volume x input positions;
    - Linear: in_features x out_features per output row;
    - explicit `paddle.matmul`/`paddle.bmm` calls in a model's forward (attention):
      batch x M x K x N, reported separately as `matmul_macs` and included in `macs`.
  Not counted (the convention papers use): biases, BatchNorm/LayerNorm, activations,
  pooling, elementwise additions and multiplications, softmax, resizing.
* `outputs`: the width of the model's output (its number of classes).

1 MAC = 2 FLOPs; the comparison step converts claims written as FLOPs.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

from zoocards.workers.common import Job, build_model, environment, input_shape, run


def _positions(shape: list[int]) -> int:
    """Spatial positions of an N,C,*spatial tensor for one sample."""
    return math.prod(int(s) for s in shape[2:])


def layer_macs(layer: Any, inputs: tuple[Any, ...], output: Any) -> int:
    """MACs of one call of a leaf layer, per sample (0 for layers not counted)."""
    from paddle import nn

    if isinstance(layer, (nn.Conv1DTranspose, nn.Conv2DTranspose, nn.Conv3DTranspose)):
        # weight: [Cin, Cout / groups, *kernel]
        return int(layer.weight.numel()) * _positions(list(inputs[0].shape))
    if isinstance(layer, (nn.Conv1D, nn.Conv2D, nn.Conv3D)):
        # weight: [Cout, Cin / groups, *kernel]; one kernel-volume dot product per output value
        return int(layer.weight.numel()) * _positions(list(output.shape))
    if isinstance(layer, nn.Linear):
        # weight: [in, out]; every output row costs in x out
        rows = int(output.numel()) // int(output.shape[-1]) // int(output.shape[0])
        return int(layer.weight.numel()) * rows
    return 0


def _is_leaf(layer: Any) -> bool:
    return not list(layer.children())


def _bn_running_stats(model: Any) -> set[int]:
    """ids of the BatchNorm running mean/variance parameters of `model`."""
    ids = set()
    for layer in model.sublayers(include_self=True):
        # BatchNorm1D/2D/3D, SyncBatchNorm and the old-style BatchNorm share these names
        if any("BatchNorm" in cls.__name__ for cls in type(layer).__mro__):
            for name in ("_mean", "_variance"):
                tensor = getattr(layer, name, None)
                if tensor is not None:
                    ids.add(id(tensor))
    return ids


def count(model: Any, shape: list[int]) -> dict[str, Any]:
    """Parameters and MACs of `model` on one input of `shape` (batch 1)."""
    import paddle

    model.eval()  # BatchNorm in training mode would also update its running statistics
    running = _bn_running_stats(model)
    parameters = model.parameters()
    params = sum(int(p.numel()) for p in parameters if id(p) not in running)
    params_all = sum(int(p.numel()) for p in parameters)

    by_type: Counter[str] = Counter()
    handles = []

    def hook(layer: Any, inputs: tuple[Any, ...], output: Any) -> None:
        macs = layer_macs(layer, inputs, output)
        if macs:
            by_type[type(layer).__name__] += macs

    for layer in model.sublayers(include_self=True):
        if _is_leaf(layer):
            handles.append(layer.register_forward_post_hook(hook))

    matmul_macs = 0
    original_matmul, original_bmm = paddle.matmul, paddle.bmm

    def counted_matmul(x: Any, y: Any, transpose_x: bool = False, transpose_y: bool = False, name: Any = None) -> Any:
        nonlocal matmul_macs
        out = original_matmul(x, y, transpose_x=transpose_x, transpose_y=transpose_y, name=name)
        inner = int(x.shape[-2] if transpose_x else x.shape[-1]) if len(x.shape) > 1 else int(x.shape[0])
        matmul_macs += int(out.numel()) * inner
        return out

    def counted_bmm(x: Any, y: Any, name: Any = None) -> Any:
        nonlocal matmul_macs
        out = original_bmm(x, y, name=name)
        matmul_macs += int(out.numel()) * int(x.shape[-1])
        return out

    paddle.matmul, paddle.bmm = counted_matmul, counted_bmm  # type: ignore[assignment]
    try:
        with paddle.no_grad():
            output = model(paddle.zeros(shape, dtype="float32"))
    finally:
        paddle.matmul, paddle.bmm = original_matmul, original_bmm
        for handle in handles:
            handle.remove()
    if isinstance(output, (list, tuple)):
        output = output[0]
    if isinstance(output, dict):
        output = next(iter(output.values()))
    layer_total = sum(by_type.values())
    return {
        "params": params,
        "params_all": params_all,
        "bn_running_stats": params_all - params,
        "macs": layer_total + matmul_macs,
        "matmul_macs": matmul_macs,
        "macs_by_layer_type": dict(sorted(by_type.items())),
        "outputs": int(output.shape[-1]),
        "output_shape": [int(s) for s in output.shape],
        "input_shape": shape,
    }


def main(job: Job) -> dict[str, Any]:
    """Worker entry point: build the job's model and count it."""
    model = build_model(job)
    result = count(model, input_shape(job, 1))
    result["env"] = environment()
    return result


if __name__ == "__main__":
    run(main)
