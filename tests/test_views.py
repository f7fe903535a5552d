"""Leaderboard and plots: same figures and badges as the family pages, both languages, plots per family."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import MINIMAL_CARD, ROOT
from zoocards import compare, render, views
from zoocards.load import Card, card_paths, load_file, load_text

PINNED_HOST = {"cpu": "Test CPU", "cores": 2, "gpus": [], "machine": "x86_64", "memory_gb": 8.0, "os": "Linux"}


@pytest.fixture(scope="module")
def zoo_pages() -> tuple[list[Card], dict[str, str]]:
    cards = [load_file(p) for p in card_paths(ROOT / "cards")]
    verifications = [dict(v) for v in compare.verify(cards, {}, PINNED_HOST)]
    return cards, render.render_site(cards, verifications, {})


def _row(page: str, card_id: str, model: str) -> str:
    rows = [line for line in page.splitlines() if f"](../models/{card_id}.md#{render.anchor(model)})" in line]
    assert len(rows) == 1, f"{card_id}/{model}: {len(rows)} rows"
    return rows[0]


def _cells(line: str) -> list[str]:
    """A Markdown table row's cells (a cell's own pipes are escaped as &#124;), empty ones kept."""
    return [c.strip() for c in line.strip().removeprefix("|").removesuffix("|").split("|")]


def test_every_model_has_one_leaderboard_row_with_its_family_page_figures(zoo_pages: tuple[list[Card], dict[str, str]]) -> None:
    cards, pages = zoo_pages
    for lang in render.LANGUAGES:
        board = pages[f"zoo/leaderboard.{lang}.md"]
        for card in cards:
            family_page = pages[f"models/{card.id}.{lang}.md"]
            for model in card.data["models"]:
                cells = _cells(_row(board, card.id, model["name"]))
                family_row = next(line for line in family_page.splitlines() if f'<a id="{render.anchor(model["name"])}"></a>' in line)
                family = _cells(family_row)
                # the family table's columns by their headers: optional ones (resize short, storage) come and go
                t = render.strings(render.TEMPLATES_DIR, lang)
                header = next(line for line in family_page.splitlines() if line.startswith(f"| {t['model']} | {t['input_size']} |"))
                names = _cells(header)
                expected = [family[names.index(str(t[key]))] for key in ("top1", "top5", "params", "flops")]
                at = 3 if "Dataset" in board or "数据集" in board else 2
                assert cells[0].startswith(f"[{render.cell(model['name'])}](") and cells[1].startswith(f"[{render.cell(card.data['name'][lang])}]("), "the model first, then its family"
                assert cells[at] == str(model["input_size"])
                # the family page may add the card's raw claim after the badge; figure and badge are the same
                for got, want in zip(cells[at + 1:at + 5], expected):
                    assert want.startswith(got) and (got == want or want[len(got)] == " "), f"{lang} {model['name']}: {got!r} vs {want!r}"


def test_latency_columns_are_batch_one_per_hardware_and_precision(zoo_pages: tuple[list[Card], dict[str, str]]) -> None:
    cards, pages = zoo_pages
    header = next(line for line in pages["zoo/leaderboard.en.md"].splitlines() if line.startswith("| Model | Family"))
    latency = re.findall(r'<span class="zc-col-latency">([^<]*)</span>', header)
    # every batch-1 latency column some card claims, once, by hardware, precision and threads
    claimed = {(b["hardware"], c.get("precision") or "", c.get("threads") or 0) for card in cards for b in card.data.get("benchmarks", [])
               for c in b["columns"] if c["metric"] == "latency" and c.get("batch_size") == 1}
    assert latency == [" ".join([hardware] + ([precision] if precision else []) + ([f"threads={threads}"] if threads else [])) for hardware, precision, threads in sorted(claimed)]
    assert "NVIDIA V100 FP32" in latency and "RDK X5 INT8 threads=1" in latency


def test_plots_page_has_a_section_per_dataset_and_axis_titles_in_its_language(zoo_pages: tuple[list[Card], dict[str, str]]) -> None:
    _, pages = zoo_pages
    zh, en = pages["zoo/plots.zh.md"], pages["zoo/plots.en.md"]
    assert "## ImageNet-1k {#dataset-imagenet-1k}" in en
    assert ">Compute (G MACs)</text>" in en and ">Compute (G MACs)</text>" not in zh
    assert zh.count("<svg") == en.count("<svg") >= 3
    for line in en.splitlines():
        if "<svg" in line:
            assert line.startswith("<div") and line.endswith("</div>"), "a chart is one raw HTML line"


