"""Time a card's models, or one ONNX file, on this machine; nothing is written to measurements/.

    .venv/bin/python scripts/bench_latency.py --card cards/fasternet.yaml [--model FasterNet_T0]
    .venv/bin/python scripts/bench_latency.py --onnx model.onnx --input-size 224 [--batch-sizes 1,4]

A card's models are built, exported and timed by the measurement engine (zoocards.measure)
on the targets `zoocards verify` would time here: batch 1 on this CPU with onnxruntime and
Paddle Inference (oneDNN), plus every claim whose hardware this host has. `--batch-sizes`
replaces the batch sizes; `--budget` the seconds of timed runs per batch size. An ONNX file
is timed with onnxruntime on this CPU. Prints a table, then one JSON line with every result.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from zoocards import hardware, measure  # noqa: E402
from zoocards.errors import ZoocardsError  # noqa: E402
from zoocards.load import load_file  # noqa: E402
from zoocards.workers.common import usable_cores  # noqa: E402


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
    parser = argparse.ArgumentParser(description="Time a card's models (onnxruntime and Paddle Inference on this CPU, plus the claims this host can re-run) or an ONNX file.")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--card", type=Path, help="a card file; its models with a builder are exported and timed")
    source.add_argument("--onnx", type=Path, help="an ONNX file to time as is (onnxruntime, this CPU)")
    parser.add_argument("--model", action="append", help="only this model of the card (repeatable)")
    parser.add_argument("--input-size", type=int, help="square input size for --onnx")
    parser.add_argument("--channels", type=int, default=3, help="input channels for --onnx (default 3)")
    parser.add_argument("--batch-sizes", type=_sizes, help="comma-separated batch sizes (default: 1, plus the claimed ones this host can re-run)")
    parser.add_argument("--threads", type=int, help="intra-op threads for --onnx (default: every usable core)")
    parser.add_argument("--budget", type=float, default=measure.LATENCY_BUDGET["budget_s"], help="seconds of timed runs per batch size (default %(default)s)")
    parser.add_argument("--timeout", type=float, help="seconds a stage may run before its worker is killed (default: measure.DEFAULT_TIMEOUT_S)")
    args = parser.parse_args(argv)
    if args.onnx and not args.input_size:
        parser.error("--onnx needs --input-size")
    return args


def jobs(args: argparse.Namespace) -> list[measure.Job]:
    """Latency jobs for the chosen models or file."""
    budget = {**measure.LATENCY_BUDGET, "budget_s": args.budget}
    if args.onnx:
        cpu = next((d for d in hardware.this_host() if d["kind"] == "cpu"), {"id": "unknown", "name": "unknown CPU", "kind": "cpu"})
        target = measure._target(cpu, "onnxruntime", "cpu", "FP32", args.threads or usable_cores())
        batches = args.batch_sizes or [1]
        payload = {"onnx": str(args.onnx.resolve()), "input_size": args.input_size, "channels": args.channels, "batches": batches, "budget": budget, "target": target}
        return [measure.Job("(file)", args.onnx.name, "latency", {"onnx": str(args.onnx)}, payload, target)]
    card = load_file(args.card)
    planned = [j for j in measure.plan([card], REPO) if j.kind == "latency" and (not args.model or j.model in args.model)]
    if not planned:
        raise ZoocardsError(f"{args.card}: no model with a builder matches {args.model or 'the card'}")
    for job in planned:
        job.payload["budget"] = budget
        if args.batch_sizes:
            job.payload["batches"] = args.batch_sizes
    return planned


def table(records: list[dict[str, Any]]) -> str:
    """Model, runtime/provider, precision, batch, median/p10/p90 ms, coefficient of variation, runs."""
    lines = [f"{'model':<24}{'runtime/provider':<28}{'prec':<6}{'batch':>6}{'median ms':>11}{'p10 ms':>10}{'p90 ms':>10}{'cv':>7}{'runs':>6}"]
    for record in records:
        target = record.get("target") or {}
        where = f"{target.get('runtime')}/{target.get('provider')}"
        if record["status"] != "ok":
            lines.append(f"{record['model']:<24}{where:<28}{record['status']}: {record['reason']}")
            continue
        for batch, stats in sorted(record["result"]["batches"].items(), key=lambda item: int(item[0])):
            lines.append(f"{record['model']:<24}{where:<28}{target.get('precision', ''):<6}{batch:>6}{stats['median_ms']:>11.2f}{stats['p10_ms']:>10.2f}"
                         f"{stats['p90_ms']:>10.2f}{stats['cv']:>7.3f}{stats['repeats']:>6}")
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
    records = [record for job, record in results if job.kind == "latency"]
    print(table(records))
    print(json.dumps([{k: r.get(k) for k in ("model", "status", "reason", "target", "result", "env")} for r in records], sort_keys=True))
    return 0 if all(r["status"] != "failed" for r in records) else 1


if __name__ == "__main__":
    raise SystemExit(main())
