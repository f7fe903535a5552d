"""Top-1/top-5 accuracy of a model with given weights on an ImageNet-format dataset.

The dataset is a folder of images and a list file of `relative/path label` lines. Images
get PaddleClas's evaluation preprocessing: resize the short side to `resize_short` with
bilinear filtering, centre-crop `input_size`, scale to 0-1, normalise with `mean`/`std`,
HWC -> CHW. The card's `models[].eval` overrides the defaults below. Inference runs
through onnxruntime on the exported model (the weights are loaded before export), so the
figure is the one a deployed ONNX model gives.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from zoocards.workers.common import Job, WorkerError, build_model, environment, export_onnx, log, ort_session

# PaddleClas ImageNet evaluation defaults (ResizeImage resize_short=256, CropImage size=224,
# NormalizeImage with the ImageNet mean/std).
DEFAULT_EVAL: dict[str, Any] = {"resize_short": 256, "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225], "channels": 3}
BATCH = 16


def eval_settings(job: Job) -> dict[str, Any]:
    """The card's eval overrides on top of the PaddleClas defaults."""
    settings = {**DEFAULT_EVAL, **(job.get("eval") or {})}
    settings["channels"] = int(job.get("channels", settings["channels"]))
    return settings


def read_list(list_file: Path) -> list[tuple[str, int]]:
    """`relative/path label` lines of a dataset list file."""
    items = []
    for number, line in enumerate(list_file.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        parts = line.rsplit(maxsplit=1)
        if len(parts) != 2 or not parts[1].lstrip("-").isdigit():
            raise WorkerError(f"{list_file}:{number}: expected 'relative/path label', got {line!r}")
        items.append((parts[0], int(parts[1])))
    if not items:
        raise WorkerError(f"{list_file} lists no images")
    return items


def preprocess(path: Path, input_size: int, settings: dict[str, Any]) -> Any:
    """One image file -> a normalised CHW float32 array."""
    import numpy as np
    from PIL import Image

    with Image.open(path) as opened:
        image = opened.convert("L" if settings["channels"] == 1 else "RGB")
    width, height = image.size
    scale = settings["resize_short"] / min(width, height)
    size = (round(width * scale), round(height * scale))
    if size != image.size:
        image = image.resize(size, Image.Resampling.BILINEAR)
    left, top = (size[0] - input_size) // 2, (size[1] - input_size) // 2
    if left < 0 or top < 0:
        raise WorkerError(f"{path.name}: {size[0]}x{size[1]} after resizing is smaller than the {input_size} crop")
    array = np.asarray(image.crop((left, top, left + input_size, top + input_size)), dtype="float32") / 255.0
    if array.ndim == 2:
        array = array[:, :, None]
    mean = np.asarray(settings["mean"], dtype="float32")
    std = np.asarray(settings["std"], dtype="float32")
    return ((array - mean) / std).transpose(2, 0, 1).astype("float32")


def evaluate(onnx_path: Path, job: Job) -> dict[str, Any]:
    """Top-1/top-5 of the ONNX model over the job's dataset."""
    import numpy as np

    data_dir = Path(job["data_dir"])
    list_file = Path(job.get("list_file") or data_dir / "val_list.txt")
    items = read_list(list_file)
    if job.get("limit"):
        items = items[: int(job["limit"])]
    settings = eval_settings(job)
    session = ort_session(onnx_path, threads=job.get("threads"))
    name = session.get_inputs()[0].name
    top1 = top5 = 0
    for start in range(0, len(items), BATCH):
        chunk = items[start : start + BATCH]
        batch = np.stack([preprocess(data_dir / rel, int(job["input_size"]), settings) for rel, _ in chunk])
        logits = session.run(None, {name: batch})[0]
        ranked = np.argsort(-logits, axis=1, kind="stable")[:, :5]
        labels = np.asarray([label for _, label in chunk])
        top1 += int(np.sum(ranked[:, 0] == labels))
        top5 += int(np.sum(np.any(ranked == labels[:, None], axis=1)))
        if start // BATCH % 50 == 0:
            log(f"{start + len(chunk)}/{len(items)} images")
    return {"top1": top1 / len(items), "top5": top5 / len(items), "images": len(items), "correct_top1": top1, "correct_top5": top5, "eval": settings}


def main(job: Job) -> dict[str, Any]:
    """Load the job's weights, export, evaluate (or evaluate the job's ONNX file)."""
    if job.get("onnx"):
        result = evaluate(Path(job["onnx"]), job)
    else:
        if not job.get("weights"):
            raise WorkerError("an accuracy job needs weights (a .pdparams file) or an ONNX file")
        model = build_model(job, weights=job["weights"])
        with tempfile.TemporaryDirectory(prefix="zoocards-accuracy-") as tmp:
            result = evaluate(export_onnx(model, job, Path(tmp)), job)
    result["env"] = environment(job.get("threads"))
    return result

