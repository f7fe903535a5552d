"""Time a cold verification of the zoo: every card's every measurement, re-run from nothing.

    .venv/bin/python scripts/bench_verify.py                      # the whole zoo -> perf/verify.json
    .venv/bin/python scripts/bench_verify.py --only fasternet,vgg --out /tmp/sample.json

The measurements go to a temporary directory (committed records are never touched), with
`--force`, so every model is built, counted, exported, checked and timed as on a fresh
machine with nothing committed. Writes one JSON object:

    {"models": N, "wall_s": ..., "per_stage_s": {"build": ..., "count": ..., "export": ..., "check": ..., "latency": ...},
     "per_stage_cpu_s": {...}, "phases": {"side_by_side_s": ..., "alone_s": ..., "paused_s": ...,
     "workers_started": n, "slots_s": {"model": ..., "timing": ..., "starting": ..., "idle": ...},
     "killed_s": {"export": ..., ...}},
     "per_model_s": {"p50": ..., "p90": ..., "max": ..., "max_model": ...}, "peak_rss_mb": ...,
     "statuses": {"count": {"ok": n, "failed": n}, ...}, "failed": [{"card", "model", "kind", "reason"}],
     "settings": {"jobs": 2, "latency_budget": {...}, "check_batch": {"paddle": 1, "onnxruntime": 2}, "baseline_runtimes": [...]},
     "host": {"cpu": ..., "cores": ..., "memory_gb": ..., "load_avg_start": [1m, 5m, 15m], "load_avg_end": [...]}, "date": ...}

`per_stage_s` sums each stage's wall seconds over the models (stages of two models overlap,
so they add up to more than `wall_s`); `per_model_s` is one model's wall time from its first
stage to its last timing. `slots_s` splits the `jobs` worker slots' seconds (jobs × wall_s) by
what each slot did: a model job, a timing (which runs alone, so it fills every slot), a worker
starting (importing paddle), or nothing. A worker killed in a stage (a crash, a timeout, the
memory limit) never reports that stage's clocks: the stages it finished are in `per_stage_s`, and
`phases.killed_s` has the wall seconds of the stage it was killed in, per stage. Progress goes to stderr (`--progress FILE` copies it to a file).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from zoocards import measure  # noqa: E402
from zoocards.workers import export  # noqa: E402
from zoocards.workers.common import host_info, utc_now  # noqa: E402


def parse(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description="Time a cold verification of every card (or --only some) into a temporary directory.")
    parser.add_argument("--cards", type=Path, default=REPO / "cards", help="cards directory (default: %(default)s)")
    parser.add_argument("--only", help="comma-separated card ids to verify (default: every card)")
    parser.add_argument("--out", type=Path, default=REPO / "perf" / "verify.json", help="where to write the figures (default: %(default)s)")
    parser.add_argument("--jobs", type=int, default=2, help="workers side by side (default %(default)s)")
    parser.add_argument("--keep", type=Path, help="keep the measurement records in this directory instead of a temporary one")
    parser.add_argument("--progress", type=Path, help="also append the progress lines to this file")
    return parser.parse_args(argv)


class Tee:
    """stderr, copied line by line to a progress file."""

    def __init__(self, stream: Any, path: Path) -> None:
        self.stream = stream
        self.file = path.open("a", encoding="utf-8")

    def write(self, text: str) -> int:
        self.file.write(text)
        self.file.flush()
        return int(self.stream.write(text))

    def flush(self) -> None:
        self.stream.flush()
        self.file.flush()


def _load() -> list[float] | None:
    return [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None


def figures(records: dict[str, list[dict[str, Any]]], stats: measure.RunStats, wall_s: float, jobs: int, load_start: list[float] | None) -> dict[str, Any]:
    """The benchmark's JSON object (see the module docstring)."""
    all_records = [dict(r, card=card) for card, rs in records.items() for r in rs]
    statuses: dict[str, dict[str, int]] = {}
    for record in all_records:
        kind = statuses.setdefault(record["kind"], {})
        kind[record["status"]] = kind.get(record["status"], 0) + 1
    per_model = sorted(stats.per_model_s.values())
    slowest = max(stats.per_model_s.items(), key=lambda item: item[1])[0] if per_model else None
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KB on Linux
    host = host_info()
    return {
        "models": len({(r["card"], r["model"]) for r in all_records}),
        "wall_s": round(wall_s, 1),
        "per_stage_s": {name: round(spent["wall_s"], 1) for name, spent in sorted(stats.stages.items())},
        "per_stage_cpu_s": {name: round(spent["cpu_s"], 1) for name, spent in sorted(stats.stages.items())},
        "phases": {"side_by_side_s": round(stats.side_by_side_s, 1), "paused_s": round(stats.paused_s, 1), "alone_s": round(stats.alone_s, 1), "workers_started": stats.workers_started,
                   "slots_s": {name: round(s, 1) for name, s in sorted(stats.slots_s.items())},
                   "killed_s": {name: round(s, 1) for name, s in sorted(stats.killed_s.items())}},
        "per_model_s": {
            "p50": round(statistics.median(per_model), 1) if per_model else None,
            "p90": round(per_model[min(len(per_model) - 1, int(0.9 * len(per_model)))], 1) if per_model else None,
            "max": round(per_model[-1], 1) if per_model else None,
            "max_model": slowest,
        },
        "peak_rss_mb": round(max(stats.peak_rss_mb, children), 1),
        "statuses": statuses,
        "failed": [{"card": r["card"], "model": r["model"], "kind": r["kind"], "reason": r["reason"]} for r in all_records if r["status"] == "failed"],
        "settings": {"jobs": jobs, "latency_budget": measure.LATENCY_BUDGET, "check_batch": {"paddle": export.BATCH, "onnxruntime": export.BATCH_CHECK},
                     "baseline_runtimes": [list(pair) for pair in measure.BASELINE_RUNTIMES],
                     "second_runtime": list(measure.SECOND_RUNTIME), "both_runtimes_cards": sorted(measure.BOTH_RUNTIMES_CARDS), "spool_models": measure.SPOOL_MODELS},
        "host": {"cpu": host["cpu"], "cores": host["cores"], "memory_gb": host["memory_gb"], "load_avg_start": load_start, "load_avg_end": _load()},
        "date": utc_now(),
    }


def main(argv: list[str] | None = None) -> int:
    """Verify cold, write the figures, print a summary line."""
    args = parse(argv)
    if args.progress:
        sys.stderr = Tee(sys.stderr, args.progress)  # type: ignore[assignment]
    cards = measure.load_cards(args.cards)
    if args.only:
        wanted = set(args.only.split(","))
        missing = wanted - {card.id for card in cards}
        if missing:
            print(f"error: no card {', '.join(sorted(missing))} in {args.cards}", file=sys.stderr)
            return 1
        cards = [card for card in cards if card.id in wanted]
    load_start = _load()
    stats = measure.RunStats()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="zoocards-bench-verify-") as tmp:
        target = args.keep or Path(tmp)
        records = measure.measure(cards, target, REPO, force=True, jobs=args.jobs, stats=stats)
    wall_s = time.monotonic() - started
    result = figures(records, stats, wall_s, args.jobs, load_start)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"{result['models']} models in {result['wall_s']:.0f} s (per model p50 {result['per_model_s']['p50']} s, p90 {result['per_model_s']['p90']} s, "
          f"max {result['per_model_s']['max']} s); {len(result['failed'])} failed; peak RSS {result['peak_rss_mb']:.0f} MB -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
