"""The whole site: every card figure on its page, a strict build, the seed figures survive."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Iterator

import pytest

from tests.conftest import ROOT, shared_or_skip
from zoocards import build, render, units
from zoocards.errors import ZoocardsError
from zoocards.load import Card, card_paths, load_file


def _cards() -> list[Card]:
    return [load_file(p) for p in card_paths(ROOT / "cards")]


def _figures(card: Card) -> Iterator[tuple[str, str, str]]:
    """(model, metric, text as the site must show it) for every figure the card claims."""
    unit_of = card.data["units"]
    for index, model in enumerate(card.data["models"]):
        for metric, value in model["metrics"].items():
            if value is None:
                continue
            unit = units.model_metric_unit(unit_of, metric)  # storage has its own unit (KB, MB, GB)
            raw = card.raw_number(("models", index, "metrics", metric)) or str(value)
            yield model["name"], metric, units.plain(units.to_display(metric, Decimal(raw), unit, unit_of["flops"]["convention"]))
    for b_index, bench in enumerate(card.data.get("benchmarks", [])):
        for r_index, row in enumerate(bench["rows"]):
            for v_index, (value, column) in enumerate(zip(row["values"], bench["columns"])):
                if value is not None:
                    raw = card.raw_number(("benchmarks", b_index, "rows", r_index, "values", v_index)) or str(value)
                    yield row["model"], column["metric"], units.plain(units.to_display(column["metric"], Decimal(raw), column["unit"]))


def _rows(markdown: str) -> list[str]:
    """Table rows of a Markdown page as plain text (tags dropped, entities decoded)."""
    return [html.unescape(re.sub(r"<[^>]+>", " ", line)) for line in markdown.splitlines() if line.startswith("|")]


@pytest.mark.parametrize("card", _cards(), ids=lambda c: c.id)
def test_every_figure_of_every_card_is_on_its_page(card: Card) -> None:
    pages = render.render_family(card, [], [])
    for lang in render.LANGUAGES:
        rows = _rows(pages[f"models/{card.id}.{lang}.md"])
        missing = []
        for model, metric, text in _figures(card):
            pattern = re.compile(rf"(?<![\w.]){re.escape(text)}(?![\w.])")
            if not any(model in row and pattern.search(row) for row in rows):
                missing.append(f"{model} {metric} {text}")
        assert missing == [], f"{lang}: figures missing from their model's row"


@pytest.fixture(scope="module")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository's site, built strictly into a temporary copy of the project."""
    project_dir = tmp_path_factory.mktemp("project")
    for name in ("cards", "measurements", "templates", "site_src", "demo"):
        if (ROOT / name).exists():
            shutil.copytree(ROOT / name, project_dir / name, ignore=shutil.ignore_patterns("models", "zoo"))
    shutil.copy(ROOT / "mkdocs.yml", project_dir / "mkdocs.yml")
    build.build_site(build.Project.at(project_dir), strict=True)
    return project_dir / "site"


def test_site_has_both_languages(built_site: Path) -> None:
    for card in _cards():
        assert (built_site / "models" / card.id / "index.html").is_file()
        assert (built_site / "en" / "models" / card.id / "index.html").is_file()
    english = (built_site / "en" / "models" / "fasternet" / "index.html").read_text(encoding="utf-8")
    assert 'lang="en"' in english and "Metrics" in english
    chinese = (built_site / "models" / "fasternet" / "index.html").read_text(encoding="utf-8")
    assert 'lang="zh"' in chinese and "模型指标" in chinese


def test_language_switcher_points_at_the_same_page(built_site: Path) -> None:
    chinese = (built_site / "models" / "fasternet" / "index.html").read_text(encoding="utf-8")
    assert re.search(r'href="[./]*en/models/fasternet/"', chinese), "zh page must link to its English twin"
    english = (built_site / "en" / "models" / "fasternet" / "index.html").read_text(encoding="utf-8")
    assert re.search(r'href="(\.\./)+models/fasternet/"', english), "en page must link to its Chinese twin"


def test_seed_figures_and_links_survive(built_site: Path) -> None:
    shared = shared_or_skip()
    result = subprocess.run(
        [sys.executable, str(shared / "tools" / "seedcheck.py"), str(shared / "seeds"), str(built_site)],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert re.search(r"^(\d+)/\1 seed figures and links found", result.stdout.splitlines()[-1])


def test_no_strict_lets_warnings_pass(tmp_path: Path) -> None:
    """`build --no-strict` does what its help says, although mkdocs.yml asks for strict (issue 14)."""
    shutil.copytree(ROOT / "templates", tmp_path / "templates")
    shutil.copytree(ROOT / "site_src", tmp_path / "site_src", ignore=shutil.ignore_patterns("models", "zoo", "api"))
    shutil.copy(ROOT / "mkdocs.yml", tmp_path / "mkdocs.yml")
    (tmp_path / "cards").mkdir()
    (tmp_path / "measurements").mkdir()
    shutil.copy(ROOT / "cards" / "mixnet.yaml", tmp_path / "cards")
    shutil.copy(ROOT / "measurements" / "mixnet.json", tmp_path / "measurements")
    # a hand-written page with a link mkdocs warns about: strict fails on it, not strict does not
    page = tmp_path / "site_src" / "guides" / "broken.en.md"
    page.write_text("# Broken\n\nSee [nowhere](nowhere.md).\n", encoding="utf-8")
    project = build.Project.at(tmp_path)
    with pytest.raises(ZoocardsError, match="mkdocs build failed"):
        build.build_site(project, strict=True)
    assert not (tmp_path / "site").exists()
    build.build_site(project, strict=False)
    assert (tmp_path / "site" / "en" / "guides" / "broken" / "index.html").is_file()
