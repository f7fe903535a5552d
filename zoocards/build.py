"""The pipeline, top to bottom: the only module that calls more than one stage."""

from __future__ import annotations

import gc
import hashlib
import json
import multiprocessing
import os
import pickle
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Callable, Generic, Iterable, Iterator, TypeVar

from zoocards import check, compare, exports, load, lock, measure, perf, render, write
from zoocards import sources as upstream
from zoocards.errors import CardError, Problem, ZoocardsError


@dataclass(frozen=True)
class Project:
    """Where a zoo keeps its parts; every path defaults to the layout of this repository."""

    root: Path
    cards_dir: Path
    measurements_dir: Path
    templates_dir: Path
    docs_dir: Path
    site_dir: Path
    # What earlier builds loaded and rendered (see RenderCache); None: keep nothing on disk.
    cache_dir: Path | None = None

    @classmethod
    def at(cls, root: Path) -> "Project":
        root = root.resolve()
        cache = os.environ.get("ZOOCARDS_CACHE_DIR", str(root / ".cache" / "zoocards"))
        return cls(
            root=root,
            cards_dir=Path(os.environ.get("ZOOCARDS_CARDS_DIR", root / "cards")),
            measurements_dir=Path(os.environ.get("ZOOCARDS_MEASUREMENTS_DIR", root / "measurements")),
            templates_dir=root / "templates",
            docs_dir=root / "site_src",
            site_dir=root / "site",
            cache_dir=Path(cache) if cache else None,
        )


@dataclass
class Generated:
    """The outcome of one generation: pages, verification records, warnings, changes."""

    cards: list[load.Card]
    verifications: list[dict[str, Any]]
    pages: dict[str, str]
    warnings: list[Problem]
    report: write.WriteReport
    fingerprint: str
    seconds: dict[str, float] = field(default_factory=dict)
    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    rendered: list[str] = field(default_factory=list)  # card ids whose pages were rendered (not cached)
    zoo_rendered: bool = True  # whether the zoo-wide pages were rendered (not cached)
    disagreements: list[Any] = field(default_factory=list)  # figures upstream pages write differently (compare.disagreements)


# Card fields no zoo-wide page (family index, verification report, leaderboard, plots) shows:
# editing them re-renders the card's own pages only. tests/test_incremental.py holds this to account.
ZOO_IGNORED_FIELDS = ("summary", "weights", "board", "papers", "code", "downloads", "training_config")


