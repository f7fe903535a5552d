#!/usr/bin/env python3
"""Screenshot pages of the built site in headless Chromium, as a reader would see them.

usage: scripts/screenshot.py [--site site] [--out screenshots] [--width 1280] PATH [PATH ...]
       e.g. scripts/screenshot.py models/fasternet/ en/models/fasternet/
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from zoocards.browser import chromium_page, serve_directory  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", help="site-relative page paths, e.g. models/fasternet/")
    parser.add_argument("--site", default="site", help="built site directory (default: site)")
    parser.add_argument("--out", default="screenshots", help="where PNGs go (default: screenshots)")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=900)
    parser.add_argument("--full-page", action="store_true", help="capture the whole page, not the first screen")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with serve_directory(Path(args.site)) as base, chromium_page(args.width, args.height) as page:
        for path in args.paths:
            page.goto(base + "/" + path.lstrip("/"), wait_until="networkidle")
            name = path.strip("/").replace("/", "_").replace("#", "_") or "index"
            target = out / f"{name}.png"
            page.screenshot(path=str(target), full_page=args.full_page)
            print(target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
