"""Builders for measurement tests: tiny networks, and ones that crash, hang or hog memory.

The measurement worker (zoocards.workers.serve) imports paddle once when it starts; the
builders themselves import it only where they build a network.
"""

from __future__ import annotations

import os
import time
from typing import Any


def TinyNet(width: int = 8) -> Any:
    """Conv(3->width, 3x3, pad 1) -> global average pool -> Linear(width->10); counts known by hand."""
    import paddle
    from paddle import nn

    class Tiny(nn.Layer):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2D(3, width, 3, padding=1)
            self.pool = nn.AdaptiveAvgPool2D(1)
            self.fc = nn.Linear(width, 10)

        def forward(self, x: Any) -> Any:
            return self.fc(paddle.flatten(self.pool(self.conv(x)), 1))

    return Tiny()


def TinyWide() -> Any:
    """A second tiny size, so a card can hold several cheap models."""
    return TinyNet(width=16)


def Crash() -> Any:
    """A builder whose module imports fine but whose call fails, as a broken upstream model would."""
    raise RuntimeError("simulated crash while building")


def Hang() -> Any:
    """A builder that never returns; leaves its pid where the test can check it was killed."""
    pid_file = os.environ.get("ZOOCARDS_TEST_PID_FILE")
    if pid_file:
        with open(pid_file, "w", encoding="utf-8") as handle:
            handle.write(str(os.getpid()))
    while True:
        time.sleep(1)


def Slow() -> Any:
    """TinyNet after a few seconds (ZOOCARDS_TEST_SLOW_S, default 6): a model still running when the other worker's timings are due."""
    time.sleep(float(os.environ.get("ZOOCARDS_TEST_SLOW_S", "6")))
    return TinyNet()


def Hog() -> Any:
    """A builder that asks for far more memory than the limit allows."""
    return bytearray(64 * 1024**3)


# Module state a builder may leave behind (as ppcls's UniFormer_base_ls does with `layer_scale`).
scaled = False


def Downloads(pretrained: bool = True) -> Any:
    """A builder that defaults to downloading weights (as ppcls's UniFormer_* do)."""
    if pretrained:
        raise RuntimeError("simulated download: no network here")
    return TinyNet()


def SetsModuleState() -> Any:
    """A builder that flips a module global and never resets it."""
    global scaled
    scaled = True
    return TinyNet()


def ReadsModuleState() -> Any:
    """A builder whose network depends on that module global."""
    return TinyNet(width=16 if scaled else 8)


def TinyNarrow() -> Any:
    """A third tiny size: three models of three architectures."""
    return TinyNet(width=4)


def ReadsItsWeights() -> Any:
    """A builder that computes with a parameter while it builds: it cannot be built lazily."""
    import paddle
    from paddle import nn

    class Reads(nn.Layer):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(4, 10)
            self.scale = float(paddle.sum(self.fc.weight))

        def forward(self, x: Any) -> Any:
            return self.fc(paddle.flatten(x, 1)[:, :4]) * 0 + self.scale

    return Reads()
