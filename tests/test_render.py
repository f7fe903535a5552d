"""render: the optional metrics columns (resize short, storage), the compared-models tables, and the table rows and badges built in Python."""

from __future__ import annotations

from pathlib import Path

import pytest
from markupsafe import Markup, escape

from tests.conftest import MINIMAL_CARD
from zoocards import compare, pages, render
from zoocards.load import Card, load_text

HOST = {"cpu": "Test CPU", "cores": 2, "gpus": [], "machine": "x86_64", "memory_gb": 8.0, "os": "Linux"}

# The minimal card plus: a file size (in KB, shown in MB), an eval resize on one model,
# a benchmark row run with its own resize, and a table quoting two models of other families.
EXTENDED = (
    MINIMAL_CARD
    .replace("  params: M\n", "  params: M\n  storage: KB\n", 1)
    .replace("    input_size: 224\n    metrics:\n      top1: 0.7620", "    input_size: 224\n    eval: {resize_short: 256}\n    metrics:\n      storage: 24800\n      top1: 0.7620", 1)
    .replace("{model: Mini_B, values: [1.50, null]}", "{model: Mini_B, resize_short: 320, values: [1.50, null]}", 1)
) + """\
comparisons:
  - title: {zh: 与其他系列的对比, en: Compared with other families}
    hardware: NVIDIA V100
    columns:
      - {metric: top1, unit: fraction}
      - {metric: latency, unit: s, batch_size: 1}
    rows:
      - {model: OtherNet_A, input_size: 256, values: [0.701, 0.0024]}
      - {model: OtherNet_B, values: [0.688, null]}
"""


def _card(text: str) -> Card:
    return load_text(text, Path("cards/mini.yaml"))


def _table_lines(page: str) -> list[str]:
    return [line for line in page.splitlines() if line.startswith("|")]


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("en", [
            "| Model | Input size | Resize short | Top-1 (%) | Top-5 (%) | Ref. top-1 (%) | Ref. top-5 (%) | Compute (G MACs) | Params (M) | Storage (MB) |",
            "| :-- | --: | --: | --: | --: | --: | --: | --: | --: | --: |",
            '| <a id="model-mini_a"></a>[Mini&#95;A](#model-mini_a) | 224 | 256 | 76.20 | 93.0 |  |  | 0.60 | 6.2 | 24.800 |',
            '| <a id="model-mini_b"></a>[Mini&#95;B](#model-mini_b) | 224 |  | 78.1 | 94.1 |  |  | 1.2 | 9.1 |  |',
        ]),
        ("zh", [
            "| 模型 | 输入尺寸 | 缩放短边 | Top-1 (%) | Top-5 (%) | 参考 Top-1 (%) | 参考 Top-5 (%) | 计算量 (G MACs) | 参数量 (M) | 存储大小 (MB) |",
            "| :-- | --: | --: | --: | --: | --: | --: | --: | --: | --: |",
            '| <a id="model-mini_a"></a>[Mini&#95;A](#model-mini_a) | 224 | 256 | 76.20 | 93.0 |  |  | 0.60 | 6.2 | 24.800 |',
            '| <a id="model-mini_b"></a>[Mini&#95;B](#model-mini_b) | 224 |  | 78.1 | 94.1 |  |  | 1.2 | 9.1 |  |',
        ]),
    ],
)
def test_resize_short_and_storage_columns_appear_when_a_model_has_them(lang: str, expected: list[str]) -> None:
    page = render.render_family(_card(EXTENDED), [], [])[f"models/mini.{lang}.md"]
    assert _table_lines(page)[:4] == expected


def test_cards_without_them_keep_the_plain_metrics_table() -> None:
    page = render.render_family(_card(MINIMAL_CARD), [], [])["models/mini.en.md"]
    assert _table_lines(page)[0] == "| Model | Input size | Top-1 (%) | Top-5 (%) | Ref. top-1 (%) | Ref. top-5 (%) | Compute (G MACs) | Params (M) |"
    assert "Resize short" not in page and "Compared models" not in page and "#comparisons" not in page


def test_a_benchmark_row_run_with_its_own_resize_shows_it() -> None:
    page = render.render_family(_card(EXTENDED), [], [])["models/mini.en.md"]
    assert "| Model | Size | Resize short | Latency (ms)<br>FP32 bs=1 | Latency (ms)<br>FP32 bs=4 |" in _table_lines(page)
    assert "| [Mini&#95;B](#model-mini_b) | 224 | 320 | 1.50 |  |" in _table_lines(page)


