"""Hostile cards: each is refused with one exact, located message, or renders inert.

Refused inputs go through `build.load_and_check` on a real cards directory (file-level
checks included), within bounded time and memory, and through the CLI for a few. Inert
inputs are rendered into every page, converted with the site's Markdown extensions and
scanned: no element or attribute that runs code, and the text shown literally. The
browser test builds a whole site around one card carrying every payload and watches
headless Chromium for anything that runs.
"""

from __future__ import annotations

import ast
import csv
import json
import os
import multiprocessing
import re
import resource
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import markdown
import pytest
import yaml

from tests.conftest import MINIMAL_CARD, ROOT
from tests.hostile.cards import RICH_CARD, dump_card
from tests.hostile.project import copy_project
from zoocards import build, check, compare, render
from zoocards.errors import CardError
from zoocards.load import load_text

ZOOCARDS = Path(sys.executable).with_name("zoocards")


def replaced(old: str, new: str) -> str:
    """MINIMAL_CARD with one edit (the edit must apply, or the case would test nothing)."""
    assert old in MINIMAL_CARD, old
    return MINIMAL_CARD.replace(old, new, 1)


def refusal(cards_dir: Path, files: dict[str, bytes | str]) -> list[str]:
    """Write the files as a cards directory; return the errors load_and_check raises, paths as cards/..."""
    cards_dir.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (cards_dir / name).write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    with pytest.raises(CardError) as caught:
        build.load_and_check(cards_dir)
    return [str(problem).replace(f"{cards_dir}/", "cards/") for problem in caught.value.problems]


PATTERN_ID = ("is not in the expected form. Family id: lower-case letters, digits and '-'. It names the page (models/<id>/) "
              "and the measurement file; it must equal the card's file name without .yaml.")
PATTERN_NAME = "is not in the expected form. A model name exactly as the upstream zoo spells it."
PATTERN_URL = "is not in the expected form. An absolute http(s) URL."
TOP_KEYS = ", ".join(sorted(check.schema()["properties"]))  # grows with the schema; the message lists them all

