"""Time onnxruntime inference of a card's models, or of one ONNX file, on this machine.

    .venv/bin/python scripts/bench_latency.py --card cards/fasternet.yaml [--model FasterNet_T0]
    .venv/bin/python scripts/bench_latency.py --onnx model.onnx --input-size 224 [--batch-sizes 1,4]

Each model is exported and timed in its own subprocess (the `latency` worker). Prints a
table, then one JSON line with every result. Nothing is written to measurements/.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from zoocards import measure  # noqa: E402
from zoocards.errors import ZoocardsError  # noqa: E402
from zoocards.load import load_file  # noqa: E402


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: write batch sizes as 1,4,8") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: batch sizes are positive integers")
    return sizes


def parse(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description="Time onnxruntime inference (CPU, plus CUDA/TensorRT when available) of a card's models or an ONNX file.")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--card", type=Path, help="a card file; its models with a builder are exported and timed")
    source.add_argument("--onnx", type=Path, help="an ONNX file to time as is")
    parser.add_argument("--model", action="append", help="only this model of the card (repeatable)")
    parser.add_argument("--input-size", type=int, help="square input size for --onnx")
    parser.add_argument("--channels", type=int, default=3, help="input channels for --onnx (default 3)")
    parser.add_argument("--batch-sizes", type=_sizes, help="comma-separated batch sizes (default: the card's benchmark columns, else 1)")
    parser.add_argument("--threads", type=int, help="intra-op threads (default: every usable core)")
    parser.add_argument("--budget", type=float, default=measure.LATENCY_BUDGET["budget_s"], help="seconds of timed runs per batch size (default %(default)s)")
    parser.add_argument("--timeout", type=float, default=measure.DEFAULT_TIMEOUT_S["latency"], help="seconds before a model's run is killed (default %(default)s)")
    args = parser.parse_args(argv)
    if args.onnx and not args.input_size:
        parser.error("--onnx needs --input-size")
    return args


def jobs(args: argparse.Namespace) -> list[measure.Job]:
    """Latency jobs for the chosen models or file."""
    budget = {**measure.LATENCY_BUDGET, "budget_s": args.budget}
    if args.onnx:
        payload = {"onnx": str(args.onnx.resolve()), "input_size": args.input_size, "channels": args.channels, "batch_sizes": args.batch_sizes or [1], "threads": args.threads, **budget}
        return [measure.Job("(file)", args.onnx.name, "latency", {"onnx": str(args.onnx)}, payload)]
    card = load_file(args.card)
    planned = [j for j in measure.plan([card], REPO) if j.kind == "latency" and (not args.model or j.model in args.model)]
    if not planned:
        raise ZoocardsError(f"{args.card}: no model with a builder matches {args.model or 'the card'}")
    for job in planned:
        job.payload.update(budget, threads=args.threads)
        if args.batch_sizes:
            job.payload["batch_sizes"] = args.batch_sizes
    return planned


def table(records: list[dict[str, Any]]) -> str:
    """Model, provider, batch, median/p90/min ms, runs."""
    lines = [f"{'model':<24}{'provider':<28}{'batch':>6}{'median ms':>12}{'p90 ms':>10}{'min ms':>10}{'runs':>6}"]
    for record in records:
        if record["status"] != "ok":
            lines.append(f"{record['model']:<24}failed: {record['reason']}")
            continue
        for run in record["result"]["runs"]:
            lines.append(f"{record['model']:<24}{run['provider']:<28}{run['batch_size']:>6}{run['median_ms']:>12.2f}{run['p90_ms']:>10.2f}{run['min_ms']:>10.2f}{run['repeats']:>6}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the timings, print the table and one JSON line; 1 if any run failed."""
    args = parse(argv)
    try:
        todo = jobs(args)
    except ZoocardsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    results = measure.run_jobs(todo, REPO, timeout_s=args.timeout, parallel=1)
    records = [record for _, record in results]
    print(table(records))
    print(json.dumps([{k: r[k] for k in ("model", "status", "reason", "result", "env")} for r in records], sort_keys=True))
    return 0 if all(r["status"] == "ok" for r in records) else 1


if __name__ == "__main__":
    raise SystemExit(main())