@dataclass
class RenderCache:
    """What earlier generations loaded and rendered, keyed by a hash of its inputs.

    `mkdocs serve` keeps its plugin (and so this cache) across rebuilds: after one card
    changes, only that card is loaded, checked, compared and rendered again, and the zoo-wide
    pages only when something they show changed. Nothing is keyed by mtime.

    Attached to a directory (`attach`), the cache also outlives the process: each card's
    entries are one pickle file, read the first time the card is looked up and rewritten only
    when they changed, so `make cards`, a restarted `mkdocs serve` or a CI job that restores
    `.cache/` starts where the last build stopped. The directory is named after a hash of
    zoocards' own code and library versions: a different version never reads these files.
    """

    cards: dict[Path, tuple[str, load.Card | None, list[Problem]]] = field(default_factory=dict)
    verifications: dict[str, tuple[str, list[dict[str, Any]]]] = field(default_factory=dict)
    families: dict[str, tuple[str, dict[str, str]]] = field(default_factory=dict)
    zoo: tuple[str, dict[str, str]] | None = None
    zoo_digests: dict[str, tuple[str, str]] = field(default_factory=dict)
    records: dict[str, tuple[str, list[dict[str, Any]]]] = field(default_factory=dict)  # measurement files, by hash
    templates: str = ""
    exports: tuple[str, dict[str, str]] | None = None
    # The pages of the last generation and what their files looked like after it (write.write_pages' `known`).
    last_pages: dict[str, str] = field(default_factory=dict)
    page_stats: dict[str, tuple[int, int]] = field(default_factory=dict)
    docs_dir: Path | None = None
    fragments: render.Fragments = field(default_factory=lambda: render.Fragments(digests={}))
    disk: Path | None = None
    _looked_up: set[Path] = field(default_factory=set)
    _saved: dict[str, str] = field(default_factory=dict)
    _pieces_loaded: set[str] = field(default_factory=set)
    _swept: bool = False
    _zoo_on_disk: "_PagesOnDisk | None" = None

    def attach(self, cache_dir: Path | None) -> None:
        """Keep this cache under `cache_dir` too (None: in memory only)."""
        disk = None if cache_dir is None else cache_dir / _code_version()
        if disk != self.disk:
            self.disk, self._looked_up, self._saved, self._pieces_loaded, self._swept = disk, set(), {}, set(), False
            if disk is not None and self.zoo is None:
                zoo, exported = _read_pickle(disk / "zoo.pickle"), _read_pickle(disk / "exports.pickle")
                self._zoo_on_disk = zoo if isinstance(zoo, _PagesOnDisk) else None
                self.exports = exported if isinstance(exported, tuple) else None
                self._saved.update({"zoo": zoo.signature() if isinstance(zoo, _PagesOnDisk) else "", "exports": self._key(self.exports)})

    def zoo_pages(self, docs_dir: Path) -> tuple[str, dict[str, str]] | None:
        """The zoo-wide pages and their key: this process's, or the ones the last build wrote into `docs_dir`.

        The cache on disk keeps only their key and the size and mtime their files had after the
        write (the pages are 25 MB at 1000 families: writing them again into the cache after each
        edit cost more than the edit's other writes). A file that still has them holds the page.
        """
        stored, self._zoo_on_disk = self._zoo_on_disk, None
        if self.zoo is None and stored is not None and stored.docs_dir == str(docs_dir):
            pages = {}
            for relative, stat in stored.stats.items():
                path = docs_dir / relative
                if write.file_stat(path) != stat:
                    return None
                pages[relative] = path.read_text(encoding="utf-8")
                self.page_stats[relative], self.last_pages[relative], self.docs_dir = stat, pages[relative], docs_dir
            self.zoo = (stored.key, pages)
        return self.zoo

    def lookup(self, path: Path) -> None:
        """Bring a card's entries in from disk the first time the card is looked up."""
        if self.disk is None or path in self._looked_up:
            return
        self._looked_up.add(path)
        if path in self.cards:
            return
        stored = _read_pickle(self.disk / "cards" / f"{path.name}.pickle")
        if not isinstance(stored, dict) or stored.get("path") != str(path):
            return
        self.cards[path] = stored["card"]
        card = stored["card"][1]
        if card is not None:
            for table, key in ((self.verifications, "verifications"), (self.families, "family"), (self.zoo_digests, "zoo_digest")):
                if stored.get(key) is not None:
                    table[card.id] = stored[key]
        self._saved[path.name] = self._signature(path)

    def load_pieces(self, paths: list[Path]) -> None:
        """Before a zoo render: bring in the cards' pieces of the zoo-wide pages (only a zoo render reads them)."""
        if self.disk is None:
            return
        for path in paths:
            if path.name not in self._pieces_loaded:
                self._pieces_loaded.add(path.name)
                stored = _read_pickle(self.disk / "pieces" / f"{path.name}.pickle")
                if isinstance(stored, dict):  # pieces this process holds stay: the charts' memo keys on their identity
                    for key, hit in stored.items():
                        self.fragments.memo.setdefault(key, hit)

    def save(self) -> None:
        """Write the entries that changed since they were read or last written."""
        if self.disk is None:
            return
        if not self._swept:  # other versions' entries can never be read by this one
            self._swept = True
            for old in self.disk.parent.glob("v-*"):
                if old != self.disk and old.is_dir():
                    shutil.rmtree(old, ignore_errors=True)
        for path in list(self.cards):
            signature = self._signature(path)
            if self._saved.get(path.name) == signature:
                continue
            hit = self.cards[path]
            entry: dict[str, Any] = {"path": str(path), "card": hit}
            if hit[1] is not None:
                card_id = hit[1].id
                entry.update(verifications=self.verifications.get(card_id), family=self.families.get(card_id), zoo_digest=self.zoo_digests.get(card_id))
            _write_pickle(self.disk / "cards" / f"{path.name}.pickle", entry)
            self._saved[path.name] = signature
        made = self.fragments.made
        if made:  # the cards a zoo render made pieces for: keep each card's, by card file
            names = {hit[1].id: path.name for path, hit in self.cards.items() if hit[1] is not None}
            pieces: dict[str, dict[tuple[str, ...], tuple[str, Any]]] = {card_id: {} for card_id in made}
            for key, piece in self.fragments.memo.items():
                if key[1] in made:
                    pieces[key[1]][key] = piece
            for card_id, mine in pieces.items():
                if card_id in names:
                    _write_pickle(self.disk / "pieces" / f"{names[card_id]}.pickle", mine)
                    self._pieces_loaded.add(names[card_id])  # what the file holds, memory holds: never read it back
            made.clear()
        if self.zoo is not None and self.docs_dir is not None and all(relative in self.page_stats for relative in self.zoo[1]):
            zoo = _PagesOnDisk(self.zoo[0], str(self.docs_dir), {relative: self.page_stats[relative] for relative in self.zoo[1]})
            if self._saved.get("zoo") != zoo.signature():
                _write_pickle(self.disk / "zoo.pickle", zoo)
                self._saved["zoo"] = zoo.signature()
        if self._saved.get("exports") != self._key(self.exports):
            _write_pickle(self.disk / "exports.pickle", self.exports)
            self._saved["exports"] = self._key(self.exports)

    def _signature(self, path: Path) -> str:
        hit = self.cards.get(path)
        if hit is None:
            return ""
        card_id = hit[1].id if hit[1] is not None else ""
        return "|".join([hit[0]] + [(table.get(card_id) or ("",))[0] for table in (self.verifications, self.families, self.zoo_digests)])

    @staticmethod
    def _key(value: tuple[str, Any] | None) -> str:
        return value[0] if value else ""


