"""diagnose: each usual counting convention, alone and in pairs, reproduces a synthetic claim; nothing is made up."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from zoocards import compare, diagnose

MACS = 1_000_000_000  # 1 G MACs at 224
FLOPS_RECORD: dict[str, Any] = {
    "params": 10_000_000, "macs": MACS, "matmul_macs": 200_000_000, "outputs": 1000,
    "macs_at": {"224": MACS, "256": 1_306_122_449, "288": 1_653_061_224},
    "macs_extra": {"bn": 40_000_000, "act": 30_000_000, "pool": 5_000_000, "elementwise": 8_000_000, "bias": 2_000_000, "se": 100_000_000},
}
PARAMS_RECORD: dict[str, Any] = {
    "params": 10_000_000, "params_all": 10_200_000, "bn_running_stats": 200_000, "macs": MACS, "outputs": 1000,
    "params_by_kind": {"bias": 300_000, "se": 1_000_000, "aux": 2_000_000, "head": 1_281_000, "head_in": 1280},
}


def within(claimed: str, metric: str) -> Any:
    """compare's diagnosis tolerance for a claim written as `claimed` (display units)."""
    claim = Decimal(claimed)
    tolerance = units_half(claimed) + compare.DIAGNOSIS_MARGIN[metric] * claim
    return lambda value: abs(value - claim) <= tolerance


def units_half(raw: str) -> Decimal:
    from zoocards import units

    return units.half_unit_of_last_digit(raw)


@pytest.mark.parametrize("claimed, convention, expected, reproduces", [
    ("2.00", "MACs", "flops_x2", 2.0),  # FLOPs = 2 x MACs written where the card declares MACs
    ("0.50", "FLOPs", "macs_as_flops", 0.5),  # MACs written where the card declares FLOPs (read as 0.5 G MACs)
    ("1.31", "MACs", "input_size_256", 1.306122449),  # counted at 256x256
    ("1.65", "MACs", "input_size_288", 1.653061224),
    ("1.04", "MACs", "counts_bn", 1.04),  # BatchNorm counted
    ("1.070", "MACs", "counts_bn_act", 1.07),  # BatchNorm and activations counted (1.04 is too far for three decimals)
    ("1.085", "MACs", "counts_all_extras", 1.085),  # every extra part counted
    ("0.90", "MACs", "omits_se", 0.9),  # squeeze-excitation FCs left out
    ("0.80", "MACs", "omits_matmul", 0.8),  # attention matmuls left out
    ("2.61", "MACs", "input_size_256+flops_x2", 2.612244898),  # two at once: 2 x MACs at 256
    ("2.14", "MACs", "counts_bn_act+flops_x2", 2.14),  # 2 x (MACs + BN + activations)
])
def test_flops_explanations(claimed: str, convention: str, expected: str, reproduces: float) -> None:
    found = diagnose.explain("flops", Decimal(claimed), MACS, FLOPS_RECORD, within(claimed, "flops"), convention=convention, input_size=224)
    assert (found["id"], found["reproduces"]) == (expected, pytest.approx(reproduces))


@pytest.mark.parametrize("claimed, expected, reproduces", [
    ("10.2", "params_bn_stats", 10.2),  # BatchNorm running mean/variance counted
    ("9.70", "params_omits_bias", 9.7),  # biases left out
    ("9.0", "params_omits_se", 9.0),  # SE FCs left out
    ("8.0", "params_omits_aux", 8.0),  # auxiliary heads left out
    ("23.09", "head_11221", 23.093101),  # head for ImageNet-21K-P: 10 - 1.281 + 1280 x 11221 + 11221
    ("8.72", "head_0", 8.719),  # backbone only
    ("9.20", "params_bn_stats+params_omits_se", 9.2),  # two at once
])
def test_params_explanations(claimed: str, expected: str, reproduces: float) -> None:
    found = diagnose.explain("params", Decimal(claimed), 10_000_000, PARAMS_RECORD, within(claimed, "params"))
    assert (found["id"], found["reproduces"]) == (expected, pytest.approx(reproduces))


def test_a_re_parameterised_model_is_explained_by_its_deployed_network() -> None:
    """RepVGG_A0 (paddleclas 2.6.0): 9.109 M trained, 8.309 M deployed; the zoo claims 8.31 M."""
    record = {**PARAMS_RECORD, "params": 9_109_000, "params_deploy": 8_309_384}
    found = diagnose.explain("params", Decimal("8.31"), 9_109_000, record, within("8.31", "params"))
    assert (found["id"], found["reproduces"]) == ("params_deploy", pytest.approx(8.309384))
    assert "deployed network" in found["text"] and "重参数化" in found["text_zh"]
    # a model without re-parameterisable blocks has no such option
    assert all(o.id != "params_deploy" for o in diagnose.params_options(PARAMS_RECORD))
    # ...and its compute: RepVGG_A0 1.513 G MACs trained, 1.360 deployed, claimed 1.36
    flops = {**FLOPS_RECORD, "macs": 1_513_000_000, "macs_deploy": 1_360_000_000}
    found = diagnose.explain("flops", Decimal("1.36"), 1_513_000_000, flops, within("1.36", "flops"), convention="MACs", input_size=224)
    assert (found["id"], found["reproduces"]) == ("macs_deploy", pytest.approx(1.36))


