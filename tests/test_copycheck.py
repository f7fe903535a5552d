"""Facts carry over from the upstream pages; sentences do not (issue 14)."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT, shared_or_skip


def test_no_sentence_of_the_corpus_is_copied_into_the_project() -> None:
    shared = shared_or_skip()
    targets = [str(ROOT / name) for name in ("cards", "templates", "site_src", "sources") if (ROOT / name).exists()]
    result = subprocess.run(
        [sys.executable, str(shared / "tools" / "copycheck.py"), str(shared / "corpus"), *targets],
        capture_output=True, text=True, check=False,
    )
    assert result.stdout.splitlines()[-1].startswith("0 copied sentences"), result.stdout
    assert result.returncode == 0
