"""How zoocards scales: build synthetic zoos of several sizes and time every stage in one run.

For each size, in a temporary copy of the project (mkdocs.yml, templates/, the hand-written
pages of site_src/, synthetic cards; nothing is written into the repository):

1. `generate` in a child process: load + check, compare, render, write (cold, empty cache),
   then again with nothing changed and after changing one card (the in-process cache
   `mkdocs serve` uses): a figure corrected within the charts' axes, a figure that moves an
   axis, a summary; then, in a second child, as a new process would with the on-disk cache
   the first one left (`make cards`, a restarted `serve`, a CI job that restored `.cache/`);
   all of it `--repeats` times (3) from a fresh clone: the median of each figure is reported,
   with every run's load + check + render kept beside it;
2. the real `mkdocs build --strict`, which generates through the zoocards plugin;
3. a plain `mkdocs build --strict` of the same, already generated Markdown without the
   zoocards plugin: the floor zoocards' own work is compared with;
4. a warm `zoocards cards` (check + verify + build in one process) with nothing changed.

Each child's wall and CPU seconds and peak RSS come from `os.wait4`. Ratios are taken
within one run, so a loaded machine slows both sides alike; the load average is recorded.
The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from zoocards import synthetic, write

ROOT = Path(__file__).resolve().parent.parent
BENCH_SCHEMA_VERSION = 1
DEFAULT_SIZES = (10, 100, 1000)
# Above this many families the plugin leaves the families out of the navigation (plugin.py).
NAV_FAMILY_LIMIT = 60


def run_child(command: list[str], cwd: Path, env: dict[str, str]) -> dict[str, Any]:
    """Run one process; its wall and CPU seconds, peak RSS, exit code and output."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace")
    return {
        "seconds": round(seconds, 3),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),  # Linux reports kB
        "exit": process.returncode,
        "stdout": stdout,
        "stderr": stderr,
    }


def prepare(root: Path, families: int, seed: int) -> None:
    """A project at `root`: the repository's config, templates and hand-written pages, synthetic cards."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy2(ROOT / "mkdocs.yml", root / "mkdocs.yml")
    shutil.copytree(ROOT / "templates", root / "templates")
    docs = ROOT / "site_src"
    for path in sorted(docs.rglob("*")):
        if path.is_file() and not path.name.startswith(".") and not (path.suffix == ".md" and write._is_generated(path)):
            target = root / "site_src" / path.relative_to(docs)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
    (root / "measurements").mkdir()
    synthetic.write_zoo(root / "cards", families, seed)


def plain_config(root: Path, families: list[str]) -> Path:
    """mkdocs.yml without the zoocards plugin, listing the families in the nav as the plugin would."""
    config = yaml.safe_load((root / "mkdocs.yml").read_text(encoding="utf-8"))
    config["plugins"] = [p for p in config.get("plugins", []) if p != "zoocards" and not (isinstance(p, dict) and "zoocards" in p)]
    config["docs_dir"] = str(root / "site_src")
    if len(families) > NAV_FAMILY_LIMIT:  # as the plugin does: left out of the nav on purpose
        config["not_in_nav"] = "/models/*.md\n!/models/index.*"
    else:
        for item in config.get("nav") or []:
            for children in item.values() if isinstance(item, dict) else []:
                if isinstance(children, list) and "models/index.md" in children:
                    at = children.index("models/index.md") + 1
                    children[at:at] = [f"models/{family}.md" for family in sorted(families)]
    path = root / "mkdocs.plain.yml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def site_size(site: Path) -> dict[str, int]:
    """Bytes and files of a built site."""
    files = [p for p in site.rglob("*") if p.is_file()]
    return {"bytes": sum(p.stat().st_size for p in files), "files": len(files)}


_GENERATE_CHILD = """
import json, sys, time
from pathlib import Path
from zoocards import build, synthetic
project = build.Project.at(Path(sys.argv[1]))
cache = build.RenderCache()
cache.attach(project.cache_dir)  # empty: a fresh clone's first build
cold = build.generate(project, cache)
again = build.generate(project, cache)
card = project.cards_dir / (synthetic.family_id(0) + ".yaml")
original = card.read_text(encoding="utf-8")

def timed_edit(old, new):
    # edit one card, time the regeneration, then put the card (and the pages) back
    card.write_text(original.replace(old, new, 1), encoding="utf-8")
    started = time.perf_counter()
    generated = build.generate(project, cache)
    seconds = time.perf_counter() - started
    card.write_text(original, encoding="utf-8")
    build.generate(project, cache)
    return generated, seconds

