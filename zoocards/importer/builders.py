"""Which ppcls builder makes a model: an index of the installed backbones' `def Name(`, read without importing
paddleclas or paddle."""

from __future__ import annotations

import functools
import importlib.util
import re
from pathlib import Path

def backbone_dir() -> Path | None:
    """Where the installed paddleclas keeps its backbones, found without importing paddleclas or paddle."""
    spec = importlib.util.find_spec("paddleclas")  # a top-level find_spec does not run the package
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "ppcls" / "arch" / "backbone"


@functools.lru_cache(maxsize=1)
def builder_index(directory: Path | None = None) -> dict[str, str]:
    """`Name -> module:Name` for every top-level `def Name(` of the installed ppcls backbones (paddle is never imported)."""
    found: dict[str, str] = {}
    directory = directory or backbone_dir()
    if directory is None or not directory.is_dir():
        return found
    package_root = directory.parent.parent.parent  # .../paddleclas: modules are named ppcls.arch.backbone...
    # legendary_models first: it is what ppcls exports when a name exists twice.
    for path in sorted(directory.rglob("*.py"), key=lambda p: ("legendary_models" not in p.parts, "model_zoo" not in p.parts, str(p))):
        module = ".".join(path.relative_to(package_root).with_suffix("").parts)
        for match in re.finditer(r"^def ([A-Za-z_][A-Za-z0-9_]*)\(", path.read_text(encoding="utf-8", errors="replace"), re.M):
            found.setdefault(match.group(1), f"{module}:{match.group(1)}")
    return found
