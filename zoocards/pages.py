"""What every generated page is made with: escaping, the string catalogue, the Jinja environment,
a figure's display text and badge, and the per-card pieces the zoo-wide pages are joined from.

The page builders (`render.py` for family and report pages, `views.py` for the leaderboard and
plots, `zoo.py` for the zoo's rows) all import this module and none of them is imported here,
so the modules form no cycle (tests/test_imports.py). Card text is data, never template source:
Jinja autoescaping HTML-escapes every card value, and the `prose` and `cell` filters neutralise
the Markdown constructs that could carry markup (links to non-http targets, attribute lists,
table pipes).
"""

from __future__ import annotations

import functools
import html
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, TypeVar

import yaml
from jinja2 import Environment, FileSystemBytecodeCache, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape

try:  # markupsafe's C escaper, without the Markup constructor around it (see fast_escape)
    from markupsafe._speedups import _escape_inner
except ImportError:  # pragma: no cover - markupsafe without its C speedups
    _escape_inner = None  # type: ignore[assignment]

from zoocards import plots, units
from zoocards.load import format_path

LANGUAGES = ("zh", "en")
TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
BADGE_SYMBOL = {"verified": "✓", "mismatch": "✗", "not_run": "○", "failed": "⚠"}


T = TypeVar("T")
D = TypeVar("D", bound=Mapping[str, Any])


@dataclass
class Fragments:
    """Per-card pieces of the zoo-wide pages, kept while what they show of the card is unchanged.

    `digests` maps each card id to a hash of everything the zoo-wide pages can show of that card
    (and of the templates and host): a piece is made again only when that hash, or the context it
    was made in (the leaderboard's columns, a chart's axes), changed. So after one card changes,
    the leaderboard, the verification report and the plots are joined from 999 pieces kept and
    one made anew. Without a `Fragments`, every piece is made (the pure path, as in tests).
    """

    digests: dict[str, str]
    memo: dict[tuple[str, ...], tuple[str, Any]] = field(default_factory=dict)
    used: set[tuple[str, ...]] = field(default_factory=set)
    made: set[str] = field(default_factory=set)  # cards with pieces made since the owner last saved them
    circles: plots.Memo = field(default_factory=plots.Memo)  # the plots' points, keyed by their content

    def get(self, kind: str, card_id: str, context: str, make: Callable[[], T]) -> T:
        key, want = (kind, card_id, context), self.digests.get(card_id, "")
        hit = self.memo.get(key)
        if hit is None or hit[0] != want or not want:
            hit = (want, make())
            self.memo[key] = hit
            self.made.add(card_id)
        self.used.add(key)
        return hit[1]  # type: ignore[no-any-return]

    def prune(self) -> None:
        """Forget the pieces this generation did not use (removed cards, old contexts)."""
        for key in set(self.memo) - self.used:
            del self.memo[key]
        self.used = set()
        self.circles.rotate()


def piece(fragments: Fragments | None, kind: str, card_id: str, context: str, make: Callable[[], T]) -> T:
    """`make()`, or the piece `fragments` kept for it."""
    return make() if fragments is None else fragments.get(kind, card_id, context, make)


# --------------------------------------------------------------------------- escaping

# The target, and whether the link ends right after it: a link title ("...") is refused,
# as a title is inserted as HTML wherever the theme turns titles into tooltips.
_LINK_TARGET = re.compile(r"\]\(\s*([^)\s]*)(\s*\))?")
_SAFE_TARGET = re.compile(r"^(https?://|#|\.{0,2}/?[A-Za-z0-9_][A-Za-z0-9_./-]*\.md(#[\w.-]*)?$)")
# Another family's card, optionally one of its models: `card:pp-lcnet` or `card:pp-lcnet#PPLCNet_x1_0`
# (zoocards check refuses every other relative link, and references to cards that do not exist).
_CARD_REFERENCE = re.compile(r"^card:([a-z0-9][a-z0-9-]*)(?:#([\w.-]+))?$")
# `[r]: javascript:...` on a line of its own would give `[text][r]` any target: none are allowed.
_REFERENCE_DEFINITION = re.compile(r"^( {0,3})\[([^\]\n]*)\]:", re.MULTILINE)


def prose(text: str) -> Markup:
    """Card Markdown made inert: no HTML, no attribute lists, links only to http(s) or pages."""
    escaped = html.escape(text, quote=False).replace("{", "&#123;").replace("}", "&#125;")

    def neutralise(match: re.Match[str]) -> str:
        target = match.group(1)
        reference = _CARD_REFERENCE.match(target)
        if reference and match.group(2):
            # Prose is shown on family pages, which sit side by side: another card is `<id>.md`.
            fragment = f"#{anchor(reference.group(2))}" if reference.group(2) else ""
            return f"]({reference.group(1)}.md{fragment}{match.group(2)}"
        return match.group(0) if _SAFE_TARGET.match(target) and match.group(2) else "]&#40;" + match.group(0)[2:]

    escaped = _REFERENCE_DEFINITION.sub(r"\1&#91;\2&#93;:", escaped)
    return Markup(_LINK_TARGET.sub(neutralise, escaped).strip())