BAD_TEXT = [
    # a tab in the indentation: the commonest hand-editing mistake
    pytest.param(replaced("    input_size: 224\n    metrics:\n      top1", "    input_size: 224\n\tmetrics:\n      top1"),
                 ["cards/mini.yaml:19:1: (document): YAML syntax error: found a tab character that violates indentation (YAML indents with spaces, never tabs)"], id="tab"),
    # an unclosed quote swallows the rest of the file: name where it was opened
    pytest.param(replaced("dataset: ImageNet-1k", 'dataset: "ImageNet-1k'),
                 ["cards/mini.yaml:38:1: (document): YAML syntax error: found unexpected end of stream, while scanning a quoted scalar that starts at line 11, column 10"], id="unclosed-quote"),
    # one space less turns a key into garbage
    pytest.param(replaced("  zh: 迷你网络\n  en: MiniNet", "  zh: 迷你网络\n en: MiniNet"),
                 ["cards/mini.yaml:6:2: (document): YAML syntax error: did not find expected key, while parsing a block mapping that starts at line 2, column 1"], id="bad-indentation"),
    # a unit glued to a number is text, not a figure
    pytest.param(replaced("input_size: 224\n    metrics:\n      top1", "input_size: 224px\n    metrics:\n      top1"),
                 ["cards/mini.yaml:18:5: models[0].input_size: expected a whole number, got '224px'; write the figure as a plain number, or null when there is none"], id="wrong-type-number"),
    # a scalar where a list belongs, plus the key that was meant to hold the list
    pytest.param(replaced("models:\n  - name: Mini_A", "models: Mini_A\nx:\n  - name: Mini_A"),
                 ["cards/mini.yaml:16:1: models: expected a list, got 'Mini_A'",
                  f"cards/mini.yaml:17:1: x: unknown key 'x'; allowed keys: {TOP_KEYS}"], id="wrong-type-list"),
    # unknown keys are errors, or typos would silently drop data
    pytest.param(replaced("dataset: ImageNet-1k", "dataset: ImageNet-1k\nlicence: MIT"),
                 [f"cards/mini.yaml:12:1: licence: unknown key 'licence'; allowed keys: {TOP_KEYS}"], id="unknown-key"),
    # in plain YAML the second value silently wins
    pytest.param(replaced("      top5: 0.930", "      top5: 0.930\n      top5: 0.931"),
                 ["cards/mini.yaml:22:7: models[0].metrics.top5: duplicate key 'top5' (first written at line 21); keep one"], id="duplicate-key"),
    # two models with one name make every claim about them ambiguous
    pytest.param(replaced("  - name: Mini_B", "  - name: Mini_A"),
                 ["cards/mini.yaml:24:5: models[1].name: model 'Mini_A' is already defined at models[0]; model names are unique within a card",
                  "cards/mini.yaml:37:10: benchmarks[0].rows[1].model: 'Mini_B' is not a model of this card; did you mean 'Mini_A'?"], id="duplicate-model"),
    # a required field left out
    pytest.param(replaced("summary:\n  zh: 用于测试的小卡片。\n  en: A small card for tests.\n", ""),
                 ["cards/mini.yaml:2:1: (top level): missing required key 'summary'"], id="missing-required"),
    # a quoted number is text, and would compare as text
    pytest.param(replaced("      flops: 0.60", '      flops: "0.60"'),
                 ["cards/mini.yaml:22:7: models[0].metrics.flops: expected a number or null, got '0.60'; remove the quotes"], id="number-as-string"),
    # NaN compares false with everything: a verification against it means nothing
    pytest.param(replaced("      flops: 0.60", "      flops: .nan"),
                 ["cards/mini.yaml:22:14: models[0].metrics.flops: .nan is not a finite number; write the figure, or null when the source has none"], id="nan"),
    pytest.param(replaced("      flops: 0.60", "      flops: .inf"),
                 ["cards/mini.yaml:22:14: models[0].metrics.flops: .inf is not a finite number; write the figure, or null when the source has none"], id="inf"),
    # overflows a float: would become inf after parsing
    pytest.param(replaced("      flops: 0.60", "      flops: 1e999"),
                 ["cards/mini.yaml:22:14: models[0].metrics.flops: 1e999 is too large to be a figure"], id="huge-float"),
    # int() refuses more than 4300 digits with a ValueError: must be our error, not a crash
    pytest.param(replaced("      flops: 0.60", "      flops: " + "9" * 5000),
                 ["cards/mini.yaml:22:14: models[0].metrics.flops: 99999999999999999999... (5000 characters) is too large to be a figure"], id="huge-int"),
    # a negative count of operations
    pytest.param(replaced("      flops: 0.60", "      flops: -0.60"),
                 ["cards/mini.yaml:22:7: models[0].metrics.flops: -0.6 is not a positive flops figure; write the figure, or null when there is none"], id="negative-metric"),
    pytest.param(replaced("values: [1.00, 2.50]", "values: [1.00, -2.50]"),
                 ["cards/mini.yaml:36:40: benchmarks[0].rows[0].values[1]: -2.5 is negative; a latency figure cannot be"], id="negative-latency"),
    # a percentage written into a card whose accuracy unit is fraction
    pytest.param(replaced("      top1: 0.7620", "      top1: 76.20"),
                 ["cards/mini.yaml:20:7: models[0].metrics.top1: 76.20 is not a fraction in [0, 1]; write 0.762 or set units.accuracy: percent"], id="percent-as-fraction"),
    # a percentage above 100
    pytest.param(replaced("accuracy: fraction", "accuracy: percent").replace("top1: 0.7620", "top1: 762.0").replace("top5: 0.930", "top5: 93.0").replace("{top1: 0.781, top5: 0.941", "{top1: 78.1, top5: 94.1"),
                 ["cards/mini.yaml:20:7: models[0].metrics.top1: 762.0 is not a percentage in [0, 100]; check the figure against its source"], id="percent-over-100"),
    # the id names files (models/<id>.md, measurements/<id>.json): no path may escape the directory
    pytest.param(replaced("id: mini", "id: ../../x"), [f"cards/mini.yaml:3:1: id: '../../x' {PATTERN_ID}"], id="id-path-traversal"),
    pytest.param(replaced("id: mini", "id: /etc/passwd"), [f"cards/mini.yaml:3:1: id: '/etc/passwd' {PATTERN_ID}"], id="id-absolute-path"),
    # upper case would make ids that differ only in case collide on case-insensitive disks
    pytest.param(replaced("id: mini", "id: Mini"), [f"cards/mini.yaml:3:1: id: 'Mini' {PATTERN_ID}"], id="id-upper-case"),
    # model names go into table cells, anchors and file names: no pipes, markup or newlines
    pytest.param(replaced("  - name: Mini_B", "  - name: Mini|B"), [f"cards/mini.yaml:24:5: models[1].name: 'Mini|B' {PATTERN_NAME}"], id="name-pipe"),
    pytest.param(replaced("  - name: Mini_B", '  - name: "<script>alert(1)</script>"'), [f"cards/mini.yaml:24:5: models[1].name: '<script>alert(1)</script>' {PATTERN_NAME}"], id="name-script"),
    pytest.param(replaced("  - name: Mini_B", '  - name: "Mini\\nB"'), [f"cards/mini.yaml:24:5: models[1].name: 'Mini\\nB' {PATTERN_NAME}"], id="name-newline"),
    # URLs are written raw into Markdown link targets: only http(s), no quotes to break out of attributes
    pytest.param(replaced("dataset: ImageNet-1k", "dataset: ImageNet-1k\ncode: [{label: x, url: 'javascript:alert(1)'}]"),
                 [f"cards/mini.yaml:12:19: code[0].url: 'javascript:alert(1)' {PATTERN_URL}"], id="url-javascript"),
    pytest.param(replaced("dataset: ImageNet-1k", "dataset: ImageNet-1k\ncode: [{label: x, url: 'data:text/html,<script>alert(1)</script>'}]"),
                 [f"cards/mini.yaml:12:19: code[0].url: 'data:text/html,<script>alert(1)</script>' {PATTERN_URL}"], id="url-data"),
    pytest.param(replaced("dataset: ImageNet-1k", "dataset: ImageNet-1k\ncode: [{label: x, url: 'https://x.org/\" onmouseover=\"alert(1)'}]"),
                 ["cards/mini.yaml:12:19: code[0].url: 'https://x.org/\" onmouseover=\"alert(1)' " + PATTERN_URL], id="url-attribute-breakout"),
    # the builder is imported by the measurement worker: only module:callable
    pytest.param(replaced("  - name: Mini_B", "  - name: Mini_B\n    builder: os:system; rm -rf /"),
                 ["cards/mini.yaml:25:5: models[1].builder: 'os:system; rm -rf /' is not in the expected form. module:callable that builds the architecture, resolved inside the "
                  "measurement environment; ppcls modules come from the paddleclas package. Omit when the architecture is not available (the figures are then 'not re-run')."], id="builder-shell"),
    # aliases are how "billion laughs" expands; refused at the first use
    pytest.param(replaced("      top5: 0.930", "      top5: &t 0.930\n      reference_top5: *t"),
                 ["cards/mini.yaml:21:13: models[0].metrics.reference_top5: YAML anchors and aliases (&name, *name) are not allowed in a card; write the value out"], id="alias"),
    # a tag asks the loader to construct an object (here: to run a command)
    pytest.param(replaced("dataset: ImageNet-1k", "dataset: !!python/object/apply:os.system [echo pwned]"),
                 ["cards/mini.yaml:11:10: dataset: YAML tag tag:yaml.org,2002:python/object/apply:os.system is not allowed in a card; remove it"], id="python-tag"),
    # merge keys hide where a value came from
    pytest.param(replaced("    metrics: {top1: 0.781", "    <<: {input_size: 1}\n    metrics: {top1: 0.781"),
                 ["cards/mini.yaml:26:5: models[1]: YAML merge keys (<<) are not allowed in a card; write the keys out"], id="merge-key"),
    # a second document would be silently ignored by a naive loader
    pytest.param(MINIMAL_CARD + "---\nid: other\n",
                 ["cards/mini.yaml:38:1: (document): YAML syntax error: a card is one YAML document, but this line starts another; remove the '---' and what follows or move it to its own card"], id="second-document"),
    # control characters are invisible in an editor
    pytest.param(replaced("dataset: ImageNet-1k", "dataset: Image\x00Net"),
                 ["cards/mini.yaml:11:15: (document): character U+0000 is not allowed in YAML (control characters and non-characters are not); delete it"], id="nul-byte"),
    # an empty file and a file of comments carry no card
    pytest.param("", ["cards/mini.yaml:1:1: (document): the card is empty; start from `zoocards new NAME`"], id="empty"),
    pytest.param("# nothing yet\n", ["cards/mini.yaml:1:1: (document): the card is empty; start from `zoocards new NAME`"], id="comments-only"),
]


