"""Workers: MAC/parameter counting checked by hand, export equivalence, timing, accuracy."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from zoocards import compare
from zoocards.load import load_file, load_text

paddle = pytest.importorskip("paddle")
np = pytest.importorskip("numpy")
nn = paddle.nn

from zoocards.workers import accuracy, count, export, latency  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DEMO_CARD = ROOT / "cards" / "digits-demo.yaml"


class Wrap(nn.Layer):
    """Runs `layers` in sequence, flattening before any Linear."""

    def __init__(self, *layers: Any) -> None:
        super().__init__()
        self.body = nn.LayerList(layers)

    def forward(self, x: Any) -> Any:
        for layer in self.body:
            if isinstance(layer, nn.Linear) and len(x.shape) == 4:
                x = paddle.flatten(x, 1)
            x = layer(x)
        return x


@pytest.mark.parametrize(
    "layers, shape, macs",
    [
        # every output value of a 3x3 conv is a 3*9-long dot product: 8 channels x 64 positions
        ([nn.Conv2D(3, 8, 3, padding=1)], [1, 3, 8, 8], 3 * 8 * 9 * 64),
        # stride 2 halves each side: 4x4 output positions
        ([nn.Conv2D(3, 8, 3, stride=2, padding=1)], [1, 3, 8, 8], 3 * 8 * 9 * 16),
        # groups=4: each output channel sees 8/4 input channels
        ([nn.Conv2D(8, 16, 3, padding=1, groups=4)], [1, 8, 8, 8], 16 * 2 * 9 * 64),
        # depthwise: one input channel per output channel
        ([nn.Conv2D(8, 8, 3, padding=1, groups=8)], [1, 8, 8, 8], 8 * 1 * 9 * 64),
        # Linear: in x out per row; the 8x4x4 feature map flattens to 128 inputs
        ([nn.Conv2D(3, 8, 1), nn.Linear(8 * 4 * 4, 10)], [1, 3, 4, 4], 3 * 8 * 16 + 128 * 10),
        # BatchNorm, ReLU and pooling are not counted
        ([nn.Conv2D(3, 4, 1), nn.BatchNorm2D(4), nn.ReLU(), nn.MaxPool2D(2)], [1, 3, 4, 4], 3 * 4 * 16),
        # a transposed conv costs Cin x Cout x k^2 per *input* position
        ([nn.Conv2DTranspose(4, 2, 2, stride=2)], [1, 4, 3, 3], 4 * 2 * 4 * 9),
    ],
)
def test_macs_counted_by_hand(layers: list[Any], shape: list[int], macs: int) -> None:
    assert count.count(Wrap(*layers), shape)["macs"] == macs


def test_linear_on_sequences_counts_every_row() -> None:
    class Tokens(nn.Layer):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(6, 5)

        def forward(self, x: Any) -> Any:
            return self.fc(paddle.reshape(x, [x.shape[0], 4, 6]))  # 4 rows of 6 features

    assert count.count(Tokens(), [1, 2, 3, 4])["macs"] == 4 * 6 * 5


def test_explicit_matmul_is_counted_separately() -> None:
    class Attention(nn.Layer):
        def forward(self, x: Any) -> Any:
            q = paddle.reshape(x, [1, 4, 8])  # 4 tokens of width 8
            return paddle.matmul(q, q, transpose_y=True)  # 4x8 @ 8x4

    result = count.count(Attention(), [1, 2, 4, 4])
    assert (result["macs"], result["matmul_macs"]) == (4 * 4 * 8, 4 * 4 * 8)


def test_params_leave_out_batchnorm_running_statistics() -> None:
    net = Wrap(nn.Conv2D(3, 4, 3, bias_attr=False), nn.BatchNorm2D(4), nn.Linear(4 * 2 * 2, 10))
    result = count.count(net, [1, 3, 4, 4])
    learnable = 3 * 4 * 9 + 4 + 4 + 16 * 10 + 10  # conv weight, BN scale and shift, fc
    assert (result["params"], result["bn_running_stats"], result["params_all"]) == (learnable, 8, learnable + 8)
    assert (result["outputs"], result["output_shape"]) == (10, [1, 10])


class Broken(nn.Layer):
    """Builds, but its forward pass raises, as paddleclas 2.6.0's SwinTransformerV2 does."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2D(3, 4, 3)
        self.fc = nn.Linear(4, 10)

    def forward(self, x: Any) -> Any:
        raise NameError("name 'output_dimensions' is not defined")


def test_a_network_that_cannot_run_still_has_its_parameters_counted() -> None:
    result = count.count(Broken(), [1, 3, 8, 8])
    assert (result["params"], result["macs"]) == (3 * 4 * 9 + 4 + 4 * 10 + 10, None)
    assert result["forward_failed"] == "NameError: name 'output_dimensions' is not defined"
    assert result["params_by_kind"]["bias"] == 14


class SELayer(nn.Layer):
    """A squeeze-excitation block as ppcls writes one: pool, reduce, expand, gate, scale."""

    def __init__(self, channels: int, reduced: int) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2D(1)
        self.reduce = nn.Conv2D(channels, reduced, 1)
        self.relu = nn.ReLU()
        self.expand = nn.Conv2D(reduced, channels, 1)
        self.gate = nn.Hardsigmoid()

    def forward(self, x: Any) -> Any:
        return x * self.gate(self.expand(self.relu(self.reduce(self.pool(x)))))


