"""Command line: `zoocards check | render | build | verify | ...`; each subcommand returns an exit code."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Callable, Sequence

from zoocards import build, check, load, sources
from zoocards.errors import CardError, Problem, ZoocardsError
from zoocards.lock import project_lock

Command = Callable[[argparse.Namespace], int]


def _project(args: argparse.Namespace) -> build.Project:
    project = build.Project.at(Path(args.root))
    if getattr(args, "cards", None):
        project = build.Project(**{**project.__dict__, "cards_dir": Path(args.cards).resolve()})
    return project


def cmd_check(args: argparse.Namespace) -> int:
    """Load and check every card and upstream source (or only the FILES given); print every problem; exit 1 on any error."""
    project = _project(args)
    files = [Path(f) for f in getattr(args, "files", None) or []]
    source_files = [f for f in files if f.parent.name == sources.SOURCES_DIR]
    source_problems = check.check_sources(project.root, source_files if files else None)
    source_errors = [p for p in source_problems if p.severity == "error"]
    try:
        if files:
            cards, warnings = _check_files([f for f in files if f not in source_files])
        else:
            cache = build.process_cache(project)
            try:
                cards, warnings = build.load_and_check(project.cards_dir, cache)
            finally:
                cache.save()  # the next check or build starts from these cards, errors included
    except CardError as error:
        raise CardError(error.problems + source_errors) from None
    if source_errors:
        raise CardError(source_errors)
    warnings = warnings + [p for p in source_problems if p.severity == "warning"]
    for problem in warnings:
        print(problem, file=sys.stderr)
    models = sum(len(c.data["models"]) for c in cards)
    checked = len(source_files) if files else len(sources.source_paths(project.root))
    print(f"{len(cards)} cards, {models} models" + (f", {checked} sources" if checked else "") + ": no errors" + (f", {len(warnings)} warnings" if warnings else ""))
    return 0


def _check_files(paths: list[Path]) -> tuple[list[load.Card], list[Problem]]:
    """Load and check the given card files (as pre-commit passes them); raise CardError on any error."""
    for path in paths:
        if path.suffix != ".yaml":
            raise ZoocardsError(f"{path}: not a card (cards are .yaml files)")
    return build.load_and_check_paths(paths)


def cmd_import(args: argparse.Namespace) -> int:
    """Turn an existing family page (zh, en, or a pair) into a card, and report what could not be mapped."""
    from zoocards import importer

    output = Path(args.output)
    if output.exists() and not args.force:
        raise ZoocardsError(f"{output} already exists; pass --force to replace it")
    result = importer.import_files(Path(args.page), Path(args.en) if args.en else None, output.stem)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(result.text, encoding="utf-8")
    for note in result.notes:
        print(note)
    print(f"{output}: {result.landed}/{result.figures} figures imported, {result.unmapped} listed above as not imported; review the card, then run `zoocards check`")
    return 0


def cmd_import_source(args: argparse.Namespace) -> int:
    """Turn a zoo-wide page (model list, README, Paddle-Lite benchmark) into an upstream source, sources/NAME.yaml."""
    from zoocards.importer import source

    output = Path(args.output)
    if output.exists() and not args.force:
        raise ZoocardsError(f"{output} already exists; pass --force to replace it")
    result = source.import_source_file(Path(args.page), output.stem, args.repo, args.upstream_path, args.commit)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(result.text, encoding="utf-8")
    for note in result.notes:
        print(note)
    print(f"{output}: {result.landed}/{result.figures} figures and links imported, {result.unmapped} listed above as not imported; write its title and summary, review it, then run `zoocards check`")
    return 0


def cmd_new(args: argparse.Namespace) -> int:
    """Write a commented card that passes `zoocards check` as written."""
    from zoocards import scaffold

    path = scaffold.new_card(args.name, _project(args).cards_dir)
    print(f"{path}: written; fill it in, then run `zoocards check`")
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    """Print the figures and statuses that changed since git revision BASE."""
    from zoocards import diff

    found = diff.diff(_project(args), args.base)
    sys.stdout.write(diff.format_changes(found, args.base, args.format))
    return 0


def cmd_merge_shards(args: argparse.Namespace) -> int:
    """Fold the measurements of CI shard runs into measurements/."""
    from zoocards import measure

    dirs = [Path(d) for d in args.dirs]
    missing = [str(d) for d in dirs if not d.is_dir()]
    if missing:
        raise ZoocardsError(f"not a directory: {', '.join(missing)}; pass the measurement directories of the shard runs")
    project = _project(args)
    with project_lock(project.root, what="merge of shards"):  # measurement files have one writer at a time
        written = measure.merge_shards(dirs, project.measurements_dir)
    print(f"{len(written)} measurement files merged from {len(dirs)} shards")
    return 0


def cmd_hardware(args: argparse.Namespace) -> int:
    """Print what this host is and which latency claims of which cards it can re-run (or, --claimed, the hardware the cards claim)."""
    import json

    from zoocards import hardware

    cards, _ = build.load_and_check(_project(args).cards_dir)
    if args.claimed:
        claimed = hardware.claimed_hardware(cards)
        print(json.dumps(claimed, ensure_ascii=False) if args.json else "\n".join(
            f"{h['id']}: {h['claims']} claims ({h['rerunnable_claims']} with a runtime zoocards runs), {len(h['cards'])} cards; named {', '.join(h['names'])}" for h in claimed))
        return 0
    devices = hardware.this_host(args.board)
    if args.json:
        runnable = {card.id: [t._asdict() for t in hardware.claim_targets(card) if hardware.can_rerun(t, devices)] for card in cards}
        print(json.dumps({"devices": devices, "claims": {k: v for k, v in runnable.items() if v}}, ensure_ascii=False))
        return 0
    sys.stdout.write(hardware.report(cards, devices, verbose=args.verbose))
    return 0


def cmd_linkcheck(args: argparse.Namespace) -> int:
    """Check the links of the built site: relative links and anchors always, external ones with --external."""
    from zoocards import linkcheck

    site = Path(args.site) if args.site else _project(args).site_dir
    checked, broken = linkcheck.check_internal(site)
    for item in broken:
        print(item)
    print(f"{checked} internal links checked, {len(broken)} broken")
    failed = bool(broken)
    if args.external:
        urls = linkcheck.external_links(site)
        results = linkcheck.check_external(sorted(urls), timeout=args.timeout, workers=args.workers)
        bad = {u: r for u, r in results.items() if r[0] != "ok"}
        for url, (status, detail) in sorted(results.items()):
            print(f"{status:11} {url} {detail}" + (f" (on {urls[url][0]})" if status != "ok" else ""))
        print(f"{len(results)} external links checked, {len(bad)} not reachable")
        failed = failed or bool(bad)
    return 1 if failed else 0


def cmd_render(args: argparse.Namespace) -> int:
    """Generate the Markdown pages into site_src/ without building the site."""
    project = _project(args)
    with project_lock(project.root, wait=not args.no_wait, what="render"):  # site_src/ has one writer at a time
        generated = build.generate(project)
    for problem in generated.warnings:
        print(problem, file=sys.stderr)
    report = generated.report
    print(f"{len(generated.pages)} pages: {len(report.written)} written, {len(report.unchanged)} unchanged, {len(report.removed)} removed")
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    """Check the cards, then build the whole site with mkdocs into site/ (swapped in when complete)."""
    project = _project(args)
    with project_lock(project.root, wait=not args.no_wait, what="build"):  # site_src/ and site/ have one writer at a time
        build.load_and_check(project.cards_dir, build.process_cache(project))  # fail fast with the card errors, before mkdocs starts
        seconds = build.build_site(project, strict=not args.no_strict)
    print(f"site built in {seconds:.1f} s: {project.site_dir}")
    return 0


def cmd_cards(args: argparse.Namespace) -> int:
    """Check the cards, re-run what is stale, build the site: `make cards`, in one process.

    The cards are loaded and checked once; the mkdocs build runs in this process, so its
    generation reuses them (and everything else unchanged) instead of starting over.
    """
    from zoocards import measure

    project = _project(args)
    # One critical section: what is measured is what the site shows. The measurements' own
    # saves and the in-process mkdocs build take the lock again (it is re-entrant).
    with project_lock(project.root, wait=not args.no_wait, what="build"):
        cards, warnings = build.load_and_check(project.cards_dir, build.process_cache(project))
        for problem in warnings:
            print(problem, file=sys.stderr)
        print(f"{len(cards)} cards, {sum(len(c.data['models']) for c in cards)} models: no errors" + (f", {len(warnings)} warnings" if warnings else ""))
        if not args.no_verify:
            measure.measure(cards, project.measurements_dir, project.cards_dir.resolve().parent, jobs=args.jobs)
        seconds = build.build_site(project, strict=not args.no_strict, in_process=True)
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
    # Measuring can take hours: verify does not hold the lock while it measures (CI shards
    # sharing a workspace run side by side), only while it merges each record into its file
    # (measure.py). It starts after a build or render that is writing now, or exits (--no-wait).
    with project_lock(project.root, wait=not args.no_wait, what="verify"):
        pass
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
        hardware_name=args.hardware,
    )


def parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    top = argparse.ArgumentParser(prog="zoocards", description="Model-zoo cards in, re-verified bilingual pages out.")
    top.add_argument("--root", default=".", help="project directory holding cards/, templates/, site_src/ (default: .)")
    sub = top.add_subparsers(dest="command", required=True)

    p = sub.add_parser("check", help="check every card against the schema and the semantic rules")
    p.add_argument("--cards", help="cards directory (default: ROOT/cards)")
    p.add_argument("files", nargs="*", metavar="FILE", help="check only these card files (as pre-commit passes them)")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("render", help="generate the Markdown pages into site_src/")
    p.add_argument("--cards", help="cards directory (default: ROOT/cards)")
    p.add_argument("--no-wait", action="store_true", help="exit 1 if another zoocards run is writing this project, instead of waiting for it")
    p.set_defaults(func=cmd_render)

    p = sub.add_parser("cards", help="check, verify what is stale and build site/, in one process (make cards)")
    p.add_argument("--cards", help="cards directory (default: ROOT/cards)")
    p.add_argument("--no-strict", action="store_true", help="let mkdocs warnings pass (default: strict)")
    p.add_argument("--no-verify", action="store_true", help="do not re-run stale measurements")
    p.add_argument("--jobs", type=int, default=2, help="measurements run side by side (latency always runs alone)")
    p.add_argument("--no-wait", action="store_true", help="exit 1 if another zoocards run is writing this project, instead of waiting for it")
    p.set_defaults(func=cmd_cards)

    p = sub.add_parser("build", help="check, render and build the site into site/")
    p.add_argument("--cards", help="cards directory (default: ROOT/cards)")
    p.add_argument("--no-strict", action="store_true", help="let mkdocs warnings pass (default: strict)")
    p.add_argument("--no-wait", action="store_true", help="exit 1 if another zoocards run is writing this project, instead of waiting for it")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("verify", help="re-run the claimed figures and report their status")
    p.add_argument("--cards", help="cards directory (default: ROOT/cards)")
    p.add_argument("--force", action="store_true", help="re-run everything, not only what is stale")
    p.add_argument("--strict", action="store_true", help="exit 1 if a mismatch is not acknowledged in its card")
    p.add_argument("--shard", help="run shard i of n (e.g. 2/4): a deterministic subset, for a CI matrix")
    p.add_argument("--kinds", help="comma-separated subset of: count,export,latency,accuracy")
    p.add_argument("--models", help="comma-separated model names to re-run")
    p.add_argument("--timeout", type=float, help="seconds one stage of a model (build, count, export, check, a timing) may take before its worker is killed")
    p.add_argument("--memory-mb", type=int, help="memory one worker may use before it is killed")
    p.add_argument("--jobs", type=int, default=2, help="measurements run side by side (latency always runs alone)")
    p.add_argument("--hardware", help="time only the latency claims on this hardware of this host (a name or id, e.g. nvidia-t4), re-timed here")
    p.add_argument("--no-wait", action="store_true", help="exit 1 if another zoocards run is writing this project, instead of waiting for it")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("import", help="turn an existing family page (zh, en, or both) into a card")
    p.add_argument("page", metavar="PAGE.md", help="the page (Chinese, or English when there is no Chinese one)")
    p.add_argument("--en", metavar="PAGE_en.md", help="the English twin of PAGE")
    p.add_argument("-o", "--output", required=True, metavar="cards/NAME.yaml", help="the card to write; its file name is the card id")
    p.add_argument("--force", action="store_true", help="replace OUTPUT when it exists")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("import-source", help="turn a zoo-wide page (model list, README, benchmark) into an upstream source")
    p.add_argument("page", metavar="PAGE.md", help="the upstream page, as it is at one commit")
    p.add_argument("-o", "--output", required=True, metavar="sources/NAME.yaml", help="the source to write; its file name is the source id")
    p.add_argument("--repo", default="PaddlePaddle/PaddleClas", help="the GitHub repository of the page (default: %(default)s)")
    p.add_argument("--upstream-path", metavar="PATH", help="the page's path in the repository (default: docs/zh_CN/models/ImageNet1k/<PAGE's name>)")
    p.add_argument("--commit", help="the commit the page is from (default: the 40-hex id a README.md beside or above PAGE names)")
    p.add_argument("--force", action="store_true", help="replace OUTPUT when it exists")
    p.set_defaults(func=cmd_import_source)

    p = sub.add_parser("new", help="write a commented card cards/NAME.yaml that passes the checks")
    p.add_argument("name", metavar="NAME", help="the card id: lower-case letters, digits and '-'")
    p.add_argument("--cards", help="cards directory (default: ROOT/cards)")
    p.set_defaults(func=cmd_new)

    p = sub.add_parser("diff", help="figures and statuses changed since a git revision")
    p.add_argument("base", metavar="BASE", help="git revision to compare with, e.g. origin/main")
    p.add_argument("--cards", help="cards directory (default: ROOT/cards)")
    p.add_argument("--format", choices=("markdown", "text"), default="markdown", help="markdown (a job summary) or text")
    p.set_defaults(func=cmd_diff)

    p = sub.add_parser("merge-shards", help="merge the measurements of CI shard runs into measurements/")
    p.add_argument("dirs", nargs="+", metavar="DIR", help="measurement directories of the shards")
    p.set_defaults(func=cmd_merge_shards)

    p = sub.add_parser("hardware", help="what this host is, and which latency claims of which cards it can re-run")
    p.add_argument("--cards", help="cards directory (default: ROOT/cards)")
    p.add_argument("--board", help="the board this host is (boards cannot be probed; default: $ZOOCARDS_BOARD)")
    p.add_argument("--claimed", action="store_true", help="list the hardware the cards claim instead (for the hardware-runner workflow)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("-v", "--verbose", action="store_true", help="list every claim this host can re-run")
    p.set_defaults(func=cmd_hardware)

    p = sub.add_parser("linkcheck", help="check the links of the built site")
    p.add_argument("--site", help="built site directory (default: ROOT/site)")
    p.add_argument("--external", action="store_true", help="also request every http(s) link (network)")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds per external request")
    p.add_argument("--workers", type=int, default=8, help="external requests in flight at once")
    p.set_defaults(func=cmd_linkcheck)
    return top


class Terminated(BaseException):
    """SIGTERM, raised where the process is, so that every `finally` (staging directories, workers) runs."""


def _terminate(signum: int, frame: object) -> None:
    raise Terminated()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: our errors exit 1 with their message, Ctrl-C 130, SIGTERM 143, anything else 3 with a traceback."""
    args = parser().parse_args(argv)
    started = time.perf_counter()
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if in_main_thread else None
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
    except Terminated:
        print("zoocards: terminated", file=sys.stderr)
        return 143
    except Exception:
        traceback.print_exc()
        print("zoocards: this is a bug in zoocards; please report it with the traceback above", file=sys.stderr)
        return 3
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)
    if args.command in ("build", "render") and time.perf_counter() - started > 60:
        print(f"({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