@pytest.mark.timeout(10)
@pytest.mark.parametrize("text, expected", BAD_TEXT)
def test_bad_card_text_is_refused_with_a_located_message(tmp_path: Path, text: str, expected: list[str]) -> None:
    assert refusal(tmp_path / "cards", {"mini.yaml": text}) == expected


LAUGHS = "lol: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]\n" for i in range(1, 10)
)

BAD_FILES = [
    # 10 MB: refused from its size, before it is read
    pytest.param({"mini.yaml": MINIMAL_CARD.encode() + b"#" * (10 * 1024 * 1024)},
                 ["cards/mini.yaml:1:1: (file): the card is 10486676 bytes, over the 1000000-byte limit; a family card is a few kB"], id="10MB"),
    # billion laughs: 10^10 strings if expanded; refused at the first alias, before any expansion
    pytest.param({"mini.yaml": LAUGHS}, ["cards/mini.yaml:1:6: l1[0]: YAML anchors and aliases (&name, *name) are not allowed in a card; write the value out"], id="billion-laughs"),
    # 10k nested lists: libyaml's composer recursed into SIGSEGV; the event scan stops it
    pytest.param({"mini.yaml": MINIMAL_CARD + "x: " + "[" * 10000 + "]" * 10000 + "\n"},
                 ["cards/mini.yaml:38:17: x[0][0][0][0][0][0][0][0][0][0][0][0][0]: nesting deeper than 12 levels; no card field is nested that deep"], id="10k-nested-lists"),
    pytest.param({"mini.yaml": MINIMAL_CARD + "x: " + "{a: " * 10000 + "1" + "}" * 10000 + "\n"},
                 ["cards/mini.yaml:38:56: x.a.a.a.a.a.a.a.a.a.a.a.a.a: nesting deeper than 12 levels; no card field is nested that deep"], id="10k-nested-maps"),
    # block nesting by indentation, as deep as the size limit allows
    pytest.param({"mini.yaml": MINIMAL_CARD + "".join(" " * i + "x:\n" for i in range(1000))},
                 ["cards/mini.yaml:52:15: x.x.x.x.x.x.x.x.x.x.x.x.x.x: nesting deeper than 12 levels; no card field is nested that deep"], id="1k-indented-maps"),
    # 300k values in 600 kB: refused while counting, before a node tree is built
    pytest.param({"mini.yaml": MINIMAL_CARD + "x: [" + "0," * 300000 + "0]\n"},
                 ["cards/mini.yaml:38:399777: x[199886]: the card has more than 200000 values; split the family into several cards"], id="300k-values"),
    # Latin-1 bytes: name the byte and where it is
    pytest.param({"mini.yaml": MINIMAL_CARD.encode().replace(b"MiniNet", b"MiniN\xe9t")},
                 ["cards/mini.yaml:6:12: (file): byte 0xe9 is not UTF-8; save the card as UTF-8"], id="latin-1"),
    # UTF-16 (an editor's "Unicode" option)
    pytest.param({"mini.yaml": MINIMAL_CARD.encode("utf-16")}, ["cards/mini.yaml:1:1: (file): byte 0xff is not UTF-8; save the card as UTF-8"], id="utf-16"),
    # ids that differ only in the file name's case would share a page on a case-insensitive disk
    pytest.param({"mini.yaml": MINIMAL_CARD, "Mini.yaml": MINIMAL_CARD},
                 ["cards/Mini.yaml:3:1: id: id 'mini' must equal the file name 'Mini'; rename the file to mini.yaml or change the id",
                  "cards/mini.yaml:3:1: id: id 'mini' is also used by Mini.yaml; every family needs its own id"], id="slug-case-collision"),
    # a copied card whose id was not changed: file name and id disagree, and the id is taken
    pytest.param({"mini.yaml": MINIMAL_CARD, "maxi.yaml": MINIMAL_CARD},
                 ["cards/maxi.yaml:3:1: id: id 'mini' must equal the file name 'maxi'; rename the file to mini.yaml or change the id",
                  "cards/mini.yaml:3:1: id: id 'mini' is also used by maxi.yaml; every family needs its own id"], id="slug-file-vs-id"),
    # models/index.<lang>.md is the family index: this family's page would be overwritten
    pytest.param({"index.yaml": MINIMAL_CARD.replace("id: mini", "id: index")},
                 ["cards/index.yaml:3:1: id: id 'index' is taken by the family index (models/index.md), whose page would replace this family's; choose another id (and file name)"], id="slug-reserved"),
]