def cell(text: Any) -> Markup:
    """Any value made safe for one Markdown table cell (one line, no pipes, no HTML)."""
    # Names and labels repeat on a page (and badges' titles across pages): strings are memoised.
    # Only exact strs: equal values of other types can print differently (0.0, -0.0, False).
    return _cell_of_str(text) if type(text) is str else _cell(text)


def _cell(text: Any) -> Markup:
    flat = " ".join(str(text).split())
    escaped = html.escape(flat, quote=True).replace("|", "&#124;").replace("{", "&#123;").replace("}", "&#125;")
    return Markup(escaped.replace("[", "&#91;").replace("]", "&#93;").replace("*", "&#42;").replace("_", "&#95;").replace("`", "&#96;"))


_cell_of_str = functools.lru_cache(maxsize=8192)(_cell)


def attr(text: Any) -> Markup:
    """A value for an HTML attribute written into Markdown: escaped like a cell.

    Python-Markdown runs its inline patterns (code spans, links, images) inside the
    attributes of raw inline HTML, and an `<img alt="...">` made there closes the
    attribute's quotes, so Markdown syntax must not survive here either. (Material's
    content.tooltips would insert the decoded title as HTML: the site leaves it off.)"""
    return cell(text)


_NOT_IN_ANCHOR = re.compile(r"[^a-z0-9_-]+")


@functools.lru_cache(maxsize=8192)  # a model's anchor is asked for by each table it is in, on both pages
def anchor(name: str) -> str:
    """The id of a model's row: stable, lower-case, safe in a URL fragment."""
    return "model-" + _NOT_IN_ANCHOR.sub("-", name.lower()).strip("-")


# --------------------------------------------------------------------------- catalogue


@functools.lru_cache(maxsize=8)
def _catalogue(templates_dir: Path, lang: str) -> dict[str, str]:
    with (templates_dir / "i18n" / f"{lang}.yaml").open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)  # type: ignore[no-any-return]


def strings(templates_dir: Path, lang: str) -> dict[str, Markup]:
    """Interface strings of one language; they are ours, so trusted Markdown."""
    return dict(_strings(templates_dir, lang))  # a copy: the caller may add to it


@functools.lru_cache(maxsize=8)
def _strings(templates_dir: Path, lang: str) -> dict[str, Markup]:
    # Built once per catalogue, not four times per family (forget_templates clears it).
    return {key: Markup(value) for key, value in _catalogue(templates_dir, lang).items()}


_BYTECODE_DIR: Path | None = None


def use_bytecode_cache(directory: Path | None) -> None:
    """Keep compiled templates in `directory` (keyed by their source), so a new process does not compile them again."""
    global _BYTECODE_DIR
    if directory != _BYTECODE_DIR:
        _BYTECODE_DIR = directory
        environment.cache_clear()


_DICT_ATTRIBUTES = frozenset(dir(dict))


class _Environment(Environment):
    """Jinja's environment, with two shortcuts on the hottest paths of a render; output unchanged.

    A page of ~300 `{{ }}` costs ~300 attribute lookups and escapes: at 1000 families those were
    a fifth of the family pages' time (tests/test_render.py checks both against Jinja's own)."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        # `t.title` on a dict: Jinja tries getattr first, which raises (an exception per lookup).
        # A plain dict's attributes are exactly dir(dict), so the key is looked up straight away.
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except (TypeError, LookupError):
                return self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)

    def get_template(self, *args: Any, **kwargs: Any) -> Any:
        template = super().get_template(*args, **kwargs)
        # What `{{ x }}` calls when autoescaping: the name the compiled template's module imported.
        template.root_render_func.__globals__["escape"] = fast_escape
        return template


_new_markup = str.__new__


def markup(text: str) -> Markup:
    """`Markup(text)` for a `str` known to be safe, without the constructor's checks (a hot path)."""
    return _new_markup(Markup, text)


def fast_escape(value: Any) -> Markup:
    """markupsafe's `escape`, with its result for the commonest inputs made directly: Markup (immutable) is
    returned as is, and a str is escaped by markupsafe's own C escaper when present."""
    if type(value) is Markup:
        return value
    if type(value) is str and _escape_inner is not None:
        return _new_markup(Markup, _escape_inner(value))
    return escape(value)