# A corrected figure that stays inside the charts' axes, and a unit slip (a fraction written
# ten times too small) that moves an axis of the zoo-wide charts, so every point is redrawn.
text = original.split("top1: ", 1)[1].split(",", 1)[0]
fixed = f"{float(text) + 0.001:.3f}"
changed, one_card_s = timed_edit("top1: " + text, "top1: " + fixed)
axis, axis_s = timed_edit("top1: 0.", "top1: 0.0")
prose, prose_s = timed_edit("is a synthetic family", "is an edited synthetic family")
print(json.dumps({
    "stages": {k: round(v, 3) for k, v in cold.seconds.items()},
    "pages": len(cold.pages), "models": sum(len(c.data["models"]) for c in cold.cards),
    "unchanged": {"seconds": round(sum(again.seconds.values()), 3), "rendered": len(again.rendered), "written": len(again.report.written)},
    "one_card": {"seconds": round(one_card_s, 3), "rendered": len(changed.rendered), "zoo_rendered": changed.zoo_rendered,
                 "written": sorted(changed.report.written), "stages": {k: round(v, 3) for k, v in changed.seconds.items()}},
    "one_card_axis": {"seconds": round(axis_s, 3), "rendered": len(axis.rendered), "zoo_rendered": axis.zoo_rendered,
                      "written": sorted(axis.report.written), "stages": {k: round(v, 3) for k, v in axis.seconds.items()}},
    "one_card_prose": {"seconds": round(prose_s, 3), "rendered": len(prose.rendered), "zoo_rendered": prose.zoo_rendered,
                       "written": sorted(prose.report.written), "stages": {k: round(v, 3) for k, v in prose.seconds.items()}},
}))
"""

# A new process (`make cards`, a restarted `mkdocs serve`, a CI job that restored `.cache/`)
# generating from the cache the first child left on disk: its own process, so that nothing the
# first one compiled or memoised in memory helps it, and its template reload cannot slow the
# first one's edits.
_CACHED_CHILD = """
import json, sys
from pathlib import Path
from zoocards import build
project = build.Project.at(Path(sys.argv[1]))
restarted = build.RenderCache()
restarted.attach(project.cache_dir)
cached = build.generate(project, restarted)
print(json.dumps({"stages": {k: round(v, 3) for k, v in cached.seconds.items()}, "rendered": len(cached.rendered), "zoo_rendered": cached.zoo_rendered, "written": len(cached.report.written)}))
"""


# Generations timed per size (each a fresh clone's cold one, its edits, then a cached start):
# a shared 2-core machine wanders by 10% from one run to the next, so the median is reported and
# every run's figure kept beside it.
REPEATS = 3
_EDITS = ("unchanged", "one_card", "one_card_axis", "one_card_prose")


def _lcr(stages: dict[str, float]) -> float:
    return stages["load_check"] + stages["render"]


def bench_size(families: int, workdir: Path, seed: int = 0, *, mkdocs: bool = True, floor: bool = True, log: Any = None, warm_up: bool = False, repeats: int = REPEATS) -> dict[str, Any]:
    """Every figure of one zoo size (see the module docstring)."""
    root = workdir / f"zoo-{families}"
    prepare(root, families, seed)
    env = child_env(workdir, root)
    python = sys.executable

    def note(text: str) -> None:
        if log:
            print(f"[{families} families] {text}", file=log, flush=True)

    runs = []
    for _ in range(1 if warm_up else max(1, repeats)):
        for made in (root / ".cache", *(root / "site_src" / d for d in write.GENERATED_DIRS)):
            shutil.rmtree(made, ignore_errors=True)  # a fresh clone: no cache, no generated pages
        child = run_child([python, "-c", _GENERATE_CHILD, str(root)], root, env)
        _require(child, "generate")
        figures = json.loads(child["stdout"].strip().splitlines()[-1])
        restarted = run_child([python, "-c", _CACHED_CHILD, str(root)], root, env)
        _require(restarted, "generate from the cache")
        figures["cached"] = json.loads(restarted["stdout"].strip().splitlines()[-1])
        runs.append((child, figures))
    # The run with the median cold load + check + render is reported whole; the cached start and
    # each kind of edit are each the median over the runs.
    generate, inner = sorted(runs, key=lambda run: _lcr(run[1]["stages"]))[len(runs) // 2]
    inner = {**inner, "cached": sorted((run[1]["cached"] for run in runs), key=lambda cached: _lcr(cached["stages"]))[len(runs) // 2]}
    for edit in _EDITS:
        seconds = [run[1][edit]["seconds"] for run in runs]
        inner[edit] = {**inner[edit], "seconds": statistics.median(seconds), "runs": seconds}
    own = sum(inner["stages"].values())
    each = ", ".join(f"{_lcr(run[1]['stages']):.2f}" for run in runs)
    note(f"generate {own:.2f} s (cold child {generate['seconds']:.1f} s; load + check + render in each run: {each} s)")
    result: dict[str, Any] = {
        "families": families,
        "models": inner["models"],
        "pages": inner["pages"],
        "zoocards": {**inner["stages"], "total_s": round(own, 3), "load_check_render_s": round(_lcr(inner["stages"]), 3),
                     "process": _figures(generate), "runs": {"load_check_render_s": [round(_lcr(run[1]["stages"]), 3) for run in runs]}},
        # The same generation in a new process that finds the previous build's cache (.cache/zoocards).
        "zoocards_cached": {**inner["cached"]["stages"], "total_s": round(sum(inner["cached"]["stages"].values()), 3),
                            "load_check_render_s": round(_lcr(inner["cached"]["stages"]), 3),
                            "runs": {"load_check_render_s": [round(_lcr(run[1]["cached"]["stages"]), 3) for run in runs]},
                            "rendered": inner["cached"]["rendered"], "zoo_rendered": inner["cached"]["zoo_rendered"], "written": inner["cached"]["written"]},
        "incremental": {"unchanged": inner["unchanged"], "one_card": inner["one_card"], "one_card_axis": inner["one_card_axis"], "one_card_prose": inner["one_card_prose"]},
    }
    if not mkdocs:
        return result
    if warm_up:
        _require(run_child([python, "-m", "mkdocs", "build", "--strict", "-f", str(root / "mkdocs.yml"), "-d", str(root / "site")], root, env), "warm-up build")
        shutil.rmtree(root, ignore_errors=True)
        return result
    build = run_child([python, "-m", "mkdocs", "build", "--strict", "-f", str(root / "mkdocs.yml"), "-d", str(root / "site")], root, env)
    _require(build, "mkdocs build (with zoocards)")
    note(f"mkdocs build {build['seconds']:.1f} s")
    result.update({"mkdocs_build": _figures(build), "site": site_size(root / "site"), "ratios": {
        "zoocards_to_mkdocs_build": round(own / build["seconds"], 4),
        "load_check_render_to_mkdocs_build": round(result["zoocards"]["load_check_render_s"] / build["seconds"], 4),
        "cached_load_check_render_to_mkdocs_build": round(result["zoocards_cached"]["load_check_render_s"] / build["seconds"], 4),
    }})
    if not floor:  # the plain build and the warm `zoocards cards` each take as long again
        return result
    plain = run_child([python, "-m", "mkdocs", "build", "--strict", "-f", str(plain_config(root, [synthetic.family_id(i) for i in range(families)])), "-d", str(root / "site-plain")], root, env)
    _require(plain, "mkdocs build (plain)")
    note(f"plain mkdocs build {plain['seconds']:.1f} s")
    cards = run_child([python, "-m", "zoocards.cli", "--root", str(root), "cards"], root, env)
    _require(cards, "zoocards cards (warm)")
    note(f"warm zoocards cards {cards['seconds']:.1f} s")
    result.update({"mkdocs_plain": _figures(plain), "make_cards_warm": _figures(cards)})
    result["ratios"].update({
        "build_to_plain": round(build["seconds"] / plain["seconds"], 3),
        "make_cards_warm_to_plain": round(cards["seconds"] / plain["seconds"], 3),
    })
    shutil.rmtree(root / "site-plain", ignore_errors=True)
    return result


def child_env(workdir: Path, root: Path) -> dict[str, str]:
    """The children's environment: this project's dirs, and compiled bytecode kept between runs.

    With PYTHONDONTWRITEBYTECODE (set on some CI machines) every process compiles mkdocs,
    Material and pandas from source, seconds that a developer's machine never spends; the
    bytecode goes to a cache under the work directory instead, never into the virtualenv.
    """
    env = {**os.environ, "ZOOCARDS_CARDS_DIR": str(root / "cards"), "ZOOCARDS_MEASUREMENTS_DIR": str(root / "measurements"),
           "ZOOCARDS_CACHE_DIR": str(root / ".cache" / "zoocards"), "PYTHONHASHSEED": "0"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(workdir / "pycache")
    return env


def warm_up(workdir: Path, seed: int) -> None:
    """Build a one-family zoo untimed, so every size is timed with compiled bytecode."""
    bench_size(1, workdir, seed, warm_up=True)


def _figures(child: dict[str, Any]) -> dict[str, Any]:
    return {key: child[key] for key in ("seconds", "cpu_s", "peak_rss_mb")}


def _require(child: dict[str, Any], what: str) -> None:
    if child["exit"] != 0:
        tail = "\n".join((child["stderr"] or child["stdout"]).splitlines()[-30:])
        raise SystemExit(f"{what} failed (exit {child['exit']}):\n{tail}")


def machine() -> dict[str, Any]:
    """The host the figures were taken on, and how busy it was."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "load_average": [round(x, 2) for x in os.getloadavg()]}