def test_family_page_shows_its_own_plots_only_with_two_points_or_more() -> None:
    card = load_text(MINIMAL_CARD, Path("cards/mini.yaml"))
    pages = render.render_family(card, [], [])
    page = pages["models/mini.en.md"]
    metrics, benchmarks = page.index("{#metrics}"), page.index("{#benchmark}")
    assert page.count("<svg") == 3  # FLOPs, Params, V100 latency; all two-model charts
    assert metrics < page.index("<svg") < benchmarks
    single = load_text(MINIMAL_CARD.split("  - name: Mini_B")[0].replace("      - {model: Mini_A, values: [1.00, 2.50]}\n", ""), Path("cards/mini.yaml"))
    assert "<svg" not in render.render_family(single, [], [])["models/mini.en.md"]


def test_card_text_in_chart_labels_is_escaped() -> None:
    card = load_text(MINIMAL_CARD.replace("Mini_A", "Mini<i>A"), Path("cards/mini.yaml"))
    page = render.render_family(card, [], [])["models/mini.en.md"]
    assert "Mini<i>A" not in page and "Mini&lt;i&gt;A" in page


def test_latency_header_names_hardware_precision_and_threads() -> None:
    t = render.strings(render.TEMPLATES_DIR, "en")
    column = {"key": "k", "hardware": "RDK X5", "precision": "INT8", "threads": 1}
    assert views.latency_header(column, t) == "RDK X5 INT8 threads=1"  # type: ignore[arg-type]
    assert views.latency_header({**column, "hardware": "here"}, t) == "this site's CPU, FP32"  # type: ignore[arg-type]


def _grouped(card_id: str, name: str, group: tuple[str, str] | None) -> Card:
    """The minimal card as family `name` of a group (zh, en), its models named after it."""
    text = MINIMAL_CARD.replace("id: mini\n", f"id: {card_id}\n" + (f"group:\n  zh: {group[0]}\n  en: {group[1]}\n" if group else ""))
    text = text.replace("  zh: 迷你网络\n  en: MiniNet\n", f"  zh: {name} 系列\n  en: {name}\n").replace("Mini_", f"{name}_")
    return load_text(text, Path(f"cards/{card_id}.yaml"))


SERVER, LIGHT, VIT = ("服务器端卷积网络", "Server CNNs"), ("轻量级卷积网络", "Lightweight CNNs"), ("视觉 Transformer", "Vision Transformers")
GROUPED = [("vit", "ViT", VIT), ("resnet", "ResNet", SERVER), ("demo", "Digits", ("演示", "Demo")), ("mobilenet", "MobileNet", LIGHT),
           ("convnext", "ConvNeXt", SERVER), ("esnet", "ESNet", LIGHT), ("loner", "Loner", None)]


@pytest.fixture(scope="module")
def grouped_pages() -> dict[str, str]:
    cards = [_grouped(*family) for family in GROUPED]
    return render.render_site(cards, [], {})


def test_family_index_lists_groups_in_readers_order_and_families_by_name(grouped_pages: dict[str, str]) -> None:
    en, zh = grouped_pages["models/index.en.md"], grouped_pages["models/index.zh.md"]
    headings = [line for line in en.splitlines() if line.startswith("## ")]
    assert headings == ["## Server CNNs {#group-1}", "## Lightweight CNNs {#group-2}", "## Vision Transformers {#group-3}", "## Demo {#group-4}", "## Other {#group-5}"]
    assert [line.split("](")[1].split(".md")[0] for line in en.splitlines() if line.startswith("| [")] == ["convnext", "resnet", "esnet", "mobilenet", "vit", "demo", "loner"]
    assert [line for line in zh.splitlines() if line.startswith("## ")][:3] == ["## 服务器端卷积网络 {#group-1}", "## 轻量级卷积网络 {#group-2}", "## 视觉 Transformer {#group-3}"]


