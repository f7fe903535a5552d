"""Turn an existing PaddleClas-style family page (zh, en, or both) into a card.

The importer reads every Markdown table of the page(s), decides what each column means
from its header (and the section title and footnotes around it), and writes a card whose
numbers are the exact text the page wrote. Every numeric cell either lands in the card or
is listed in the report with its line: nothing is dropped silently.

The package, by concern: `tables` reads a page and its tables, `columns` decides what a column means
(metric, unit, timing, hardware), `builders` finds the ppcls builder of a name, `assemble` turns tables
into models, benchmarks, comparisons and downloads, `card` writes the card's YAML.
"""

from __future__ import annotations

import re
from pathlib import Path

from zoocards import check, load
from zoocards.errors import ZoocardsError
from zoocards.importer.assemble import Importer, page_links
from zoocards.importer.builders import backbone_dir, builder_index
from zoocards.importer.card import render_card
from zoocards.importer.columns import Column, classify, hardware_in
from zoocards.importer.tables import ImportResult, Note, Page, Table, clean_lines, model_name, number_text, parse_page, split_row, strip_tags

__all__ = [
    "ID_PATTERN", "Column", "ImportResult", "Note", "Page", "Table", "backbone_dir", "builder_index", "classify", "clean_lines",
    "hardware_in", "import_files", "import_pages", "model_name", "number_text", "parse_page", "split_row", "strip_tags",
]

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


def import_pages(sources: list[tuple[str, str, str]], card_id: str, backbones: dict[str, str] | None = None) -> ImportResult:
    """Import (text, display name, lang) pages, zh first, into one card; never drops a figure silently."""
    if not ID_PATTERN.match(card_id):
        raise ZoocardsError(f"'{card_id}' is not a card id: use lower-case letters, digits and '-' (e.g. mixnet), at most 63 characters")
    importer = Importer(card_id, builder_index() if backbones is None else backbones)
    pages = [parse_page(text, name, lang) for text, name, lang in sources]
    for page in pages:
        for table in page.tables:
            importer.import_table(page, table, first_table=not importer.family)
        page_links(page, importer)
    importer.merge_duplicate_benchmarks()
    importer.merge_duplicate_comparisons()
    for bench in importer.benchmarks:
        if bench.hardware == "unknown":
            importer.notes.append(Note(bench.page, bench.line, f"benchmark '{bench.id}': the page does not say which hardware this table was timed on; set its hardware and hardware_kind"))
    importer.flush()
    if not importer.models:
        raise ZoocardsError(f"{pages[0].name}: no table with model names in its first column; nothing to import")
    for page in pages:
        if page.config and "xxx" in page.config.lower():
            importer.note(page, page.config_line, f"training config `{page.config}` is a placeholder; not imported — write the real path")
            page.config = None
    for name, model in importer.models.items():
        if "builder" not in model:
            importer.notes.append(Note(pages[0].name, model["line"], f"{name}: no `def {model['architecture']}(` in the installed paddleclas; builder omitted (its figures will be 'not re-run')"))
    single = len({p.lang for p in pages}) == 1
    if single:
        importer.notes.append(Note(pages[0].name, 1, f"one language only ({pages[0].lang}): name, summary and notes repeat the same text in zh and en; translate them"))
    text = _drop_relative_links(render_card(importer, card_id, pages, single), pages[0], importer)
    problems = [p for p in check.check_card(load.load_text(text, Path(f"{card_id}.yaml"))) if p.severity == "error"]
    if problems:
        raise ZoocardsError("the imported card does not pass the checks (please report this page):\n" + "\n".join(str(p) for p in problems))
    return ImportResult(text=text, notes=sorted(importer.notes, key=lambda n: (n.page, n.line)), figures=importer.figures, landed=importer.landed)


# A link or image in the page's prose: `[text](target)` / `![alt](target)`.
_PROSE_LINK = re.compile(r"(!?)\[([^\]\n]*)\]\(\s*([^)\s]*)[^)]*\)")
_ABSOLUTE = re.compile(r"^(https?://|mailto:|#)")


def _drop_relative_links(text: str, page: Page, importer: Importer) -> str:
    """Relative links in the pages' prose (introduction, table notes) point into the upstream
    repository, not the site, and zoocards check refuses them: a link keeps its text, an image
    goes, and the report says which."""

    def replace(match: re.Match[str]) -> str:
        image, label, target = match.groups()
        if _ABSOLUTE.match(target):
            return match.group(0)
        if image:
            importer.note(page, 1, f"image '{target}' left out (a path in the upstream repository, not on the site); link an absolute URL if the card needs it")
            return ""
        importer.note(page, 1, f"relative link '{target}' kept as plain text '{label}'; link another card as [{label}](card:<id>) or use an absolute URL")
        return label

    return _PROSE_LINK.sub(replace, text)


def import_files(page: Path, en_page: Path | None, card_id: str) -> ImportResult:
    """Read the page (and its English twin) from disk and import them."""
    sources = []
    for path, lang in ((page, _language(page)), (en_page, "en")):
        if path is None:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise ZoocardsError(f"{path}: cannot read the page ({error}); pass a UTF-8 Markdown file") from None
        sources.append((text, str(path), lang))
    if en_page is not None and sources[0][2] == "en":
        raise ZoocardsError(f"{page} looks English already; pass the Chinese page first and the English one with --en")
    return import_pages(sources, card_id)


def _language(path: Path) -> str:
    text = path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""
    cjk = len(re.findall(r"[\u4e00-\u9fff]", text))
    return "zh" if cjk > 20 or path.stem.endswith(("_cn", "_zh")) else "en"
