"""The pipeline, top to bottom: the only module that calls more than one stage."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zoocards import check, compare, exports, load, measure, render, write
from zoocards.errors import CardError, Problem, ZoocardsError


@dataclass(frozen=True)
class Project:
    """Where a zoo keeps its parts; every path defaults to the layout of this repository."""

    root: Path
    cards_dir: Path
    measurements_dir: Path
    templates_dir: Path
    docs_dir: Path
    site_dir: Path

    @classmethod
    def at(cls, root: Path) -> "Project":
        root = root.resolve()
        return cls(
            root=root,
            cards_dir=Path(os.environ.get("ZOOCARDS_CARDS_DIR", root / "cards")),
            measurements_dir=Path(os.environ.get("ZOOCARDS_MEASUREMENTS_DIR", root / "measurements")),
            templates_dir=root / "templates",
            docs_dir=root / "site_src",
            site_dir=root / "site",
        )


@dataclass
class Generated:
    """The outcome of one generation: pages, verification records, warnings, changes."""

    cards: list[load.Card]
    verifications: list[dict[str, Any]]
    pages: dict[str, str]
    warnings: list[Problem]
    report: write.WriteReport
    fingerprint: str
    seconds: dict[str, float] = field(default_factory=dict)
    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def load_and_check(cards_dir: Path) -> tuple[list[load.Card], list[Problem]]:
    """Load every card and check them all; raise CardError with every error at once."""
    cards: list[load.Card] = []
    problems: list[Problem] = []
    for path in load.card_paths(cards_dir):
        try:
            cards.append(load.load_file(path))
        except CardError as error:
            problems.extend(error.problems)
    problems.extend(check.check_cards(cards))
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise CardError(errors)
    return cards, [p for p in problems if p.severity != "error"]


def inputs_fingerprint(project: Project) -> str:
    """A hash of everything generation reads, so an unchanged zoo is not rendered twice."""
    digest = hashlib.sha256()
    for directory, pattern in ((project.cards_dir, "*.yaml"), (project.measurements_dir, "*.json"), (project.templates_dir, "**/*")):
        for path in sorted(directory.glob(pattern)) if directory.is_dir() else []:
            if path.is_file():
                digest.update(str(path.relative_to(directory)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


def generate(project: Project) -> Generated:
    """cards -> check -> compare with measurements -> render -> write into site_src/."""
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    fingerprint = inputs_fingerprint(project)
    cards, warnings = load_and_check(project.cards_dir)
    seconds["load_check"] = time.perf_counter() - started

    started = time.perf_counter()
    records = {card.id: measure.load_records(project.measurements_dir, card.id) for card in cards}
    verifications = [dict(v) for v in compare.verify(cards, records, measure.host_fingerprint())]
    seconds["compare"] = time.perf_counter() - started

    started = time.perf_counter()
    render.forget_templates()
    pages = render.render_site(cards, verifications, records, project.templates_dir)
    seconds["render"] = time.perf_counter() - started

    started = time.perf_counter()
    report = write.write_pages(project.docs_dir, pages)
    seconds["write"] = time.perf_counter() - started
    return Generated(cards, verifications, pages, warnings, report, fingerprint, seconds, records)


def write_api(site_dir: Path, generated: Generated) -> None:
    """Machine-readable exports under site/api/."""
    api = site_dir / "api"
    api.mkdir(parents=True, exist_ok=True)
    payload = json.dumps(generated.verifications, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    write.atomic_write_bytes(api / "verification.json", payload.encode("utf-8"))
    exports.write_exports(api, generated.cards, generated.verifications, generated.records)


def build_site(project: Project, *, strict: bool = True) -> float:
    """Run mkdocs (which generates pages through the zoocards plugin) into a fresh directory, then swap it in."""
    fresh = project.site_dir.with_name(f".{project.site_dir.name}.new")
    command = [sys.executable, "-m", "mkdocs", "build", "--site-dir", str(fresh), "--config-file", str(project.root / "mkdocs.yml")]
    if strict:
        command.append("--strict")
    started = time.perf_counter()
    result = subprocess.run(command, cwd=project.root)
    if result.returncode != 0:
        raise ZoocardsError(f"mkdocs build failed (exit {result.returncode}); the previous site/ is left as it was")
    write.swap_directory(fresh, project.site_dir)
    return time.perf_counter() - started
