"""Stage 1: read card files into plain data, remembering where every value came from.

Each value keeps its line and column, and each number the exact text it was written with
("1.90" is a claim to two decimals, "1.9" to one). The loader refuses the YAML features a
card never needs and a hostile file abuses: aliases, tags, duplicate keys.

It reads the C parser's events once and builds the data, the marks and the raw number text
from them directly: no second parse and no node tree (composing one and walking it took
five times as long as the parse). Nothing recurses, so a 100000-deep `[[[...` is refused
with a message where libyaml's composer overflows its stack and kills the process.
"""

from __future__ import annotations

import functools
import math
import os
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
# A value nested deeper than MAX_DEPTH is refused, naming its key path. A collection inside
# MAX_SCAN_DEPTH others is refused before any such problem, like a syntax error: it bounds
# the pass however deep the text nests.
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

    @functools.cached_property
    def id(self) -> str:
        # Worked out once (a card is not changed after loading): asked ~35 times per card per generation.
        value = self.data.get("id", self)  # `self`: no id key (the file name stands in)
        return self.path.stem if value is self else value if type(value) is str else str(value)

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


_STR_TAG = "tag:yaml.org,2002:str"
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_DEPTH_MESSAGE = f"nesting deeper than {MAX_DEPTH} levels; no card field is nested that deep"
# A text this long may hold more than MAX_NODES values (a real card is under 10 kB): its syntax
# and limits are checked on the events alone first, so it is refused before its values take memory.
_CHECK_FIRST_CHARS = 100_000
_NODE_EVENTS = frozenset({yaml.ScalarEvent, yaml.AliasEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent})
_END_EVENTS = frozenset({yaml.MappingEndEvent, yaml.SequenceEndEvent})


@functools.lru_cache(maxsize=1 << 14)
def _mark(line: int, column: int) -> Mark:
    """The Mark of a 0-based parser position, shared: positions repeat from card to card, and
    making a Mark costs as much as handling its event."""
    return Mark(line + 1, column + 1)


def _resolve_scalar(text: str, plain_implicit: bool) -> str:
    """The tag the loader's resolver gives an untagged scalar (Resolver.resolve, without the list it builds per call)."""
    if plain_implicit:
        resolvers = _Loader.yaml_implicit_resolvers
        for tag, regexp in resolvers.get(text[:1], ()):
            if regexp.match(text):
                return tag
        for tag, regexp in resolvers.get(None, ()):
            if regexp.match(text):
                return tag
    return _STR_TAG


def _interpret(text: str, style: str | None, tag: str) -> tuple[Any, str | None, str | None]:
    """A scalar's value, its number text as kept in `raw` (None unless a number), and the problem with it (None if none)."""
    if style or (tag == _STR_TAG and not _EXPONENT.match(text)):  # quoted, block or !!str: a string
        return text, None, None
    if text in _NULL:
        return None, None, None
    if text in _BOOL:
        return _BOOL[text], None, None
    if text in _SPECIAL_FLOATS or text.lower() in {"nan", "inf", "-inf", "+inf", "infinity"}:
        return None, None, f"{text} is not a finite number; write the figure, or null when the source has none"
    if len(text) > MAX_NUMBER_DIGITS and (_INT.match(text) or _FLOAT.match(text)):
        return None, None, f"{text[:20]}... ({len(text)} characters) is too large to be a figure"
    if _INT.match(text):
        return int(text.replace("_", "")), text.replace("_", ""), None
    if _FLOAT.match(text) and any(c.isdigit() for c in text):
        try:
            value = float(text.replace("_", ""))
        except ValueError:  # `!!float e5` or `!!int 1e`: the pattern lets through what float() refuses
            return None, None, f"{text} is not a number; write the figure, or quote it if it is text"
        if not math.isfinite(value):
            return None, None, f"{text} is too large to be a figure"
        return value, text.replace("_", ""), None
    return text, None, None


@functools.lru_cache(maxsize=1 << 14)
def _interpret_plain(text: str) -> tuple[Any, str | None, str | None]:
    """_interpret for an untagged plain scalar (most values): its meaning depends on its text alone, and figures repeat."""
    tag = _resolve_scalar(text, True)
    if tag not in _PLAIN_TAGS:
        return None, None, f"YAML tag {tag} is not allowed in a card; remove it"
    return _interpret(text, None, tag)


