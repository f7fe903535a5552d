#!/usr/bin/env python3
"""Import every corpus page and seed, render the card, and count the figures that survive.

usage: import_roundtrip.py [SHARED_DIR]   (default: ../shared next to the repository)

A figure survives when the rendered family page has a table row naming the model that
holds the same number, or the number x/÷ 100 or 1000 (percent <-> fraction, M <-> G).
A row whose model carries a footnote (`Name<sup>[1]</sup>`, e.g. other pretraining) is
counted too; its figures may survive under the name plus a suffix (`Name_22kto1k`).
Figures that do not survive must be in the importer's report; the script says which.
Exit 0 only when every lost figure is reported.
"""

from __future__ import annotations

import html
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from zoocards import importer, render  # noqa: E402
from zoocards.load import load_text  # noqa: E402

NUMBER_IN_TEXT = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.])")
MODEL_CELL = re.compile(r"[A-Za-z][\w\-]*")


@dataclass
class PageResult:
    """What survived of one page (or zh/en pair)."""

    name: str
    total: int = 0
    found: int = 0
    lost: list[str] = field(default_factory=list)
    unreported: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def source_figures(text: str) -> list[tuple[int, str, str, bool]]:
    """(line, model, figure, footnoted) for every numeric cell of a table row whose first cell names a model."""
    figures = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped.startswith("|") or set(stripped) <= set("|-: "):
            continue
        cells = [c.strip() for c in stripped.strip("|").split("|")]
        if len(cells) < 2:
            continue
        footnoted = bool(re.search(r"<sup>\s*\[\d+\]\s*</sup>", cells[0]))
        name = re.sub(r"<[^>]+>", "", re.sub(r"<sup>\s*\[\d+\]\s*</sup>", "", cells[0])).strip()
        if not MODEL_CELL.fullmatch(name) or name.lower() in ("model", "models"):
            continue
        figures.extend((number, name, cell, footnoted) for cell in cells[1:] if re.fullmatch(r"-?\d+(?:\.\d+)?", cell))
    return figures


def rendered_rows(markdown: str) -> list[str]:
    """Table rows of a rendered page as plain text."""
    return [html.unescape(re.sub(r"<[^>]+>", " ", line)) for line in markdown.splitlines() if line.startswith("|")]


def survives(model: str, figure: str, rows: list[str], variant: bool = False) -> bool:
    """Is the figure (or x/÷ 100, 1000) in a rendered row that names the model (or, for a variant, the model plus a suffix)?"""
    value = float(figure)
    candidates = (value, value * 100, value / 100, value * 1000, value / 1000)
    named = re.compile(r"(?<![\w])" + re.escape(model) + (r"(?:_\w+)?" if variant else "") + r"(?![\w])")
    for row in rows:
        if named.search(row) and any(abs(float(n) - c) <= 1e-9 * max(1.0, abs(c)) for n in NUMBER_IN_TEXT.findall(row.replace(",", "")) for c in candidates):
            return True
    return False


def roundtrip(sources: list[tuple[Path, str]], card_id: str) -> PageResult:
    """Import the page(s), render the card, and check every source figure against the render."""
    result = PageResult(" + ".join(str(p) for p, _ in sources))
    imported = importer.import_pages([(p.read_text(encoding="utf-8"), str(p), lang) for p, lang in sources], card_id)
    result.notes = [str(n) for n in imported.notes]
    card = load_text(imported.text, Path(f"{card_id}.yaml"))
    pages = render.render_family(card, [], [])
    rows = [rendered_rows(text) for text in pages.values()]
    for path, _ in sources:
        for line, model, figure, footnoted in source_figures(path.read_text(encoding="utf-8")):
            result.total += 1
            if all(survives(model, figure, lang_rows, footnoted) for lang_rows in rows):
                result.found += 1
                continue
            where = f"{path}:{line}"
            result.lost.append(f"{where}: {model} {figure}")
            # Reported when a note names this line (or the table it sits in) and the figure or the whole table.
            if not any(n.startswith(f"{path}:") and (f":{line}: " in n and (figure in n or "eval.resize_short" in n) or ("figures" in n and _covers(n, line))) for n in result.notes):
                result.unreported.append(f"{where}: {model} {figure}")
    return result


def _covers(note: str, line: int) -> bool:
    match = re.search(r"\(lines (\d+)-(\d+)\)", note)
    if match:
        return int(match.group(1)) <= line <= int(match.group(2))
    head = re.match(r"^.*?:(\d+): not imported: table", note)
    return bool(head) and int(head.group(1)) <= line <= int(head.group(1)) + 60


# Zoo-wide pages quote the families' models again: they are imported as sources (`zoocards
# import-source`, sources/*.yaml), not as family cards.
ZOO_WIDE_PAGES = {"README.md", "model_list.md", "paddle_lite_benchmark.md"}


def pages(shared: Path) -> list[tuple[list[tuple[Path, str]], str]]:
    """Every corpus page (zh paired with its _en twin) and every seed, with a card id."""
    jobs: list[tuple[list[tuple[Path, str]], str]] = []
    corpus = shared / "corpus"
    paired: set[Path] = set()
    for zh in sorted((corpus / "zh_CN").glob("*.md")):
        if zh.name in ZOO_WIDE_PAGES:
            continue
        en = corpus / "en" / f"{zh.stem}_en.md"
        sources = [(zh, "zh")] + ([(en, "en")] if en.is_file() else [])
        paired.update(p for p, _ in sources)
        jobs.append((sources, _slug(zh.stem)))
    for en in sorted((corpus / "en").glob("*.md")):
        if en not in paired:
            jobs.append(([(en, "en")], _slug(en.stem.removesuffix("_en"))))
    for seed in sorted((shared / "seeds").glob("*.txt")):
        text = seed.read_text(encoding="utf-8")
        lang = "zh" if len(re.findall(r"[\u4e00-\u9fff]", text)) > 20 else "en"
        jobs.append(([(seed, lang)], "seed-" + seed.stem.split("_")[0]))
    return jobs


def _slug(stem: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-")


def main(argv: list[str]) -> int:
    """Run every page and print one line per page, then the misses."""
    positional = [a for a in argv[1:] if not a.startswith("--")]
    shared = Path(positional[0]) if positional else ROOT.parent / "shared"
    results = [roundtrip(sources, card_id) for sources, card_id in pages(shared)]
    total = found = 0
    for result in results:
        total, found = total + result.total, found + result.found
        print(f"{result.found:4d}/{result.total:<4d} {result.name.replace(str(shared) + '/', '')}")
        for lost in result.lost:
            flag = "" if lost not in result.unreported else "   <- NOT IN THE IMPORT REPORT"
            print(f"           lost {lost.replace(str(shared) + '/', '')}{flag}")
    unreported = sum(len(r.unreported) for r in results)
    print(f"{found}/{total} figures survive the round trip; {total - found} lost, {unreported} of them unreported")
    return 0 if unreported == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
