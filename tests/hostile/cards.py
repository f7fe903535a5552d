"""Cards the hostile and property tests start from: one valid card using every field, and helpers."""

from __future__ import annotations

from typing import Any

import yaml

# Every optional field of schema v1 once, so mutations reach every semantic rule and template branch.
RICH_CARD = """\
# yaml-language-server: $schema=../zoocards/schema/card-v1.schema.json
schema_version: 1
id: rich
group: {zh: 轻量网络, en: Lightweight CNNs}
name: {zh: 富卡片, en: RichNet}
summary:
  zh: 一张用到所有字段的卡片。
  en: A card that uses every field, with a [link](https://example.org) and `code`.
task: image-classification
dataset: ImageNet-1k
papers:
  - {title: "Rich networks", url: "https://arxiv.org/abs/1", extra_urls: ["http://arxiv.org/abs/1"], venue: CVPR, year: 2023, models: [Rich_A]}
code:
  - {label: authors, url: "https://github.com/example/rich"}
training_config: ppcls/configs/Rich/
weights: {zh: 官方权重。, en: Official weights.}
units:
  accuracy: percent
  flops: {scale: M, convention: FLOPs}
  params: K
models:
  - name: Rich_A
    builder: ppcls.arch.rich:Rich_A
    input_size: 224
    num_classes: 1000
    training_config: ppcls/configs/Rich/Rich_A.yaml
    weights: weights/Rich_A.pdparams
    eval: {resize_short: 256, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], channels: 3}
    metrics: {top1: 76.5, top5: 93.1, reference_top1: 76.4, reference_top5: 93.0, flops: 600, params: 6200}
    acknowledged:
      - metric: flops
        reason: {zh: 论文按 FLOPs 计。, en: The paper counts FLOPs.}
  - name: Rich_B
    input_size: 256
    metrics: {top1: 78.1, top5: null, flops: 1200, params: 9100}
benchmarks:
  - id: board
    hardware: RDK X5
    hardware_kind: board
    runtime: BPU
    runtime_version: "1.2"
    source: vendor zoo
    source_url: "https://example.org/zoo"
    conditions: {zh: 最佳状态。, en: Best state.}
    columns:
      - {metric: classes, unit: count}
      - {metric: params, unit: M}
      - {metric: top1, unit: percent, precision: FP32, label: {zh: 浮点, en: float}}
      - {metric: top5, unit: fraction, precision: INT8}
      - {metric: latency, unit: ms, precision: INT8, batch_size: 1, threads: 1}
      - {metric: latency, unit: s, precision: INT8, batch_size: 8, threads: 1}
      - {metric: fps, unit: fps, precision: INT8, batch_size: 1}
      - {metric: flops, unit: G}
    rows:
      - {model: Rich_A, input_size: 224, values: [1000, 6.2, 76.5, 0.93, 1.5, 0.012, 600.5, 0.6]}
      - {model: Rich_B, values: [1000, 9.1, null, null, 2.5, 0.02, 400, 1.2]}
downloads:
  - {model: Rich_A, format: bin, target: RDK X5, url: "https://example.org/Rich_A.bin", note: {zh: 量化, en: quantised}}
  - {model: Rich_B, format: onnx, url: "https://example.org/Rich_B.onnx"}
board:
  - hardware: RDK X5
    route: {zh: 用工具链编译。, en: Compile with the toolchain.}
    links:
      - {label: zoo, url: "https://example.org/zoo"}
comparisons:
  - title: {zh: 与其他系列对比, en: Compared with other families}
    hardware: NVIDIA T4
    columns:
      - {metric: top1, unit: percent, label: {zh: 精度, en: accuracy}}
      - {metric: latency, unit: ms, batch_size: 1}
    rows:
      - {model: OtherNet_A, values: [70.1, 2.4]}
      - {model: Rich_A, values: [76.5, 1.5]}
"""


class _NoAliasDumper(yaml.SafeDumper):
    """Writes shared objects out twice: cards refuse aliases, and a mutation may share a subtree."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def dump_card(data: Any) -> str:
    """A card's data as YAML text, with the schema line the checker expects first."""
    body = yaml.dump(data, Dumper=_NoAliasDumper, allow_unicode=True, sort_keys=False, width=10_000)
    return "# yaml-language-server: $schema=../zoocards/schema/card-v1.schema.json\n" + body