def test_leaderboard_rows_follow_the_family_index_and_the_filters_know_each_group(grouped_pages: dict[str, str]) -> None:
    import html
    import json

    board = grouped_pages["zoo/leaderboard.en.md"]
    rows = [line for line in board.splitlines() if line.startswith("| [")]
    assert [line.split("](../models/")[1].split(".md")[0] for line in rows] == [card for card in ["convnext", "resnet", "esnet", "mobilenet", "vit", "demo", "loner"] for _ in range(2)]
    marker = next(line for line in board.splitlines() if line.startswith('<div id="zc-leaderboard"'))
    groups = json.loads(html.unescape(re.search(r'data-groups="([^"]*)"', marker).group(1)))  # type: ignore[union-attr]
    assert groups == [["Server CNNs", [["convnext", "ConvNeXt"], ["resnet", "ResNet"]]], ["Lightweight CNNs", [["esnet", "ESNet"], ["mobilenet", "MobileNet"]]],
                      ["Vision Transformers", [["vit", "ViT"]]], ["Demo", [["demo", "Digits"]]], ["Other", [["loner", "Loner"]]]]
    zh = grouped_pages["zoo/leaderboard.zh.md"]
    assert 'data-groups="[[&#34;服务器端卷积网络&#34;, [[&#34;convnext&#34;, &#34;ConvNeXt 系列&#34;]' in zh


def test_family_names_in_the_filters_are_escaped() -> None:
    import html
    import json

    hostile = _grouped("evil", 'Evil"><script>', SERVER)
    board = render.render_site([hostile], [], {})["zoo/leaderboard.en.md"]
    marker = next(line for line in board.splitlines() if line.startswith('<div id="zc-leaderboard"'))
    value = re.search(r'data-groups="([^"]*)"></div>$', marker).group(1)  # type: ignore[union-attr]
    assert "<" not in value and ">" not in value
    assert json.loads(html.unescape(value)) == [["Server CNNs", [["evil", 'Evil"><script>']]]]


def test_zoo_charts_colour_points_by_group_and_name_the_family_in_each_tooltip(grouped_pages: dict[str, str]) -> None:
    from zoocards import plots

    page = grouped_pages["zoo/plots.en.md"]
    # the legend: the groups in readers' order, then the front
    legend = re.findall(r'<span class="zc-plot-swatch" style="background:([^"]+)"></span>([^<]+)</span>', page)
    assert [name for _, name in legend] == ["Server CNNs", "Lightweight CNNs", "Vision Transformers", "Demo", "Other"]
    colour = dict((name, fill) for fill, name in legend)
    group_of = {name: (group[1] if group else "Other") for _, name, group in GROUPED}
    chart = page[page.index("<svg"):page.index("</svg>")]
    circles = re.findall(r'<circle [^>]*fill="([^"]+)"[^>]*><title>([^<]+)</title>', chart)
    assert len(circles) == 2 * len(GROUPED)
    for fill, tip in circles:
        family = tip.split(" · ")[1].split(":")[0]
        assert fill == colour[group_of[family]], tip
    assert len(set(colour.values())) == len(plots.PALETTE[:5])


def test_a_chart_names_under_it_the_front_models_it_could_not_label(monkeypatch: pytest.MonkeyPatch) -> None:
    from zoocards import plots

    long_card = _grouped("long", "AVeryLongFamilyNameThatCannotFitInATinyChart", SERVER)
    monkeypatch.setattr(views, "ZOO_SIZE", plots.Size(width=240, height=180))
    pages = render.render_site([long_card], [], {})
    for lang, intro in (("en", "On the Pareto front, with no room for a label in the chart:"), ("zh", "帕累托前沿上、图中放不下标签的模型：")):
        page = pages[f"zoo/plots.{lang}.md"]
        first = page[page.index("<figure"):page.index("</figure>")]
        names = "AVeryLongFamilyNameThatCannotFitInATinyChart_A" + ("、" if lang == "zh" else ", ") + "AVeryLongFamilyNameThatCannotFitInATinyChart_B"
        assert f'<figcaption>Top-1 (%) — Compute (G MACs)<br><span class="zc-plot-unlabelled">{intro} {names}</span></figcaption>' in first or \
            f'<span class="zc-plot-unlabelled">{intro} {names}</span></figcaption>' in first


def test_the_fasternet_front_is_labelled_in_full() -> None:
    # FasterNet_L is on the front of the family's compute chart; it once had no label.
    card = load_file(ROOT / "cards" / "fasternet.yaml")
    pages = render.render_family(card, [], [])
    for lang in render.LANGUAGES:
        page = pages[f"models/fasternet.{lang}.md"]
        first = page[page.index("<figure"):page.index("</figure>")]
        assert ">FasterNet_L</text>" in first
        assert "zc-plot-unlabelled" not in first
