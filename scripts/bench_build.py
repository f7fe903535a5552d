"""Time zoocards and mkdocs on synthetic zoos of 10, 100 and 1000 families (see zoocards/perf.py).

    .venv/bin/python scripts/bench_build.py                      # print; the last line is JSON
    .venv/bin/python scripts/bench_build.py --write perf/bench.json   # refresh the Performance page's figures
"""

from __future__ import annotations

import sys

from zoocards import perf

if __name__ == "__main__":
    sys.exit(perf.main(sys.argv[1:]))
