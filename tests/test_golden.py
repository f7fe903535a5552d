"""Golden pages: a fresh render of one family equals the committed Markdown, byte for byte.

When a change to the card, templates or renderer is intended, refresh with `make golden`
and review the diff of tests/golden/ like any other change.
"""

from __future__ import annotations

import difflib

from tests.golden_support import GOLDEN_DIR, render_golden


def test_golden_family_pages_match() -> None:
    pages = render_golden()
    assert sorted(pages) == ["models/fasternet.en.md", "models/fasternet.zh.md"]
    for relative, text in pages.items():
        expected = (GOLDEN_DIR / "site_src" / relative).read_text(encoding="utf-8")
        if text != expected:
            diff = "".join(difflib.unified_diff(expected.splitlines(True), text.splitlines(True), "golden", "rendered", n=2))
            raise AssertionError(f"{relative} differs from the golden page (refresh with `make golden` if intended):\n{diff[:4000]}")