@dataclass(frozen=True)
class _PagesOnDisk:
    """Pages kept as the files a build wrote: their key, where, and each file's (size, mtime) after the write."""

    key: str
    docs_dir: str
    stats: dict[str, tuple[int, int]]

    def signature(self) -> str:
        return _sha256(self.key, self.docs_dir, _json(sorted(self.stats.items())))


def _code_version() -> str:
    """A hash of what makes a cached entry valid: zoocards' code, Python and the libraries that shape its output."""
    global _CODE_VERSION
    if _CODE_VERSION is None:
        from importlib.metadata import version

        digest = hashlib.sha256(f"{sys.version}|{yaml_version()}|{version('jinja2')}|{version('markupsafe')}".encode())
        for path in sorted(Path(__file__).parent.rglob("*.py")):
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
        _CODE_VERSION = "v-" + digest.hexdigest()[:16]
    return _CODE_VERSION


_CODE_VERSION: str | None = None


def yaml_version() -> str:
    import yaml

    return f"{yaml.__version__}{'+libyaml' if getattr(yaml, '__with_libyaml__', False) else ''}"


def _read_pickle(path: Path) -> Any:
    """A cache file's content, or None when it is missing or unreadable (the entry is then rebuilt)."""
    try:
        with open(path, "rb") as handle:
            return pickle.load(handle)
    except FileNotFoundError:
        return None
    except Exception:  # a truncated or foreign file: a cache miss, never an error
        return None


def _write_pickle(path: Path, value: Any) -> None:
    """Write aside, then rename: a reader never sees half a file. No fsync: a lost entry is only a miss."""
    path.parent.mkdir(parents=True, exist_ok=True)
    aside = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(aside, "wb") as handle:
        pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(aside, path)


_PROCESS_CACHE = RenderCache()


def process_cache(project: Project | None = None) -> RenderCache:
    """This process's cache, which `generate` uses unless given another; kept under the project's cache dir."""
    if project is not None:
        _PROCESS_CACHE.attach(project.cache_dir)
    return _PROCESS_CACHE


