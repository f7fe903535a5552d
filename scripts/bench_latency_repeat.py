"""How repeatable are this host's timings? The seed zoo's timings, twice, cold, compared.

    .venv/bin/python scripts/bench_latency_repeat.py            # -> perf/latency_repeat.json + a table

Each run is a cold `zoocards verify --kinds latency --force` of the seed cards into a
temporary directory (fresh workers: every model built, exported and timed again; committed
records untouched), with the timing method and budget `zoocards verify` uses. For every
(model, target, batch size) timed in both runs, the relative difference of the two medians is

    d = |m1 - m2| / min(m1, m2)

(the larger of "run 2 against run 1" and "run 1 against run 2", as a fraction), and the
report gives its distribution (p50, p90, max over all pairs; also per runtime/provider):

    {"runs": 2, "cards": [...], "pairs": N, "definition": "...", "busy": true | false,
     "relative_difference": {"p50": f, "p90": f, "max": f, "mean": f},
     "p10_relative_difference": {...the same for the runs' 10th percentiles...},
     "by_target": {"onnxruntime/cpu": {"pairs", "p50", "p90", "max"}, ...},
     "per_pair": [{"card", "model", "runtime", "provider", "precision", "threads", "batch", "run1_ms", "run2_ms", "cv1", "cv2", "relative_difference",
                   "run1_p10_ms", "run2_p10_ms", "p10_relative_difference", "load_avg_1m": [run 1, run 2]}],
     "settings": {"latency_budget": {...}}, "host": {"cpu", "cores", "load_avg": [[run 1 start], [run 2 start]]}, "date"}

zoocards.compare sets its latency tolerance from `relative_difference.max`. `busy` is true when
a run started with a 1-minute load average above the core count: the spread then measures the
other processes as much as the timing method, and a quiet host should be measured instead.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from zoocards import measure  # noqa: E402
from zoocards.workers.common import host_info, utc_now  # noqa: E402

SEED_CARDS = ("digits-demo", "fasternet", "mixnet", "others", "regnet")
DEFINITION = "|m1 - m2| / min(m1, m2) of the two runs' medians, per (model, target, batch size)"


def parse(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description="Time the seed zoo twice, cold, and report how far the two runs' medians differ.")
    parser.add_argument("--cards", type=Path, default=REPO / "cards", help="cards directory (default: %(default)s)")
    parser.add_argument("--only", default=",".join(SEED_CARDS), help="comma-separated card ids (default: the seed zoo, %(default)s)")
    parser.add_argument("--out", type=Path, default=REPO / "perf" / "latency_repeat.json", help="where to write the report (default: %(default)s)")
    return parser.parse_args(argv)


def quantile(values: list[float], q: float) -> float:
    """The q-quantile by linear interpolation between the closest ranks (numpy's default)."""
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def distribution(values: list[float]) -> dict[str, Any]:
    """p50, p90, max and mean of relative differences (fractions)."""
    return {"pairs": len(values), "p50": round(quantile(values, 0.5), 4), "p90": round(quantile(values, 0.9), 4), "max": round(max(values), 4),
            "mean": round(statistics.fmean(values), 4)}


def pairs(first: dict[str, list[dict[str, Any]]], second: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Every (model, target, batch) both runs timed, with both medians and their relative difference."""
    out = []
    for card, records in sorted(first.items()):
        later = {measure.record_identity(r): r for r in second.get(card, []) if r["kind"] == "latency" and r["status"] == "ok"}
        for record in records:
            if record["kind"] != "latency" or record["status"] != "ok":
                continue
            other = later.get(measure.record_identity(record))
            if other is None:
                continue
            target = record["target"]
            for batch, stats in sorted(record["result"]["batches"].items(), key=lambda item: int(item[0])):
                again = other["result"]["batches"].get(batch)
                if again is None:
                    continue
                m1, m2 = float(stats["median_ms"]), float(again["median_ms"])
                low1, low2 = float(stats["p10_ms"]), float(again["p10_ms"])
                out.append({"card": card, "model": record["model"], "runtime": target["runtime"], "provider": target["provider"], "precision": target["precision"],
                            "threads": target["threads"], "batch": int(batch), "run1_ms": round(m1, 4), "run2_ms": round(m2, 4),
                            "cv1": round(float(stats["cv"]), 4), "cv2": round(float(again["cv"]), 4), "relative_difference": round(abs(m1 - m2) / min(m1, m2), 4),
                            "run1_p10_ms": round(low1, 4), "run2_p10_ms": round(low2, 4), "p10_relative_difference": round(abs(low1 - low2) / min(low1, low2), 4),
                            "load_avg_1m": [record["result"].get("load_avg", [None])[0], other["result"].get("load_avg", [None])[0]]})
    return out


def report(found: list[dict[str, Any]], cards: list[str], loads: list[list[float] | None]) -> dict[str, Any]:
    """The JSON report (see the module docstring)."""
    by_target: dict[str, list[float]] = {}
    for pair in found:
        by_target.setdefault(f"{pair['runtime']}/{pair['provider']}", []).append(pair["relative_difference"])
    host = host_info()
    starts = [load[0] for load in loads if load]
    return {
        "runs": 2, "cards": cards, "pairs": len(found), "definition": DEFINITION,
        # More runnable processes than cores when a run started: the spread then measures them too.
        "busy": bool(starts) and max(starts) > host["cores"],
        "relative_difference": distribution([p["relative_difference"] for p in found]),
        # The same for the runs' 10th percentiles: other processes only ever add time, so the fast
        # end of a timing moves less than its median on a shared host.
        "p10_relative_difference": distribution([p["p10_relative_difference"] for p in found]),
        "by_target": {name: distribution(values) for name, values in sorted(by_target.items())},
        "per_pair": found,
        "settings": {"latency_budget": measure.LATENCY_BUDGET, "baseline_runtimes": [list(pair) for pair in measure.BASELINE_RUNTIMES],
                     "second_runtime": list(measure.SECOND_RUNTIME), "both_runtimes_cards": sorted(measure.BOTH_RUNTIMES_CARDS)},
        "host": {"cpu": host["cpu"], "cores": host["cores"], "load_avg": loads},
        "date": utc_now(),
    }


def table(found: list[dict[str, Any]], summary: dict[str, Any]) -> str:
    """Per pair, then the distribution."""
    lines = [f"{'model':<22}{'runtime/provider':<28}{'batch':>6}{'run 1 ms':>11}{'run 2 ms':>11}{'diff':>8}"]
    for pair in found:
        lines.append(f"{pair['model']:<22}{pair['runtime'] + '/' + pair['provider']:<28}{pair['batch']:>6}{pair['run1_ms']:>11.2f}{pair['run2_ms']:>11.2f}{pair['relative_difference']:>8.1%}")
    lines.append("")
    lines.append(f"{'relative difference':<30}{'pairs':>6}{'p50':>8}{'p90':>8}{'max':>8}")
    rows = [("all", summary["relative_difference"]), *summary["by_target"].items(), ("all, p10 instead of median", summary["p10_relative_difference"])]
    for name, dist in rows:
        lines.append(f"{name:<30}{dist['pairs']:>6}{dist['p50']:>8.1%}{dist['p90']:>8.1%}{dist['max']:>8.1%}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Two cold runs, the report written and printed."""
    args = parse(argv)
    wanted = args.only.split(",")
    cards = [card for card in measure.load_cards(args.cards) if card.id in wanted]
    missing = set(wanted) - {card.id for card in cards}
    if missing:
        print(f"error: no card {', '.join(sorted(missing))} in {args.cards}", file=sys.stderr)
        return 1
    runs: list[dict[str, list[dict[str, Any]]]] = []
    loads: list[list[float] | None] = []
    for number in (1, 2):
        print(f"run {number} of 2", file=sys.stderr, flush=True)
        loads.append([round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None)
        with tempfile.TemporaryDirectory(prefix="zoocards-latency-repeat-") as tmp:
            runs.append(measure.measure(cards, Path(tmp), REPO, force=True, kinds={"latency"}))
    found = pairs(runs[0], runs[1])
    if not found:
        print("error: no timing succeeded in both runs", file=sys.stderr)
        return 1
    summary = report(found, [card.id for card in cards], loads)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(table(found, summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
