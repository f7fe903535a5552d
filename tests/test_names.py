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