@pytest.mark.timeout(10)
@pytest.mark.parametrize("files, expected", BAD_FILES)
def test_bad_card_file_is_refused_in_bounded_time_and_memory(tmp_path: Path, files: dict[str, bytes | str], expected: list[str]) -> None:
    # Peak resident memory of a forked child: composing the 300k-value card alone would take
    # several hundred MB, expanding the laughs far more; the refusals stay near the parent's own.
    cards_dir = tmp_path / "cards"
    cards_dir.mkdir()
    for name, content in files.items():
        (cards_dir / name).write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    messages, seconds, grown_kb = in_child(cards_dir)
    assert [m.replace(f"{cards_dir}/", "cards/") for m in messages] == expected
    assert seconds < 5 and grown_kb < 64 * 1024, f"{seconds:.1f} s, {grown_kb // 1024} MB more"


def _load_and_report(cards_dir: Path, queue: Any) -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    try:
        build.load_and_check(cards_dir)
        messages = ["(accepted)"]
    except CardError as error:
        messages = [str(p) for p in error.problems]
    queue.put((messages, time.perf_counter() - started, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before))


def in_child(cards_dir: Path) -> tuple[list[str], float, int]:
    """load_and_check in a forked process (a crash there cannot take pytest down); messages, seconds, kB of peak growth."""
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_load_and_report, args=(cards_dir, queue))
    child.start()
    try:
        return queue.get(timeout=9)  # type: ignore[no-any-return]
    finally:
        child.join(5)
        assert child.exitcode == 0, f"the loader died with exit code {child.exitcode}"


