"""Reading a Markdown page: numbered lines without viewer junk, its tables and cells, and the text around
each table (section, lead line, notes, footnotes) that qualifies its figures."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,79}$")
NUMBER = re.compile(r"^-?\d+(?:\.\d+)?$")


@dataclass(frozen=True)
class Note:
    """One line of the import report."""

    page: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.page}:{self.line}: {self.message}"


@dataclass
class ImportResult:
    """What an import wrote (a card's or a source's text), its report, and the accounting of every figure."""

    text: str
    notes: list[Note]
    figures: int
    landed: int

    @property
    def unmapped(self) -> int:
        return self.figures - self.landed


@dataclass
class Cell:
    """A table cell with where it was written."""

    text: str
    line: int
    column: int  # 0-based position in its row


@dataclass
class Table:
    """A Markdown table and the text around it that qualifies its figures."""

    header: list[str]
    rows: list[list[Cell]]
    line: int
    section: str
    before: str
    after: str
    lead: str = ""  # the last line of prose before the table


@dataclass
class Page:
    """A parsed page: title, intro prose, tables, links, config path."""

    name: str
    lang: str
    lines: list[tuple[int, str]]
    title: str = ""
    intro: str = ""
    tables: list[Table] = field(default_factory=list)
    config: str | None = None
    config_line: int = 0


def clean_lines(text: str) -> list[tuple[int, str]]:
    """Lines with their original numbers, minus the junk a web viewer adds when a page is scraped."""
    raw = text.replace("\r\n", "\n").lstrip("\ufeff").split("\n")
    numbered = list(enumerate(raw, start=1))
    # A viewer that renders line gutters leaves '|' / '||' lines between every real line.
    gutter = sum(1 for _, line in numbered if line.strip() in ("|", "||"))
    if gutter > len(numbered) / 3:
        # Every real line is followed by one '|'/'||' pair; a run of k pairs stands for k-1 blank lines.
        kept: list[tuple[int, str]] = []
        pairs = 0
        for n, line in numbered:
            if line.strip() == "||":
                pairs += 1
                continue
            if line.strip() == "|":
                continue
            kept.extend((n, "") for _ in range(max(pairs - 1, 0)))
            pairs = 0
            kept.append((n, line))
        numbered = kept
    # File-viewer header junk ('121 lines', '6.2 KiB', 'Markdown') before the first heading.
    junk = re.compile(r"^\s*(\d+ lines|[\d.]+ (B|KiB|MiB|kB|KB)|Markdown)\s*$")
    start = 0
    while start < len(numbered) and (junk.match(numbered[start][1]) or not numbered[start][1].strip()):
        start += 1
    return numbered[start:]


def split_row(line: str) -> list[str]:
    """Cells of a table line; tolerates missing outer pipes and escaped pipes."""
    body = line.strip()
    if body.startswith("|"):
        body = body[1:]
    if body.endswith("|") and not body.endswith("\\|"):
        body = body[:-1]
    return [c.strip() for c in re.split(r"(?<!\\)\|", body)]


def _is_separator(line: str) -> bool:
    stripped = line.strip()
    return "-" in stripped and "|" in stripped and set(stripped) <= set("|-: ")


def strip_tags(text: str) -> str:
    """Header or cell text without HTML tags, <br> read as a space."""
    text = re.sub(r"<br\s*/?>", " ", text, flags=re.I)
    return " ".join(re.sub(r"<[^>]+>", "", text).replace("**", "").split())


def model_name(cell_text: str) -> str | None:
    """The model a row names, or None when the first cell is not a model name."""
    text = re.sub(r"<sup>.*?</sup>", "", cell_text, flags=re.I)
    text = re.sub(r"<[^>]+>", "", text).replace("**", "").replace("\\", "")
    text = "".join(text.split())
    return text if NAME_PATTERN.match(text) and text.lower() not in ("model", "models", "backbone") else None


def number_text(cell_text: str) -> str | None:
    """The number a cell holds, exactly as written, or None."""
    text = strip_tags(cell_text).replace(" ", "").rstrip("%")
    return text if NUMBER.match(text) else None


def parse_page(text: str, name: str, lang: str) -> Page:
    """Title, intro, tables (with their section and footnotes) and config path of one page."""
    lines = clean_lines(text)
    page = Page(name=name, lang=lang, lines=lines)
    section = ""
    paragraph: list[str] = []
    intro: list[str] = []
    in_intro = False
    in_code = False
    index = 0
    while index < len(lines):
        number, line = lines[index]
        stripped = line.strip()
        if stripped.startswith("```"):
            in_code = not in_code
        heading = re.match(r"^(#{1,6})\s+(.*)$", stripped) if not in_code else None
        if heading:
            level, title = len(heading.group(1)), heading.group(2).strip()
            if level == 1 and not page.title:
                page.title = title
            section = title
            in_intro = bool(re.search(r"模型简介|Model Introduction|^(\d\.?\s*)?(Overview|Introduction)$|^1\.?\s*模型介绍$", title, re.I)) and not page.intro
            if not in_intro and intro:
                page.intro = "\n".join(intro).strip()
                intro = []
            paragraph = []
            index += 1
            continue
        config = re.search(r"`(ppcls/configs/[A-Za-z0-9_./-]+)`", line)
        if config and page.config is None:
            page.config, page.config_line = config.group(1), number
        if not in_code and "|" in stripped and index + 1 < len(lines) and _is_separator(lines[index + 1][1]) and not _is_separator(line):
            header = split_row(line)
            rows: list[list[Cell]] = []
            end = index + 2
            while end < len(lines) and "|" in lines[end][1] and lines[end][1].strip():
                row_line, row_text = lines[end]
                if not _is_separator(row_text):
                    rows.append([Cell(c, row_line, i) for i, c in enumerate(split_row(row_text))])
                end += 1
            after = [ln for _, ln in lines[end:end + 12]]
            after_text = []
            for ln in after:
                if ln.strip().startswith(("#", "|")):
                    break
                after_text.append(ln)
            page.tables.append(Table(header, rows, number, section, " ".join(paragraph[-3:]), "\n".join(after_text), paragraph[-1] if paragraph else ""))
            if in_intro:
                intro.append("")
            paragraph = []
            index = end
            continue
        if in_intro and not re.match(r"^<a name=", stripped):
            intro.append(line.rstrip())
        if stripped and not stripped.startswith("<a "):
            paragraph.append(stripped)
        index += 1
    if intro and not page.intro:
        page.intro = "\n".join(intro).strip()
    if not page.intro:  # no intro section: the first prose paragraph after the title
        page.intro = _first_paragraph(lines)
    page.intro = re.sub(r"\n{3,}", "\n\n", page.intro)
    return page


def _first_paragraph(lines: list[tuple[int, str]]) -> str:
    block: list[str] = []
    for _, line in lines:
        stripped = line.strip()
        if not stripped:
            if block:
                break
            continue
        if stripped.startswith(("#", "-", "*", "|", "<", "!", "[", "```", "English |")) or set(stripped) <= set("-="):
            if block:
                break
            continue
        block.append(line.rstrip())
    return "\n".join(block)


def table_footnotes(after: str) -> dict[str, str]:
    """`[1]：text` lines under a table, by marker."""
    found = {}
    for line in after.split("\n"):
        match = re.match(r"^\s*\\?\[(\d+)\\?\]\s*[:：]?\s*(.+)$", line)
        if match:
            found[match.group(1)] = match.group(2).strip()
    return found


def table_caption(lead: str) -> str:
    """The caption a short line ending in a colon gives the table under it ('Comparison with other networks:')."""
    text = lead.replace("**", "").strip()
    if not re.search(r"[:：]$", text) or len(text) > 100 or text.startswith(("|", "#", "<", "-", "*")):
        return ""
    return text.rstrip(":：").strip()


def table_conditions(table: Table) -> str:
    """The note under a table ('**备注**：...'), which states the conditions of its figures."""
    match = re.search(r"\*\*(备注|注|Note)[^*]*\*\*[:：]?\s*(.*)", table.after, re.S)
    if not match:
        return ""
    text = match.group(2).strip().split("\n\n")[0]
    return "\n".join(line for line in text.split("\n") if not line.strip().startswith("<a ")).strip()