def load_bench(path: Path) -> dict[str, Any] | None:
    """The committed benchmark output (perf/bench.json), or None when there is none."""
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return None
    return data if isinstance(data, dict) and data.get("schema_version") == BENCH_SCHEMA_VERSION else None


def main(argv: list[str] | None = None) -> int:
    """`scripts/bench_build.py [--sizes 10,100,1000,3000] [--mkdocs-max 1000] [--write perf/bench.json]`."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)), help="comma-separated family counts (default: 10,100,1000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-mkdocs", action="store_true", help="time zoocards' own stages only")
    parser.add_argument("--mkdocs-max", type=int, help="time zoocards' own stages only above this many families (a 3000-family mkdocs build takes ~15 minutes on 2 cores)")
    parser.add_argument("--floor-max", type=int, help="skip the plain mkdocs build and the warm `zoocards cards` above this many families (each takes as long as the build)")
    parser.add_argument("--write", help="also write the JSON to this file (perf/bench.json feeds the Performance page)")
    parser.add_argument("--no-warm-up", action="store_true", help="skip the untimed one-family build that fills the bytecode cache")
    parser.add_argument("--repeats", type=int, default=REPEATS, help=f"zoocards' generations timed per size, the median reported (default: {REPEATS})")
    parser.add_argument("--keep", action="store_true", help="keep the temporary projects")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    workdir = Path(tempfile.mkdtemp(prefix="zoocards-bench-"))
    started_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    before = machine()
    results = []
    try:
        if not args.no_warm_up:
            warm_up(workdir, args.seed)
        for size in sizes:
            floor = args.floor_max is None or size <= args.floor_max
            try:
                mkdocs = not args.no_mkdocs and (args.mkdocs_max is None or size <= args.mkdocs_max)
                figures = bench_size(size, workdir, args.seed, mkdocs=mkdocs, floor=floor, log=sys.stderr, repeats=args.repeats)
            except SystemExit as failure:  # one size failing still leaves the others' figures
                results.append({"families": size, "error": str(failure)[-2000:]})
                print(f"{size} families: {failure}", file=sys.stderr, flush=True)
                continue
            results.append(figures)
            print(_summary_line(figures), flush=True)
            if args.write:  # after every size, so a long run that is stopped keeps what it measured
                _write(Path(args.write), _document(started_at, before, results, not args.no_warm_up))
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    document = _document(started_at, before, results, not args.no_warm_up)
    if args.write:
        _write(Path(args.write), document)
    print(json.dumps(document, sort_keys=True, ensure_ascii=False))
    return 0


def _document(started_at: str, before: dict[str, Any], results: list[dict[str, Any]], bytecode_cached: bool) -> dict[str, Any]:
    return {
        "schema_version": BENCH_SCHEMA_VERSION,
        "measured_at": started_at,
        "machine": {**before, "load_average_after": machine()["load_average"]},
        "children_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
        "bytecode_cached": bytecode_cached,
        "sizes": results,
    }


def _write(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")


def _summary_line(figures: dict[str, Any]) -> str:
    own = figures["zoocards"]
    line = (f"{figures['families']} families, {figures['models']} models, {figures['pages']} pages: "
            f"load+check {own['load_check']:.2f} s, compare {own['compare']:.2f} s, render {own['render']:.2f} s, write {own['write']:.2f} s "
            f"(peak {own['process']['peak_rss_mb']:.0f} MB); cached start: load+check+render {figures['zoocards_cached']['load_check_render_s']:.2f} s; "
            f"one card changed {figures['incremental']['one_card']['seconds']:.2f} s (axis moved {figures['incremental']['one_card_axis']['seconds']:.2f} s, "
            f"prose {figures['incremental']['one_card_prose']['seconds']:.2f} s)")
    if "mkdocs_build" in figures:
        line += (f"; mkdocs build {figures['mkdocs_build']['seconds']:.1f} s (peak {figures['mkdocs_build']['peak_rss_mb']:.0f} MB); "
                 f"site {figures['site']['bytes'] / 1e6:.1f} MB in {figures['site']['files']} files; "
                 f"zoocards/mkdocs {figures['ratios']['zoocards_to_mkdocs_build']:.1%}")
    if "mkdocs_plain" in figures:
        line += f"; plain mkdocs {figures['mkdocs_plain']['seconds']:.1f} s, warm `zoocards cards` {figures['make_cards_warm']['seconds']:.1f} s"
    return line