@pytest.mark.parametrize("encode", [
    lambda text: b"\xef\xbb\xbf" + text.encode(),  # a BOM, as Notepad writes
    lambda text: text.replace("\n", "\r\n").encode(),  # CRLF line ends
    lambda text: b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode(),
], ids=["bom", "crlf", "bom-crlf"])
def test_bom_and_crlf_load_like_the_plain_card(tmp_path: Path, encode: Any) -> None:
    (tmp_path / "mini.yaml").write_bytes(encode(MINIMAL_CARD))
    cards, warnings = build.load_and_check(tmp_path)
    assert (cards[0].data, cards[0].raw, warnings) == (load_text(MINIMAL_CARD, tmp_path / "mini.yaml").data, load_text(MINIMAL_CARD, tmp_path / "mini.yaml").raw, [])


CLI_CASES = [
    pytest.param(BAD_TEXT[1].values[0], BAD_TEXT[1].values[1], id="unclosed-quote"),
    pytest.param(MINIMAL_CARD + "x: " + "[" * 100000 + "]" * 100000 + "\n",
                 ["cards/mini.yaml:38:17: x[0][0][0][0][0][0][0][0][0][0][0][0][0]: nesting deeper than 12 levels; no card field is nested that deep"], id="100k-nested-lists"),
    pytest.param(replaced("      flops: 0.60", "      flops: " + "9" * 5000), BAD_TEXT[13].values[1], id="huge-int"),
    pytest.param(replaced("id: mini", "id: ../../x"), BAD_TEXT[18].values[1], id="id-path-traversal"),
]


@pytest.mark.timeout(30)
@pytest.mark.parametrize("text, expected", CLI_CASES)
def test_cli_check_exits_1_with_the_message_and_no_traceback(tmp_path: Path, text: str, expected: list[str]) -> None:
    (tmp_path / "cards").mkdir()
    (tmp_path / "cards" / "mini.yaml").write_text(text, encoding="utf-8")
    result = subprocess.run([str(ZOOCARDS), "--root", str(tmp_path), "check"], cwd=tmp_path, capture_output=True, text=True, timeout=25)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.splitlines() == expected + [f"{len(expected)} problem(s) in the cards; nothing was written"]


# --------------------------------------------------------------------------- rendered inert

# The Markdown extensions the site is built with, read from mkdocs.yml so the two cannot drift.
SITE_EXTENSIONS = [e if isinstance(e, str) else next(iter(e)) for e in yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))["markdown_extensions"]]

