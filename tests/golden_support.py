"""Inputs of the golden pages: one real card, frozen measurements, a pinned host."""

from __future__ import annotations

from pathlib import Path

from zoocards import compare, measure, render
from zoocards.load import load_file

ROOT = Path(__file__).resolve().parent.parent
GOLDEN_DIR = ROOT / "tests" / "golden"
GOLDEN_FAMILY = "fasternet"
# A fixed description of "this host", so verdicts (hardware present or not) never depend
# on the machine the tests run on.
PINNED_HOST = {"cpu": "Golden CPU", "cores": 2, "gpus": [], "machine": "x86_64", "memory_gb": 24.0, "os": "Linux"}


def render_golden() -> dict[str, str]:
    """The golden family's pages, both languages, from frozen inputs."""
    card = load_file(ROOT / "cards" / f"{GOLDEN_FAMILY}.yaml")
    records = measure.load_records(GOLDEN_DIR / "measurements", GOLDEN_FAMILY)
    verifications = [dict(v) for v in compare.verify([card], {card.id: records}, PINNED_HOST)]
    return render.render_family(card, verifications, records)
