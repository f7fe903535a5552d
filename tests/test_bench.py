"""scripts/bench_build.py runs end to end on a tiny zoo; its last line is the JSON the Performance page reads.

Timings are not asserted: benchmarks report ratios measured in one run, they are not timed tests.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from zoocards import perf, render

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.timeout(900)
def test_bench_build_smoke(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench_build.py"), "--sizes", "3", "--no-warm-up", "--write", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    document = json.loads(result.stdout.strip().splitlines()[-1])
    assert document == json.loads(out.read_text(encoding="utf-8"))
    assert {"schema_version", "measured_at", "machine", "sizes"} <= set(document)
    (size,) = document["sizes"]
    assert size["families"] == 3 and size["models"] > 3 * 5
    assert {"zoocards", "incremental", "mkdocs_build", "mkdocs_plain", "make_cards_warm", "site", "ratios"} <= set(size)
    assert {"load_check", "compare", "render", "write", "total_s"} <= set(size["zoocards"])
    assert {"seconds", "cpu_s", "peak_rss_mb"} == set(size["mkdocs_build"])
    assert size["site"]["files"] > 0 and size["site"]["bytes"] > 0
    assert size["incremental"]["unchanged"]["written"] == 0
    assert size["incremental"]["one_card"]["rendered"] == 1
    # three runs from a fresh clone: the reported figures are their medians
    runs = size["zoocards"]["runs"]["load_check_render_s"]
    assert len(runs) == perf.REPEATS == 3 and size["zoocards"]["load_check_render_s"] == sorted(runs)[1]
    assert size["zoocards_cached"]["load_check_render_s"] == sorted(size["zoocards_cached"]["runs"]["load_check_render_s"])[1]
    edits = size["incremental"]["one_card"]["runs"]
    assert len(edits) == 3 and size["incremental"]["one_card"]["seconds"] == sorted(edits)[1]
    # The Performance page renders from it in both languages.
    assert perf.load_bench(out) == document
    rows = render.performance_rows(document)
    assert rows[0]["families"] == "3"


def test_performance_page_without_measurements_says_so() -> None:
    pages = render.render_zoo([], [], render.TEMPLATES_DIR, None)
    assert "perf/bench.json" in pages["zoo/performance.en.md"]
    assert "perf/bench.json" in pages["zoo/performance.zh.md"]
    assert "| 10 |" not in pages["zoo/performance.en.md"]
