"""Count a model's parameters and multiply-accumulates at its input size, batch 1.

What is counted, exactly (every figure is per model, MACs per image):

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
  Not counted in `macs` (the convention papers use): biases, BatchNorm/LayerNorm,
  activations, pooling, elementwise additions and multiplications, softmax, resizing.
  `macs_by_layer_type` splits `macs` by layer class.
* `outputs`: the width of the model's output (its number of classes); `output_shape`,
  `input_shape` as run.

The breakdown other counters' conventions are rebuilt from (zoocards.diagnose explains a
mismatch with it):

* `params_by_kind`, learnable parameters of one kind each (overlapping, not a partition):
    - `bias`: the biases of convolutions and linear layers;
    - `se`: every parameter of the layers inside squeeze-excitation blocks (a sublayer whose
      class is `SE`, `ESE`, `SELayer`, `SEModule`, `SEBlock` or `SqueezeExcite…`, or whose
      attribute name is `se`, `_se`, `se_<n>` or contains `squeeze`/`excit`);
    - `head`: the final classifier, i.e. the last linear layer (or 1x1 convolution) run whose
      output width is `outputs`: its weight plus bias; `head_in` is its input width;
    - `aux`: the parameters of sublayers whose attribute path contains `aux` (auxiliary heads).
* `macs_extra`, operations outside `macs`, in elements (one operation per element):
    - `bn`: elements normalised by BatchNorm, LayerNorm, GroupNorm and InstanceNorm layers;
    - `act`: elements through activation layers (ReLU, GELU, Hardswish, Sigmoid, …) and the
      same activations called as `paddle.nn.functional.*` in a forward;
    - `pool`: elements output by pooling layers and `paddle.nn.functional` pooling calls;
    - `elementwise`: elements produced by tensor additions and multiplications (`a + b`,
      `a * b`, `paddle.add`, `paddle.multiply`) outside the layers counted above, e.g.
      residual additions, SE scaling, layer scale;
    - `bias`: bias additions of convolutions and linear layers (their output elements);
    - `se`: the MACs (already in `macs`) of the convolutions and linear layers inside
      squeeze-excitation blocks.
  Operations written another way (a Tensor method such as `x.sigmoid()`, a function imported
  by name before counting) are not seen; the figures are lower bounds of what they name.
* `params_deploy`, `macs_deploy`: for a model with re-parameterisable blocks (RepVGG,
  PP-LCNetV2), the learnable parameters and the MACs of the network it deploys, its training
  branches fused (`deployed`); absent for every other model.
* `macs_at`: `macs` at other square input sizes among 224, 256, 288, 320, 384, 448 and 512,
  keyed by the size as a string ({"256": macs, …}). Computed only when the job carries the
  card's claimed compute (`claimed_flops`, a count in the card's own convention) and it is
  neither within 5% of `macs` nor of 2 x `macs` (a claim that already matches needs no other
  size), and only at the sizes where `macs` scaled by the area (or twice that) lands within
  25% of the claim (`candidate_sizes`). A size the network cannot run at (fixed position
  embeddings) is left out.

A network that builds but whose forward pass raises (paddleclas 2.6.0's SwinTransformerV2)
still has its parameters counted: the result then has `macs: None` and `forward_failed` (the
error's first line) and no forward-pass fields; the comparison judges its params and reports
its compute and classes as failed with that reason.

1 MAC = 2 FLOPs; the comparison step converts claims written as FLOPs.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from zoocards.workers.common import Job, input_shape, log

# The sizes zoos quote compute at (issue 15's list); `macs_at` covers those not run already.
OTHER_SIZES = (224, 256, 288, 320, 384, 448, 512)
# A claim this close to the count (or to twice it) needs no other input size.
SIZE_SEARCH_MARGIN = 0.05

_SE_CLASS = re.compile(r"^(E?SE|E?SE(Layer|Module|Block)|SqueezeExcit\w*|\w*SqueezeExcitation\w*)$")
_SE_NAME = re.compile(r"^_?(e?se)(_?\d+)?$|squeeze|excit", re.IGNORECASE)
_ACTIVATIONS = ("ReLU", "ReLU6", "GELU", "Hardswish", "Hardsigmoid", "Sigmoid", "Silu", "Swish", "Tanh", "LeakyReLU", "PReLU",
                "Mish", "ELU", "SELU", "CELU", "Softmax", "Hardtanh", "Softplus", "Softsign", "LogSigmoid", "ThresholdedReLU")
_FUNCTIONAL_ACTIVATIONS = ("relu", "relu6", "gelu", "hardswish", "hardsigmoid", "sigmoid", "silu", "swish", "tanh", "leaky_relu",
                           "mish", "elu", "selu", "celu", "softmax", "hardtanh", "softplus")
_POOLS = ("MaxPool1D", "MaxPool2D", "MaxPool3D", "AvgPool1D", "AvgPool2D", "AvgPool3D", "AdaptiveAvgPool1D", "AdaptiveAvgPool2D",
          "AdaptiveAvgPool3D", "AdaptiveMaxPool1D", "AdaptiveMaxPool2D", "AdaptiveMaxPool3D")
_FUNCTIONAL_POOLS = ("max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d", "adaptive_avg_pool1d",
                     "adaptive_avg_pool2d", "adaptive_avg_pool3d", "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d")
_NORMS = ("BatchNorm", "LayerNorm", "GroupNorm", "InstanceNorm")


def _positions(shape: list[int]) -> int:
    """Spatial positions of an N,C,*spatial tensor for one sample."""
    return math.prod(int(s) for s in shape[2:])


def _per_sample(tensor: Any, batch: int = 1) -> int:
    """Elements of a tensor per sample of the model's input batch (its first dimension may be
    batch x windows, not the batch)."""
    return int(tensor.numel()) // batch


def _classes(names: tuple[str, ...]) -> tuple[type, ...]:
    from paddle import nn

    return tuple(getattr(nn, name) for name in names if hasattr(nn, name))


def _is_conv(layer: Any) -> bool:
    from paddle import nn

    return isinstance(layer, (nn.Conv1D, nn.Conv2D, nn.Conv3D, nn.Conv1DTranspose, nn.Conv2DTranspose, nn.Conv3DTranspose))


def _is_linear(layer: Any) -> bool:
    from paddle import nn

    return isinstance(layer, nn.Linear)


def _is_norm(layer: Any) -> bool:
    return any(any(norm in cls.__name__ for norm in _NORMS) for cls in type(layer).__mro__)


def layer_macs(layer: Any, inputs: tuple[Any, ...], output: Any, batch: int = 1) -> int:
    """MACs of one call of a leaf layer, per sample of the model's input batch (0 for layers not counted).

    A layer's first dimension is not always the batch: window attention (Swin, CSWin, Twins ...)
    runs its projections on [batch x windows, tokens, channels], so the work of a call is its
    whole output, divided by the model's own batch size."""
    from paddle import nn

    if isinstance(layer, (nn.Conv1DTranspose, nn.Conv2DTranspose, nn.Conv3DTranspose)):
        # weight: [Cin, Cout / groups, *kernel]; one kernel volume per input value
        positions = int(inputs[0].numel()) // int(inputs[0].shape[1])
        return int(layer.weight.numel()) * positions // batch
    if isinstance(layer, (nn.Conv1D, nn.Conv2D, nn.Conv3D)):
        # weight: [Cout, Cin / groups, *kernel]; one kernel-volume dot product per output value
        positions = int(output.numel()) // int(output.shape[1])
        return int(layer.weight.numel()) * positions // batch
    if isinstance(layer, nn.Linear):
        # weight: [in, out]; every output row costs in x out
        rows = int(output.numel()) // int(output.shape[-1])
        return int(layer.weight.numel()) * rows // batch
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


