#!/usr/bin/env python3
"""Markdown tables of what the re-run found, from a built site's `api/verification.json`.

    .venv/bin/python scripts/verification_report.py                    # site/api/verification.json -> stdout
    .venv/bin/python scripts/verification_report.py --section errors   # one section only

Sections: `summary` (statuses per figure), `errors` (every params/FLOPs mismatch: model,
figure, claimed, measured, explanation), `failed` (every figure that could not be re-run,
with its reason), `export` (every ONNX export that differs from Paddle, with the bisection's
first diverging layer), `disagreements` (every figure two upstream sources state differently)
`perf` (perf/verify.json) and `runtimes` (Paddle Inference against onnxruntime on this CPU, per
model, from the two cold runs of perf/latency_repeat.json). This is the material of the closing notes and of a release
note: a printout of the committed data, nothing measured here.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SECTIONS = ("summary", "errors", "failed", "export", "disagreements", "perf", "runtimes")


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return "" if value is None else str(value)


def summary(data: dict[str, Any]) -> str:
    counts = Counter((v["metric"], v["status"]) for v in data["verifications"])
    metrics = sorted({m for m, _ in counts})
    statuses = ["verified", "mismatch", "failed", "not_run"]
    rows = [[m, *[counts.get((m, s), 0) for s in statuses]] for m in metrics]
    total = sum(counts.values())
    failed = sum(n for (_, s), n in counts.items() if s == "failed")
    params_models = {(v["card"], v["model"]) for v in data["verifications"] if v["metric"] == "params" and v["status"] in ("verified", "mismatch")}
    return (_table(["figure", *statuses], rows)
            + f"\n\n{total} figures; failed {failed} ({100 * failed / max(1, total):.2f}%); params re-run for {len(params_models)} models.")


def errors(data: dict[str, Any]) -> str:
    rows = []
    explained = 0
    for v in data["verifications"]:
        if v["metric"] in ("params", "flops") and v["status"] == "mismatch":
            explanation = v.get("explanation") or {}
            explained += explanation.get("reproduces") is not None
            rows.append([v["card"], v["model"], v["metric"], v.get("claimed_raw") or _number(v.get("claimed")),
                         f"{_number(v.get('measured'))} {v.get('unit') or ''}".strip(),
                         explanation.get("text") or "none of the usual conventions reproduces the claim"])
    rows.sort(key=lambda r: (r[0], r[1], r[2]))
    return _table(["card", "model", "figure", "claimed", "measured", "explanation"], rows) + f"\n\n{len(rows)} mismatches, {explained} explained."


def failed(data: dict[str, Any]) -> str:
    rows = sorted([[v["card"], v["model"], v["metric"], v.get("reason")] for v in data["verifications"] if v["status"] == "failed"])
    return _table(["card", "model", "figure", "reason"], rows)


def export(data: dict[str, Any]) -> str:
    rows = sorted([[v["card"], v["model"], v.get("reason")] for v in data["verifications"] if v["metric"] == "onnx_export" and v["status"] == "mismatch"])
    return _table(["card", "model", "what the check found"], rows)


def disagreements(data: dict[str, Any]) -> str:
    rows = []
    for d in data["disagreements"]:
        where = " / ".join(f"{value['text']} ({', '.join(f['origin_id'] + (':' + str(f['line']) if f.get('line') else '') for f in value['figures'])})"
                           for value in d["values"])
        condition = " ".join(str(x) for x in (d.get("hardware"), d.get("precision"), f"batch {d['batch_size']}" if d.get("batch_size") else None) if x)
        rows.append([d["card"], d["model"], d["metric"] + (f" ({condition})" if condition else ""), d.get("unit") or "", where])
    rows.sort(key=lambda r: (r[2].split(" ")[0], r[0], r[1], r[2]))
    by_metric = Counter(d["metric"] for d in data["disagreements"])
    return _table(["card", "model", "figure", "unit", "values (sources: line)"], rows) + "\n\n" + ", ".join(f"{m} {n}" for m, n in by_metric.most_common())


def perf(_: dict[str, Any]) -> str:
    path = REPO / "perf" / "verify.json"
    if not path.exists():
        return "perf/verify.json is missing: run scripts/bench_verify.py"
    figures = json.loads(path.read_text(encoding="utf-8"))
    keep = {k: figures[k] for k in ("models", "wall_s", "phases", "per_stage_s", "per_model_s", "peak_rss_mb", "host", "settings", "date") if k in figures}
    return "```json\n" + json.dumps(keep, indent=1, ensure_ascii=False) + "\n```"


def runtimes(_: dict[str, Any]) -> str:
    path = REPO / "perf" / "latency_repeat.json"
    if not path.exists():
        return "perf/latency_repeat.json is missing: run scripts/bench_latency_repeat.py"
    figures = json.loads(path.read_text(encoding="utf-8"))
    timings: dict[tuple[str, str, int], dict[str, tuple[float, float]]] = {}
    for pair in figures["per_pair"]:
        timings.setdefault((pair["card"], pair["model"], pair["batch"]), {})[pair["runtime"]] = (pair["run1_ms"], pair["run2_ms"])
    rows = []
    for (card, model, batch), by_runtime in sorted(timings.items()):
        ort, paddle = by_runtime.get("onnxruntime"), by_runtime.get("paddle-inference")
        if not ort or not paddle:
            continue
        ort_ms, paddle_ms = sum(ort) / 2, sum(paddle) / 2
        rows.append([card, model, batch, f"{ort[0]:.4g} / {ort[1]:.4g}", f"{paddle[0]:.4g} / {paddle[1]:.4g}", f"{paddle_ms / ort_ms:.2f}"])
    host = figures.get("host", {})
    return (_table(["card", "model", "batch", "onnxruntime CPU ms (run 1 / run 2)", "Paddle Inference oneDNN ms (run 1 / run 2)", "Paddle ÷ onnxruntime"], rows)
            + f"\n\n{host.get('cpu')}, {host.get('cores')} cores, threads as recorded; {figures.get('date')}.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verification", type=Path, default=REPO / "site" / "api" / "verification.json", help="default: %(default)s (make cards builds it)")
    parser.add_argument("--section", choices=SECTIONS, action="append", help="one or more sections (default: all)")
    args = parser.parse_args(argv)
    if not args.verification.exists():
        print(f"{args.verification}: not found; run `make cards` first", file=sys.stderr)
        return 1
    data = json.loads(args.verification.read_text(encoding="utf-8"))
    functions = {"summary": summary, "errors": errors, "failed": failed, "export": export, "disagreements": disagreements, "perf": perf, "runtimes": runtimes}
    for name in args.section or SECTIONS:
        print(f"## {name}\n\n{functions[name](data)}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