def _sha256(*parts: str | bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8") if isinstance(part, str) else part)
        digest.update(b"\0")
    return digest.hexdigest()


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def load_and_check(cards_dir: Path, cache: RenderCache | None = None, inputs: Inputs | None = None) -> tuple[list[load.Card], list[Problem]]:
    """Load every card of a directory and check them all; raise CardError with every error at once."""
    return load_and_check_paths(load.card_paths(cards_dir), cache, inputs)


def load_and_check_paths(paths: list[Path], cache: RenderCache | None = None, inputs: Inputs | None = None) -> tuple[list[load.Card], list[Problem]]:
    """Load and check the given card files (their bytes from `inputs` when it has them); raise CardError with every error at once."""
    cards: list[load.Card] = []
    problems: list[Problem] = []
    files = inputs.files if inputs is not None else {}
    hits: list[tuple[str, load.Card | None, list[Problem]] | None] = []
    misses: list[tuple[int, str]] = []  # (index in paths, digest) of the cards to load and check
    for index, path in enumerate(paths):
        data = files.get(str(path))
        digest = _sha256(path.read_bytes() if data is None else data)
        if cache is not None:
            cache.lookup(path)
        hit = cache.cards.get(path) if cache is not None else None
        if hit is None or hit[0] != digest:
            hit = None
            misses.append((index, digest))
        hits.append(hit)
    # A cold start loads many cards: forked workers share them (each card stands alone until cross_card_problems).
    loaded = start_shared_map(lambda i: _load_checked(paths[misses[i][0]], files.get(str(paths[misses[i][0]]))), len(misses), LOAD_CHUNK, _shared_processes(len(misses))).result()
    for (index, digest), (card, found) in zip(misses, loaded):
        hits[index] = (digest, card, found)
        if cache is not None:
            cache.cards[paths[index]] = (digest, card, found)
    for hit in hits:
        assert hit is not None
        if hit[1] is not None:
            cards.append(hit[1])
        problems.extend(hit[2])
    if cache is not None:
        for stale in set(cache.cards) - set(paths):
            del cache.cards[stale]
    problems.extend(check.cross_card_problems(cards))
    problems.sort()
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise CardError(errors)
    return cards, [p for p in problems if p.severity != "error"]


def _load_checked(path: Path, data: bytes | None) -> tuple[load.Card | None, list[Problem]]:
    """One card loaded (from `data`, its bytes, when read already) and checked on its own: (the card or None, its problems)."""
    try:
        card = load.load_file(path, data)
        return card, check.check_card(card)
    except CardError as error:
        return None, list(error.problems)


@dataclass(frozen=True)
class Inputs:
    """Every file generation reads, read once: one hash of them all, and the bytes of cards and measurements."""

    fingerprint: str
    files: dict[str, bytes]  # path -> bytes, for cards_dir/*.yaml and measurements_dir/*.json


def read_inputs(project: Project) -> Inputs:
    """Read the cards, measurements, templates and benchmark once (by name: Path objects cost more than the reads)."""
    digest = hashlib.sha256()
    files: dict[str, bytes] = {}
    sources = ((project.cards_dir, ".yaml", False), (project.measurements_dir, ".json", False), (project.templates_dir, "", True), (project.root / "perf", "bench.json", False),
               (project.root / upstream.SOURCES_DIR, ".yaml", False))
    for directory, suffix, recursive in sources:
        found: list[tuple[str, str]] = []
        for top, dirs, names in os.walk(directory):
            dirs.sort()
            relative_top = os.path.relpath(top, directory)
            found += [(os.path.normpath(os.path.join(relative_top, name)), os.path.join(top, name)) for name in names if name.endswith(suffix)]
            if not recursive:
                break
        for relative, path in sorted(found):
            try:
                with open(path, "rb") as handle:
                    data = handle.read()
            except (FileNotFoundError, IsADirectoryError):
                continue
            digest.update(relative.encode())
            digest.update(data)
            if not recursive:
                files[path] = data
    return Inputs(digest.hexdigest(), files)


def inputs_fingerprint(project: Project) -> str:
    """A hash of everything generation reads, so an unchanged zoo is not rendered twice."""
    return read_inputs(project).fingerprint


def generate(project: Project, cache: RenderCache | None = None) -> Generated:
    """cards -> check -> compare with measurements -> render -> write into site_src/.

    Whatever `cache` (this process's, by default) holds for unchanged inputs is reused. Callers
    that share site_src/ with other processes hold the project lock around it (lock.py; the CLI
    and the mkdocs plugin do), so the pages a generation removes as stale are judged against
    the inputs it read itself.
    """
    # A generation makes millions of objects that live until it ends and few reference cycles:
    # the collector's full passes over them (eleven at 1000 families) cost 0.5 s of a cold
    # build and free nothing (peak memory is the same without them). Forked workers inherit this.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _generate(project, cache)
    finally:
        if collecting:
            gc.enable()


def _generate(project: Project, cache: RenderCache | None) -> Generated:
    cache = process_cache(project) if cache is None else cache
    clock = _Stopwatch()
    with clock("load_check"):
        read = read_inputs(project)
        cards, warnings = load_and_check(project.cards_dir, cache, read)
        sources = upstream.load_sources(project.root)  # pages that quote many families' figures again
    with clock("compare"):
        compared = _compare(project, cards, read, cache)
    with clock("render"):
        pages, rendered, zoo_rendered = _render(project, cards, compared, cache)
        pages.update(render.render_sources(sources, cards, project.templates_dir))
        disagreements = render.add_disagreements(pages, compare.disagreements(cards, sources), cards, sources, project.templates_dir)
    with clock("write"):
        report = _write(project, pages, cache)
    # What the cache holds lives as long as the process: leave it out of the collector's full
    # passes, which otherwise walk millions of kept objects during the next generation.
    gc.freeze()
    return Generated(cards, compared.verifications, pages, warnings, report, read.fingerprint, clock.seconds, compared.records, rendered, zoo_rendered, disagreements)


V = TypeVar("V")


@dataclass(frozen=True)
class Memo(Generic[V]):
    """One stage's kept results: per card id, a value and the hash of the inputs it was made from (its key).

    A view over one of RenderCache's tables, which are what the cache keeps on disk.
    """

    table: dict[str, tuple[str, V]]

    def get(self, name: str, key: str, make: Callable[[], V]) -> V:
        """The value kept for `name` while its key is `key`; else `make()`, then kept."""
        hit = self.table.get(name)
        if hit is None or hit[0] != key:
            hit = (key, make())
            self.table[name] = hit
        return hit[1]

    def stale(self, name: str, key: str) -> bool:
        """Whether `name` has no value made from inputs hashing to `key` (for values made together, then `put`)."""
        hit = self.table.get(name)
        return hit is None or hit[0] != key

    def put(self, name: str, key: str, value: V) -> None:
        self.table[name] = (key, value)

    def __getitem__(self, name: str) -> V:
        return self.table[name][1]

    def keep_only(self, names: Iterable[str]) -> None:
        """Forget the values of every other name (cards that are gone)."""
        for gone in set(self.table) - set(names):
            del self.table[gone]


class _Stopwatch:
    """Seconds per stage: `with clock("render"): ...`."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        started = time.perf_counter()
        yield
        self.seconds[stage] = time.perf_counter() - started


@dataclass(frozen=True)
class _Compared:
    """The compare stage's outcome, per card id: its records, its verifications, and the key of both."""

    records: dict[str, list[dict[str, Any]]]
    by_card: dict[str, list[dict[str, Any]]]
    verifications: list[dict[str, Any]]  # every card's, in card order
    keys: dict[str, str]  # a hash of the card's text and path, its measurement file and this host
    host: dict[str, Any]


def _compare(project: Project, cards: list[load.Card], read: Inputs, cache: RenderCache) -> _Compared:
    """Stage 2: each card's measurement records (kept per file's bytes) joined to its claims (kept per card, records and host)."""
    files: Memo[list[dict[str, Any]]] = Memo(cache.records)
    records, digests = {}, {}
    for card in cards:
        digests[card.id], records[card.id] = _records(project.measurements_dir, card.id, read, files)
    files.keep_only(records)
    host = measure.host_fingerprint()
    host_json = _json(host)
    keys = {card.id: _sha256(card.source, str(card.path), digests[card.id], host_json) for card in cards}
    verified: Memo[list[dict[str, Any]]] = Memo(cache.verifications)
    by_card = {card.id: verified.get(card.id, keys[card.id], partial(_verify, card, records[card.id], host)) for card in cards}
    return _Compared(records, by_card, [v for card in cards for v in by_card[card.id]], keys, host)


def _verify(card: load.Card, records: list[dict[str, Any]], host: dict[str, Any]) -> list[dict[str, Any]]:
    return [dict(v) for v in compare.verify([card], {card.id: records}, host)]


def _render(project: Project, cards: list[load.Card], compared: _Compared, cache: RenderCache) -> tuple[dict[str, str], list[str], bool]:
    """Stage 3: family pages (kept per card and templates), zoo-wide pages (kept per zoo digest); (pages, cards rendered, whether the zoo was)."""
    templates = _templates_digest(project.templates_dir)
    if templates != cache.templates:
        render.forget_templates()  # so template edits show up under `mkdocs serve`
        cache.templates = templates
    families: Memo[dict[str, str]] = Memo(cache.families)
    keys = {card.id: _sha256(compared.keys[card.id], templates) for card in cards}
    stale = [card for card in cards if families.stale(card.id, keys[card.id])]
    # Forked workers render the family pages while this process renders the zoo-wide ones.
    families_made = start_family_render([(card, compared.by_card[card.id], compared.records[card.id]) for card in stale], project.templates_dir)
    try:
        zoo_rendered = _zoo_pages(project, cache, cards, compared, templates)
        family_pages_made = families_made.result()
    except BaseException:
        families_made.stop()  # no worker outlives a failed generation
        raise
    for card, family_pages in zip(stale, family_pages_made):
        families.put(card.id, keys[card.id], family_pages)
    families.keep_only(keys)
    pages: dict[str, str] = {}
    for card in cards:
        pages.update(families[card.id])
    assert cache.zoo is not None
    pages.update(cache.zoo[1])
    return pages, [card.id for card in stale], zoo_rendered


def _write(project: Project, pages: dict[str, str], cache: RenderCache) -> write.WriteReport:
    """Stage 4: the pages that changed into site_src/, stale ones removed; the cache learns what the files hold now."""
    # A file that still has the size and mtime it had after the last write holds the text
    # written then: it is compared in memory, not read back (92 MB at 1000 families).
    known = {relative: (stat, cache.last_pages[relative]) for relative, stat in cache.page_stats.items()
             if relative in cache.last_pages} if cache.docs_dir == project.docs_dir else {}
    report = write.write_pages(project.docs_dir, pages, known=known)
    cache.last_pages, cache.page_stats, cache.docs_dir = dict(pages), report.stats, project.docs_dir
    cache.save()
    return report


def _zoo_pages(project: Project, cache: RenderCache, cards: list[load.Card], compared: _Compared, templates: str) -> bool:
    """Bring `cache.zoo` up to date: the zoo-wide pages kept, or rendered again; whether they were rendered."""
    performance = perf.load_bench(project.root / "perf" / "bench.json")
    digests: Memo[str] = Memo(cache.zoo_digests)
    # A digest per card version, not per generation (0.07 s at 1000 families).
    zoo_digests = {card.id: digests.get(card.id, compared.keys[card.id], partial(_zoo_digest, card, compared.records[card.id])) for card in cards}
    digests.keep_only(zoo_digests)
    zoo_key = _sha256(templates, _json(compared.host), _json(performance), *(zoo_digests[card.id] for card in cards))
    kept_zoo = cache.zoo_pages(project.docs_dir)
    zoo_rendered = kept_zoo is None or kept_zoo[0] != zoo_key
    if zoo_rendered:
        # Each card's pieces of the zoo-wide pages are kept while this digest holds (render.Fragments).
        context = _sha256(templates, _json(compared.host))
        cache.fragments.digests = {card.id: _sha256(zoo_digests[card.id], context) for card in cards}
        cache.load_pieces([card.path for card in cards])
        render.use_bytecode_cache(None if cache.disk is None else cache.disk / "jinja")
        cache.zoo = (zoo_key, render.render_zoo_pages(cards, compared.verifications, compared.records, project.templates_dir, performance, cache.fragments, compared.by_card))
    assert cache.zoo is not None
    return zoo_rendered


def _records(measurements_dir: Path, card_id: str, inputs: Inputs, memo: Memo[list[dict[str, Any]]]) -> tuple[str, list[dict[str, Any]]]:
    """(a hash of the card's measurement file, its records), parsed again only when the file changed."""
    path = measurements_dir / f"{card_id}.json"
    data = inputs.files.get(str(path))
    if data is None:
        return "", measure.load_records(measurements_dir, card_id)  # absent, or not read with the inputs
    digest = _sha256(data)
    return digest, memo.get(card_id, digest, partial(measure.parse_records, path, data))


# Below this many family pages to render, one process renders them (a fork costs more than it saves).
PARALLEL_MIN_CARDS = 64
# Family pages and cards claimed at a time: small enough that the processes finish together.
FAMILY_CHUNK = 8
LOAD_CHUNK = 16
T = TypeVar("T")


@dataclass(frozen=True)
class Pending(Generic[T]):
    """Results being made: `result()` gives them, in order; `stop()` abandons them."""

    result: Callable[[], list[T]]
    stop: Callable[[], None] = lambda: None


def start_family_render(jobs: list[tuple[load.Card, list[dict[str, Any]], list[dict[str, Any]]]], templates_dir: Path) -> Pending[dict[str, str]]:
    """Start rendering each job's family pages (`result()` gives them, in order).

    With many jobs, forked workers render them (`start_shared_map`) while the caller renders
    the zoo-wide pages; `result()` then renders what is left in this process too, so all cores
    finish together. Rendering is pure and the pages come back as text, so the result is the
    same either way (tests/test_cache.py).
    """
    if not jobs:
        return Pending(list)
    first = render.render_family(*jobs[0], templates_dir)  # compiles the templates once, before any fork
    rest = start_shared_map(lambda i: render.render_family(*jobs[i + 1], templates_dir), len(jobs) - 1, FAMILY_CHUNK, _shared_processes(len(jobs)))
    return Pending(lambda: [first] + rest.result(), rest.stop)


def start_shared_map(work: Callable[[int], T], count: int, chunk: int, workers: int) -> Pending[T]:
    """`work(i)` for every i below `count`, shared by this process and `workers - 1` forked ones.

    Each process claims `chunk` indices at a time from one shared counter; `result()` claims
    what is left in this process, then gives every result in order. A worker leaves each
    chunk's results in a file as it goes (a pipe would stall it while this process is busy
    elsewhere; one dump at the end would keep this process waiting for it). Never under
    threads (`mkdocs serve`'s watcher): forking a threaded process is unsafe (`_shared_processes`
    says 1 there). ZOOCARDS_JOBS=1 turns it off. With `workers` below 2 it all runs here, now.
    """
    if workers < 2:
        done = [work(i) for i in range(count)]
        return Pending(lambda: done)
    chunks = [range(start, min(start + chunk, count)) for start in range(0, count, chunk)]
    context = multiprocessing.get_context("fork")
    claimed = context.Value("i", 0)

    def claim() -> int:
        with claimed.get_lock():
            index = claimed.value
            claimed.value = index + 1
        return index

    def work_claimed(sink: Callable[[int, list[T]], None]) -> None:
        while (index := claim()) < len(chunks):
            sink(index, [work(i) for i in chunks[index]])

    folder = Path(tempfile.mkdtemp(prefix="zoocards-work-"))
    processes = []
    try:
        for number in range(workers - 1):
            process = context.Process(target=_shared_worker, args=(work_claimed, folder / f"{number}.pickle"), daemon=True)
            process.start()
            processes.append(process)
    except BaseException:
        _stop(processes, folder)
        raise

    def finish() -> list[T]:
        made: dict[int, list[T]] = {}
        try:
            work_claimed(made.__setitem__)
            for number, process in enumerate(processes):
                process.join()
                ended = False
                try:
                    with open(folder / f"{number}.pickle", "rb") as handle:
                        while not ended:
                            index, results = pickle.load(handle)
                            if index == "failed":
                                raise ZoocardsError(f"a worker process failed:\n{results}")
                            ended = index == "done"
                            if not ended:
                                made[index] = results
                except (OSError, EOFError, pickle.UnpicklingError):
                    raise ZoocardsError(f"a worker process stopped (exit code {process.exitcode}); ZOOCARDS_JOBS=1 works in one process") from None
        finally:
            _stop(processes, folder)
        return [result for index in range(len(chunks)) for result in made[index]]

    return Pending(finish, lambda: _stop(processes, folder))


def _shared_worker(work_claimed: Callable[[Callable[[int, list[Any]], None]], None], out: Path) -> None:
    """A forked worker: do what it claims, leaving each chunk's results in `out` as soon as they are made, then "done" (or "failed" and its traceback)."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # `_stop` ends it with SIGTERM; the CLI's handler (cli.main) is for the parent
    with open(out, "wb") as handle:
        try:
            work_claimed(lambda index, results: pickle.dump((index, results), handle, protocol=pickle.HIGHEST_PROTOCOL))
            pickle.dump(("done", None), handle)
        except BaseException:
            import traceback

            pickle.dump(("failed", traceback.format_exc()), handle)


def _stop(processes: list[Any], folder: Path) -> None:
    for process in processes:
        if process.is_alive():
            process.terminate()
        process.join()
    shutil.rmtree(folder, ignore_errors=True)


def _shared_processes(jobs: int) -> int:
    """How many processes share a cold build's loading or family pages, this one included (ZOOCARDS_JOBS, else the cores, up to 8)."""
    configured = os.environ.get("ZOOCARDS_JOBS", "")
    if configured.isdigit() and int(configured) > 0:
        wanted = int(configured)
    else:
        wanted = min(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1), 8)
    if jobs < PARALLEL_MIN_CARDS or threading.active_count() > 1 or "fork" not in multiprocessing.get_all_start_methods():
        return 1
    return min(wanted, jobs)


