"""`zoocards linkcheck`: every link of the built site leads somewhere.

Internal links (relative hrefs and #fragments, both languages) are always checked and
need no network. External http(s) links are checked only on request (`--external`):
HEAD first, GET when the server refuses HEAD, a timeout per request and a bounded
number of requests in flight.
"""

from __future__ import annotations

import concurrent.futures
import html.parser
import posixpath
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

USER_AGENT = "zoocards-linkcheck/1 (+https://github.com/)"


@dataclass
class PageLinks:
    """The ids a page defines and the links it holds (with their line numbers)."""

    ids: set[str] = field(default_factory=set)
    links: list[tuple[int, str]] = field(default_factory=list)


class _Collector(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = PageLinks()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in ("id", "name") if tag == "a" else ("id",):
            if values.get(name):
                self.page.ids.add(str(values[name]))
        target = values.get("href") if tag in ("a", "link") else values.get("src") if tag in ("img", "script") else None
        if target:
            self.page.links.append((self.getpos()[0], target))


def parse(path: Path) -> PageLinks:
    """Ids and links of one HTML file."""
    collector = _Collector()
    collector.feed(path.read_text(encoding="utf-8", errors="replace"))
    return collector.page


@dataclass(frozen=True)
class Broken:
    """A link that leads nowhere, located in the page that holds it."""

    page: str
    line: int
    target: str
    reason: str

    def __str__(self) -> str:
        return f"{self.page}:{self.line}: {self.target}: {self.reason}"


def _resolve(site: Path, page: Path, target: str) -> tuple[Path | None, str]:
    """The file a relative href points to (directory links mean index.html), and its fragment."""
    parsed = urllib.parse.urlsplit(target)
    relative = urllib.parse.unquote(parsed.path)
    if not relative:
        return page, parsed.fragment
    base = page.parent.relative_to(site).as_posix()
    joined = posixpath.normpath(posixpath.join(base, relative)) if not relative.startswith("/") else relative.lstrip("/")
    if joined.startswith(".."):
        return None, parsed.fragment
    path = site / joined
    if path.is_dir() or relative.endswith("/"):
        path = path / "index.html"
    return path, parsed.fragment


def check_internal(site: Path) -> tuple[int, list[Broken]]:
    """(links checked, broken ones) for every relative link and fragment of every HTML page."""
    if not site.is_dir():
        from zoocards.errors import ZoocardsError

        raise ZoocardsError(f"{site} does not exist; build the site first (`zoocards build`)")
    pages = {path: parse(path) for path in sorted(site.rglob("*.html"))}
    broken: list[Broken] = []
    checked = 0
    for page, links in pages.items():
        for line, target in links.links:
            if urllib.parse.urlsplit(target).scheme or target.startswith("//"):
                continue  # external: only with --external
            checked += 1
            path, fragment = _resolve(site, page, target)
            where = page.relative_to(site).as_posix()
            if path is None:
                broken.append(Broken(where, line, target, "points outside the site"))
            elif not path.exists():
                broken.append(Broken(where, line, target, f"no such file {path.relative_to(site).as_posix() if path.is_relative_to(site) else path}"))
            elif fragment and path.suffix == ".html":
                ids = pages[path].ids if path in pages else parse(path).ids
                if urllib.parse.unquote(fragment) not in ids:
                    broken.append(Broken(where, line, target, f"no id '{urllib.parse.unquote(fragment)}' in {path.relative_to(site).as_posix()}"))
    return checked, broken


def external_links(site: Path) -> dict[str, list[str]]:
    """Every http(s) URL of the site, with the pages that hold it."""
    found: dict[str, list[str]] = {}
    for path in sorted(site.rglob("*.html")):
        for _, target in parse(path).links:
            if urllib.parse.urlsplit(target).scheme in ("http", "https"):
                found.setdefault(target.split("#", 1)[0], []).append(path.relative_to(site).as_posix())
    return found


def probe(url: str, timeout: float) -> tuple[str, str]:
    """(status, detail) for one URL: HEAD, then GET when HEAD is refused or unsupported."""
    last = ""
    for method in ("HEAD", "GET"):
        request = urllib.request.Request(url, method=method, headers={"User-Agent": USER_AGENT})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return "ok", f"{response.status} ({method})"
        except urllib.error.HTTPError as error:
            last = f"HTTP {error.code} ({method})"
            if method == "HEAD" and error.code in (403, 404, 405, 429, 501):
                continue  # many servers refuse HEAD; GET decides
            return "broken", last
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            reason = getattr(error, "reason", error)
            return ("timeout" if "timed out" in str(reason) else "unreachable"), f"{reason} ({method})"
    return "broken", last


def check_external(urls: list[str], *, timeout: float = 10.0, workers: int = 8) -> dict[str, tuple[str, str]]:
    """Status of every URL, at most `workers` requests in flight."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        results = dict(zip(urls, pool.map(lambda u: probe(u, timeout), urls)))
    return results