class Breakdown(nn.Layer):
    """Conv+BN+ReLU, an SE block, a residual add, pooling, a classifier and an unused auxiliary head."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2D(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2D(8)
        self.act = nn.ReLU()
        self.se = SELayer(8, 2)
        self.pool = nn.AdaptiveAvgPool2D(1)
        self.fc = nn.Linear(8, 10)
        self.aux_head = nn.Linear(8, 10)

    def forward(self, x: Any) -> Any:
        y = self.act(self.bn(self.conv(x)))
        y = y + self.se(y)
        return self.fc(paddle.flatten(self.pool(y), 1))


def test_count_breakdown_by_hand() -> None:
    result = count.count(Breakdown(), [1, 3, 4, 4])
    # conv 3*8*9 per position x 16 positions, the SE's 1x1 convs 8*2 and 2*8 at one position, fc 8*10
    assert result["macs"] == 3 * 8 * 9 * 16 + 16 + 16 + 80
    assert result["params_by_kind"] == {
        "bias": 8 + 2 + 8 + 10 + 10,  # conv, SE reduce, SE expand, fc, aux_head
        "se": (8 * 2 + 2) + (2 * 8 + 8),
        "head": 8 * 10 + 10, "head_in": 8,
        "aux": 8 * 10 + 10,
    }
    assert result["macs_extra"] == {
        "bn": 8 * 16,
        "act": 8 * 16 + 2 + 8,  # ReLU on the feature map, the SE's ReLU and gate
        "pool": 8 + 8,  # the SE's squeeze and the final pooling, one element per channel each
        "elementwise": 8 * 16 + 8 * 16,  # the SE's scaling and the residual add
        "bias": 8 * 16 + 2 + 8 + 10,
        "se": 16 + 16,
    }
    assert "macs_at" not in result


def test_macs_at_other_sizes_only_when_the_claim_is_off() -> None:
    from tests.fake_builders import TinyNet

    model = TinyNet()
    macs = count.count(model, [1, 3, 8, 8])["macs"]
    assert macs == 216 * 64 + 80
    assert "macs_at" not in count.count(model, [1, 3, 8, 8], claimed_flops=macs * 1.04)
    assert "macs_at" not in count.count(model, [1, 3, 8, 8], claimed_flops=macs * 2.04)  # FLOPs = 2 x MACs
    # a claim counted at 256 while the model runs at 224: only the sizes whose area scaling lands within 25% are counted
    at_224, at_256 = 216 * 224 * 224 + 80, 216 * 256 * 256 + 80
    assert count.candidate_sizes(at_256, at_224, 224) == [256]
    # twice that: FLOPs at 256, or MACs at about 362 (320 and 384 are within 25% of it)
    assert count.candidate_sizes(2 * at_256, at_224, 224) == [256, 320, 384]
    assert count.count(model, [1, 3, 224, 224], claimed_flops=at_256)["macs_at"] == {"256": at_256}


def test_se_blocks_are_found_by_class_or_attribute_name() -> None:
    class SqueezeExcite(nn.Layer):
        pass

    cases = [("blocks.0.se", nn.Layer()), ("blocks.0._se", nn.Layer()), ("stage.se_1", nn.Layer()), ("stage.attn", SqueezeExcite()),
             ("x.squeeze_excitation", nn.Layer()), ("stage.seq", nn.Layer()), ("stage.conv", nn.Layer()), ("stage.0", SELayer(4, 1))]
    assert [count.is_se_block(path, layer) for path, layer in cases] == [True, True, True, True, True, False, False, True]


def test_ppcls_logger_is_ready_before_a_legendary_model_is_built() -> None:
    import logging

    from zoocards.workers.common import add_ppcls_to_path, init_ppcls_logger

    add_ppcls_to_path()
    from ppcls.utils import logger

    init_ppcls_logger()
    assert logger._logger is not None and logger._logger.level == logging.ERROR


def test_sane_init_makes_every_batchnorm_output_unit_variance() -> None:
    net = Wrap(nn.Conv2D(3, 16, 3, padding=1), nn.BatchNorm2D(16), nn.ReLU(), nn.Conv2D(16, 16, 3, padding=1), nn.BatchNorm2D(16))
    batch = export.random_batch({"input_size": 8, "channels": 3}, 4, export.CALIBRATION_SEED)
    export.sane_init(net, batch)
    with paddle.no_grad():
        out = net(paddle.to_tensor(batch)).numpy()
    # the last BatchNorm normalises what it receives on the calibration batch: mean 0, variance 1 per channel
    assert abs(out.mean(axis=(0, 2, 3))).max() < 1e-4
    assert abs(out.var(axis=(0, 2, 3)) - 1).max() < 1e-3


def test_export_matches_paddle_on_a_tiny_net(tmp_path: Path) -> None:
    from tests.fake_builders import TinyNet

    model = TinyNet()
    model.eval()
    result = export.export_and_check(model, {"input_size": 8, "channels": 3}, tmp_path)
    assert result["passed"] is True and "divergence" not in result
    assert result["max_rel_err"] <= compare.ONNX_MAX_RELATIVE_ERROR
    assert result["opset"] == 13 and result["onnx_bytes"] == (tmp_path / "model.onnx").stat().st_size
    assert (result["init"], result["batch"], result["batch_check"]["batch"], result["batch_check"]["passed"]) == ("fan_in_normal+bn_calibrated", 1, 2, True)
    assert (tmp_path / "model.json").exists() or (tmp_path / "model.pdmodel").exists()  # what Paddle Inference times


class Upsampling(nn.Layer):
    """Upsamples by a scale factor, as paddleclas 2.6.0's HRNet does (paddle2onnx 2.1.0 exits on it)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2D(3, 4, 3, padding=1)

    def forward(self, x: Any) -> Any:
        return paddle.flatten(paddle.nn.functional.upsample(self.conv(x), scale_factor=2, mode="nearest"), 1)