def _zoo_digest(card: load.Card, records: list[dict[str, Any]]) -> str:
    """What the zoo-wide pages can show of one card: its data and numbers as written, less ZOO_IGNORED_FIELDS."""
    data = {k: v for k, v in card.data.items() if k not in ZOO_IGNORED_FIELDS}
    raw = [(path, text) for path, text in card.raw.items() if path and path[0] not in ZOO_IGNORED_FIELDS]
    # Pickled, not JSON (a third of the time): a cache key, for which equal cards read from equal
    # text give equal bytes; a card whose keys merely moved gets a new key, which costs one render.
    return _sha256(pickle.dumps((str(card.path), data, raw, records), protocol=pickle.HIGHEST_PROTOCOL))


def _templates_digest(templates_dir: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(templates_dir.rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(templates_dir)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def write_api(site_dir: Path, generated: Generated, cache: RenderCache | None = None) -> None:
    """Machine-readable exports under site/api/; unchanged inputs reuse the texts the cache holds."""
    api = site_dir / "api"
    cache = process_cache() if cache is None else cache
    # The exports follow from every input file and the host (the verdicts depend on it).
    key = _sha256(generated.fingerprint, _json(measure.host_fingerprint()), _json(generated.disagreements))  # the sources are no input file
    if cache.exports is None or cache.exports[0] != key:
        texts = exports.export_texts(generated.cards, generated.verifications, generated.records)
        texts["verification.json"] = json.dumps({"verifications": generated.verifications, "disagreements": generated.disagreements}, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
        cache.exports = (key, texts)
        cache.save()
    exports.write_texts(api, cache.exports[1])


def build_site(project: Project, *, strict: bool = True, in_process: bool = False, wait: bool = True) -> float:
    """Run mkdocs (which generates pages through the zoocards plugin) into a fresh directory, then swap it in.

    All of it runs under the project lock (taken here unless the caller holds it; `wait=False`
    raises lock.LockHeld instead of waiting for another run), in a staging directory of this
    run's own, removed on every way out; what killed runs left is removed first. In process,
    the plugin's generation reuses what this process already loaded, checked and rendered (the
    render cache), instead of starting over in a new interpreter.
    """
    with lock.project_lock(project.root, wait=wait, what="build"):
        started = time.perf_counter()
        write.clear_leftovers(project.site_dir)
        fresh = write.staging_dir(project.site_dir)
        try:
            if in_process:
                _mkdocs_build_here(project, fresh, strict)
            else:
                command = [sys.executable, "-m", "mkdocs", "build", "--site-dir", str(fresh), "--config-file", str(project.root / "mkdocs.yml")]
                # mkdocs.yml says `strict: true`: leaving the flag out would keep it, so say --no-strict.
                command.append("--strict" if strict else "--no-strict")
                # mkdocs generates site_src/ through the plugin: under this process's lock, handed down.
                env, fds = lock.for_child(project.root, dict(os.environ))
                result = subprocess.run(command, cwd=project.root, env=env, pass_fds=fds)
                if result.returncode != 0:
                    raise ZoocardsError(f"mkdocs build failed (exit {result.returncode}); the previous site/ is left as it was")
            write.swap_directory(fresh, project.site_dir)
        finally:
            shutil.rmtree(fresh, ignore_errors=True)  # gone after a swap; a failed or interrupted build's pages otherwise
        return time.perf_counter() - started


def _mkdocs_build_here(project: Project, fresh: Path, strict: bool) -> None:
    import logging

    from mkdocs.commands.build import build as mkdocs_build
    from mkdocs.config import load_config
    from mkdocs.exceptions import MkDocsException

    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter("%(levelname)-7s -  %(message)s"))
    logger = logging.getLogger("mkdocs")
    logger.addHandler(handler)
    try:
        mkdocs_build(load_config(config_file=str(project.root / "mkdocs.yml"), site_dir=str(fresh), strict=strict))
    except MkDocsException as error:
        raise ZoocardsError(f"mkdocs build failed: {error}; the previous site/ is left as it was") from None
    finally:
        logger.removeHandler(handler)
