"""Zoo rows: every figure converted as on the family page, keyed by identity, with its verdict."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import MINIMAL_CARD
from zoocards import zoo
from zoocards.load import load_text


def _latency_record(model: str, median_ms: float) -> dict[str, Any]:
    return {"model": model, "kind": "latency", "status": "ok", "result": {"batch_sizes": {"1": {"median_ms": median_ms, "p90_ms": median_ms * 1.1, "threads": 2, "batch_size": 1}}}}


def test_figures_are_in_display_units_with_the_written_precision() -> None:
    card = load_text(MINIMAL_CARD, Path("cards/mini.yaml"))
    mini_a, mini_b = zoo.card_entries(card, [], [])
    assert mini_a["model"] == "Mini_A" and mini_a["anchor"] == "model-mini_a"
    assert {k: f["text"] for k, f in mini_a["figures"].items()} == {
        "top1": "76.20", "top5": "93.0", "flops": "0.60", "params": "6.2",
        "latency[NVIDIA V100, FP32, bs=1]": "1.00", "latency[NVIDIA V100, FP32, bs=4]": "2.50",
    }
    assert mini_a["figures"]["top1"]["value"] == Decimal("76.20")
    assert "latency[NVIDIA V100, FP32, bs=4]" not in mini_b["figures"], "a null claim is no figure"


def test_verdicts_are_joined_by_source_not_position() -> None:
    card = load_text(MINIMAL_CARD, Path("cards/mini.yaml"))
    verdict = {"card": "mini", "source": "models[1].metrics.params", "status": "mismatch"}
    other_card = {"card": "other", "source": "models[0].metrics.params", "status": "verified"}
    mini_a, mini_b = zoo.card_entries(card, [verdict, other_card], [])
    assert mini_b["figures"]["params"]["verification"] == verdict
    assert mini_a["figures"]["params"]["verification"] is None


def test_latency_measured_here_is_a_batch_one_column_after_the_claimed_ones() -> None:
    card = load_text(MINIMAL_CARD, Path("cards/mini.yaml"))
    failed = {"model": "Mini_B", "kind": "latency", "status": "failed", "result": None}
    entries = zoo.card_entries(card, [], [_latency_record("Mini_A", 12.345), failed])
    here = zoo.figure_key("latency", zoo.HERE, "FP32", 1)
    assert entries[0]["figures"][here]["text"] == "12.35"  # two decimals, as on the family page
    assert here not in entries[1]["figures"]
    assert [c["key"] for c in zoo.latency_columns(entries)] == ["latency[NVIDIA V100, FP32, bs=1]", here]


def test_figure_keys_name_every_condition() -> None:
    assert zoo.figure_key("top1") == "top1"
    assert zoo.figure_key("latency", "RDK X5", "INT8", 1, 1) == "latency[RDK X5, INT8, bs=1, threads=1]"
    assert zoo.figure_key("classes", "RDK X5") == "classes[RDK X5]"


def test_zoo_entries_order_cards_by_id() -> None:
    first = load_text(MINIMAL_CARD.replace("id: mini", "id: zeta"), Path("cards/zeta.yaml"))
    second = load_text(MINIMAL_CARD, Path("cards/mini.yaml"))
    assert [e["card"] for e in zoo.zoo_entries([first, second], [], {})] == ["mini", "mini", "zeta", "zeta"]


def test_latency_columns_kept_per_card_follow_an_edit_as_a_full_scan_does() -> None:
    from zoocards import render

    first = load_text(MINIMAL_CARD, Path("cards/mini.yaml"))
    second = load_text(MINIMAL_CARD.replace("id: mini", "id: zeta", 1), Path("cards/zeta.yaml"))
    records = {"zeta": [_latency_record("Mini_A", 3.0)]}
    fragments = render.Fragments({"mini": "1", "zeta": "1"})
    entries = zoo.zoo_entries([first, second], [], {})
    assert zoo.latency_columns(entries, fragments) == zoo.latency_columns(entries)
    # zeta gains this site's own latency (a new column, listed last); only its piece is made again
    fragments.digests["zeta"] = "2"
    edited = zoo.zoo_entries([first, second], [], records)
    columns = zoo.latency_columns(edited, fragments)
    assert columns == zoo.latency_columns(edited) and columns[-1]["hardware"] == zoo.HERE and len(columns) == 2


@pytest.mark.parametrize(
    ("groups", "expected"),
    [
        # the three groups PaddleClas' readers know, in their order, whichever language names them
        ([{"zh": "视觉 Transformer", "en": "Vision Transformers"}, {"zh": "服务器端卷积网络", "en": "Server CNNs"}, {"zh": "轻量级卷积网络", "en": "Lightweight CNNs"}],
         ["Server CNNs", "Lightweight CNNs", "Vision Transformers"]),
        # a label in one language is enough to know the group
        ([{"zh": "", "en": "Vision Transformers"}, {"zh": "服务器端卷积网络", "en": ""}], ["", "Vision Transformers"]),
        # other groups come after them, by English name; a card without a group comes last
        ([{"zh": "", "en": ""}, {"zh": "演示", "en": "Demo"}, {"zh": "混合架构", "en": "Hybrid"}, {"zh": "轻量级卷积网络", "en": "Lightweight CNNs"}],
         ["Lightweight CNNs", "Demo", "Hybrid", ""]),
    ],
)
def test_groups_sort_in_the_order_readers_know(groups: list[dict[str, str]], expected: list[str]) -> None:
    assert [g["en"] for g in sorted(groups, key=zoo.group_key)] == expected


def test_families_sort_by_group_then_english_name_case_folded() -> None:
    server, light = {"zh": "服务器端卷积网络", "en": "Server CNNs"}, {"zh": "轻量级卷积网络", "en": "Lightweight CNNs"}
    families = [("resnet", server, "ResNet"), ("pp-lcnet", light, "PP-LCNet"), ("convnext", server, "ConvNeXt"), ("mixnet", light, "MixNet"), ("dla", server, "dla")]
    ordered = sorted(families, key=lambda f: zoo.family_key(f[1], {"zh": f[2] + " 系列", "en": f[2]}, f[0]))
    assert [f[0] for f in ordered] == ["convnext", "dla", "resnet", "mixnet", "pp-lcnet"]


def test_nav_groups_follow_the_family_index_and_survive_a_malformed_card() -> None:
    server, light = {"zh": "服务器端卷积网络", "en": "Server CNNs"}, {"zh": "轻量级卷积网络", "en": "Lightweight CNNs"}
    families = [
        ("resnet", {"group": server, "name": {"zh": "ResNet 系列", "en": "ResNet"}}),
        ("broken", {"group": "not a mapping", "name": None}),  # check reports it; the nav still builds
        ("esnet", {"group": light, "name": {"zh": "ESNet 系列", "en": "ESNet"}}),
        ("convnext", {"group": server, "name": {"zh": "ConvNeXt 系列", "en": "ConvNeXt"}}),
    ]
    assert zoo.nav_groups(families) == [(server, ["convnext", "resnet"]), (light, ["esnet"]), ({"zh": "", "en": ""}, ["broken"])]
