"""`zoocards linkcheck`: broken relative links and anchors are found offline; external links only against 127.0.0.1."""

from __future__ import annotations

import http.server
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest

from tests.conftest import ROOT
from zoocards import build, cli, linkcheck


def _write(site: Path, relative: str, body: str) -> None:
    path = site / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"<!doctype html>\n<html><body>\n{body}\n</body></html>\n", encoding="utf-8")


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    _write(root, "index.html", '<a href="models/mini/">mini</a>\n<a href="models/mini/#model-mini-a">A</a>\n<a href="https://example.invalid/x">ext</a>')
    _write(root, "models/mini/index.html", '<h2 id="metrics">m</h2>\n<tr id="model-mini-a"></tr>\n<a href="../../en/">en</a>\n<a href="#metrics">top</a>')
    _write(root, "en/index.html", '<a href="models/mini/#model-mini-a">A</a>')
    _write(root, "en/models/mini/index.html", '<tr id="model-mini-a"></tr>\n<img src="../../../assets/logo.png">')
    (root / "assets").mkdir()
    (root / "assets" / "logo.png").write_bytes(b"png")
    return root


def test_a_sound_site_has_no_broken_links(site: Path) -> None:
    assert linkcheck.check_internal(site) == (6, [])


@pytest.mark.parametrize(
    ("page", "body", "expected"),
    [
        # a page that does not exist
        ("models/other.html", '<a href="../missing/">x</a>', "models/other.html:3: ../missing/: no such file missing/index.html"),
        # an anchor that does not exist in the target page, English side
        ("en/other.html", '<a href="models/mini/#model-mini-b">x</a>', "en/other.html:3: models/mini/#model-mini-b: no id 'model-mini-b' in en/models/mini/index.html"),
        # an anchor missing in the page itself
        ("other.html", '<a href="#nowhere">x</a>', "other.html:3: #nowhere: no id 'nowhere' in other.html"),
        # a link climbing out of the site
        ("other.html", '<a href="../../etc/passwd">x</a>', "other.html:3: ../../etc/passwd: points outside the site"),
    ],
)
def test_broken_links_are_located(site: Path, page: str, body: str, expected: str) -> None:
    _write(site, page, body)
    _, broken = linkcheck.check_internal(site)
    assert [str(b) for b in broken] == [expected]


def test_cli_exits_1_on_a_broken_link(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["linkcheck", "--site", str(site)]) == 0
    _write(site, "bad.html", '<a href="nope.html">x</a>')
    assert cli.main(["linkcheck", "--site", str(site)]) == 1
    assert capsys.readouterr().out.splitlines()[-2:] == ["bad.html:3: nope.html: no such file nope.html", "7 internal links checked, 1 broken"]


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_HEAD(self) -> None:  # noqa: N802 - http.server's naming
        if self.path == "/no-head":
            self.send_response(405)
        elif self.path == "/slow":
            time.sleep(2)
            self.send_response(200)
        else:
            self.send_response(200 if self.path == "/ok" else 404)
        self.end_headers()

    def do_GET(self) -> None:  # noqa: N802
        self.send_response(200 if self.path in ("/ok", "/no-head") else 404)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_external_links_head_then_get_with_timeouts(server: str) -> None:
    urls = [f"{server}/ok", f"{server}/no-head", f"{server}/gone", f"{server}/slow"]
    results = linkcheck.check_external(urls, timeout=0.5, workers=2)
    assert {u.rsplit("/", 1)[1]: r[0] for u, r in results.items()} == {"ok": "ok", "no-head": "ok", "gone": "broken", "slow": "timeout"}
    assert results[f"{server}/no-head"][1] == "200 (GET)"
    assert results[f"{server}/gone"][1] == "HTTP 404 (GET)"


def test_external_links_are_collected_from_pages(site: Path) -> None:
    assert linkcheck.external_links(site) == {"https://example.invalid/x": ["index.html"]}


@pytest.mark.slow
def test_the_real_site_has_no_broken_internal_links(tmp_path: Path) -> None:
    """Builds the project's site (about 10 s) into a copy, then checks every internal link of both languages."""
    project = build.Project.at(ROOT)
    project = build.Project(**{**project.__dict__, "site_dir": tmp_path / "site"})
    build.build_site(project, strict=False)
    checked, broken = linkcheck.check_internal(project.site_dir)
    assert checked > 100
    assert [str(b) for b in broken] == []