# Each is written into every free-text field of a card; the page must show it as text.
PAYLOADS = [
    "<script>window.__pwned=1</script>",
    "<img src=x onerror=alert(1)>",
    "</td></tr></table><div onmouseover=alert(1)>",
    "[a](javascript:alert(1))",
    '[t](https://example.org "<img src=x onerror=alert(1)>")',
    "![b](data:image/svg+xml,<svg onload=alert(1)>)",
    "[c](data:text/html;base64,PHNjcmlwdD4=)",
    "[c][r]\n\n[r]: javascript:alert(1)",
    "<javascript:alert(1)>",
    'x {: onclick="alert(1)" }',
    "x{:onclick=alert(1)}",
    "{{ 7*7 }} {% if 1 %}IF{% endif %}",
    "a | b\n| c |",
    "&lt;script&gt;",
    "<!-- hide",
    "!!! danger \"<b>x</b>\"",
]
PROSE = [("summary",), ("weights",), ("models", 0, "acknowledged", 0, "reason"), ("benchmarks", 0, "conditions"), ("board", 0, "route")]
PLAIN = [("name",), ("group",), ("papers", 0, "title"), ("papers", 0, "venue"), ("code", 0, "label"), ("benchmarks", 0, "hardware"),
         ("benchmarks", 0, "runtime"), ("benchmarks", 0, "runtime_version"), ("benchmarks", 0, "source"), ("benchmarks", 0, "columns", 2, "label"),
         ("downloads", 0, "target"), ("downloads", 0, "note"), ("board", 0, "hardware"), ("board", 0, "links", 0, "label"), ("dataset",),
         ("comparisons", 0, "title"), ("comparisons", 0, "hardware"), ("comparisons", 0, "columns", 0, "label")]
BILINGUAL = {("name",), ("group",), ("summary",), ("weights",), ("models", 0, "acknowledged", 0, "reason"), ("benchmarks", 0, "conditions"),
             ("board", 0, "route"), ("benchmarks", 0, "columns", 2, "label"), ("downloads", 0, "note"), ("comparisons", 0, "title"),
             ("comparisons", 0, "columns", 0, "label")}
# Accepted by the schema but shown on no page (yet): still scanned above. When a page shows one,
# this test fails until it is removed here, so its literal display gets checked too.
NOT_SHOWN: list[str] = []


def max_length(path: tuple[str | int, ...]) -> int:
    node = check.schema()
    for part in path:
        node = node["items"] if isinstance(part, int) else node["properties"][part]
    return int(node.get("maxLength", 10**9))


def hostile_card(payload: str, short: str | None = None) -> tuple[dict[str, Any], dict[str, str]]:
    """RICH_CARD with `payload` in every free-text field, each behind its own marker; returns data and {marker: field}.

    `short` replaces the payload in fields too short to hold it."""
    data = yaml.safe_load(RICH_CARD)
    markers: dict[str, str] = {}
    for index, path in enumerate(PROSE + PLAIN):
        node = data
        for part in path[:-1]:
            node = node[part]
        marker = f"Z{index:02d}"
        markers[marker] = ".".join(map(str, path))
        value = f"{marker} {payload}"
        if short is not None and len(value) > max_length(path + (("en",) if path in BILINGUAL else ())):
            value = f"{marker} {short}"
        if path in BILINGUAL:
            node[path[-1]] = {"zh": value, "en": value}
        else:
            node[path[-1]] = value
    return data, markers


