"""Command line: `zoocards check | render | build | verify | ...`; each subcommand returns an exit code."""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from pathlib import Path
from typing import Callable, Sequence

from zoocards import build
from zoocards.errors import CardError, ZoocardsError

Command = Callable[[argparse.Namespace], int]


def _project(args: argparse.Namespace) -> build.Project:
    project = build.Project.at(Path(args.root))
    if getattr(args, "cards", None):
        project = build.Project(**{**project.__dict__, "cards_dir": Path(args.cards).resolve()})
    return project


def cmd_check(args: argparse.Namespace) -> int:
    """Load and check every card; print every problem; exit 1 on any error."""
    project = _project(args)
    cards, warnings = build.load_and_check(project.cards_dir)
    for problem in warnings:
        print(problem, file=sys.stderr)
    models = sum(len(c.data["models"]) for c in cards)
    print(f"{len(cards)} cards, {models} models: no errors" + (f", {len(warnings)} warnings" if warnings else ""))
    return 0


def cmd_render(args: argparse.Namespace) -> int:
    """Generate the Markdown pages into site_src/ without building the site."""
    generated = build.generate(_project(args))
    for problem in generated.warnings:
        print(problem, file=sys.stderr)
    report = generated.report
    print(f"{len(generated.pages)} pages: {len(report.written)} written, {len(report.unchanged)} unchanged, {len(report.removed)} removed")
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    """Check the cards, then build the whole site with mkdocs into site/ (swapped in when complete)."""
    project = _project(args)
    build.load_and_check(project.cards_dir)  # fail fast with the card errors, before mkdocs starts
    seconds = build.build_site(project, strict=not args.no_strict)
    print(f"site built in {seconds:.1f} s: {project.site_dir}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    """Re-run the figures the cards claim (only what is stale unless --force) and report."""
    from zoocards import measure

    project = _project(args)
    shard = None
    if args.shard:
        index, _, count = args.shard.partition("/")
        if not (index.isdigit() and count.isdigit() and 1 <= int(index) <= int(count)):
            raise ZoocardsError(f"--shard {args.shard}: write i/n with 1 <= i <= n, e.g. --shard 2/4")
        shard = (int(index), int(count))
    return measure.verify_command(
        project.cards_dir,
        project.measurements_dir,
        force=args.force,
        strict=args.strict,
        shard=shard,
        kinds=set(args.kinds.split(",")) if args.kinds else None,
        models=set(args.models.split(",")) if args.models else None,
        timeout_s=args.timeout,
        memory_mb=args.memory_mb,
        jobs=args.jobs,
    )


def parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    top = argparse.ArgumentParser(prog="zoocards", description="Model-zoo cards in, re-verified bilingual pages out.")
    top.add_argument("--root", default=".", help="project directory holding cards/, templates/, site_src/ (default: .)")
    sub = top.add_subparsers(dest="command", required=True)

    p = sub.add_parser("check", help="check every card against the schema and the semantic rules")
    p.add_argument("--cards", help="cards directory (default: ROOT/cards)")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("render", help="generate the Markdown pages into site_src/")
    p.add_argument("--cards", help="cards directory (default: ROOT/cards)")
    p.set_defaults(func=cmd_render)

    p = sub.add_parser("build", help="check, render and build the site into site/")
    p.add_argument("--cards", help="cards directory (default: ROOT/cards)")
    p.add_argument("--no-strict", action="store_true", help="let mkdocs warnings pass (default: strict)")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("verify", help="re-run the claimed figures and report their status")
    p.add_argument("--cards", help="cards directory (default: ROOT/cards)")
    p.add_argument("--force", action="store_true", help="re-run everything, not only what is stale")
    p.add_argument("--strict", action="store_true", help="exit 1 if a mismatch is not acknowledged in its card")
    p.add_argument("--shard", help="run shard i of n (e.g. 2/4): a deterministic subset, for a CI matrix")
    p.add_argument("--kinds", help="comma-separated subset of: count,export,latency,accuracy")
    p.add_argument("--models", help="comma-separated model names to re-run")
    p.add_argument("--timeout", type=float, help="seconds one measurement may take before it is killed")
    p.add_argument("--memory-mb", type=int, help="memory one measurement may use before it is killed")
    p.add_argument("--jobs", type=int, default=2, help="measurements run side by side (latency always runs alone)")
    p.set_defaults(func=cmd_verify)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: our errors exit 1 with their message, Ctrl-C 130, anything else 3 with a traceback."""
    args = parser().parse_args(argv)
    started = time.perf_counter()
    try:
        code: int = args.func(args)
    except CardError as error:
        print(error, file=sys.stderr)
        print(f"{len(error.problems)} problem(s) in the cards; nothing was written", file=sys.stderr)
        return 1
    except ZoocardsError as error:
        print(f"zoocards: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("zoocards: interrupted", file=sys.stderr)
        return 130
    except Exception:
        traceback.print_exc()
        print("zoocards: this is a bug in zoocards; please report it with the traceback above", file=sys.stderr)
        return 3
    if args.command in ("build", "render") and time.perf_counter() - started > 60:
        print(f"({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