@functools.lru_cache(maxsize=4)
def environment(templates_dir: Path = TEMPLATES_DIR) -> Environment:
    """The one Jinja environment every page is rendered with (templates compile once)."""
    bytecode = None
    if _BYTECODE_DIR is not None:
        _BYTECODE_DIR.mkdir(parents=True, exist_ok=True)
        bytecode = FileSystemBytecodeCache(str(_BYTECODE_DIR))
    env = _Environment(
        loader=FileSystemLoader(str(templates_dir)),
        bytecode_cache=bytecode,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=True,
        auto_reload=False,  # no stat per template lookup: forget_templates() starts anew when the templates change
        # `{#id}` is how headings get their ids in Markdown, so Jinja comments use {## ##}.
        comment_start_string="{##",
        comment_end_string="##}",
    )
    env.filters["prose"] = prose
    env.filters["cell"] = cell
    env.filters["attr"] = attr
    env.filters["anchor"] = anchor
    return env


# --------------------------------------------------------------------------- figures


def display_text(raw: str | None, value: Any, metric: str, unit: str, convention: str = "MACs") -> str:
    """A claimed figure as the family pages show it, from its text as written (`card.raw[path]`, None
    if absent) and its value; the zoo-wide pages and exports reuse it, so figures match."""
    return _display_text(str(raw if raw is not None else value), metric, unit, convention)


@functools.lru_cache(maxsize=16384)
def _display_text(number: str, metric: str, unit: str, convention: str) -> str:
    # Keyed by the text of the claim (what as_decimal reads): each figure of a family is shown on
    # both pages and in the zoo's rows, and is converted once.
    return units.plain(units.to_display(metric, units.as_decimal(number), unit, convention))


def badge(verification: dict[str, Any] | None, t: dict[str, Markup]) -> Markup:
    """The small status mark beside a figure, with the evidence in its tooltip."""
    if verification is None:
        return Markup("")
    zh = t["lang_name"] == "中文"
    status = verification["status"]
    measured = verification.get("measured")
    acknowledged = verification.get("acknowledged")
    # A page shows a handful of distinct badges thousands of times: each is built once, keyed
    # by exactly what it shows. The measured value is keyed with its repr too: 0.0 == -0.0 == False,
    # yet each prints differently.
    return _badge(
        status, str(t[f"status_{status}"]),
        None if measured is None else (str(t["measured"]), measured, repr(measured), str(verification["unit"])),
        verification.get("reason_zh") if zh else verification.get("reason"),
        None if not acknowledged else (str(t["acknowledged"]), acknowledged["zh" if zh else "en"]),
    )


@functools.lru_cache(maxsize=4096)
def _badge(status: str, status_text: str, measured: tuple[str, Any, str, str] | None, reason: str | None, acknowledged: tuple[str, str] | None) -> Markup:
    parts = [status_text]
    value = None
    if measured is not None:
        label, value, _, unit = measured
        parts.append(f"{label} {units.plain(Decimal(str(value)))} {unit}")
    if reason:
        parts.append(str(reason))
    if acknowledged is not None:
        parts.append(f"{acknowledged[0]}: {acknowledged[1]}")
    title = attr(" · ".join(parts))
    extra = ""
    if status == "mismatch" and value is not None:
        # Four significant figures beside the claim; the tooltip and the report keep every digit.
        extra = " " + units.plain(Decimal(f"{value:.4g}"))
    return Markup(f' <span class="zc-badge zc-{status}" title="{title}">{BADGE_SYMBOL[status]}{extra}</span>')


# A verification's `source` for a figure's key path (load.format_path, memoised: every card
# asks for the same few paths, on both its pages and in its zoo rows).
source_of = functools.lru_cache(maxsize=8192)(format_path)


def table_row(cells: Iterable[Any]) -> Markup:
    """`| a | b |`: one Markdown table row, each cell escaped as `{{ a }}` would be (Markup is kept).

    The long tables of a family page are joined here, not in its template: a page holds ~40 rows
    of ~8 cells, and each `{{ }}` costs a lookup, an escape and a new Markup. (An int's digits
    need no escaping.)"""
    return markup("| " + " | ".join([c if type(c) is Markup else str(c) if type(c) is int else fast_escape(c) for c in cells]) + " |")


@functools.lru_cache(maxsize=8192)  # each model is linked from several tables, on both pages
def model_link(name: str, target: str) -> Markup:
    """`[name](#target)`: a link to a model's row of the metrics table."""
    return Markup(f"[{cell(name)}](#{escape(target)})")


def figure_cell(text: Markup, mark: Markup) -> Markup:
    """A figure (its text escaped already, see `figure_claims`) and its badge as one table cell,
    made here rather than by a macro per cell: the tables of a page hold a hundred figures."""
    return markup(f"{text}{mark}")  # an f-string: Markup's + would escape and copy both again


def group_by_card(items: Iterable[D]) -> dict[str, list[D]]:
    """Verifications or zoo entries by their "card", each card's in their order."""
    grouped: dict[str, list[D]] = {}
    for item in items:
        grouped.setdefault(item["card"], []).append(item)
    return grouped


def forget_templates() -> None:
    """Drop compiled templates and strings, so edits show up under `mkdocs serve`."""
    _catalogue.cache_clear()
    _strings.cache_clear()
    environment.cache_clear()