class _Scan(HTMLParser):
    """Collects what a browser would run, and the text it would show."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.dangers: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "iframe", "object", "embed", "base", "form", "meta"):
            self.dangers.append(f"<{tag}>")
        for name, value in attrs:
            target = re.sub(r"[\s\x00-\x1f]", "", value or "").lower()
            if name.startswith("on"):
                self.dangers.append(f"<{tag} {name}=...>")
            elif name in ("href", "src", "action", "formaction", "xlink:href") and target.startswith(("javascript:", "data:", "vbscript:")):
                self.dangers.append(f"<{tag} {name}={value}>")
            elif tag == "img" and not target.startswith(("https:", "http:")):
                self.dangers.append(f"<img {name}={value}>")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def scan(page_markdown: str) -> tuple[list[str], str]:
    html_text = markdown.markdown(page_markdown, extensions=SITE_EXTENSIONS)
    parser = _Scan()
    parser.feed(html_text)
    return parser.dangers, " ".join(" ".join(parser.text).split())


@pytest.mark.timeout(30)
@pytest.mark.parametrize("payload", PAYLOADS)
def test_card_text_renders_inert_and_literal(payload: str) -> None:
    data, markers = hostile_card(payload)
    card = load_text(dump_card(data), Path("cards/rich.yaml"))
    assert [str(p) for p in check.check_cards([card]) if p.severity == "error"] == []
    plain = load_text(MINIMAL_CARD, Path("cards/mini.yaml"))  # a second family and group, so the index lists groups
    verifications = [dict(v) for v in compare.verify([card, plain], {card.id: [], plain.id: []}, {})]
    pages = render.render_site([card, plain], verifications, {card.id: [], plain.id: []})
    shown = ""
    for path, page in sorted(pages.items()):
        dangers, text = scan(page)
        assert dangers == [], f"{path}: {dangers}"
        shown += text + "\n"
    # Every field is on some page, its payload as typed (newlines may fold to spaces).
    literal = " ".join(payload.split())
    missing = sorted(field for marker, field in markers.items() if f"{marker} {literal}" not in shown)
    assert missing == NOT_SHOWN


def test_payload_fields_cover_every_free_text_field_of_the_schema() -> None:
    """A new free-text field must join PROSE or PLAIN, or the tests above would skip it."""
    schema = check.schema()
    found: set[str] = set()

    def walk(node: dict[str, Any], path: tuple[str, ...]) -> None:
        for key, child in node.get("properties", {}).items():
            if child.get("type") == "string" and "pattern" not in child and "enum" not in child:
                found.add(".".join(path + (key,)))
            walk(child, path + (key,))
        if "items" in node:
            walk(node["items"], path + ("[]",))

    walk(schema, ())
    covered = set()
    for path in PROSE + PLAIN:
        dotted = ".".join("[]" if isinstance(p, int) else p for p in path)
        covered |= {dotted, dotted + ".zh", dotted + ".en"}
    assert found - covered == set()


# --------------------------------------------------------------------------- card text is never template source


def test_no_template_is_ever_compiled_from_a_string() -> None:
    """Templates come from templates/ through FileSystemLoader only; no module compiles text it was handed."""
    offenders = []
    for module in sorted((ROOT / "zoocards").rglob("*.py")):
        tree = ast.parse(module.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in ("from_string", "compile_expression", "compile"):
                if not (isinstance(node.value, ast.Name) and node.value.id in ("re", "ast")):
                    offenders.append(f"{module.relative_to(ROOT)}:{node.lineno}: .{node.attr}")
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("Template", "eval", "exec"):
                offenders.append(f"{module.relative_to(ROOT)}:{node.lineno}: {node.func.id}(...)")
            if isinstance(node, ast.ImportFrom) and node.module == "jinja2" and any(a.name in ("Template", "BaseLoader", "DictLoader", "FunctionLoader") for a in node.names):
                offenders.append(f"{module.relative_to(ROOT)}:{node.lineno}: imports a string template loader")
    assert offenders == []


def test_theme_tooltips_stay_off() -> None:
    """Material's content.tooltips inserts titles and truncated navigation text as HTML: escaped card text would run."""
    features = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))["theme"].get("features", [])
    assert "content.tooltips" not in features


