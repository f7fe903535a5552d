"""A throwaway copy of the site sources, so tests build and kill builds without touching the repository."""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Callable

from tests.conftest import ROOT
from zoocards import build


def copy_project(destination: Path) -> build.Project:
    """mkdocs.yml, site_src/ and templates/ copied into `destination`, with empty cards/ and measurements/."""
    destination.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "mkdocs.yml", destination / "mkdocs.yml")
    for directory in ("site_src", "templates"):
        shutil.copytree(ROOT / directory, destination / directory, ignore=shutil.ignore_patterns(".*.tmp"))
    (destination / "cards").mkdir(exist_ok=True)
    (destination / "measurements").mkdir(exist_ok=True)
    return build.Project(
        root=destination.resolve(), cards_dir=(destination / "cards").resolve(), measurements_dir=(destination / "measurements").resolve(),
        templates_dir=(destination / "templates").resolve(), docs_dir=(destination / "site_src").resolve(), site_dir=(destination / "site").resolve(),
    )


def snapshot(directory: Path) -> dict[str, bytes]:
    """Every file below `directory` (hidden ones included), by relative path."""
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()} if directory.is_dir() else {}


def interrupt_when(process: subprocess.Popen[bytes], moment: Callable[[], bool], sig: signal.Signals, timeout: float = 60) -> bool:
    """Send `sig` to the process group of `process` as soon as `moment()` is true; False if it ended first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        if moment():
            import os

            os.killpg(process.pid, sig)
            process.wait(timeout=30)
            return True
        time.sleep(0.002)
    raise AssertionError(f"the moment to send {sig.name} never came within {timeout} s")
