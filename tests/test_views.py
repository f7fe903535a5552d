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
                assert cells[at] == str(model["input_size"])
                # the family page may add the card's raw claim after the badge; figure and badge are the same
                for got, want in zip(cells[at + 1:at + 5], expected):
                    assert want.startswith(got) and (got == want or want[len(got)] == " "), f"{lang} {model['name']}: {got!r} vs {want!r}"


def test_latency_columns_are_batch_one_per_hardware_and_precision(zoo_pages: tuple[list[Card], dict[str, str]]) -> None:
    _, pages = zoo_pages
    header = next(line for line in pages["zoo/leaderboard.en.md"].splitlines() if line.startswith("| Family"))
    latency = re.findall(r'<span class="zc-col-latency">([^<]*)</span>', header)
    assert latency == ["NVIDIA T4 FP16", "NVIDIA T4 FP32", "NVIDIA V100 FP32", "RDK X5 INT8", "RDK X5 INT8 threads=1"]


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