@pytest.mark.parametrize(
    ("lang", "heading", "intro", "caption", "header"),
    [
        ("en", "#### 1.2.1 Compared models {#comparisons}",
         "Models of other families with the figures the source quotes to compare them with this family: shown as quoted, not re-run here.",
         "**Compared with other families · NVIDIA V100**", "| Model | Size | Top-1 (%) | Latency (ms)<br>bs=1 |"),
        ("zh", "#### 1.2.1 对比模型 {#comparisons}",
         "来源为与本系列对比而引用的其他系列模型及其数值：按原样列出，本站不复测。",
         "**与其他系列的对比 · NVIDIA V100**", "| 模型 | 尺寸 | Top-1 (%) | 延迟 (ms)<br>bs=1 |"),
    ],
)
def test_compared_models_render_in_their_own_subsection(lang: str, heading: str, intro: str, caption: str, header: str) -> None:
    page = render.render_family(_card(EXTENDED), [], [])[f"models/mini.{lang}.md"]
    section = page.split(heading + "\n\n", 1)[1].split("\n### ", 1)[0]
    assert section.startswith(f"{intro}\n\n{caption}\n\n{header}\n| :-- | --: | --: | --: |\n")
    # Other families' models are plain text (their pages belong to other cards); figures in the site's units, no badge.
    assert "| OtherNet&#95;A | 256 | 70.1 | 2.4 |\n| OtherNet&#95;B |  | 68.8 |  |\n" in section
    assert f"- [1.2.1 {heading.split(' ', 2)[2].split(' {')[0]}](#comparisons)" in page


def test_storage_carries_its_not_rerun_badge_and_comparisons_carry_none() -> None:
    card = _card(EXTENDED)
    verifications = [dict(v) for v in compare.verify([card], {card.id: []}, HOST)]
    page = render.render_family(card, verifications, [])["models/mini.en.md"]
    row = next(line for line in _table_lines(page) if "model-mini_a" in line and "Resize" not in line)
    assert row.endswith('| 24.800 <span class="zc-badge zc-not_run" title="not re-run · file size of the released weights; not re-run">○</span> |')
    compared = next(line for line in _table_lines(page) if "OtherNet&#95;A" in line)
    assert "zc-badge" not in compared


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        # card text is escaped as autoescaping escapes it
        (["<b>x</b>", "a & 'b' \"c\""], "| &lt;b&gt;x&lt;/b&gt; | a &amp; &#39;b&#39; &#34;c&#34; |"),
        # Markup (a badge, a cell() value) is ours and kept as is; ints need no escaping
        ([Markup('<span title="t">✓</span>'), 224, ""], '| <span title="t">✓</span> | 224 |  |'),
        # bool and None print as Jinja printed them
        ([True, None], "| True | None |"),
    ],
)
def test_table_row_escapes_every_cell_as_the_template_did(cells: list[object], expected: str) -> None:
    assert render.table_row(cells) == expected


def test_memoised_badges_tell_apart_measurements_that_compare_equal() -> None:
    t = render.strings(render.TEMPLATES_DIR, "en")
    titles = [render.badge({"status": "mismatch", "measured": measured, "unit": "M"}, t) for measured in (0.0, -0.0, 0, 0.0)]
    # 0.0 == -0.0 == 0, yet each prints differently; the memo must not hand one the other's badge
    assert [str(title).split('title="')[1].split('"')[0] for title in titles] == ["mismatch · measured 0.0 M", "mismatch · measured -0.0 M", "mismatch · measured 0 M", "mismatch · measured 0.0 M"]


class _Html:
    def __html__(self) -> str:
        return "<i>ours</i>"


class _Text(str):
    pass


class _Safe(Markup):
    pass


_VALUES: list[object] = ["", "plain", "<b>x</b> & 'y' \"z\"", "模型 <1>", Markup("<b>ok</b>"), _Safe("<u>"), _Text("<s>"), _Html(), 7, 2.5, None, True, [1, "<"]]


@pytest.mark.parametrize("value", _VALUES, ids=repr)
def test_fast_escape_gives_what_markupsafe_gives(value: object) -> None:
    fast, reference = render.fast_escape(value), escape(value)
    assert type(fast) is Markup and fast == reference


