"""Generation reuses what did not change: one edited card re-renders and rewrites only its pages."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from zoocards import build, perf, render, synthetic, views

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> build.Project:
    perf.prepare(tmp_path, 4, seed=1)
    monkeypatch.delenv("ZOOCARDS_CARDS_DIR", raising=False)
    monkeypatch.delenv("ZOOCARDS_MEASUREMENTS_DIR", raising=False)
    return build.Project.at(tmp_path)


def _mtimes(docs: Path) -> dict[str, int]:
    return {str(p.relative_to(docs)): p.stat().st_mtime_ns for p in docs.rglob("*.md")}


def _edit(project: build.Project, index: int, old: str, new: str) -> None:
    card = project.cards_dir / f"{synthetic.family_id(index)}.yaml"
    text = card.read_text(encoding="utf-8")
    assert old in text
    card.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_nothing_changed_renders_and_writes_nothing(project: build.Project) -> None:
    cache = build.RenderCache()
    first = build.generate(project, cache)
    before = _mtimes(project.docs_dir)
    again = build.generate(project, cache)
    assert again.rendered == [] and not again.zoo_rendered
    assert again.report.written == [] and again.report.removed == []
    assert again.pages == first.pages
    assert _mtimes(project.docs_dir) == before


def test_prose_edit_rewrites_only_that_family(project: build.Project) -> None:
    cache = build.RenderCache()
    build.generate(project, cache)
    before = _mtimes(project.docs_dir)
    _edit(project, 2, "is a synthetic family", "is an edited synthetic family")
    changed = build.generate(project, cache)
    family = synthetic.family_id(2)
    assert changed.rendered == [family]
    assert not changed.zoo_rendered  # the summary is shown on the family page alone
    assert changed.report.written == [f"models/{family}.en.md"]  # the English summary changed, the Chinese page did not
    after = _mtimes(project.docs_dir)
    assert {page for page in after if after[page] != before[page]} == {f"models/{family}.en.md"}


def test_figure_edit_rewrites_its_family_and_the_pages_that_summarise_it(project: build.Project) -> None:
    cache = build.RenderCache()
    build.generate(project, cache)
    before = _mtimes(project.docs_dir)
    _edit(project, 1, "top1: 0.", "top1: 0.0")  # a claimed figure shown in the report and leaderboard
    changed = build.generate(project, cache)
    family = synthetic.family_id(1)
    assert changed.rendered == [family] and changed.zoo_rendered
    written = set(changed.report.written)
    assert {f"models/{family}.en.md", f"models/{family}.zh.md", "zoo/verification.en.md", "zoo/verification.zh.md"} <= written
    assert not any(page.startswith("models/synth-") and family not in page for page in written)
    after = _mtimes(project.docs_dir)
    assert {page for page in after if after[page] != before[page]} == written
    # The cached generation equals a fresh one.
    assert changed.pages == build.generate(project, build.RenderCache()).pages


def test_removed_card_drops_its_pages(project: build.Project) -> None:
    cache = build.RenderCache()
    build.generate(project, cache)
    (project.cards_dir / f"{synthetic.family_id(3)}.yaml").unlink()
    changed = build.generate(project, cache)
    assert sorted(changed.report.removed) == [f"models/{synthetic.family_id(3)}.en.md", f"models/{synthetic.family_id(3)}.zh.md"]
    assert changed.pages == build.generate(project, build.RenderCache()).pages


@pytest.mark.parametrize("field", build.ZOO_IGNORED_FIELDS)
def test_zoo_pages_do_not_show_the_fields_the_cache_ignores(project: build.Project, field: str) -> None:
    # The zoo-wide pages are cached on a key that leaves these fields out; if a zoo page ever
    # shows one, this fails and the field must leave ZOO_IGNORED_FIELDS.
    generated = build.generate(project, build.RenderCache())
    cards = generated.cards
    original = render.render_zoo_pages(cards, generated.verifications, generated.records, project.templates_dir)
    card = cards[0]
    value = card.data.get(field)
    card.data[field] = _scrambled(value if value is not None else {"zh": "x", "en": "x"})
    try:
        assert render.render_zoo_pages(cards, generated.verifications, generated.records, project.templates_dir) == original
    finally:
        if value is None:
            del card.data[field]
        else:
            card.data[field] = value
    assert views is not None


def _scrambled(value: object) -> object:
    if isinstance(value, str):
        return value + " CHANGED"
    if isinstance(value, list):
        return [_scrambled(item) for item in value] + [_scrambled(value[0])] if value else value
    if isinstance(value, dict):
        return {key: _scrambled(item) for key, item in value.items()}
    return value


def test_unchanged_pages_keep_their_mtime_on_disk(project: build.Project) -> None:
    build.generate(project, build.RenderCache())
    page = project.docs_dir / "models" / f"{synthetic.family_id(0)}.en.md"
    os.utime(page, ns=(1, 1))
    build.generate(project, build.RenderCache())  # a fresh process: renders everything, writes nothing
    assert page.stat().st_mtime_ns == 1