class _Open:
    """A mapping or sequence whose end event has not come yet."""

    __slots__ = ("container", "mapping", "path", "scan_path", "index", "key", "key_mark", "scan_key")

    def __init__(self, container: Any, mapping: bool, path: KeyPath, scan_path: KeyPath) -> None:
        self.container = container  # the dict or list its values go into; None once the pass only checks
        self.mapping = mapping
        self.path = path
        # The path as the limit checks name it, with '?' for a key that is not a plain scalar;
        # `path` names an aliased key by the text it stands for, as the builder did.
        self.scan_path = scan_path
        self.index = 0  # of the next sequence item
        self.scan_key: str | None = None  # the pending key as scan_path names it; None while a key is expected
        self.key = ""  # the pending key as path names it
        self.key_mark = Mark(1, 1)  # and where it is written


class _Pass:
    """One card's events, read once into data, marks and raw number text.

    Problems keep the order the composer-then-builder design gave them: a syntax error or an
    exceeded limit anywhere in the file first (raised at once), then the composer's (an
    undefined alias, a duplicate anchor, a second document), then the first problem with a
    value. The last two are kept until the end of the stream, and after the first of them
    the pass only checks.
    """

    def __init__(self, card_path: Path, build: bool = True) -> None:
        self.card_path = card_path
        self.build = build  # False: only check the syntax and the limits
        self.marks: dict[KeyPath, Mark] = {}
        self.raw: dict[KeyPath, str] = {}
        self.open: list[_Open] = []
        self.root: Any = None
        self.root_mark: Any = None  # the parser's mark of the first document's top node
        self.nodes = 0
        self.documents = 0
        self.anchors: dict[str, list[Any]] = {}  # name -> [its node's event, built as a value yet]
        self.composing = False  # in the first document, no composer problem yet
        self.building = False  # composing, and no problem with a value yet
        self.composer_error: yaml.MarkedYAMLError | None = None
        self.value_error: CardError | None = None

    def read(self, text: str) -> None:
        """Read the card into root, marks and raw; raise the first problem (see the class docstring)."""
        loader = _Loader(text)
        try:
            self.run(loader.get_event)
        finally:
            loader.dispose()
        if self.composer_error is not None:
            raise self.composer_error
        if self.value_error is not None:
            raise self.value_error

    def run(self, get_event: Any) -> None:
        """Handle each event of the stream in turn."""
        opened, marks = self.open, self.marks
        # A plain scalar is text, with no need to ask _interpret_plain, when the resolver has no
        # pattern for its first character (nor for any) and it is no exponent number (_EXPONENT).
        resolvers = _Loader.yaml_implicit_resolvers
        interpreted, wildcard = {*resolvers, *"+-0123456789"}, None in resolvers
        while True:
            event = get_event()
            kind = type(event)
            if kind is yaml.ScalarEvent and self.building and opened and event.tag is None and event.anchor is None and self.nodes < MAX_NODES:
                # What node() does, inline for the commonest event: an untagged scalar with no
                # anchor inside a mapping or sequence, while nothing has gone wrong.
                self.nodes += 1
                parent = opened[-1]
                text = event.value
                start = event.start_mark
                if parent.mapping:
                    if parent.scan_key is None:  # a key
                        parent.scan_key = text
                        if text == "<<" or text in parent.container:
                            self.build_key(event, kind, parent)
                        else:
                            parent.key = text
                            parent.key_mark = _mark(start.line, start.column)
                        continue
                    path = parent.path + (parent.key,)
                    parent.scan_key = None
                    mark = parent.key_mark
                else:
                    path = parent.path + (parent.index,)
                    parent.index += 1
                    mark = _mark(start.line, start.column)
                if len(path) > MAX_DEPTH:
                    value, raw, problem = None, None, _DEPTH_MESSAGE
                elif event.style or (text[:1] not in interpreted and not wildcard):  # quoted, block, or surely text
                    value, raw, problem = text, None, None
                else:
                    value, raw, problem = _interpret_plain(text)
                if problem is not None:
                    self.value_error, self.building = self.fail(start, path, problem), False
                    continue
                marks[path] = mark
                if raw is not None:
                    self.raw[path] = raw
                if parent.mapping:
                    parent.container[parent.key] = value
                else:
                    parent.container.append(value)
            elif kind in _NODE_EVENTS:
                self.node(event, kind)
            elif kind in _END_EVENTS:
                opened.pop()
            elif kind is yaml.DocumentStartEvent:
                self.start_document(event)
            elif kind is yaml.StreamEndEvent:
                return

    def start_document(self, event: Any) -> None:
        self.documents += 1
        self.composing = self.documents == 1
        self.building = self.composing and self.build
        if self.documents == 2 and self.composer_error is None:
            self.composer_error = yaml.composer.ComposerError(
                "expected a single document in the stream", self.root_mark, "but found another document", event.start_mark
            )

    def node(self, event: Any, kind: type) -> None:
        """Any scalar, alias, mapping or sequence: count it, check the limits, compose and build it."""
        self.nodes += 1
        opened = self.open
        parent = opened[-1] if opened else None
        collection = kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent
        if self.nodes > MAX_NODES:
            raise self.limit(event, parent, f"the card has more than {MAX_NODES} values; split the family into several cards")
        if collection and len(opened) >= MAX_SCAN_DEPTH:
            raise self.limit(event, parent, _DEPTH_MESSAGE)
        if self.composing and event.anchor is not None:
            self.compose(event, kind)
        container = None
        path: KeyPath = ()
        scan_path: KeyPath = ()
        if parent is None:
            if self.documents == 1:
                self.root_mark = event.start_mark
        elif parent.mapping and parent.scan_key is None:  # this node is a key
            parent.scan_key = event.value if kind is yaml.ScalarEvent else "?"
            if self.building:
                self.build_key(event, kind, parent)
            if collection:
                opened.append(_Open(None, kind is yaml.MappingStartEvent, parent.path, parent.scan_path))
            return
        elif parent.mapping:
            scan_path = parent.scan_path + (parent.scan_key,) if collection else ()  # type: ignore[operator]
            path = parent.path + (parent.key,) if self.building else ()
            parent.scan_key = None
        else:
            scan_path = parent.scan_path + (parent.index,) if collection else ()
            path = parent.path + (parent.index,) if self.building else ()
            parent.index += 1
        if self.building:
            try:
                container = self.build_value(event, kind, parent, path)
            except CardError as error:
                self.value_error, self.building = error, False
        if collection:
            opened.append(_Open(container, kind is yaml.MappingStartEvent, path, scan_path))

    def compose(self, event: Any, kind: type) -> None:
        """What the composer checks: every alias names an earlier anchor, no anchor is defined twice."""
        anchor = event.anchor
        if kind is yaml.AliasEvent:
            if anchor not in self.anchors:
                self.composer_error = yaml.composer.ComposerError(None, None, "found undefined alias", event.start_mark)
        elif anchor in self.anchors:
            first = self.anchors[anchor][0].start_mark
            self.composer_error = yaml.composer.ComposerError("found duplicate anchor; first occurrence", first, "second occurrence", event.start_mark)
        else:
            self.anchors[anchor] = [event, False]
        if self.composer_error is not None:
            self.composing = self.building = False

    def build_key(self, event: Any, kind: type, parent: _Open) -> None:
        """Take the next key of `parent`, refusing what cannot be one."""
        mark = event.start_mark
        try:
            if kind is yaml.AliasEvent:
                raise self.fail(mark, parent.path, "YAML anchors and aliases (&name, *name) are not allowed in a card; write the value out")
            if event.tag not in (None, "!", _STR_TAG):  # a key is a name: a tag could only ask for an object
                raise self.fail(mark, parent.path, f"YAML tag {event.tag} is not allowed on a key; remove it")
            if kind is not yaml.ScalarEvent:
                raise self.fail(mark, parent.path, "a key must be a plain name, not a list or mapping")
            key = event.value
            if key == "<<":
                raise self.fail(mark, parent.path, "YAML merge keys (<<) are not allowed in a card; write the keys out")
            if key in parent.container:
                first = self.marks[parent.path + (key,)]
                raise self.fail(mark, parent.path + (key,), f"duplicate key '{key}' (first written at line {first.line}); keep one")
        except CardError as error:
            self.value_error, self.building = error, False
            return
        parent.key = key
        # A value is reported at its key, where a contributor looks for it.
        parent.key_mark = _mark(mark.line, mark.column)

    def build_value(self, event: Any, kind: type, parent: _Open | None, path: KeyPath) -> dict[str, Any] | list[Any] | None:
        """The value's data, put into its parent; its container when it is a mapping or sequence."""
        if event.anchor is not None:
            entry = self.anchors[event.anchor]
            if kind is yaml.AliasEvent:  # reported at the anchor, where the value is written out
                raise self.fail(entry[0].start_mark, path, "YAML anchors and aliases (&name, *name) are not allowed in a card; write the value out")
            entry[1] = True
        mark = event.start_mark
        if len(path) > MAX_DEPTH:
            raise self.fail(mark, path, _DEPTH_MESSAGE)
        in_mapping = parent is not None and parent.mapping
        self.marks[path] = parent.key_mark if in_mapping else _mark(mark.line, mark.column)  # type: ignore[union-attr]
        tag = event.tag
        container: dict[str, Any] | list[Any] | None = None
        if kind is yaml.ScalarEvent:
            text = event.value
            explicit_str = tag == _STR_TAG  # `!!str 1e9` asks for the text
            if tag is None or tag == "!":  # as the composer resolves it
                tag = _STR_TAG if tag is None and event.style else _resolve_scalar(text, event.implicit[0])
            if tag not in _PLAIN_TAGS:
                raise self.fail(mark, path, f"YAML tag {tag} is not allowed in a card; remove it")
            value, raw, problem = (text, None, None) if explicit_str else _interpret(text, event.style, tag)
            if problem is not None:
                raise self.fail(mark, path, problem)
            if raw is not None:
                self.raw[path] = raw
        else:
            if tag is None or tag == "!":
                tag = _MAP_TAG if kind is yaml.MappingStartEvent else _SEQ_TAG
            if tag not in _PLAIN_TAGS:
                raise self.fail(mark, path, f"YAML tag {tag} is not allowed in a card; remove it")
            value = container = {} if kind is yaml.MappingStartEvent else []
        if parent is None:
            self.root = value
        elif in_mapping:
            parent.container[parent.key] = value
        else:
            parent.container.append(value)
        return container

    def fail(self, mark: Any, path: KeyPath, message: str) -> CardError:
        return CardError([Problem(self.card_path, mark.line + 1, mark.column + 1, format_path(path), message)])

    def limit(self, event: Any, parent: _Open | None, message: str) -> CardError:
        """A limit exceeded at this node, named by its path as the limit checks see it."""
        if parent is None:
            path: KeyPath = ()
        elif not parent.mapping:
            path = parent.scan_path + (parent.index,)
        elif parent.scan_key is None:  # a key
            path = parent.scan_path
        else:
            path = parent.scan_path + (parent.scan_key,)
        return self.fail(event.start_mark, path, message)