def test_every_jinja_environment_autoescapes() -> None:
    offenders = []
    for module in sorted((ROOT / "zoocards").rglob("*.py")):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "Environment":
                autoescape = [k.value for k in node.keywords if k.arg == "autoescape"]
                if not (autoescape and isinstance(autoescape[0], ast.Constant) and autoescape[0].value is True):
                    offenders.append(f"{module.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []
    assert render.environment().autoescape is True


# --------------------------------------------------------------------------- the built site in a browser

BROWSER_PAYLOAD = (
    "<script>window.__pwned='script'</script><img src=x onerror=\"window.__pwned='img';alert(1)\"> "
    "[a](javascript:window.__pwned='link') {: onclick=\"window.__pwned='attr'\" } {{ 7*7 }} | end"
)
SHORT_PAYLOAD = "<img src=x onerror=alert(1)>{{ 7*7 }}|"  # for fields too short for the long one


@pytest.mark.browser
@pytest.mark.timeout(120)
def test_built_site_runs_nothing_from_a_hostile_card(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from zoocards.browser import chromium_available, chromium_page, serve_directory

    if not chromium_available():
        pytest.skip("headless Chromium is not available")
    for variable in ("ZOOCARDS_CARDS_DIR", "ZOOCARDS_MEASUREMENTS_DIR"):
        monkeypatch.delenv(variable, raising=False)
    project = copy_project(tmp_path / "zoo")
    data, _ = hostile_card(BROWSER_PAYLOAD, short=SHORT_PAYLOAD)
    data["id"] = "hostile"
    (project.cards_dir / "hostile.yaml").write_text(dump_card(data), encoding="utf-8")
    monkeypatch.chdir(project.root)
    build.build_site(project)

    pages = ["models/hostile/", "en/models/hostile/", "models/", "en/models/", "zoo/verification/", "en/zoo/verification/"]
    pages += [p for p in ("zoo/leaderboard/", "zoo/plots/", "en/zoo/leaderboard/", "en/zoo/plots/") if (project.site_dir / p / "index.html").is_file()]
    dialogs: list[str] = []
    with serve_directory(project.site_dir) as base, chromium_page() as page:
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        for relative in pages:
            page.goto(f"{base}/{relative}")
            page.wait_for_load_state("load")
            hovered: set[str] = set()
            # The theme's scripts act on hover (tooltips of titles and truncated navigation
            # entries): hover one element of each kind and text, as a visitor would.
            for element in page.query_selector_all("[title], .md-nav__link, .zc-badge"):
                key = element.evaluate("e => e.className + '|' + (e.getAttribute('title') || e.textContent)")
                if key not in hovered and element.is_visible():
                    hovered.add(key)
                    element.hover(timeout=1000, force=True)
            assert page.evaluate("window.__pwned === undefined"), f"{relative}: payload ran ({page.evaluate('window.__pwned')})"
            assert page.evaluate(INLINE_CODE) == [], f"{relative}: markup that can run code"
            if "hostile" in relative:
                assert "{{ 7*7 }}" in page.inner_text("article")
    assert dialogs == []
    # The search index is inserted as HTML by the theme: the payload must be in it, escaped.
    index = (project.site_dir / "search" / "search_index.json").read_text(encoding="utf-8")
    assert "&lt;img src=x onerror=" in index and "<img src=x" not in index and "<script>window" not in index


# Every inline handler, javascript:/data: target and inline script of a page, whatever is hovered or not.
INLINE_CODE = """() => {
  const found = [];
  for (const e of document.querySelectorAll('*')) {
    for (const a of e.attributes) {
      const value = a.value.replace(/[\\s\\u0000-\\u001f]/g, '').toLowerCase();
      if (a.name.startsWith('on') || (['href', 'src', 'action', 'formaction'].includes(a.name) && /^(javascript|data|vbscript):/.test(value)))
        found.push(e.tagName + ' ' + a.name + '=' + a.value);
    }
    if (e.tagName === 'SCRIPT' && !e.src && /__pwned|alert\\(/.test(e.textContent)) found.push('SCRIPT ' + e.textContent.slice(0, 80));
  }
  return found;
}"""


# --------------------------------------------------------------------------- exports

HOSTILE_NAME = 'Evil, "Net"\n| a | b |\r\n<script>alert(1)</script> {{ 7*7 }} =HYPERLINK("http://x")'


@pytest.mark.timeout(60)
def test_hostile_family_name_survives_the_json_and_csv_exports(tmp_path: Path) -> None:
    exports = pytest.importorskip("zoocards.exports")
    pytest.importorskip("pandas")
    data = yaml.safe_load(MINIMAL_CARD)
    data["name"] = {"zh": HOSTILE_NAME, "en": HOSTILE_NAME}
    data["group"] = {"zh": HOSTILE_NAME, "en": HOSTILE_NAME}
    card = load_text(dump_card(data), tmp_path / "mini.yaml")
    assert [p for p in check.check_cards([card]) if p.severity == "error"] == []
    verifications = [dict(v) for v in compare.verify([card], {card.id: []}, {})]
    exports.write_exports(tmp_path / "api", [card], verifications, {card.id: []})

    with (tmp_path / "api" / "models.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["model"] for row in rows] == ["Mini_A", "Mini_B"]  # the name's commas, quotes and newlines split nothing
    assert {(row["family_en"], row["group_zh"]) for row in rows} == {(HOSTILE_NAME, HOSTILE_NAME)}
    records = json.loads((tmp_path / "api" / "models.json").read_text(encoding="utf-8"))
    assert [(r["model"], r["family_en"]) for r in records] == [("Mini_A", HOSTILE_NAME), ("Mini_B", HOSTILE_NAME)]