def test_explanation_texts() -> None:
    found = diagnose.explain("params", Decimal("23.09"), 10_000_000, PARAMS_RECORD, within("23.09", "params"))
    assert found["text"] == "reproduced by a classifier head for 11221 classes (ImageNet-21K-P) instead of 1000 (+13.09 M): 23.09 M"
    assert found["text_zh"] == "可由分类头按 11221 类（ImageNet-21K-P）计，而非 1000 类（+13.09 M）复现：23.09 M"
    found = diagnose.explain("flops", Decimal("2.61"), MACS, FLOPS_RECORD, within("2.61", "flops"), input_size=224)
    assert found["text"] == ("reproduced by counted at 256×256 input instead of 224×224 and FLOPs = 2 × MACs: 2.612 G MACs; "
                             "if the source counts FLOPs, set units.flops.convention: FLOPs")


def test_nothing_reproduces_says_so_and_names_the_closest() -> None:
    found = diagnose.explain("flops", Decimal("1.20"), MACS, FLOPS_RECORD, within("1.20", "flops"), input_size=224)
    assert found["id"] == "none" and found["reproduces"] is None
    assert found["text"] == ("no usual counting convention reproduces the claim (tried: convention, extra, size); "
                             "the closest, counted at 256×256 input instead of 224×224 and squeeze-excitation FCs not counted (−0.1 G MACs), gives 1.176 G MACs")


def test_an_older_count_record_tries_what_it_can_and_says_what_it_lacks() -> None:
    # a record from before the breakdowns: only the convention can be tried
    found = diagnose.explain("flops", Decimal("1.04"), MACS, {"params": 1, "macs": MACS}, within("1.04", "flops"), input_size=224)
    assert found["id"] == "none"
    assert found["text"].startswith("no usual counting convention reproduces the claim (tried: convention; the count record lacks macs_extra, macs_at)")
    found = diagnose.explain("params", Decimal("10.2"), 10_000_000, {"params": 10_000_000}, within("10.2", "params"))
    assert found["text"] == "no usual counting convention reproduces the claim (tried: nothing; the count record lacks bn_running_stats, params_by_kind)"


def test_the_model_own_size_and_class_count_are_not_explanations() -> None:
    # macs_at at the model's own size, and a head for the classes it already has, change nothing
    options = diagnose.flops_options(FLOPS_RECORD, "MACs", 224)
    assert "input_size_224" not in {o.id for o in options}
    assert "head_1000" not in {o.id for o in diagnose.params_options(PARAMS_RECORD)}


def test_squeezenet_counts_flops_as_twice_the_macs() -> None:
    # issue 15: SqueezeNet's figures verify only because its card declares FLOPs; read as MACs they
    # are twice the count, and the diagnosis says so by itself
    from tests.conftest import ROOT
    from zoocards.load import load_file, load_text

    path = ROOT / "cards" / "others.yaml"
    text = path.read_text(encoding="utf-8")
    assert "convention: FLOPs" in text
    count = {"model": "SqueezeNet1_0", "kind": "count", "status": "ok", "reason": None, "measured_at": "2026-11-23T15:00:00Z", "env": None,
             "result": {"params": 1_248_424, "macs": 777_221_152, "outputs": 1000}}
    declared = load_file(path)
    v = next(v for v in compare.verify([declared], {declared.id: [count]}, {}) if v["model"] == "SqueezeNet1_0" and v["metric"] == "flops")
    assert (v["status"], v["explanation"]) == ("verified", None)
    undeclared = load_text(text.replace("convention: FLOPs", "convention: MACs"), path)
    v = next(v for v in compare.verify([undeclared], {undeclared.id: [count]}, {}) if v["model"] == "SqueezeNet1_0" and v["metric"] == "flops")
    assert v["status"] == "mismatch" and v["explanation"] is not None and v["explanation"]["id"] == "flops_x2"


# MixNet's count records as zoocards/workers/count.py gives them for paddleclas 2.6.0 (run once,
# 2026-12-07): conv/linear MACs, and the other ops' element counts.
MIXNET = {
    "MixNet_S": ("252.977", {"params": 4134606, "macs": 239173360, "outputs": 1000,
                             "macs_extra": {"bn": 6244168, "act": 5627422, "pool": 7920, "elementwise": 1768704, "bias": 7926, "se": 766656}}),
    "MixNet_M": ("357.119", {"params": 5014382, "macs": 339172672, "outputs": 1000,
                             "macs_extra": {"bn": 8182608, "act": 7368606, "pool": 10008, "elementwise": 2204216, "bias": 10198, "se": 1071744}}),
    "MixNet_L": ("579.017", {"params": 7329252, "macs": 555251792, "outputs": 1000,
                             "macs_extra": {"bn": 10822336, "act": 9747908, "pool": 12768, "elementwise": 2948232, "bias": 13196, "se": 1876224}}),
}


@pytest.mark.parametrize("model", sorted(MIXNET))
def test_mixnet_claims_count_every_op(model: str) -> None:
    # issue 15: MixNet's claims are 4-6% above the conv/linear MACs. Counting BatchNorm,
    # activations, pooling, element-wise ops and bias additions once per element (as
    # paddle.flops does) reproduces all three within 0.06%.
    from tests.test_compare import count_record
    from tests.conftest import ROOT
    from zoocards.load import load_file

    claimed, result = MIXNET[model]
    card = load_file(ROOT / "cards" / "mixnet.yaml")
    record = {**count_record(), "model": model, "result": result}
    v = next(v for v in compare.verify([card], {card.id: [record]}, {}) if v["model"] == model and v["metric"] == "flops" and v["source"].startswith("models"))
    assert v["claimed_raw"] == f"{claimed} M MACs" and v["status"] == "mismatch"
    assert v["explanation"] is not None and v["explanation"]["id"] == "counts_all_extras"
    assert abs(v["explanation"]["reproduces"] - float(claimed) / 1000) / (float(claimed) / 1000) < 0.0006
