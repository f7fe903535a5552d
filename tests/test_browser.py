"""The built site in headless Chromium: language switch, search, leaderboard sorting, no console
errors; and every internal link and anchor of the built HTML resolves (no browser needed)."""

from __future__ import annotations

import dataclasses
import html.parser
import posixpath
import re
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import unquote, urldefrag, urlsplit

import pytest

from tests.conftest import ROOT
from zoocards import build, render
from zoocards.browser import chromium_available, chromium_page, serve_directory
from zoocards.load import card_paths, load_file

needs_chromium = pytest.mark.skipif(not chromium_available(), reason="Chromium or Playwright is not installed (make browser)")
TIMEOUT_MS = 15_000


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site, built once per session into a temporary directory (strict, as in CI)."""
    project = dataclasses.replace(build.Project.at(ROOT), site_dir=tmp_path_factory.mktemp("built") / "site")
    build.build_site(project)
    return project.site_dir


@pytest.fixture(scope="session")
def base_url(site: Path) -> Iterator[str]:
    with serve_directory(site) as url:
        yield url


# Module scope: Playwright's sync API allows one session per thread, and other test files
# (the hostile-card browser check) open their own after this module is done.
@pytest.fixture(scope="module")
def page(base_url: str) -> Iterator[Any]:
    if not chromium_available():
        pytest.skip("Chromium or Playwright is not installed (make browser)")
    with chromium_page(1280, 900) as browser_page:
        browser_page.set_default_timeout(TIMEOUT_MS)
        yield browser_page


def _pages(site: Path) -> list[str]:
    """Every page of the built site as a URL path ('', 'models/fasternet/', ...)."""
    return sorted(str(p.parent.relative_to(site)).replace(".", "") + "/" if p.parent != site else "" for p in site.rglob("index.html"))


def _a_model() -> tuple[str, str]:
    card = load_file(sorted(card_paths(ROOT / "cards"))[0])
    return card.id, card.data["models"][-1]["name"]


# ------------------------------------------------------------------ in the browser


@pytest.mark.browser
@needs_chromium
def test_language_selector_lands_on_the_same_page_in_the_other_language(page: Any, base_url: str) -> None:
    card_id, _ = _a_model()
    page.goto(f"{base_url}/models/{card_id}/")
    page.hover(".md-select")  # the list opens on hover, as a reader would open it
    page.click('a.md-select__link[hreflang="en"]')
    page.wait_for_url(f"{base_url}/en/models/{card_id}/")
    assert page.locator("html").get_attribute("lang") == "en"
    page.hover(".md-select")
    page.click('a.md-select__link[hreflang="zh"]')
    page.wait_for_url(f"{base_url}/models/{card_id}/")
    assert page.locator("html").get_attribute("lang") == "zh"


@pytest.mark.browser
@needs_chromium
@pytest.mark.parametrize("prefix", ["", "en/"])
def test_search_finds_a_model_by_name(page: Any, base_url: str, prefix: str) -> None:
    card_id, model = _a_model()
    page.goto(f"{base_url}/{prefix}")
    page.click("input.md-search__input")  # at desktop width the search box sits in the header
    page.fill("input.md-search__input", model)
    results = page.locator(".md-search-result__item")
    results.first.wait_for()
    links = [results.nth(i).locator("a").first.get_attribute("href") for i in range(results.count())]
    assert any(f"models/{card_id}/" in (href or "") for href in links), links


@pytest.mark.browser
@needs_chromium
@pytest.mark.parametrize("prefix", ["", "en/"])
def test_leaderboard_sorts_by_top1_and_filters(page: Any, base_url: str, prefix: str) -> None:
    page.goto(f"{base_url}/{prefix}zoo/leaderboard/")
    table = page.locator("table[data-zc-leaderboard]")
    headers = [h.strip() for h in table.locator("thead th").all_inner_texts()]
    column = next(i for i, h in enumerate(headers) if h.startswith("Top-1"))

    def top1_values() -> list[float]:
        texts = table.locator(f"tbody tr:not([hidden]) td:nth-child({column + 1})").evaluate_all(
            "cells => cells.map(c => { const x = c.cloneNode(true); x.querySelectorAll('.zc-badge').forEach(b => b.remove()); return x.textContent.trim(); })"
        )
        return [float(t) for t in texts if t]

    original = top1_values()
    header = table.locator("thead th").nth(column)
    header.click()
    assert header.get_attribute("aria-sort") == "ascending"
    assert top1_values() == sorted(original)
    header.click()
    assert header.get_attribute("aria-sort") == "descending"
    assert top1_values() == sorted(original, reverse=True)

    _, model = _a_model()
    page.fill("input.zc-filter", model.lower())
    visible = table.locator("tbody tr:not([hidden])")
    assert visible.count() == 1 and model in visible.first.inner_text()
    page.fill("input.zc-filter", "")
    page.click("details.zc-toggles > summary")  # the latency columns' checkboxes are folded away
    latency = page.locator(".zc-toggles input[type=checkbox]").first
    latency.uncheck()
    assert not table.locator("thead th").nth(len(headers) - len(page.locator(".zc-toggles input").all())).is_visible()
    latency.check()


def _family_and_group(card_id: str, lang: str) -> tuple[str, str]:
    data = load_file(ROOT / "cards" / f"{card_id}.yaml").data
    return data["name"][lang], data.get("group", {}).get(lang, "")


@pytest.mark.browser
@needs_chromium
@pytest.mark.parametrize("prefix", ["", "en/"])
def test_leaderboard_filters_by_group_and_family_and_hides_columns_not_re_run(page: Any, base_url: str, prefix: str) -> None:
    page.goto(f"{base_url}/{prefix}zoo/leaderboard/")
    table = page.locator("table[data-zc-leaderboard]")
    rows = table.locator("tbody tr")
    shown = table.locator("tbody tr:not([hidden])")
    total = rows.count()
    card_id, _ = _a_model()
    family, group = _family_and_group(card_id, "en" if prefix else "zh")
    models = len(load_file(ROOT / "cards" / f"{card_id}.yaml").data["models"])
    group_select, family_select = page.locator("#zc-leaderboard select").all()
    group_select.select_option(group)
    in_group = shown.count()
    assert models <= in_group < total
    # every row left is of a family of that group: the family list holds only that group now
    assert family_select.locator("optgroup").count() == 1 and family_select.locator("optgroup").get_attribute("label") == group
    family_select.select_option(card_id)
    assert shown.count() == models
    assert all(family in text for text in shown.all_inner_texts())
    assert page.locator(".zc-count").inner_text().startswith(f"{models} / {total}")

    # Hiding the columns with no shown figure re-run: what stays has a re-run figure, or no badge at all
    headers = table.locator("thead th")
    before = sum(headers.nth(i).is_visible() for i in range(headers.count()))
    page.locator("#zc-leaderboard label.zc-control input[type=checkbox]").check()
    kept = [i for i in range(headers.count()) if headers.nth(i).is_visible()]
    assert 2 <= len(kept) < before
    for i in range(headers.count()):
        badges = shown.locator(f"td:nth-child({i + 1}) .zc-badge")
        if i not in kept:
            assert all("zc-not_run" in (badges.nth(j).get_attribute("class") or "") for j in range(badges.count()))
    page.locator("#zc-leaderboard label.zc-control input[type=checkbox]").uncheck()
    assert sum(headers.nth(i).is_visible() for i in range(headers.count())) == before
    group_select.select_option("")
    assert shown.count() == models, "the family chosen stays chosen: it is in every group's list"
    family_select.select_option("")
    assert shown.count() == total


@pytest.mark.browser
@needs_chromium
def test_a_wide_table_keeps_its_model_column_and_shows_that_it_scrolls(page: Any, base_url: str) -> None:
    # At a phone's width the leaderboard overflows: its wrapper scrolls, the model column stays put,
    # and the wrapper paints the right-edge shadow while columns are hidden there.
    page.set_viewport_size({"width": 390, "height": 844})
    try:
        page.goto(f"{base_url}/en/zoo/leaderboard/")
        page.wait_for_function("() => document.querySelector('#zc-leaderboard').dataset.ready")
        state = page.evaluate("""() => {
            const table = document.querySelector('table[data-zc-leaderboard]');
            const wrap = table.closest('.md-typeset__scrollwrap');
            const cell = table.tBodies[0].rows[0].cells[0];
            const start = cell.getBoundingClientRect().left;
            wrap.scrollLeft = 300;
            return {overflows: wrap.scrollWidth > wrap.clientWidth, scrolled: wrap.scrollLeft, moved: start - cell.getBoundingClientRect().left,
                    wrapLeft: wrap.getBoundingClientRect().left, cellLeft: cell.getBoundingClientRect().left,
                    position: getComputedStyle(cell).position, cue: getComputedStyle(wrap).backgroundImage};
        }""")
    finally:
        page.set_viewport_size({"width": 1280, "height": 900})
    assert state["overflows"] and state["scrolled"] == 300
    assert state["position"] == "sticky" and abs(state["cellLeft"] - state["wrapLeft"]) < 1, state
    assert "radial-gradient" in state["cue"] and "linear-gradient" in state["cue"]


@pytest.mark.browser
@needs_chromium
@pytest.mark.parametrize(("prefix", "titles"), [("", ["服务器端卷积网络", "轻量级卷积网络", "视觉 Transformer"]), ("en/", ["Server CNNs", "Lightweight CNNs", "Vision Transformers"])])
def test_navigation_lists_the_families_by_group_in_each_language(page: Any, base_url: str, prefix: str, titles: list[str]) -> None:
    if len(card_paths(ROOT / "cards")) > 60:
        pytest.skip("above the plugin's nav_family_limit the navigation lists the family index only")
    page.goto(f"{base_url}/{prefix}models/")
    labels = [text.strip() for text in page.locator("nav.md-nav--primary label.md-nav__link").all_inner_texts()]
    positions = [next((i for i, label in enumerate(labels) if label.startswith(title)), -1) for title in titles]
    assert -1 not in positions and positions == sorted(positions), labels


@pytest.mark.browser
@needs_chromium
def test_no_console_errors_on_any_page(page: Any, base_url: str, site: Path) -> None:
    errors: list[str] = []
    on_console = lambda message: errors.append(f"{page.url}: {message.text}") if message.type == "error" else None  # noqa: E731
    on_error = lambda error: errors.append(f"{page.url}: {error}")  # noqa: E731
    on_response = lambda response: errors.append(f"{page.url}: {response.status} {response.url}") if response.status >= 400 else None  # noqa: E731
    page.on("console", on_console)
    page.on("pageerror", on_error)
    page.on("response", on_response)
    try:
        pages = _pages(site)
        assert len(pages) > 20
        for path in pages:
            page.goto(f"{base_url}/{path}", wait_until="load")
    finally:
        page.remove_listener("console", on_console)
        page.remove_listener("pageerror", on_error)
        page.remove_listener("response", on_response)
    assert errors == []


# ------------------------------------------------------------------ in the HTML


class _Links(html.parser.HTMLParser):
    """The ids a page defines and the URLs it points at."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for key in ("id", "name") if tag == "a" else ("id",):
            if values.get(key):
                self.ids.add(str(values[key]))
        attribute = {"a": "href", "link": "href", "script": "src", "img": "src"}.get(tag)
        if attribute and values.get(attribute):
            self.urls.append(str(values[attribute]))


