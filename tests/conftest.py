"""Shared fixtures: a small valid card as text, and the repository layout."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"

MINIMAL_CARD = """\
# yaml-language-server: $schema=../zoocards/schema/card-v1.schema.json
schema_version: 1
id: mini
name:
  zh: 迷你网络
  en: MiniNet
summary:
  zh: 用于测试的小卡片。
  en: A small card for tests.
task: image-classification
dataset: ImageNet-1k
units:
  accuracy: fraction
  flops: {scale: G, convention: MACs}
  params: M
models:
  - name: Mini_A
    input_size: 224
    metrics:
      top1: 0.7620
      top5: 0.930
      flops: 0.60
      params: 6.2
  - name: Mini_B
    input_size: 224
    metrics: {top1: 0.781, top5: 0.941, flops: 1.2, params: 9.1}
benchmarks:
  - id: v100
    hardware: NVIDIA V100
    hardware_kind: gpu
    runtime: TensorRT
    columns:
      - {metric: latency, unit: ms, precision: FP32, batch_size: 1}
      - {metric: latency, unit: ms, precision: FP32, batch_size: 4}
    rows:
      - {model: Mini_A, values: [1.00, 2.50]}
      - {model: Mini_B, values: [1.50, null]}
"""


@pytest.fixture
def card_text() -> str:
    return MINIMAL_CARD


def shared_or_skip() -> Path:
    """The shared test inputs next to the repository, or skip when they are absent."""
    if not SHARED.is_dir():
        pytest.skip("../shared is absent")
    return SHARED
