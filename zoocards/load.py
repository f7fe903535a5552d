"""Stage 1: read card files into plain data, remembering where every value came from.

The loader composes the YAML node tree itself (instead of `yaml.safe_load`) so that
each value keeps its line and column, and each number keeps the exact text it was
written with ("1.90" is a claim to two decimals, "1.9" to one). It refuses the YAML
features a card never needs and a hostile file abuses: aliases, tags, duplicate keys.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from zoocards.errors import CardError, Problem

try:  # the C loader is several times faster on large zoos
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

KeyPath = tuple[str | int, ...]

MAX_CARD_BYTES = 1_000_000
MAX_DEPTH = 12
MAX_NODES = 200_000
# The composer recurses once per nesting level (in C it overflows the stack and the
# process dies with SIGSEGV), so nesting is bounded on the event stream before composing.
# Two levels of slack let the builder's own check, which names the key path, fire first.
MAX_SCAN_DEPTH = MAX_DEPTH + 2
MAX_NUMBER_DIGITS = 100

_INT = re.compile(r"^[-+]?(0|[1-9][0-9_]*)$")
_FLOAT = re.compile(r"^[-+]?([0-9][0-9_]*)?\.?[0-9]*([eE][-+]?[0-9]+)?$")
# YAML 1.1 (PyYAML) reads an unquoted 1e9 as text; a contributor means the number.
_EXPONENT = re.compile(r"^[-+]?[0-9][0-9_]*(\.[0-9_]*)?[eE][-+]?[0-9]+$")
_SPECIAL_FLOATS = {".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF", "-.inf", "-.Inf", "-.INF", "+.inf"}
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_NULL = {"", "~", "null", "Null", "NULL"}
_PLAIN_TAGS = {f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null", "map", "seq")}


@dataclass(frozen=True)
class Mark:
    """1-based line and column of a value in its file."""

    line: int
    column: int


@dataclass
class Card:
    """One card: its validated data plus where each value was written and how."""

    path: Path
    data: dict[str, Any]
    marks: dict[KeyPath, Mark] = field(default_factory=dict)
    raw: dict[KeyPath, str] = field(default_factory=dict)
    source: str = ""

    @property
    def id(self) -> str:
        return str(self.data.get("id", self.path.stem))

    def mark(self, path: KeyPath) -> Mark:
        """The closest known position of `path` (its own, else its nearest parent's)."""
        while path:
            if path in self.marks:
                return self.marks[path]
            path = path[:-1]
        return self.marks.get((), Mark(1, 1))

    def raw_number(self, path: KeyPath) -> str | None:
        """The number at `path` exactly as written in the card, or None."""
        return self.raw.get(path)


def format_path(path: KeyPath) -> str:
    """`('models', 0, 'metrics', 'top1')` -> `models[0].metrics.top1`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out or "(top level)"


class _Builder:
    def __init__(self, card_path: Path) -> None:
        self.card_path = card_path
        self.marks: dict[KeyPath, Mark] = {}
        self.raw: dict[KeyPath, str] = {}
        self.nodes = 0
        self.seen: set[int] = set()

    def fail(self, node: yaml.Node, path: KeyPath, message: str) -> CardError:
        mark = Mark(node.start_mark.line + 1, node.start_mark.column + 1)
        return CardError([Problem(self.card_path, mark.line, mark.column, format_path(path), message)])

    def build(self, node: yaml.Node, path: KeyPath) -> Any:
        if id(node) in self.seen:  # the composer shares aliased nodes: this is an alias
            raise self.fail(node, path, "YAML anchors and aliases (&name, *name) are not allowed in a card; write the value out")
        self.seen.add(id(node))
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise self.fail(node, path, f"the card has more than {MAX_NODES} values; split the family into several cards")
        if len(path) > MAX_DEPTH:
            raise self.fail(node, path, f"nesting deeper than {MAX_DEPTH} levels; no card field is nested that deep")
        self.marks[path] = Mark(node.start_mark.line + 1, node.start_mark.column + 1)
        if node.tag not in _PLAIN_TAGS:
            raise self.fail(node, path, f"YAML tag {node.tag} is not allowed in a card; remove it")
        if isinstance(node, yaml.MappingNode):
            return self.mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, path + (i,)) for i, item in enumerate(node.value)]
        assert isinstance(node, yaml.ScalarNode)
        return self.scalar(node, path)

    def mapping(self, node: yaml.MappingNode, path: KeyPath) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise self.fail(key_node, path, "a key must be a plain name, not a list or mapping")
            if key_node.value == "<<":
                raise self.fail(key_node, path, "YAML merge keys (<<) are not allowed in a card; write the keys out")
            key = key_node.value
            if key in out:
                first = self.marks[path + (key,)]
                raise self.fail(key_node, path + (key,), f"duplicate key '{key}' (first written at line {first.line}); keep one")
            out[key] = self.build(value_node, path + (key,))
            # A value is reported at its key, where a contributor looks for it.
            self.marks[path + (key,)] = Mark(key_node.start_mark.line + 1, key_node.start_mark.column + 1)
        return out

    def scalar(self, node: yaml.ScalarNode, path: KeyPath) -> Any:
        text = node.value
        if node.style or (node.tag == "tag:yaml.org,2002:str" and not _EXPONENT.match(text)):  # quoted, block or !!str: a string
            return text
        if text in _NULL:
            return None
        if text in _BOOL:
            return _BOOL[text]
        if text in _SPECIAL_FLOATS or text.lower() in {"nan", "inf", "-inf", "+inf", "infinity"}:
            raise self.fail(node, path, f"{text} is not a finite number; write the figure, or null when the source has none")
        if len(text) > MAX_NUMBER_DIGITS and (_INT.match(text) or _FLOAT.match(text)):
            raise self.fail(node, path, f"{text[:20]}... ({len(text)} characters) is too large to be a figure")
        if _INT.match(text):
            self.raw[path] = text.replace("_", "")
            return int(text.replace("_", ""))
        if _FLOAT.match(text) and any(c.isdigit() for c in text):
            value = float(text.replace("_", ""))
            if not math.isfinite(value):
                raise self.fail(node, path, f"{text} is too large to be a figure")
            self.raw[path] = text.replace("_", "")
            return value
        return text


@dataclass
class _Frame:
    path: KeyPath
    mapping: bool
    index: int = 0
    key: str | None = None  # the pending key of a mapping, None while a key is expected


def _scan(text: str, card_path: Path) -> None:
    """Refuse nesting and sizes the composer cannot handle, reading events only (no recursion)."""
    loader = _Loader(text)
    frames: list[_Frame] = []
    nodes = 0
    try:
        while True:
            event = loader.get_event()
            if event is None or isinstance(event, yaml.StreamEndEvent):
                return
            if isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                frames.pop()
                continue
            if not isinstance(event, (yaml.ScalarEvent, yaml.AliasEvent, yaml.CollectionStartEvent)):
                continue
            path: KeyPath = ()
            if frames:
                frame = frames[-1]
                path = frame.path
                if not frame.mapping:
                    path, frame.index = frame.path + (frame.index,), frame.index + 1
                elif frame.key is None:  # this node is a key
                    frame.key = event.value if isinstance(event, yaml.ScalarEvent) else "?"
                else:
                    path, frame.key = frame.path + (frame.key,), None
            nodes += 1
            mark = event.start_mark
            where = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
            if nodes > MAX_NODES:
                raise CardError([Problem(card_path, *where, format_path(path), f"the card has more than {MAX_NODES} values; split the family into several cards")])
            if isinstance(event, yaml.CollectionStartEvent):
                if len(frames) >= MAX_SCAN_DEPTH:
                    raise CardError([Problem(card_path, *where, format_path(path), f"nesting deeper than {MAX_DEPTH} levels; no card field is nested that deep")])
                frames.append(_Frame(path, isinstance(event, yaml.MappingStartEvent)))
    finally:
        loader.dispose()


def _compose(text: str, card_path: Path) -> yaml.Node | None:
    _scan(text, card_path)
    loader = _Loader(text)
    try:
        return loader.get_single_node()
    finally:
        loader.dispose()


def load_text(text: str, path: Path) -> Card:
    """Parse one card's text; raise CardError naming file:line:column on malformed input."""
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        node = _compose(text, path)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        reason = exc.problem or "malformed YAML"
        lines = text.split("\n")
        bad_line = lines[line - 1] if 0 < line <= len(lines) else ""
        hint = " (YAML indents with spaces, never tabs)" if "\t" in bad_line else ""
        if reason == "but found another document":
            reason = "a card is one YAML document, but this line starts another; remove the '---' and what follows or move it to its own card"
        elif not hint and (exc.context or "").startswith("while") and exc.context_mark and exc.problem_mark and exc.context_mark.line != exc.problem_mark.line:
            # "end of stream" alone hides the cause: name where the unclosed quote or bracket began
            hint += f", {exc.context} that starts at line {exc.context_mark.line + 1}, column {exc.context_mark.column + 1}"
        raise CardError([Problem(path, line, column, "(document)", f"YAML syntax error: {reason}{hint}")]) from None
    except yaml.reader.ReaderError as exc:
        # exc.position counts UTF-8 bytes in the C reader and characters in the Python one
        position = max(text.find(chr(exc.character)), 0) if isinstance(exc.character, int) else 0
        before = text[:position]
        line, column = before.count("\n") + 1, position - (before.rfind("\n") + 1) + 1
        raise CardError([Problem(path, line, column, "(document)", f"character U+{exc.character:04X} is not allowed in YAML (control characters and non-characters are not); delete it")]) from None
    except UnicodeEncodeError as exc:  # a lone surrogate, which no UTF-8 file can hold
        before = text[: exc.start]
        line, column = before.count("\n") + 1, exc.start - (before.rfind("\n") + 1) + 1
        raise CardError([Problem(path, line, column, "(document)", f"character U+{ord(text[exc.start]):04X} is not valid Unicode (a lone surrogate); save the card as UTF-8")]) from None
    except yaml.YAMLError as exc:
        raise CardError([Problem(path, 1, 1, "(document)", f"YAML error: {exc}")]) from None
    if node is None:
        raise CardError([Problem(path, 1, 1, "(document)", "the card is empty; start from `zoocards new NAME`")])
    builder = _Builder(path)
    data = builder.build(node, ())
    if not isinstance(data, dict):
        raise CardError([Problem(path, 1, 1, "(document)", "a card must be a mapping of keys (schema_version, id, name, ...)")])
    return Card(path=path, data=data, marks=builder.marks, raw=builder.raw, source=text)


def load_file(path: Path) -> Card:
    """Read and parse one card file, with size and encoding checks."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise CardError([Problem(path, 1, 1, "(file)", f"cannot read the card: {exc.strerror}")]) from None
    if size > MAX_CARD_BYTES:
        raise CardError([Problem(path, 1, 1, "(file)", f"the card is {size} bytes, over the {MAX_CARD_BYTES}-byte limit; a family card is a few kB")])
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise CardError([Problem(path, line, column, "(file)", f"byte 0x{data[exc.start]:02x} is not UTF-8; save the card as UTF-8")]) from None
    return load_text(text.replace("\r\n", "\n"), path)


def card_paths(cards_dir: Path) -> list[Path]:
    """Card files of a directory, in a stable order."""
    return sorted(p for p in cards_dir.glob("*.yaml") if p.is_file())
