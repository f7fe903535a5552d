"""DigitsNet: a three-layer CNN for 32x32 digit images (scikit-learn's digits, upsampled).

It exists so that the accuracy pipeline (weights -> export -> onnxruntime -> top-1/top-5)
has a model, weights and a dataset small enough to ship in the repository.
"""

from __future__ import annotations

from typing import Any

import paddle
from paddle import nn


class DigitsNet(nn.Layer):
    """Conv-BN-ReLU-pool x3 then one fully-connected layer; 32x32 input, 10 classes."""

    def __init__(self, in_channels: int = 1, class_num: int = 10) -> None:
        super().__init__()
        widths = [in_channels, 8, 16, 32]
        blocks: list[nn.Layer] = []
        for cin, cout in zip(widths[:-1], widths[1:]):
            blocks += [nn.Conv2D(cin, cout, 3, padding=1, bias_attr=False), nn.BatchNorm2D(cout), nn.ReLU(), nn.MaxPool2D(2)]
        self.features = nn.Sequential(*blocks)
        self.fc = nn.Linear(widths[-1] * 4 * 4, class_num)

    def forward(self, x: Any) -> Any:
        return self.fc(paddle.flatten(self.features(x), 1))
