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