def is_se_block(path: str, layer: Any) -> bool:
    """Whether a sublayer is a squeeze-excitation block, by its class or its attribute name."""
    return bool(_SE_CLASS.match(type(layer).__name__) or _SE_NAME.search(path.rsplit(".", 1)[-1]))


def deployed(model: Any, shape: list[int]) -> dict[str, int] | None:
    """Parameters and MACs of the network a re-parameterisable model deploys, None if it has no such layers.

    RepVGG-style blocks (a sublayer with a `re_parameterize` method: ppcls's RepVGGBlock,
    PP-LCNetV2's RepDepthwiseSeparable) train several branches and fuse them into one
    convolution for inference; papers and zoos give the fused figures. A copy of the model is
    fused block by block and run once on zeros: `params_deploy` counts the learnable parameters
    of the layers that ran (a branch the fused forward no longer calls is not part of the
    deployed network), `macs_deploy` the MACs of that pass, counted as `macs` is.
    """
    import copy

    if not any(callable(getattr(layer, "re_parameterize", None)) for layer in model.sublayers()):
        return None
    fused = copy.deepcopy(model)
    for layer in fused.sublayers():
        if callable(getattr(layer, "re_parameterize", None)):
            layer.re_parameterize()
    ran: dict[int, Any] = {}

    def seen(layer: Any, inputs: Any, output: Any) -> None:
        ran[id(layer)] = layer

    handles = [layer.register_forward_post_hook(seen) for layer in fused.sublayers(include_self=True)]
    try:
        run = _forward(fused, shape, detail=False)
    finally:
        for handle in handles:
            handle.remove()
    running = _bn_running_stats(fused)
    counted = {id(p): int(p.numel()) for layer in ran.values() for p in layer.parameters(include_sublayers=False) if id(p) not in running}
    del fused
    return {"params_deploy": sum(counted.values()), "macs_deploy": sum(run["by_type"].values()) + run["matmul_macs"]}