class BatchOfOne(nn.Layer):
    """Cannot be traced with a dynamic batch (as paddle's F.fold in MobileViTV2): the export falls back to batch 1."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2D(3, 4, 3, padding=1)

    def forward(self, x: Any) -> Any:
        _needs_a_known_batch(x)
        return paddle.flatten(self.conv(x), 1)


@paddle.jit.not_to_static
def _needs_a_known_batch(x: Any) -> None:
    """paddle's F.fold check: a dynamic batch (-1) makes the element count negative."""
    import math

    if math.prod(x.shape) < 0:
        raise AssertionError("The number of elements must greater or equal than zero.")


def test_upsampling_by_a_factor_is_exported_as_its_output_size(tmp_path: Path) -> None:
    result = export.export_and_check(Upsampling(), {"input_size": 8, "channels": 3}, tmp_path)
    assert result["passed"] is True and result["batch_check"]["passed"] is True
    assert result["export_notes"] == ["interpolation by a scale factor exported as its output size (paddle2onnx 2.1.0 cannot convert the factor, pir_parser.cc:814)"]
    assert paddle.nn.functional.upsample.__name__ == "upsample"  # put back after the export


def test_a_network_that_cannot_trace_a_dynamic_batch_is_exported_at_batch_1(tmp_path: Path) -> None:
    result = export.export_and_check(BatchOfOne(), {"input_size": 8, "channels": 3}, tmp_path)
    assert result["passed"] is True
    (note,) = result["export_notes"]
    assert note.startswith("exported with a fixed batch of 1 (tracing a dynamic batch failed: ")
    assert "The number of elements must greater or equal than zero." in note
    assert result["batch_check"] == {"batch": 2, "passed": None, "skipped": note}


def test_a_mistranslated_layer_is_named_by_the_bisection(tmp_path: Path) -> None:
    """An export whose second convolution computes something else: the check fails and names that layer."""
    import onnx
    from onnx import numpy_helper

    net = Wrap(nn.Conv2D(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2D(8, 8, 3, padding=1), nn.ReLU(), nn.Linear(8 * 8 * 8, 10))
    job = {"input_size": 8, "channels": 3}
    batch = export.random_batch(job)
    export.sane_init(net, export.random_batch(job, 2, export.CALIBRATION_SEED))
    with paddle.no_grad():
        expected = net(paddle.to_tensor(batch)).numpy()
    onnx_path = export.export_onnx(net, job, tmp_path)
    graph = onnx.load(str(onnx_path))
    second_conv = [node for node in graph.graph.node if node.op_type == "Conv"][1]
    # paddle2onnx stores weights as initializers or as Constant nodes
    weights = next((t for t in graph.graph.initializer if t.name == second_conv.input[1]), None)
    if weights is None:
        constant = next(n for n in graph.graph.node if second_conv.input[1] in n.output)
        weights = next(a.t for a in constant.attribute if a.name == "value")
    weights.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(weights) * 1.5, weights.name))
    onnx.save(graph, str(onnx_path))
    result = export.check(net, onnx_path, batch, expected)
    assert result["passed"] is False
    divergence = result["divergence"]
    assert (divergence["found"], divergence["layer"], divergence["type"], divergence["last_matching_layer"]) == (True, "body.2", "Conv2D", "body.1")
    assert divergence["input_rel_err"] < 1e-5 and divergence["output_rel_err"] > 0.1
    assert divergence["same_type_reproduced_before"] == 1  # body.0, the first convolution, converted correctly
    assert divergence["layer_attributes"]["in_channels"] == 8 and "closest_onnx_attributes" in divergence


def test_the_bisection_reads_a_leaky_relu_slope_on_both_sides(tmp_path: Path) -> None:
    """CSPDarkNet53's export: each side's LeakyReLU slope is evidence. paddle2onnx 2.1.0 writes alpha 0 for any slope;
    if a later release writes the slope, the export must pass instead."""
    net = Wrap(nn.Conv2D(3, 8, 3, padding=1), nn.LeakyReLU(0.1), nn.Linear(8 * 8 * 8, 10))
    job = {"input_size": 8, "channels": 3}
    batch = export.random_batch(job)
    export.sane_init(net, export.random_batch(job, 2, export.CALIBRATION_SEED))
    with paddle.no_grad():
        expected = net(paddle.to_tensor(batch)).numpy()
    result = export.check(net, export.export_onnx(net, job, tmp_path), batch, expected)
    if result["passed"]:
        import onnx

        alphas = [a.f for n in onnx.load(str(tmp_path / "model.onnx")).graph.node if n.op_type == "LeakyRelu" for a in n.attribute if a.name == "alpha"]
        assert alphas == [pytest.approx(0.1)]
    else:
        divergence = result["divergence"]
        assert (divergence["layer"], divergence["closest_onnx_op"]) == ("body.1", "LeakyRelu")
        assert divergence["layer_attributes"] == {"negative_slope": 0.1} and divergence["closest_onnx_attributes"] == {"alpha": 0.0}