def _read(text: str, card_path: Path) -> _Pass:
    if len(text) > _CHECK_FIRST_CHARS:
        _Pass(card_path, build=False).read(text)
    reader = _Pass(card_path)
    reader.read(text)
    return reader


def load_text(text: str, path: Path) -> Card:
    """Parse one card's text; raise CardError naming file:line:column on malformed input."""
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        reader = _read(text, path)
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
    if not reader.documents:
        raise CardError([Problem(path, 1, 1, "(document)", "the card is empty; start from `zoocards new NAME`")])
    data = reader.root
    if not isinstance(data, dict):
        raise CardError([Problem(path, 1, 1, "(document)", "a card must be a mapping of keys (schema_version, id, name, ...)")])
    return Card(path=path, data=data, marks=reader.marks, raw=reader.raw, source=text)


def load_file(path: Path, data: bytes | None = None) -> Card:
    """Read and parse one card file, with size and encoding checks (`data`: its bytes, if read already)."""
    try:
        size = path.stat().st_size if data is None else len(data)
    except OSError as exc:
        raise CardError([Problem(path, 1, 1, "(file)", f"cannot read the card: {exc.strerror}")]) from None
    if size > MAX_CARD_BYTES:
        raise CardError([Problem(path, 1, 1, "(file)", f"the card is {size} bytes, over the {MAX_CARD_BYTES}-byte limit; a family card is a few kB")])
    data = path.read_bytes() if data is None else data
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise CardError([Problem(path, line, column, "(file)", f"byte 0x{data[exc.start]:02x} is not UTF-8; save the card as UTF-8")]) from None
    return load_text(text.replace("\r\n", "\n"), path)


def card_paths(cards_dir: Path) -> list[Path]:
    """Card files of a directory, in a stable order."""
    # By name, as glob("*.yaml") finds them (no hidden files), without sorting Path objects.
    try:
        entries = sorted((entry for entry in os.scandir(cards_dir) if entry.name.endswith(".yaml") and not entry.name.startswith(".")), key=lambda entry: entry.name)
    except (FileNotFoundError, NotADirectoryError):
        return []
    return [Path(entry.path) for entry in entries if entry.is_file()]
