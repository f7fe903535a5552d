"""mkdocs plugin: generate the family pages inside `mkdocs build` and `mkdocs serve`.

mkdocs-static-i18n runs the whole build once per language, so `on_pre_build` fires
twice per build: generation is skipped when the inputs' fingerprint has not changed.
Pages are written only when their content changed, so `serve` settles after one
rebuild instead of looping. Generation runs under the project lock (lock.py), like the CLI's.
"""

from __future__ import annotations

import html

import logging
import re
from pathlib import Path
from typing import Any

import pathspec
from mkdocs.config import config_options
from mkdocs.config.base import Config
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin
from mkdocs.structure.nav import Navigation, Section

from zoocards import build, load, lock, pages, zoo
from zoocards.errors import CardError

log = logging.getLogger("mkdocs.plugins.zoocards")
_PAGE_ALTERNATE = re.compile(r'<link rel="alternate" href="[^"]*" hreflang="[^"]*">\s*')


class ZoocardsConfig(Config):
    cards_dir = config_options.Type(str, default="cards")
    measurements_dir = config_options.Type(str, default="measurements")
    templates_dir = config_options.Type(str, default="templates")
    # Above this many families the navigation lists the family index only, so every
    # page does not carry a nav entry per family (site size would grow quadratically).
    nav_family_limit = config_options.Type(int, default=60)
    nav_section = config_options.Type(str, default="models/index.md")


class ZoocardsPlugin(BasePlugin[ZoocardsConfig]):
    """Renders cards into site_src/ before mkdocs reads its files."""

    def __init__(self) -> None:
        self.project: build.Project | None = None
        self.generated: build.Generated | None = None
        self.root_site_dir: str | None = None
        self.exported: tuple[str, str] | None = None
        self.group_titles: dict[str, dict[str, str]] = {}  # a family group's nav section title (zh) -> its title per language

    def on_config(self, config: MkDocsConfig) -> MkDocsConfig:
        root = Path(config.config_file_path).resolve().parent
        base = build.Project.at(root)
        self.project = build.Project(
            root=root,
            cards_dir=(root / self.config.cards_dir) if self.config.cards_dir != "cards" else base.cards_dir,
            measurements_dir=(root / self.config.measurements_dir) if self.config.measurements_dir != "measurements" else base.measurements_dir,
            templates_dir=root / self.config.templates_dir,
            docs_dir=Path(config.docs_dir),
            site_dir=Path(config.site_dir),
            cache_dir=base.cache_dir,
        )
        self.root_site_dir = config.site_dir
        return config

    def _extend_nav(self, config: MkDocsConfig, cards: list[load.Card]) -> None:
        """List each family under the section holding the family index, grouped as the index groups them, for small zoos.

        From the cards the generation read (`on_pre_build`), not from cards/ again: a card added
        while a build runs would otherwise have a page and no nav entry, or the reverse, and
        fail a strict build ("pages exist in the docs directory, but are not included in the nav").
        """
        if len(cards) > self.config.nav_family_limit:
            # Left out on purpose: tell mkdocs, or a strict build fails on "pages not in nav".
            unlisted = pathspec.gitignore.GitIgnoreSpec.from_lines(["/models/*.md", "!/models/index.*"])
            config.not_in_nav = config.not_in_nav + unlisted if config.not_in_nav else unlisted
            return
        if not config.nav:
            return
        for item in config.nav:
            if isinstance(item, dict):
                for _, children in item.items():
                    if isinstance(children, list) and self.config.nav_section in children:
                        # Each language's build comes here with the same nav list: the family sections an
                        # earlier call added are replaced (a card added between the two builds is listed).
                        children[:] = [child for child in children if not (isinstance(child, dict) and child.keys() & self.group_titles.keys())]
                        position = children.index(self.config.nav_section) + 1
                        children[position:position] = self._family_sections(cards)
                        return

    def _family_sections(self, cards: list[load.Card]) -> list[dict[str, list[str]]]:
        """The families as the family index groups them (zoo.nav_groups), one nav section per group,
        titled in the default language (zh); on_nav gives the other language its titles."""
        assert self.project is not None
        families = [(card.path.stem, card.data) for card in cards]
        other = {lang: str(pages.strings(self.project.templates_dir, lang)["family_index_other"]) for lang in pages.LANGUAGES}
        sections = []
        for labels, ids in zoo.nav_groups(families):
            # The theme writes nav titles into the page as HTML, unescaped: a card's group label is text.
            titles = {lang: html.escape(labels[lang] or other[lang], quote=False) for lang in pages.LANGUAGES}
            self.group_titles[titles["zh"]] = titles
            sections.append({titles["zh"]: [f"models/{card_id}.md" for card_id in ids]})
        return sections

    def on_nav(self, nav: Navigation, config: MkDocsConfig, files: Any) -> Navigation:
        # mkdocs-static-i18n translates the titles written in mkdocs.yml (nav_translations); the
        # groups come from the cards, so their sections are retitled here, before it runs (-100).
        language = config.theme.get("language", "zh")
        if language != "zh":
            for section in nav.items:
                for item in getattr(section, "children", None) or []:
                    titles = self.group_titles.get(getattr(item, "title", None) or "") if isinstance(item, Section) else None
                    if titles is not None:
                        item.title = titles.get(language, item.title)
        return nav

    def on_pre_build(self, config: MkDocsConfig) -> None:
        assert self.project is not None
        # Under the project lock, so `mkdocs serve` and `make cards` never write site_src/ at once:
        # each generation reads the inputs and judges which pages are stale after the other's
        # write, never before it. Pages are written only when they changed, so after the other
        # run's write this one writes nothing, and serve reloads once.
        with lock.project_lock(self.project.root, what="page generation"):
            # Not again for the second language's build, or a rebuild caused by our own writes.
            fresh = self.generated is None or build.inputs_fingerprint(self.project) != self.generated.fingerprint
            if fresh:
                try:
                    self.generated = build.generate(self.project)
                except CardError as error:
                    raise PluginError("cards have errors:\n" + str(error)) from None
        assert self.generated is not None
        self._extend_nav(config, self.generated.cards)
        if not fresh:
            return
        for problem in self.generated.warnings:
            log.info("%s", problem)
        report = self.generated.report
        log.info("zoocards: %d pages written, %d unchanged, %d removed", len(report.written), len(report.unchanged), len(report.removed))

    def on_serve(self, server: Any, config: MkDocsConfig, builder: Any) -> Any:
        assert self.project is not None
        for path in (self.project.cards_dir, self.project.measurements_dir, self.project.templates_dir):
            if path.is_dir():
                server.watch(str(path))
        return server

    def on_post_page(self, output: str, page: Any, config: MkDocsConfig) -> str:
        # Material fetches `sitemap.xml` beside every <link rel="alternate" hreflang> (it expects
        # language roots); mkdocs-static-i18n points those links at pages, so each page asked for a
        # sitemap that does not exist: a 404 in the console on every page. The language selector
        # (<a hreflang> in the header) still links each page to its translation.
        return _PAGE_ALTERNATE.sub("", output)

    def on_post_build(self, config: MkDocsConfig) -> None:
        # Runs once per language; the exports belong to the root site only.
        if self.generated is not None and config.site_dir == self.root_site_dir:
            done = (self.generated.fingerprint, config.site_dir)
            if self.exported == done and (Path(config.site_dir) / "api").is_dir():
                return  # mkdocs-static-i18n's second language: the same exports are already there
            build.write_api(Path(config.site_dir), self.generated)
            self.exported = done
