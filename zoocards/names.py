"""One spelling per model: the zoo writes some names two ways (`LeViT-128S` on its family page,
`LeViT_128S` in the zoo-wide list and in ppcls), and tables break long names with `<br>`."""

from __future__ import annotations

import re

_TAGS = re.compile(r"<[^>]+>")
_FOOTNOTE = re.compile(r"<sup>\s*\[?\d+\]?\s*</sup>|\[\d+\]$")


def clean(cell: str) -> str:
    """The model name a table cell shows: footnote marks, tags and spaces dropped."""
    text = _FOOTNOTE.sub("", cell.strip())
    return re.sub(r"\s+", "", _TAGS.sub("", text))


def canonical(name: str) -> str:
    """The identity of a model name: `LeViT-128S` and `LeViT_128S` are one model."""
    return clean(name).replace("-", "_")


# Weight variants: the same architecture trained another way. The zoo marks them with an
# affix; their builder is the base architecture's.
_VARIANT_PREFIXES = ("Fix_",)
_VARIANT_SUFFIXES = ("_ssld_int8", "_ssld", "_22kto1k", "_22k", "_in22k", "_distilled")
# Names the zoo gives a model that ppcls spells otherwise (checked against the page's download links).
ALIASES = {"ShuffleNetV2": "ShuffleNetV2_x1_0"}


def architecture_candidates(name: str) -> list[str]:
    """Builder names to try for a model, most specific first: itself, its alias, its base architecture."""
    base = canonical(name)
    candidates = [clean(name), base]
    if base in ALIASES:
        candidates.append(ALIASES[base])
    stripped = base
    changed = True
    while changed:
        changed = False
        for prefix in _VARIANT_PREFIXES:
            if stripped.startswith(prefix):
                stripped, changed = stripped[len(prefix):], True
        for suffix in _VARIANT_SUFFIXES:
            if stripped.endswith(suffix):
                stripped, changed = stripped[: -len(suffix)], True
        if changed:
            candidates.append(stripped)
    return list(dict.fromkeys(candidates))


def builder_for(name: str, builders: dict[str, str]) -> str | None:
    """The `module:function` building `name`, through its alias or base architecture; None when ppcls has none."""
    for candidate in architecture_candidates(name):
        if candidate in builders:
            return builders[candidate]
    return None


def identity(name: str) -> str:
    """The key two spellings of one model share: canonical, and case-blind (`MobileViTv3_S` in the
    zoo's README is the family page's `MobileViTV3_S`)."""
    return canonical(name).casefold()
