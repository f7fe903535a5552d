#!/usr/bin/env python3
"""Pairs of concurrent `zoocards build` at random offsets: does every pair leave a complete site? (issue 17)

usage: scripts/stress_builds.py [--pairs 20] [--max-offset 2] [--seed N] [--project DIR] [--in-place] [--keep] [--shared DIR] [--no-strict]

By default the project (this repository, or --project) is copied into a temporary directory
(without .git, .venv, site/ and caches) and built there, so the real site/ is untouched;
--in-place builds the project itself. Each pair starts one build, waits a random 0 to
--max-offset seconds, starts the second, and waits for both. Then it checks:

- both builds exited 0;
- site/ is complete: index.html in both languages, and every card's family page in both;
- no staging directory (.site.new-*, .site.old-*) or staged page (site_src/**/.*.tmp) is left;
- `python3 ../shared/tools/seedcheck.py ../shared/seeds site` finds every seed figure
  (../shared beside this repository, or --shared; skipped when it is absent).

Prints one line per pair (offset, exit codes, wall times, who waited, seedcheck) and a
summary; exits 1 if any pair failed a check. The builds run this repository's code.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

CODE = Path(__file__).resolve().parent.parent
# Not copied: history, environments, the built site and every cache (a copy starts cold, as a fresh clone).
NOT_COPIED = shutil.ignore_patterns(".git", ".venv", ".tools", "site", ".cache", ".site.new*", ".site.old*", "__pycache__",
                                    ".pytest_cache", ".mypy_cache", ".hypothesis", ".*.tmp")
GENERATED_DIRS = ("models", "zoo")


@dataclass
class Pair:
    """What one pair of builds did, and what it left."""

    number: int
    offset: float
    codes: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    waited: str = ""  # "2nd waited", "1st waited" or "" (one finished before the other started)
    waiting_line: str = ""  # what the waiting build said
    problems: list[str] = field(default_factory=list)
    seeds: str = "skipped"
    wall: float = 0.0


def main() -> int:
    """Run the pairs, print each and a summary; 1 if any pair left something wrong."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=20, help="pairs of builds (default 20)")
    parser.add_argument("--max-offset", type=float, default=2.0, help="the second build starts 0 to this many seconds after the first (default 2)")
    parser.add_argument("--seed", type=int, default=None, help="seed of the offsets (default: random, printed)")
    parser.add_argument("--project", type=Path, default=CODE, help="the project to build (default: this repository)")
    parser.add_argument("--in-place", action="store_true", help="build the project itself instead of a copy")
    parser.add_argument("--keep", action="store_true", help="keep the copy (its path is printed)")
    parser.add_argument("--shared", type=Path, default=CODE.parent / "shared", help="the shared seeds and tools (default: ../shared)")
    parser.add_argument("--no-strict", action="store_true", help="build with --no-strict (a tree whose links are being edited fails strict builds)")
    args = parser.parse_args()
    shared: Path | None = args.shared.resolve() if args.shared.is_dir() else None
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    source = args.project.resolve()
    root = source if args.in_place else Path(tempfile.mkdtemp(prefix="zoocards-stress-")) / source.name
    if not args.in_place:
        shutil.copytree(source, root, ignore=NOT_COPIED)
    print(f"{args.pairs} pairs of `zoocards build{' --no-strict' if args.no_strict else ''}` in {root}, offsets 0-{args.max_offset:g} s (seed {seed}); "
          f"seedcheck {'with ' + str(shared) if shared else 'skipped: ' + str(args.shared) + ' is absent'}", flush=True)
    pairs = []
    try:
        for number in range(1, args.pairs + 1):
            pair = run_pair(root, number, rng.uniform(0.0, args.max_offset), shared, ["--no-strict"] if args.no_strict else [])
            pairs.append(pair)
            print(describe(pair), flush=True)
    finally:
        if not args.in_place and not args.keep:
            shutil.rmtree(root.parent, ignore_errors=True)
        elif not args.in_place:
            print(f"kept: {root}")
    print(summary(pairs))
    return 0 if pairs and all(not p.problems for p in pairs) else 1