@pytest.mark.parametrize("seed", range(12))
def test_matching_a_tensor_among_many_finds_what_comparing_every_one_finds(seed: int) -> None:
    """The bisection's pruned search returns exactly the exhaustive minimum: the same name, the same error, ties to the first."""
    rng = np.random.default_rng(seed)
    shape = (4, 9, 11)
    array = rng.standard_normal(shape).astype("float32")
    candidates = [(f"t{i}", rng.standard_normal(shape).astype("float32")) for i in range(30)]
    near = array.copy()
    near.reshape(-1)[int(rng.integers(array.size))] += np.float32(rng.choice([1e-6, 1e-2, 3.0]))  # differs off the sample, or on it
    candidates.insert(int(rng.integers(30)), ("near", near))
    if seed % 3 == 0:
        candidates.insert(int(rng.integers(31)), ("same_as_near", near.copy()))  # a tie: the first one wins, as with min()
    if seed % 4 == 0:
        candidates.append(("zeros", np.zeros(shape, "float32")))
    by_shape = {shape: candidates}
    exhaustive = min(((name, export._relative(array, value)) for name, value in candidates), key=lambda item: item[1])
    assert export._best_match(array, by_shape) == exhaustive
    samples: dict[tuple[int, ...], Any] = {}
    assert export._best_match(array, by_shape, samples) == export._best_match(array, by_shape, samples) == exhaustive  # kept samples, then reused
    assert export._best_match(np.zeros((2, 2), "float32"), by_shape) == (None, None)


def test_export_comparison_fails_on_different_outputs() -> None:
    expected = [[1.0, -2.0, 0.5]]
    assert export.compare_outputs(expected, [[1.0, -2.0, 0.5]])["passed"] is True
    off = export.compare_outputs(expected, [[1.0, -2.0, 0.51]])
    assert off["passed"] is False and off["max_abs_err"] == pytest.approx(0.01) and off["max_rel_err"] == pytest.approx(0.005)
    assert export.compare_outputs(expected, [[1.0, -2.0]])["reason"] == "output shapes differ: paddle [1, 3], onnxruntime [1, 2]"


def test_timing_method_warms_up_then_runs_until_the_budget_is_spent() -> None:
    now = [0.0]
    durations = iter([0.1, 0.1, 0.010, 0.020, 0.030, 0.040, 0.050, 0.060])

    def run() -> None:
        now[0] += next(durations)

    stats = latency.time_runs(run, warmup=2, budget_s=0.145, min_repeats=3, max_repeats=100, clock=lambda: now[0])
    # two warm-up runs (the second starts before the budget is spent), then 10..50 ms until 150 ms >= 145 ms
    assert (stats["warmup"], stats["repeats"]) == (2, 5)
    assert stats["median_ms"] == pytest.approx(30) and stats["p10_ms"] == pytest.approx(14) and stats["p90_ms"] == pytest.approx(46)
    assert stats["cv"] == pytest.approx(15.8113883 / 30) and stats["min_ms"] == pytest.approx(10)


def cpu_target(runtime: str, provider: str, precision: str = "FP32", threads: int | None = 1) -> dict[str, Any]:
    return {"hardware": "amd-epyc", "hardware_name": "AMD EPYC", "hardware_kind": "cpu", "runtime": runtime, "runtime_version": "x",
            "provider": provider, "precision": precision, "threads": threads}