def _parse(path: Path) -> _Links:
    parser = _Links()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def _target(site: Path, page: Path, url: str) -> tuple[Path, str]:
    """The file a relative URL of `page` points at, and its fragment."""
    address, fragment = urldefrag(url)
    path = unquote(urlsplit(address).path)
    here = str(page.parent.relative_to(site))
    relative = posixpath.normpath(path.lstrip("/") if path.startswith("/") else posixpath.join(here, path)) if path else str(page.relative_to(site))
    target = site / relative
    return (target / "index.html" if target.is_dir() else target), unquote(fragment)


def test_every_internal_link_and_anchor_resolves(site: Path) -> None:
    parsed = {path: _parse(path) for path in site.rglob("*.html")}
    broken = []
    checked = 0
    for page, links in parsed.items():
        for url in links.urls:
            if re.match(r"^[a-z][a-z0-9+.-]*:", url) or url.startswith("//"):
                continue  # external: not ours to serve
            target, fragment = _target(site, page, url)
            checked += 1
            if not target.is_file():
                broken.append(f"{page.relative_to(site)}: {url} (no {target.relative_to(site)})")
            elif fragment and target.suffix == ".html" and fragment not in parsed[target].ids:
                broken.append(f"{page.relative_to(site)}: {url} (no #{fragment})")
    assert checked > 1000
    assert broken == []


def test_exports_are_published_with_the_site(site: Path) -> None:
    api = site / "api"
    cards = sorted(p.stem for p in card_paths(ROOT / "cards"))
    assert all((api / name).is_file() for name in ("models.csv", "models.json", "model-index.yml", "verification.json"))
    assert sorted(p.name for p in (api / "hf").iterdir()) == cards
    leaderboard = (site / "zoo" / "leaderboard" / "index.html").read_text(encoding="utf-8")
    assert all(f"models/{card}/#{render.anchor(load_file(ROOT / 'cards' / f'{card}.yaml').data['models'][0]['name'])}" in leaderboard for card in cards)
