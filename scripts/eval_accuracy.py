"""Top-1/top-5 of a model on an ImageNet-format dataset (a folder + `relative/path label` list).

    .venv/bin/python scripts/eval_accuracy.py --model-card cards/digits-demo.yaml --model DigitsNet \\
        --data demo/digits-demo --weights demo/digits-demo/DigitsNet.pdparams
    .venv/bin/python scripts/eval_accuracy.py --onnx model.onnx --input-size 224 --data /data/ILSVRC2012

Preprocessing is PaddleClas's evaluation pipeline with the card's `eval` overrides (see
zoocards/workers/accuracy.py). Runs in a subprocess; prints a line and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from zoocards import measure  # noqa: E402
from zoocards.load import load_file  # noqa: E402


def parse(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description="Top-1/top-5 accuracy of a card's model with given weights, or of an ONNX file, on a local dataset.")
    parser.add_argument("--model-card", type=Path, help="card file holding the model (builder, input size, eval settings)")
    parser.add_argument("--model", help="model name in the card")
    parser.add_argument("--weights", type=Path, help=".pdparams weights for the card's model")
    parser.add_argument("--onnx", type=Path, help="evaluate this ONNX file instead of a card's model")
    parser.add_argument("--input-size", type=int, help="crop size for --onnx (default 224)")
    parser.add_argument("--data", type=Path, required=True, help="dataset root holding val_list.txt")
    parser.add_argument("--list", type=Path, help="list file (default DATA/val_list.txt)")
    parser.add_argument("--limit", type=int, help="evaluate only the first N images")
    parser.add_argument("--timeout", type=float, default=measure.DEFAULT_TIMEOUT_S["accuracy"], help="seconds before the run is killed (default %(default)s)")
    args = parser.parse_args(argv)
    if args.onnx is None and not (args.model_card and args.model and args.weights):
        parser.error("give --model-card, --model and --weights, or --onnx")
    return args


def payload(args: argparse.Namespace) -> dict[str, object]:
    """The accuracy worker's job."""
    job: dict[str, object] = {"data_dir": str(args.data.resolve()), "limit": args.limit}
    if args.list:
        job["list_file"] = str(args.list.resolve())
    if args.onnx:
        return {**job, "onnx": str(args.onnx.resolve()), "input_size": args.input_size or 224}
    card = load_file(args.model_card)
    model = next((m for m in card.data["models"] if m["name"] == args.model), None)
    if model is None or not model.get("builder"):
        raise SystemExit(f"error: {args.model_card} has no model {args.model} with a builder")
    evaluation = dict(model.get("eval") or {})
    return {**job, "builder": model["builder"], "input_size": model["input_size"], "channels": int(evaluation.get("channels", 3)), "eval": evaluation, "weights": str(args.weights.resolve())}


def main(argv: list[str] | None = None) -> int:
    """Evaluate, print top-1/top-5 and one JSON line; 1 on failure."""
    args = parse(argv)
    job = measure.Job("(cli)", args.model or args.onnx.name, "accuracy", {}, payload(args))
    record = measure.run_job(job, REPO, args.timeout, measure.DEFAULT_MEMORY_MB)
    if record["status"] != "ok":
        print(f"failed: {record['reason']}", file=sys.stderr)
        return 1
    result = record["result"]
    print(f"{job.model}: top1 {result['top1']:.4f}  top5 {result['top5']:.4f}  ({result['images']} images)")
    print(json.dumps({"model": job.model, "result": result, "env": record["env"]}, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
