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


def test_export_matches_paddle_on_a_tiny_net(tmp_path: Path) -> None:
    from tests.fake_builders import TinyNet

    model = TinyNet()
    model.eval()
    result = export.export_and_check(model, {"input_size": 8, "channels": 3}, tmp_path)
    assert result["passed"] is True
    assert result["max_rel_err"] <= compare.ONNX_MAX_RELATIVE_ERROR
    assert result["opset"] == 13 and result["onnx_bytes"] == (tmp_path / "model.onnx").stat().st_size


def test_export_comparison_fails_on_different_outputs() -> None:
    expected = [[1.0, -2.0, 0.5]]
    assert export.compare_outputs(expected, [[1.0, -2.0, 0.5]])["passed"] is True
    off = export.compare_outputs(expected, [[1.0, -2.0, 0.51]])
    assert off["passed"] is False and off["max_abs_err"] == pytest.approx(0.01) and off["max_rel_err"] == pytest.approx(0.005)
    assert export.compare_outputs(expected, [[1.0, -2.0]])["reason"] == "output shapes differ: paddle [1, 3], onnxruntime [1, 2]"


def test_latency_statistics_and_script_on_a_tiny_net(tmp_path: Path) -> None:
    from tests.fake_builders import TinyNet

    onnx_path = export.export_and_check(TinyNet(), {"input_size": 8, "channels": 3, "keep_dir": str(tmp_path)}, tmp_path)["onnx_path"]
    result = latency.bench(Path(onnx_path), {"input_size": 8, "batch_sizes": [1, 2], "budget_s": 0.2, "threads": 1})
    assert [(r["provider"], r["batch_size"], r["threads"]) for r in result["runs"]][:2] == [("CPUExecutionProvider", 1, 1), ("CPUExecutionProvider", 2, 1)]
    for run in result["runs"]:
        assert run["min_ms"] <= run["median_ms"] <= run["p90_ms"] <= run["max_ms"]
        assert run["repeats"] >= 3
    out = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench_latency.py"), "--onnx", onnx_path, "--input-size", "8", "--batch-sizes", "1", "--budget", "0.2"],
        capture_output=True, text=True, timeout=300, check=True,
    )
    table, line = out.stdout.strip().splitlines()[:-1], out.stdout.strip().splitlines()[-1]
    assert table[0].split()[:3] == ["model", "provider", "batch"]
    assert json.loads(line)[0]["result"]["batch_sizes"]["1"]["median_ms"] > 0


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