@pytest.fixture(scope="module")
def tiny_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A TinyNet exported once: model.onnx and the model Paddle saved, as a model job leaves them."""
    from tests.fake_builders import TinyNet

    workdir = tmp_path_factory.mktemp("tiny")
    export.export_and_check(TinyNet(), {"input_size": 8, "channels": 3}, workdir)
    return workdir


@pytest.mark.parametrize("runtime, provider", [("onnxruntime", "cpu"), ("paddle-inference", "onednn"), ("paddle-inference", "cpu")])
def test_both_runtimes_time_the_same_export_on_this_cpu(tiny_export: Path, runtime: str, provider: str) -> None:
    part = {"target": cpu_target(runtime, provider), "batches": [2, 1], "budget": {"budget_s": 0.1}}
    result = latency.time_target(tiny_export, {"input_size": 8, "channels": 3}, part)
    assert sorted(result["batches"]) == ["1", "2"] and result["threads"] == 1 and len(result["load_avg"]) == 3
    for stats in result["batches"].values():
        assert stats["min_ms"] <= stats["p10_ms"] <= stats["median_ms"] <= stats["p90_ms"]
        assert stats["repeats"] >= 5 and stats["warmup"] >= 1 and stats["cv"] >= 0


def test_a_cpu_timing_loads_the_graph_the_check_optimised(tiny_export: Path, tmp_path: Path) -> None:
    """The check's session writes the graph it optimised; a CPU FP32 onnxruntime timing loads it as
    it is (and says so), with the same outputs; without the file it optimises the export itself."""
    import onnxruntime as ort

    from tests.fake_builders import TinyNet
    from zoocards.workers.common import CPU_OPTIMISED

    job = {"input_size": 8, "channels": 3}
    model = TinyNet()
    export.sane_init(model, export.random_batch(job, 1, export.CALIBRATION_SEED))
    onnx_path = export.export_onnx(model, job, tmp_path)
    batch = export.random_batch(job)
    expected = export._first_output(model(paddle.to_tensor(batch))).numpy()
    assert export.check(model, onnx_path, batch, expected, save_optimised=tmp_path / CPU_OPTIMISED)["passed"]
    plain, optimised = (ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]) for path in (onnx_path, tmp_path / CPU_OPTIMISED))
    assert np.array_equal(plain.run(None, {"x": batch})[0], optimised.run(None, {"x": batch})[0])
    part = {"target": cpu_target("onnxruntime", "cpu"), "batches": [1], "budget": {"budget_s": 0.05}}
    assert "optimised when the export was checked" in latency.time_target(tmp_path, job, part)["graph"]
    assert "graph" not in latency.time_target(tiny_export, job, part)  # no optimised graph there
    (tmp_path / "model.onnx").unlink()  # the spool of a CPU timing holds the optimised graph alone
    assert latency.time_target(tmp_path, job, part)["batches"]["1"]["repeats"] >= 3


@pytest.mark.parametrize("target, reason", [
    (cpu_target("onnxruntime", "cpu", "FP16"), "onnxruntime's CPUExecutionProvider has no FP16 kernels for most operators; an FP16 model would time casts, not FP16 compute"),
    (cpu_target("onnxruntime", "cpu", "INT8"), "INT8 needs a model quantised on calibration images, which zoocards does not have"),
    (cpu_target("paddle-inference", "onednn", "FP16"), "Paddle Inference has no FP16 kernels on a CPU (oneDNN offers bfloat16, which is another precision)"),
    (cpu_target("paddle-inference", "onednn", "INT8"), "INT8 needs a model quantised on calibration images, which zoocards does not have"),
    ({**cpu_target("onnxruntime", "cuda", threads=None), "hardware": "nvidia-t4", "hardware_kind": "gpu"},
     f"this onnxruntime build ({__import__('onnxruntime').__version__}) has no CUDAExecutionProvider; install the build that has it (onnxruntime-gpu for cuda/tensorrt)"),
    ({**cpu_target("tensorrt-native", "tensorrt", threads=None), "hardware": "nvidia-t4", "hardware_kind": "gpu"},
     "zoocards cannot drive the runtime tensorrt-native; it times onnxruntime and Paddle Inference"),
])
def test_what_cannot_run_here_is_not_run_with_the_reason(tiny_export: Path, target: dict[str, Any], reason: str) -> None:
    with pytest.raises(latency.NotRun) as error:
        latency.time_target(tiny_export, {"input_size": 8, "channels": 3}, {"target": target, "batches": [1]})
    assert str(error.value) == reason


def test_paddle_gpu_without_a_cuda_build_is_not_run(tiny_export: Path) -> None:
    target = {**cpu_target("paddle-inference", "tensorrt", threads=None), "hardware": "nvidia-t4", "hardware_kind": "gpu"}
    with pytest.raises(latency.NotRun, match=r"^paddlepaddle .* here is the CPU build; install paddlepaddle-gpu to time tensorrt$"):
        latency.time_target(tiny_export, {"input_size": 8, "channels": 3}, {"target": target, "batches": [1]})


def test_onnxruntime_gpu_providers_with_a_fake_runtime(tiny_export: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No GPU here: onnxruntime is faked to list CUDA and TensorRT and to record the session it is asked for."""
    import onnxruntime as ort

    sessions: list[tuple[str, list[Any]]] = []

    class FakeSession:
        def __init__(self, path: str, sess_options: Any = None, providers: list[Any] | None = None) -> None:
            sessions.append((Path(path).name, list(providers or [])))

        def get_inputs(self) -> list[Any]:
            return [type("Input", (), {"name": "x"})()]

        def run(self, outputs: Any, feed: dict[str, Any]) -> list[Any]:
            return [feed["x"]]

    monkeypatch.setattr(ort, "get_available_providers", lambda: ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"])
    monkeypatch.setattr(ort, "InferenceSession", FakeSession)
    gpu = {"hardware": "nvidia-t4", "hardware_name": "Tesla T4", "hardware_kind": "gpu", "runtime": "onnxruntime", "runtime_version": "x", "threads": None}
    for provider, precision in [("tensorrt", "FP16"), ("tensorrt", "FP32"), ("cuda", "FP16"), ("cuda", "FP32")]:
        result = latency.time_target(tiny_export, {"input_size": 8, "channels": 3}, {"target": {**gpu, "provider": provider, "precision": precision}, "batches": [1, 4], "budget": {"budget_s": 0.01}})
        assert sorted(result["batches"]) == ["1", "4"] and result["threads"] is None
    assert sessions == [
        ("model.onnx", [("TensorrtExecutionProvider", {"trt_fp16_enable": True})]),
        ("model.onnx", ["TensorrtExecutionProvider"]),
        ("model.fp16.onnx", ["CUDAExecutionProvider"]),  # converted by onnxruntime's float16 tool, FP32 inputs and outputs kept
        ("model.onnx", ["CUDAExecutionProvider"]),
    ]


def test_paddle_inference_gpu_and_tensorrt_with_a_fake_config(tiny_export: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No GPU here: paddle claims a CUDA build, and paddle.inference's Config and predictor are fakes that record the calls."""
    from paddle import inference

    calls: list[tuple[Any, ...]] = []

    class FakeConfig:
        def __init__(self, program: str, params: str) -> None:
            calls.append(("Config", Path(program).name, Path(params).name))

        def __getattr__(self, name: str) -> Any:
            return lambda *args, **kwargs: calls.append((name, *args, *sorted(kwargs.items())))

    class FakeHandle:
        def reshape(self, shape: list[int]) -> None:
            pass

        def copy_from_cpu(self, batch: Any) -> None:
            pass

    class FakePredictor:
        def get_input_names(self) -> list[str]:
            return ["x"]

        def get_input_handle(self, name: str) -> FakeHandle:
            return FakeHandle()

        def run(self) -> None:
            pass

    monkeypatch.setattr(paddle, "is_compiled_with_cuda", lambda: True)
    monkeypatch.setattr(inference, "Config", FakeConfig)
    monkeypatch.setattr(inference, "create_predictor", lambda config: FakePredictor())
    gpu = {"hardware": "nvidia-t4", "hardware_name": "Tesla T4", "hardware_kind": "gpu", "runtime": "paddle-inference", "runtime_version": "x", "threads": None}
    job = {"input_size": 8, "channels": 3}
    latency.time_target(tiny_export, job, {"target": {**gpu, "provider": "tensorrt", "precision": "FP16"}, "batches": [1, 8], "budget": {"budget_s": 0.01}})
    program = "model.json" if (tiny_export / "model.json").exists() else "model.pdmodel"
    assert calls[:1] == [("Config", program, "model.pdiparams")]
    assert ("enable_use_gpu", 256, 0) in calls
    assert ("enable_tensorrt_engine", ("max_batch_size", 8), ("min_subgraph_size", 3), ("precision_mode", inference.PrecisionType.Half),
            ("use_calib_mode", False), ("use_static", False), ("workspace_size", 1 << 30)) in calls
    assert ("set_trt_dynamic_shape_info", {"x": [1, 3, 8, 8]}, {"x": [8, 3, 8, 8]}, {"x": [8, 3, 8, 8]}) in calls
    calls.clear()
    latency.time_target(tiny_export, job, {"target": {**gpu, "provider": "cuda", "precision": "FP32"}, "batches": [1], "budget": {"budget_s": 0.01}})
    assert ("enable_use_gpu", 256, 0, inference.PrecisionType.Float32) in calls and not any(c[0] == "enable_tensorrt_engine" for c in calls)


def test_latency_script_times_an_onnx_file(tiny_export: Path) -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench_latency.py"), "--onnx", str(tiny_export / "model.onnx"), "--input-size", "8", "--batch-sizes", "1,2", "--budget", "0.1"],
        capture_output=True, text=True, timeout=300, check=True,
    )
    lines = out.stdout.strip().splitlines()
    assert lines[0].split()[:4] == ["model", "runtime/provider", "prec", "batch"]
    assert [line.split()[3] for line in lines[1:-1]] == ["1", "2"]
    record = json.loads(lines[-1])[0]
    assert record["target"]["runtime"] == "onnxruntime" and record["result"]["batches"]["1"]["median_ms"] > 0


def test_preprocessing_resizes_the_short_side_then_centre_crops(tmp_path: Path) -> None:
    from PIL import Image

    # 40 wide, 20 high; the left half black, the right half white
    image = Image.new("L", (40, 20))
    image.paste(255, (20, 0, 40, 20))
    image.save(tmp_path / "a.png")
    settings = {"resize_short": 10, "mean": [0.5], "std": [0.5], "channels": 1}
    array = accuracy.preprocess(tmp_path / "a.png", 8, settings)  # 20x10 after resizing, centre 8x8
    assert array.shape == (1, 8, 8)
    assert array[0, 0, 0] == pytest.approx(-1.0) and array[0, 0, 7] == pytest.approx(1.0)  # (0 - .5)/.5, (1 - .5)/.5


def demo_job() -> dict[str, Any]:
    card = load_file(DEMO_CARD)
    model = card.data["models"][0]
    return {
        "builder": model["builder"], "input_size": model["input_size"], "channels": model["eval"]["channels"], "eval": model["eval"],
        "weights": str(ROOT / model["weights"]), "data_dir": str(ROOT / "demo" / "digits-demo"),
    }


def test_demo_accuracy_verifies_and_a_wrong_claim_is_a_mismatch() -> None:
    result = accuracy.main(demo_job())
    record = {"model": "DigitsNet", "kind": "accuracy", "status": "ok", "reason": None, "result": result, "measured_at": None, "env": None}
    text = DEMO_CARD.read_text(encoding="utf-8")
    card = load_text(text, DEMO_CARD)
    by_metric = {v["metric"]: v for v in compare.verify([card], {card.id: [record]}, {}) if v["metric"] in ("top1", "top5")}
    assert by_metric["top1"]["status"] == "verified" and by_metric["top5"]["status"] == "verified"
    claimed = card.raw_number(("models", 0, "metrics", "top1"))
    assert claimed is not None
    wrong = load_text(text.replace(f"top1: {claimed}", "top1: 0.950"), DEMO_CARD)
    v = next(v for v in compare.verify([wrong], {card.id: [record]}, {}) if v["metric"] == "top1")
    assert v["status"] == "mismatch" and v["claimed"] == 95.0


def test_accuracy_list_file_errors_name_the_line(tmp_path: Path) -> None:
    (tmp_path / "val_list.txt").write_text("a.png 1\nb.png\n", encoding="utf-8")
    with pytest.raises(accuracy.WorkerError, match=r"val_list.txt:2: expected 'relative/path label', got 'b.png'"):
        accuracy.read_list(tmp_path / "val_list.txt")


LEGENDARY = "ppcls.arch.backbone.legendary_models."


@pytest.mark.slow
@pytest.mark.parametrize("builder, size, params", [
    ("resnet:ResNet50", 224, 25557032), ("vgg:VGG16", 224, 138353320), ("mobilenet_v1:MobileNetV1", 224, 4231976),
    ("mobilenet_v3:MobileNetV3_large_x1_0", 224, 5480206), ("hrnet:HRNet_W18_C", 224, 21295164), ("inception_v3:InceptionV3", 299, 23834568),
    ("esnet:ESNet_x1_0", 224, 4620318), ("mobilenet_v4:MobileNetV4_conv_small", 224, 3774024),
])
def test_legendary_models_build_and_count(builder: str, size: int, params: int) -> None:
    """The eight ppcls legendary modules that failed while ppcls's logger was None (issue 15)."""
    from zoocards.workers.common import build_model

    result = count.count(build_model({"builder": LEGENDARY + builder}), [1, 3, size, size])
    assert (result["params"], result["outputs"]) == (params, 1000)


@pytest.mark.slow
def test_fasternet_t0_count_and_export_verify_against_its_card(tmp_path: Path) -> None:
    """The real thing on the smallest real model: its card's params and FLOPs claims hold."""
    from zoocards import measure

    card = load_file(ROOT / "cards" / "fasternet.yaml")
    records = measure.measure([card], tmp_path, ROOT, kinds={"count", "export"}, models={"FasterNet_T0"})
    statuses = {(v["source"], v["status"]) for v in compare.verify([card], records, measure.host_fingerprint()) if v["model"] == "FasterNet_T0" and v["metric"] in ("params", "flops", "onnx_export", "classes")}
    assert {status for _, status in statuses} == {"verified"}, statuses


@pytest.mark.slow
def test_demo_accuracy_through_the_worker_subprocess(tmp_path: Path) -> None:
    """The demo card verified end to end by `zoocards verify`'s own machinery."""
    from zoocards import measure

    card = load_file(DEMO_CARD)
    records = measure.measure([card], tmp_path, ROOT, kinds={"accuracy", "count"})
    verdicts = {v["metric"]: v["status"] for v in compare.verify([card], records, measure.host_fingerprint()) if v["source"].startswith("models[0].")}
    assert verdicts == {"top1": "verified", "top5": "verified", "flops": "verified", "params": "verified", "classes": "verified"}


def test_builders_never_download_nor_leak_module_state() -> None:
    """ppcls's UniFormer_* default to pretrained=True (a download), and UniFormer_base_ls leaves
    `layer_scale = True` for every UniFormer built after it in the same worker."""
    pytest.importorskip("paddle")
    from tests import fake_builders
    from zoocards.workers.common import build_model

    assert build_model({"builder": "tests.fake_builders:Downloads"}) is not None
    build_model({"builder": "tests.fake_builders:SetsModuleState"})
    assert fake_builders.scaled is False
    model = build_model({"builder": "tests.fake_builders:ReadsModuleState"})
    assert model.fc.weight.shape == [8, 10]


@pytest.mark.parametrize("runtime, kept", [("onnxruntime", {"model.cpu-optimised.onnx"}), ("paddle-inference", {"model.onnx", "model.pdiparams"})])
def test_the_spool_keeps_only_what_the_timings_read(tmp_path: Path, runtime: str, kept: set[str]) -> None:
    """onnxruntime's CPU timings read the graph optimised beside the export alone (made even without
    an export check); Paddle Inference needs the model Paddle saved too."""
    from zoocards.workers import serve

    target = {"hardware": "cpu", "hardware_kind": "cpu", "runtime": runtime, "provider": "cpu", "precision": "FP32", "threads": 1}
    job = {"id": 1, "op": "model", "model": "Tiny", "builder": "tests.fake_builders:TinyNet", "input_size": 8, "channels": 3, "dir": str(tmp_path / "spool"),
           "parts": [{"part": 0, "kind": "latency", "target": target, "batches": [1]}]}
    events: list[dict[str, Any]] = []
    serve.run_model(job, serve.Session(job, events.append, {}))
    files = {path.name for path in (tmp_path / "spool").iterdir()}
    assert kept <= files and (files == kept if runtime == "onnxruntime" else True)
    spooled = next(e for e in events if e["event"] == "spooled")
    assert spooled["bytes"] == sum(path.stat().st_size for path in (tmp_path / "spool").iterdir())


class RepBlock(nn.Layer):
    """A RepVGG-style block: 3x3 and 1x1 branches while training, one fused 3x3 convolution once re-parameterised."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.dense = nn.Conv2D(channels, channels, 3, padding=1)
        self.one = nn.Conv2D(channels, channels, 1)
        self.fused: Any = None

    def re_parameterize(self) -> None:
        self.fused = nn.Conv2D(self.dense._in_channels, self.dense._out_channels, 3, padding=1)

    def forward(self, x: Any) -> Any:
        return self.fused(x) if self.fused is not None else self.dense(x) + self.one(x)


def test_a_re_parameterisable_model_also_has_its_deployed_parameters_counted() -> None:
    net = Wrap(nn.Conv2D(3, 4, 3, padding=1), RepBlock(4), nn.Linear(4 * 8 * 8, 10))
    result = count.count(net, [1, 3, 8, 8])
    stem, head = 3 * 4 * 9 + 4, 4 * 8 * 8 * 10 + 10
    assert result["params"] == stem + (4 * 4 * 9 + 4) + (4 * 4 + 4) + head
    assert result["params_deploy"] == stem + (4 * 4 * 9 + 4) + head  # the 1x1 branch is fused away
    assert result["macs"] == 64 * (4 * 3 * 9 + 4 * 4 * 9 + 4 * 4) + 256 * 10
    assert result["macs_deploy"] == 64 * (4 * 3 * 9 + 4 * 4 * 9) + 256 * 10
    assert net.body[1].fused is None  # the count fused a copy, not the model it was given
    assert not {"params_deploy", "macs_deploy"} & set(count.count(Wrap(nn.Conv2D(3, 4, 3, padding=1)), [1, 3, 8, 8]))


_SAVE_SCRIPT = """
import contextlib, hashlib, json, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
import paddle
from zoocards.workers import common
out = {}
for n, builder in enumerate(sys.argv[4:]):
    model = common.build_model({"builder": builder})
    prefix = Path(sys.argv[3]) / f"{sys.argv[2]}{n}"
    started = time.perf_counter()
    with common.quick_tracing() if sys.argv[2] == "quick" else contextlib.nullcontext():
        paddle.jit.save(model, str(prefix), input_spec=[paddle.static.InputSpec([None, 3, 224, 224], "float32", "x")])
    out[builder] = {"seconds": time.perf_counter() - started,
                    "files": {suffix: hashlib.sha256(Path(str(prefix) + suffix).read_bytes()).hexdigest() for suffix in (".json", ".pdiparams")}}
print(json.dumps(out))
"""


@pytest.mark.slow
def test_quick_tracing_saves_the_programs_paddle_saves(tmp_path: Path) -> None:
    """`quick_tracing` (cached conversions, no call stacks, op counts without op lists) only skips
    work: each program and its weights are byte for byte what paddle writes without it (fresh
    processes; a second ResNet reuses the first's conversions; the ops' `struct_name` layer paths
    are in the programs compared)."""
    builders = [LEGENDARY + "resnet:ResNet18", LEGENDARY + "resnet:ResNet34", "ppcls.arch.backbone.model_zoo.vision_transformer:ViT_small_patch16_224"]
    saved = {}
    for mode in ("plain", "quick"):
        done = subprocess.run([sys.executable, "-c", _SAVE_SCRIPT, str(ROOT), mode, str(tmp_path), *builders],
                              capture_output=True, text=True, timeout=600, check=True)
        saved[mode] = json.loads(done.stdout.strip().splitlines()[-1])
    for builder in builders:
        assert saved["quick"][builder]["files"] == saved["plain"][builder]["files"], builder
    # The saving itself is a benchmark's business (scripts/bench_verify.py), not a test's: see ARCHITECTURE.md.


def test_a_lazy_build_counts_the_same_and_gets_every_value_from_the_sane_weights() -> None:
    """`build_model(lazy=True)` skips the builder's random initialisation: the parameters have
    their shapes but no values until `reinit_weights` (which then runs the remaining
    initialisers, e.g. ViT's position embedding); counts match an eager build's."""
    from zoocards.workers.common import build_model

    job = {"builder": "ppcls.arch.backbone.model_zoo.vision_transformer:ViT_small_patch16_224"}
    lazy = build_model(job, lazy=True)
    assert not any(p._is_initialized() for p in lazy.parameters())
    export.reinit_weights(lazy)
    assert all(p._is_initialized() for p in lazy.parameters())
    eager = build_model(job)
    shape = [1, 3, 224, 224]
    assert count.count(lazy, shape)["params"] == count.count(eager, shape)["params"] == 48754408  # ppcls 2.6.0 ViT-S: depth 8, width 768
    # The position embedding came from its own (seeded) initialiser, not left at zero.
    assert float(paddle.abs(lazy.pos_embed).max()) > 0
    export.sane_init(lazy, export.random_batch({"input_size": 224}, 1, export.CALIBRATION_SEED))
    assert np.isfinite(lazy(paddle.to_tensor(export.random_batch({"input_size": 224}))).numpy()).all()


def test_a_builder_that_reads_its_weights_is_built_eagerly() -> None:
    from zoocards.workers.common import build_model

    model = build_model({"builder": "tests.fake_builders:ReadsItsWeights"}, lazy=True)
    assert all(p._is_initialized() for p in model.parameters())


def test_files_read_straight_back_go_to_ram_when_they_fit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from zoocards.workers import common

    monkeypatch.setenv(common.RAM_DIR_ENV, str(tmp_path))
    assert common.scratch_dir(1024) == str(tmp_path)
    assert common.scratch_dir(10**15) is None  # a petabyte never fits: the system temp dir
    monkeypatch.delenv(common.RAM_DIR_ENV)
    assert common.scratch_dir(1024) is None


def test_an_export_in_ram_leaves_its_timing_files_in_the_spool_and_nothing_in_ram(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from zoocards.workers import common, serve

    ram = tmp_path / "ram"
    ram.mkdir()
    monkeypatch.setenv(common.RAM_DIR_ENV, str(ram))
    target = {"hardware": "cpu", "hardware_kind": "cpu", "runtime": "onnxruntime", "provider": "cpu", "precision": "FP32", "threads": 1}
    job = {"id": 1, "op": "model", "model": "Tiny", "builder": "tests.fake_builders:TinyNet", "input_size": 8, "channels": 3, "dir": str(tmp_path / "spool"),
           "parts": [{"part": 0, "kind": "export"}, {"part": 1, "kind": "latency", "target": target, "batches": [1]}]}
    events: list[dict[str, Any]] = []
    serve.run_model(job, serve.Session(job, events.append, {}))
    assert next(e for e in events if e["event"] == "result")["status"] == "ok"
    assert {path.name for path in (tmp_path / "spool").iterdir()} == {"model.cpu-optimised.onnx"}  # what the CPU timing reads
    assert list(ram.iterdir()) == []
