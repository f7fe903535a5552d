"""scripts/verification_report.py: the closing-note tables, printed from a verification.json."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _figure(origin: str, line: int | None, raw: str, value: float) -> dict[str, object]:
    return {"origin": "source" if line else "card", "origin_id": origin, "line": line, "raw": raw, "value": value, "file": None, "url": None, "where": ""}


VERIFICATION = {
    "verifications": [
        {"card": "dpn", "model": "DPN68", "metric": "params", "status": "mismatch", "claimed": 10.78, "claimed_raw": "10.780 M", "measured": 12.61, "unit": "M",
         "explanation": None, "reason": "measured 12.61 M"},
        {"card": "dpn", "model": "DPN92", "metric": "params", "status": "mismatch", "claimed": 36.29, "claimed_raw": "36.290 M", "measured": 37.67, "unit": "M",
         "explanation": {"id": "none", "reproduces": None, "text": "no usual counting convention reproduces the claim"}, "reason": "…"},
        {"card": "cspnet", "model": "CSPDarkNet53", "metric": "flops", "status": "mismatch", "claimed": 5.041, "claimed_raw": "5.041 G MACs", "measured": 6.53, "unit": "G",
         "explanation": {"id": "input_size_224", "reproduces": 5.003, "text": "reproduced by counted at 224×224 input instead of 256×256: 5.003 G MACs"}, "reason": "…"},
        {"card": "cspnet", "model": "CSPDarkNet53", "metric": "onnx_export", "status": "mismatch", "reason": "first diverging layer stem.conv1.act (LeakyReLU | ONNX LeakyRelu)"},
        {"card": "swin", "model": "SwinV2_T", "metric": "flops", "status": "failed", "reason": "count failed: NameError"},
        {"card": "swin", "model": "SwinV2_T", "metric": "params", "status": "verified"},
        {"card": "swin", "model": "SwinV2_T", "metric": "latency", "status": "not_run", "reason": "GPU"},
    ],
    "disagreements": [
        {"card": "dpn", "model": "DPN68", "metric": "flops", "unit": "G", "batch_size": None, "hardware": None, "precision": None,
         "values": [{"text": "2.35", "figures": [_figure("paddleclas-model-list", 236, "2.35", 2.35)]}, {"text": "4.030", "figures": [_figure("dpn", None, "4.030", 4.03)]}]},
    ],
}


def test_every_section_prints_each_row_with_its_values(tmp_path: Path) -> None:
    path = tmp_path / "verification.json"
    path.write_text(json.dumps(VERIFICATION), encoding="utf-8")
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "verification_report.py"), "--verification", str(path)], capture_output=True, text=True, check=True)
    out = result.stdout
    assert "| flops | 0 | 1 | 1 | 0 |" in out and "| params | 1 | 2 | 0 | 0 |" in out and "7 figures; failed 1 (14.29%); params re-run for 3 models." in out
    assert "| dpn | DPN68 | params | 10.780 M | 12.61 M | none of the usual conventions reproduces the claim |" in out
    assert "| cspnet | CSPDarkNet53 | flops | 5.041 G MACs | 6.53 G | reproduced by counted at 224×224" in out and "3 mismatches, 1 explained." in out
    assert "LeakyReLU \\| ONNX LeakyRelu" in out  # a | inside a cell does not split the row
    assert "| swin | SwinV2_T | flops | count failed: NameError |" in out
    assert "| dpn | DPN68 | flops | G | 2.35 (paddleclas-model-list:236) / 4.030 (dpn) |" in out


def test_the_runtime_table_pairs_both_runtimes_of_each_model(tmp_path: Path) -> None:
    path = tmp_path / "verification.json"
    path.write_text(json.dumps(VERIFICATION), encoding="utf-8")
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "verification_report.py"), "--verification", str(path), "--section", "runtimes"],
                            capture_output=True, text=True, check=True)
    figures = json.loads((ROOT / "perf" / "latency_repeat.json").read_text(encoding="utf-8"))
    models = {p["model"] for p in figures["per_pair"] if p["runtime"] == "paddle-inference"}
    rows = [line for line in result.stdout.splitlines() if line.startswith("| ") and not line.startswith("| card")]
    assert len(rows) == len(models) and models
    assert all(float(row.rstrip(" |").rsplit("|", 1)[1]) > 0 for row in rows)


def test_a_missing_verification_file_says_how_to_make_it(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "verification_report.py"), "--verification", str(tmp_path / "none.json")], capture_output=True, text=True)
    assert result.returncode == 1 and "make cards" in result.stderr