def _params_of(layers: list[Any], running: set[int]) -> int:
    seen: dict[int, int] = {}
    for layer in layers:
        for p in layer.parameters():
            if id(p) not in running:
                seen[id(p)] = int(p.numel())
    return sum(seen.values())


@contextmanager
def _patched(owner: Any, name: str, wrap: Callable[[Callable[..., Any]], Callable[..., Any]]) -> Iterator[None]:
    """Replace owner.name by wrap(original) for the block (absent attributes are skipped)."""
    original = getattr(owner, name, None)
    if original is None:
        yield
        return
    setattr(owner, name, wrap(original))
    try:
        yield
    finally:
        setattr(owner, name, original)


def _forward(model: Any, shape: list[int], detail: bool, inputs: Any = None) -> dict[str, Any]:
    """One hooked forward pass: MACs by layer type and matmul, plus (detail) the breakdown parts."""
    import contextlib

    import paddle
    import paddle.nn.functional as F

    activations, pools = _classes(_ACTIVATIONS), _classes(_POOLS)
    se_layers: set[int] = set()
    if detail:
        for path, layer in model.named_sublayers():
            if is_se_block(path, layer):
                se_layers.update(id(sub) for sub in layer.sublayers(include_self=True))

    batch = int(shape[0])
    by_type: Counter[str] = Counter()
    extra: Counter[str] = Counter()
    heads: list[tuple[Any, Any]] = []  # (layer, output) of every conv/linear run, in order
    inside = [0]  # depth inside layers whose own work is counted: their inner calls are not

    def pre_hook(layer: Any, inputs: tuple[Any, ...]) -> None:
        inside[0] += 1

    def hook(layer: Any, inputs: tuple[Any, ...], output: Any) -> None:
        if id(layer) in counted:
            inside[0] -= 1
        macs = layer_macs(layer, inputs, output, batch)
        if macs:
            by_type[type(layer).__name__] += macs
        if not detail or isinstance(output, (list, tuple)):
            return
        if macs:
            heads.append((layer, output))
            if getattr(layer, "bias", None) is not None:
                extra["bias"] += _per_sample(output, batch)
            if id(layer) in se_layers:
                extra["se"] += macs
        elif _is_norm(layer):
            extra["bn"] += _per_sample(output, batch)
        elif isinstance(layer, activations):
            extra["act"] += _per_sample(output, batch)
        elif isinstance(layer, pools):
            extra["pool"] += _per_sample(output, batch)

    handles = []
    leaves = [layer for layer in model.sublayers(include_self=True) if _is_leaf(layer)]
    # Layers whose work a part counts already: the functional calls and additions inside them are theirs.
    counted = {id(layer) for layer in leaves if _is_conv(layer) or _is_linear(layer) or _is_norm(layer) or isinstance(layer, activations + pools)}
    for layer in leaves:
        if id(layer) in counted:
            handles.append(layer.register_forward_pre_hook(pre_hook))
        handles.append(layer.register_forward_post_hook(hook))

    matmul_macs = 0

    def counted_matmul(original: Callable[..., Any]) -> Callable[..., Any]:
        def matmul(x: Any, y: Any, transpose_x: bool = False, transpose_y: bool = False, name: Any = None) -> Any:
            nonlocal matmul_macs
            out = original(x, y, transpose_x=transpose_x, transpose_y=transpose_y, name=name)
            inner = int(x.shape[-2] if transpose_x else x.shape[-1]) if len(x.shape) > 1 else int(x.shape[0])
            matmul_macs += int(out.numel()) * inner
            return out

        return matmul

    def counted_bmm(original: Callable[..., Any]) -> Callable[..., Any]:
        def bmm(x: Any, y: Any, name: Any = None) -> Any:
            nonlocal matmul_macs
            out = original(x, y, name=name)
            matmul_macs += int(out.numel()) * int(x.shape[-1])
            return out

        return bmm

    def counted_operator(original: Callable[..., Any]) -> Callable[..., Any]:
        def matmul(x: Any, y: Any) -> Any:
            nonlocal matmul_macs
            out = original(x, y)
            if isinstance(out, paddle.Tensor):
                inner = int(x.shape[-1]) if len(x.shape) > 0 else 1
                matmul_macs += int(out.numel()) * inner
            return out

        return matmul

    def elements(part: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def wrap(original: Callable[..., Any]) -> Callable[..., Any]:
            def counted(*args: Any, **kwargs: Any) -> Any:
                out = original(*args, **kwargs)
                if inside[0] == 0 and isinstance(out, paddle.Tensor):
                    extra[part] += _per_sample(out, batch)
                return out

            return counted

        return wrap

    with contextlib.ExitStack() as stack:
        stack.enter_context(_patched(paddle, "matmul", counted_matmul))
        stack.enter_context(_patched(paddle, "bmm", counted_bmm))
        # `q @ k` in attention goes through the operator, not paddle.matmul
        stack.enter_context(_patched(paddle.Tensor, "__matmul__", counted_operator))
        if detail:
            for name in _FUNCTIONAL_ACTIVATIONS:
                stack.enter_context(_patched(F, name, elements("act")))
            for name in _FUNCTIONAL_POOLS:
                stack.enter_context(_patched(F, name, elements("pool")))
            for owner, name in ((paddle.Tensor, "__add__"), (paddle.Tensor, "__radd__"), (paddle.Tensor, "__mul__"),
                                (paddle.Tensor, "__rmul__"), (paddle, "add"), (paddle, "multiply")):
                stack.enter_context(_patched(owner, name, elements("elementwise")))
        try:
            with paddle.no_grad():
                output = model(paddle.zeros(shape, dtype="float32") if inputs is None else paddle.to_tensor(inputs))
        finally:
            for handle in handles:
                handle.remove()
    if isinstance(output, (list, tuple)):
        output = output[0]
    if isinstance(output, dict):
        output = next(iter(output.values()))
    return {"by_type": by_type, "matmul_macs": matmul_macs, "extra": extra, "heads": heads, "output": output}


def _head(heads: list[tuple[Any, Any]], outputs: int) -> tuple[int, int] | None:
    """(params, input width) of the last conv/linear run whose output width is the class count."""
    from paddle import nn

    for layer, out in reversed(heads):
        weight = layer.weight
        bias = int(layer.bias.numel()) if getattr(layer, "bias", None) is not None else 0
        if isinstance(layer, nn.Linear) and int(out.shape[-1]) == outputs:
            return int(weight.numel()) + bias, int(weight.shape[0])
        if _is_conv(layer) and len(out.shape) > 1 and int(out.shape[1]) == outputs and _positions(list(weight.shape)) == 1:
            return int(weight.numel()) + bias, int(weight.shape[1]) * int(getattr(layer, "_groups", 1) or 1)
    return None


def needs_other_sizes(claimed_flops: float | None, macs: int) -> bool:
    """Whether a claimed compute figure is off both the count and twice it by more than 5%."""
    if not claimed_flops or macs <= 0:
        return False
    return all(abs(claimed_flops - reference) > SIZE_SEARCH_MARGIN * reference for reference in (macs, 2 * macs))


def count(model: Any, shape: list[int], claimed_flops: float | None = None, inputs: Any = None,
          during: Callable[[], AbstractContextManager[Any]] | None = None) -> dict[str, Any]:
    """Parameters, MACs and the breakdown of `model` on one input of `shape` (batch 1).

    `inputs` (an array of `shape`) replaces the zeros the pass runs on, and `during` wraps that
    one pass: the model job calibrates BatchNorm statistics in the same forward (the counts
    depend on shapes, never on values).
    """
    model.eval()  # BatchNorm in training mode would also update its running statistics
    running = _bn_running_stats(model)
    parameters = model.parameters()
    params = sum(int(p.numel()) for p in parameters if id(p) not in running)
    params_all = sum(int(p.numel()) for p in parameters)

    named = list(model.named_sublayers())
    se_blocks = [layer for path, layer in named if is_se_block(path, layer)]
    aux = [layer for path, layer in named if "aux" in path.lower()]
    biases = [layer.bias for _, layer in named if (_is_conv(layer) or _is_linear(layer)) and getattr(layer, "bias", None) is not None]
    by_kind: dict[str, int | None] = {"bias": sum(int(b.numel()) for b in biases), "se": _params_of(se_blocks, running), "aux": _params_of(aux, running)}
    try:
        with during() if during is not None else nullcontext():
            run = _forward(model, shape, detail=True, inputs=inputs)
    except MemoryError:
        raise
    except Exception as exc:  # the network builds but cannot run: its parameters are still counted
        text = str(exc).strip().splitlines()
        reason = f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
        log(f"forward pass failed, parameters only: {reason}")
        return {"params": params, "params_all": params_all, "bn_running_stats": params_all - params,
                "params_by_kind": {**by_kind, "head": None, "head_in": None}, "macs": None, "forward_failed": reason, "input_shape": shape}
    output = run["output"]
    outputs = int(output.shape[-1])
    layer_total = sum(run["by_type"].values())
    macs = layer_total + run["matmul_macs"]

    head = _head(run["heads"], outputs)
    by_kind["head"], by_kind["head_in"] = head if head else (None, None)

    result: dict[str, Any] = {
        "params": params,
        "params_all": params_all,
        "bn_running_stats": params_all - params,
        "params_by_kind": by_kind,
        "macs": macs,
        "matmul_macs": run["matmul_macs"],
        "macs_by_layer_type": dict(sorted(run["by_type"].items())),
        "macs_extra": {key: int(run["extra"].get(key, 0)) for key in ("bn", "act", "pool", "elementwise", "bias", "se")},
        "outputs": outputs,
        "output_shape": [int(s) for s in output.shape],
        "input_shape": shape,
    }
    result.update(deployed(model, shape) or {})
    if claimed_flops and needs_other_sizes(claimed_flops, macs):
        result["macs_at"] = macs_at(model, shape, candidate_sizes(claimed_flops, macs, int(shape[-1])))
    return result


def candidate_sizes(claimed_flops: float, macs: int, size: int) -> list[int]:
    """The sizes of OTHER_SIZES where the count, scaled by area (or twice it), lands within 25% of the claim.

    Counting at every size costs up to 17 forward passes of the model at 224; the area scaling
    is exact for convolutions and close for attention, so the sizes it rules out cannot explain
    the claim anyway.
    """
    out = []
    for other in OTHER_SIZES:
        scaled = macs * (other / size) ** 2
        if other != size and any(abs(claimed_flops - factor * scaled) <= 0.25 * claimed_flops for factor in (1, 2)):
            out.append(other)
    return out


def macs_at(model: Any, shape: list[int], sizes: Iterable[int] = OTHER_SIZES) -> dict[str, int]:
    """`macs` at each of `sizes` other than the model's own (sizes the network cannot take are left out)."""
    out: dict[str, int] = {}
    for size in sizes:
        if [size, size] == [int(s) for s in shape[2:]]:
            continue
        try:
            run = _forward(model, [*shape[:2], size, size], detail=False)
        except Exception as exc:  # a fixed position embedding or reshape: the model takes one size only
            log(f"no MAC count at {size}x{size}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
            continue
        out[str(size)] = sum(run["by_type"].values()) + run["matmul_macs"]
    return out


def run_count(model: Any, job: Job, inputs: Any = None, during: Callable[[], AbstractContextManager[Any]] | None = None) -> dict[str, Any]:
    """The count stage of a model job: count at the job's input size, batch 1."""
    claimed = job.get("claimed_flops")
    return count(model, input_shape(job, 1), float(claimed) if claimed else None, inputs, during)
