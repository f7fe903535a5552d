from __future__ import annotations

import pytest

from zoocards import names


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("LeViT-128S", "LeViT_128S"),  # the family page's spelling
        ("LeViT_128S", "LeViT_128S"),  # the list's and ppcls's spelling
        ("Res2Net101_vd_<br>26w_4s_ssld", "Res2Net101_vd_26w_4s_ssld"),  # a table breaks a long name
        ("ViT_base_patch16_384<sup>[1]</sup>", "ViT_base_patch16_384"),  # a footnote mark is not part of the name
        (" PPLCNet_x1_0 ", "PPLCNet_x1_0"),
    ],
)
def test_canonical(cell: str, expected: str) -> None:
    assert names.canonical(cell) == expected


BUILDERS = {
    "ResNet50_vd": "ppcls.arch.backbone.legendary_models.resnet:ResNet50_vd",
    "LeViT_128S": "ppcls.arch.backbone.model_zoo.levit:LeViT_128S",
    "ShuffleNetV2_x1_0": "ppcls.arch.backbone.model_zoo.shufflenet_v2:ShuffleNetV2_x1_0",
    "MobileNetV3_large_x1_0": "ppcls.arch.backbone.legendary_models.mobilenet_v3:MobileNetV3_large_x1_0",
    "SwinTransformer_base_patch4_window7_224": "ppcls.arch.backbone.legendary_models.swin_transformer:SwinTransformer_base_patch4_window7_224",
}


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("ResNet50_vd", "ResNet50_vd"),  # its own builder
        ("ResNet50_vd_ssld", "ResNet50_vd"),  # distilled weights, same network
        ("Fix_ResNet50_vd_ssld", "ResNet50_vd"),  # FixRes fine-tuning and distillation, same network
        ("LeViT-128S", "LeViT_128S"),  # the page's spelling
        ("ShuffleNetV2", "ShuffleNetV2_x1_0"),  # the zoo's short name; its weights are ShuffleNetV2_x1_0's
        ("MobileNetV3_large_x1_0_ssld_int8", "MobileNetV3_large_x1_0"),  # quantised weights of the same network
        ("SwinTransformer_base_patch4_window7_224_22kto1k", "SwinTransformer_base_patch4_window7_224"),  # 22k pretraining
        ("ResNet_unknown", None),  # nothing to build: the figures stay not re-run
    ],
)
def test_builder_for(model: str, expected: str | None) -> None:
    found = names.builder_for(model, BUILDERS)
    assert found == (BUILDERS[expected] if expected else None)


def test_identity_is_case_blind() -> None:
    # the README spells MobileViTv3 where the family page and ppcls spell MobileViTV3
    assert names.identity("MobileViTv3_XXS") == names.identity("MobileViTV3_XXS")
    assert names.identity("LeViT-128S") == names.identity("LeViT_128S")
    assert names.identity("ResNet50") != names.identity("ResNet50_vd")