def run_pair(root: Path, number: int, offset: float, shared: Path | None, options: list[str]) -> Pair:
    """Start two builds `offset` s apart, wait for both, then check what they left."""
    pair = Pair(number, offset)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZOOCARDS_")}
    env.update(PYTHONPATH=os.pathsep.join(filter(None, [str(CODE), env.get("PYTHONPATH")])), NO_MKDOCS_2_WARNING="1")
    script = Path(sys.executable).with_name("zoocards")  # as a user types it (PYTHONPATH makes it this repository's code)
    command = [str(script) if script.is_file() else sys.executable, *([] if script.is_file() else ["-m", "zoocards.cli"]), "--root", str(root), "build", *options]
    logs = [tempfile.TemporaryFile(mode="w+") for _ in range(2)]
    started = time.monotonic()
    first = subprocess.Popen(command, cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=logs[0])
    time.sleep(offset)
    second_started = time.monotonic()
    second = subprocess.Popen(command, cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=logs[1])
    for process, began in ((first, started), (second, second_started)):
        pair.codes.append(process.wait())
        pair.seconds.append(time.monotonic() - began)
    pair.wall = time.monotonic() - started
    errors = []
    for log in logs:
        log.seek(0)
        errors.append(log.read())
        log.close()
    waiting = [next((line for line in text.splitlines() if line.startswith("zoocards: waiting for")), "") for text in errors]
    pair.waited = "2nd waited" if waiting[1] else "1st waited" if waiting[0] else ""
    pair.waiting_line = waiting[1] or waiting[0]
    for index, (code, text) in enumerate(zip(pair.codes, errors)):
        if code != 0:
            pair.problems.append(f"build {index + 1} exited {code}: {text.strip().splitlines()[-1] if text.strip() else ''}")
    pair.problems += incomplete(root) + leftovers(root)
    if shared is not None:
        result = subprocess.run([sys.executable, str(shared / "tools" / "seedcheck.py"), str(shared / "seeds"), str(root / "site")],
                                capture_output=True, text=True)
        lines = result.stdout.strip().splitlines()
        pair.seeds = lines[-1].split(" seed ")[0] if lines else "no output"
        found = re.match(r"(\d+)/(\d+)$", pair.seeds)
        if result.returncode != 0 or not found or found[1] != found[2]:
            pair.problems.append(f"seedcheck: {lines[-1] if lines else result.stderr.strip()[-300:]}")
    return pair


def incomplete(root: Path) -> list[str]:
    """What a complete site/ lacks: either language's home page, or a card's family page in either language."""
    site = root / "site"
    missing = [str(path.relative_to(root)) for path in (site / "index.html", site / "en" / "index.html") if not path.is_file()]
    for card in sorted((root / "cards").glob("*.yaml")):
        for page in (site / "models" / card.stem / "index.html", site / "en" / "models" / card.stem / "index.html"):
            if not page.is_file():
                missing.append(str(page.relative_to(root)))
    return [f"missing {', '.join(missing[:5])}" + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")] if missing else []


def leftovers(root: Path) -> list[str]:
    """Staging directories beside site/ and staged pages in site_src/ that no run uses any more."""
    found = [p.name for p in root.iterdir() if p.name.startswith((".site.new", ".site.old"))]
    found += [str(p.relative_to(root)) for d in GENERATED_DIRS for p in (root / "site_src" / d).rglob(".*.tmp")]
    return [f"left behind: {', '.join(sorted(found))}"] if found else []


def describe(pair: Pair) -> str:
    codes = "/".join(str(c) for c in pair.codes)
    times = " + ".join(f"{s:.1f}" for s in pair.seconds)
    verdict = "ok" if not pair.problems else "FAILED: " + "; ".join(pair.problems)
    return (f"pair {pair.number:2}: offset {pair.offset:4.2f} s, exit {codes}, {times} s (pair {pair.wall:.1f} s), "
            f"{pair.waited or 'no wait'}, seedcheck {pair.seeds}: {verdict}")


def summary(pairs: list[Pair]) -> str:
    complete = sum(1 for p in pairs if not any(x.startswith("missing") for x in p.problems))
    clean = sum(1 for p in pairs if not any(x.startswith("left behind") for x in p.problems))
    exited = sum(1 for p in pairs if p.codes == [0, 0])
    seeds = sorted({p.seeds for p in pairs})
    walls = [p.wall for p in pairs]
    singles = [s for p in pairs for s in p.seconds]
    lines = [f"summary: {len(pairs)} pairs; {sum(1 for p in pairs if not p.problems)} passed every check",
             f"  both builds exited 0: {exited}/{len(pairs)}; complete site: {complete}/{len(pairs)}; nothing left behind: {clean}/{len(pairs)}",
             f"  seedcheck: {', '.join(seeds)}",
             f"  one waited for the other: {sum(1 for p in pairs if p.waited)}/{len(pairs)}"]
    if walls:
        lines.append(f"  wall time per pair: median {statistics.median(walls):.1f} s (min {min(walls):.1f}, max {max(walls):.1f}); "
                     f"per build, from its start: median {statistics.median(singles):.1f} s (max {max(singles):.1f})")
    example = next((p.waiting_line for p in pairs if p.waiting_line), "")
    if example:
        lines.append(f"  a waiting build said: {example}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