_LOOKUPS = """{{ d.title }}|{{ d.items is defined }}|{{ d.get("title") }}|{{ d.keys() | list | length }}|{{ d.missing is defined }}|{{ o.title }}|{{ o.missing is defined }}|{{ m.x }}|{{ s.upper() }}|{{ l.0 }}|{% for v in vs %}{{ v }};{% endfor %}"""


def test_the_environment_looks_up_and_escapes_as_jinja_does() -> None:
    """render's environment shortcuts dict lookups and escaping; a page must come out as plain Jinja renders it."""
    import jinja2

    class Obj:
        title = "<attr>"

    context = {"d": {"title": "<key>", "items": "a key named like a dict method"}, "o": Obj(), "m": {"x": Markup("<b>")},
               "s": "abc", "l": ["<first>"], "vs": _VALUES}
    ours = render.environment(render.TEMPLATES_DIR).from_string(_LOOKUPS)
    ours.root_render_func.__globals__["escape"] = render.fast_escape  # what get_template does to a file's template
    plain = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(_LOOKUPS)
    assert ours.render(**context) == plain.render(**context)
    assert "<key>" not in ours.render(**context) and "&lt;key&gt;" in ours.render(**context)
    with pytest.raises(jinja2.UndefinedError):
        render.environment(render.TEMPLATES_DIR).from_string("{{ d.missing }}").render(d={})


def test_pages_render_as_plain_jinja_renders_them(monkeypatch: pytest.MonkeyPatch) -> None:
    """The embedded cards' family and zoo pages, rendered by render's environment and by Jinja's own."""
    import jinja2

    from zoocards import build, measure

    cards, _ = build.load_and_check(Path(__file__).resolve().parents[1] / "cards")
    cards.append(_card(EXTENDED))
    records = {card.id: measure.load_records(Path(__file__).resolve().parents[1] / "measurements", card.id) for card in cards}
    verifications = [dict(v) for v in compare.verify(cards, records, HOST)]

    def all_pages() -> dict[str, str]:
        made = render.render_zoo_pages(cards, verifications, records, render.TEMPLATES_DIR, None, None)
        for card in cards:
            made.update(render.render_family(card, verifications, records[card.id]))
        return made

    ours = all_pages()
    monkeypatch.setattr(pages, "_Environment", jinja2.Environment)
    render.forget_templates()
    try:
        assert type(render.environment(render.TEMPLATES_DIR)) is jinja2.Environment
        assert all_pages() == ours
    finally:
        monkeypatch.undo()
        render.forget_templates()


def test_a_disagreement_links_to_the_model_row_as_its_card_spells_the_name() -> None:
    # The zoo writes LeViT-128 on its family page and LeViT_128 in its lists: a disagreement names
    # the model by its canonical spelling, and links to the row the card's spelling anchors.
    card = _card(MINIMAL_CARD.replace("Mini_A", "Mini-A"))
    t = render.strings(render.TEMPLATES_DIR, "en")
    disagreement = {"model": "Mini_A", "card": "mini", "metric": "top1", "unit": "percent", "hardware": None, "precision": None, "batch_size": None,
                    "threads": None, "values": [], "spread": 0.1, "ratio": None}
    [row] = render.disagreement_rows([disagreement], [card], [], "en", t)
    assert "](../models/mini.md#model-mini-a)" in row


def test_an_export_with_non_finite_outputs_renders_without_error_figures() -> None:
    # RedNet50's onnxruntime output is non-finite: the record has no error figures to show
    card = _card(MINIMAL_CARD.replace("  - name: Mini_A\n", "  - name: Mini_A\n    builder: tests.fake_builders:TinyNet\n", 1))
    record = {"model": "Mini_A", "kind": "export", "status": "ok", "reason": None, "measured_at": "2026-12-07T07:00:00Z", "env": None,
              "result": {"passed": False, "max_abs_err": None, "max_rel_err": None, "opset": 13, "reason": "onnxruntime produced non-finite values"}}
    verifications = [dict(v) for v in compare.verify([card], {card.id: [record]}, HOST)]
    page = render.render_family(card, verifications, [record])["models/mini.en.md"]
    row = next(line for line in _table_lines(page) if "model-mini_a" in line and "| 13 |" in line)
    assert "non-finite" in row and row.endswith("|  |  | 13 |")
