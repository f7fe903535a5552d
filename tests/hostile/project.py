"""A throwaway copy of the site sources, so tests build and kill builds without touching the repository."""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Callable

import yaml

from tests.conftest import ROOT
from zoocards import build


def copy_project(destination: Path, *, search: bool = True) -> build.Project:
    """mkdocs.yml, site_src/ and templates/ copied into `destination`, with empty cards/ and measurements/.

    `search=False` drops the search plugin, whose Chinese word segmentation is most of a small
    build's time, for tests about files rather than pages."""
    destination.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "mkdocs.yml", destination / "mkdocs.yml")
    if not search:
        config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
        config["plugins"] = [p for p in config["plugins"] if not (p == "search" or isinstance(p, dict) and "search" in p)]
        for plugin in config["plugins"]:
            if isinstance(plugin, dict) and "i18n" in plugin:
                plugin["i18n"]["reconfigure_search"] = False
        (destination / "mkdocs.yml").write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
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
