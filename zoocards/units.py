"""Exact unit conversions between what a card claims and what the site shows.

Every figure is converted with `Decimal` from the text it was written with, so 0.719
becomes exactly 71.9 (never 71.89999999999999) and the precision of the claim is known.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

# The metric vocabulary of a card, declared once: every stage imports it from here.
ACCURACY_METRICS = ("top1", "top5", "reference_top1", "reference_top5")
# The figures of a model's metrics table, in the order the family page shows them.
MODEL_METRICS = (*ACCURACY_METRICS, "flops", "params", "storage")

# Powers of ten: conversions shift the decimal point (Decimal.scaleb), so a claim written
# to three decimals stays three significant decimals after conversion (0.830 -> 83.0).
EXPONENT = {"count": 0, "K": 3, "M": 6, "G": 9, "T": 12}

# The unit every column of the site is shown in, per metric.
DISPLAY_UNIT = {
    "top1": "percent",
    "top5": "percent",
    "reference_top1": "percent",
    "reference_top5": "percent",
    "flops": "G",  # G MACs
    "params": "M",
    "latency": "ms",
    "fps": "fps",
    "classes": "count",
    "storage": "MB",
}
# Decimal prefixes for file sizes: the zoos write "Storage Size(M)" without saying 1000 or 1024.
STORAGE_EXPONENT = {"KB": 3, "MB": 6, "GB": 9}


def as_decimal(raw: str | int | float) -> Decimal:
    """The exact decimal a card wrote (pass the raw text where there is one)."""
    return Decimal(str(raw))


def half_unit_of_last_digit(raw: str) -> Decimal:
    """Half a unit of the last written digit: a claim of 6.2 covers 6.15 to 6.25."""
    value = Decimal(raw)
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)
    return Decimal(5) * Decimal(10) ** (exponent - 1)


def accuracy_to_percent(value: Decimal, unit: str) -> Decimal:
    """fraction or percent -> percent."""
    return value.scaleb(2) if unit == "fraction" else value


def flops_to_g_macs(value: Decimal, scale: str, convention: str) -> Decimal:
    """A compute figure at any scale and convention -> G MACs (1 MAC = 2 FLOPs)."""
    g_macs = value.scaleb(EXPONENT[scale] - EXPONENT["G"])
    return g_macs / 2 if convention == "FLOPs" else g_macs


def count_to_scale(value: Decimal, scale: str, target: str) -> Decimal:
    """A count at one scale (K, M, G, count) -> another."""
    return value.scaleb(EXPONENT[scale] - EXPONENT[target])


def storage_to_mb(value: Decimal, unit: str) -> Decimal:
    """KB, MB or GB -> MB."""
    return value.scaleb(STORAGE_EXPONENT[unit] - STORAGE_EXPONENT["MB"])


def model_metric_unit(card_units: dict[str, Any], metric: str) -> str:
    """The unit a card writes one of its model metrics in (from its `units:` block)."""
    if metric in ACCURACY_METRICS:
        return str(card_units["accuracy"])
    if metric == "flops":
        return str(card_units["flops"]["scale"])
    return str(card_units[metric])  # params, storage


def latency_to_ms(value: Decimal, unit: str) -> Decimal:
    """ms or s -> ms."""
    return value.scaleb(3) if unit == "s" else value


def to_display(metric: str, value: Decimal, unit: str, convention: str = "MACs") -> Decimal:
    """Convert one claimed value of `metric` written in `unit` to the site's display unit."""
    if metric in ("top1", "top5", "reference_top1", "reference_top5"):
        return accuracy_to_percent(value, unit)
    if metric == "flops":
        return flops_to_g_macs(value, unit, convention)
    if metric == "params":
        return count_to_scale(value, unit, "M")
    if metric == "latency":
        return latency_to_ms(value, unit)
    if metric == "storage":
        return storage_to_mb(value, unit)
    return value


def plain(value: Decimal) -> str:
    """A decimal as plain text, never in exponent notation, keeping its written precision."""
    text = format(value, "f")
    return text if text != "-0" else "0"
