#!/usr/bin/env python3
"""Refresh the golden pages the render tests compare against (run: make golden).

The golden family is rendered from cards/<family>.yaml and a frozen copy of its
measurements (tests/golden/measurements/), on a pinned host description, so the
expected Markdown changes only when the card, the templates or the renderer change.
Pass --refresh-measurements to re-freeze the measurement copy from measurements/.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.golden_support import GOLDEN_DIR, GOLDEN_FAMILY, render_golden  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--refresh-measurements", action="store_true", help="re-freeze the measurement copy first")
    args = parser.parse_args()
    frozen = GOLDEN_DIR / "measurements" / f"{GOLDEN_FAMILY}.json"
    if args.refresh_measurements or not frozen.exists():
        frozen.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / "measurements" / f"{GOLDEN_FAMILY}.json", frozen)
        print(f"froze {frozen.relative_to(ROOT)}")
    for relative, text in sorted(render_golden().items()):
        target = GOLDEN_DIR / "site_src" / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        print(f"wrote {target.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
