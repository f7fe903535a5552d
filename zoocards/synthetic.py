"""A synthetic zoo for benchmarks and scale tests: N valid families of about 8 models each.

Deterministic from a seed: the same (count, seed) always gives byte-identical cards. Each
card looks like a real one — both languages, a metrics table, a claimed benchmark table
with latency columns at two batch sizes, papers, code links and downloads — so loading,
checking and rendering cost what they cost on a real zoo of that size. Models have no
builder, so `zoocards verify` has nothing to run and every figure renders "not re-run".
"""

from __future__ import annotations

import random
from pathlib import Path

GROUPS = (
    ("轻量级卷积网络", "Lightweight CNNs"),
    ("经典卷积网络", "Classic CNNs"),
    ("视觉 Transformer", "Vision Transformers"),
    ("设计空间网络", "Design-space networks"),
    ("混合架构", "Hybrid architectures"),
)
SIZES = ("XXS", "XS", "S", "M", "L", "XL", "XXL", "H", "G", "E")
SCHEMA_LINE = "# yaml-language-server: $schema=../zoocards/schema/card-v1.schema.json"

_SUMMARY_ZH = (
    "{name} 是一个用于测试规模的合成模型系列，共有 {count} 个规模。它的设计把网络拆成若干阶段，"
    "每个阶段先降低分辨率再加宽通道，并在深层使用更大的感受野。\n\n"
    "论文报告，在 ImageNet-1k 上，最大的 {largest} 达到 {top1:.1f}% 的 Top-1；本卡片的数字是随机生成的，"
    "只用于衡量 zoocards 在大型模型库上的速度。"
)
_SUMMARY_EN = (
    "{name} is a synthetic family of {count} sizes used to measure how zoocards scales. Its design splits "
    "the network into stages that each halve the resolution and widen the channels, with larger receptive "
    "fields in the deeper stages.\n\n"
    "On ImageNet-1k the largest size, {largest}, is said to reach {top1:.1f}% top-1; the figures of this card "
    "are random and exist only to time zoocards on a large zoo."
)


def family_id(index: int) -> str:
    """The id (and file stem) of synthetic family `index`."""
    return f"synth-{index:05d}"


def card_text(index: int, seed: int = 0) -> str:
    """The YAML text of synthetic family `index`; the same (index, seed) gives the same text."""
    rng = random.Random(f"{seed}:{index}")
    card_id = family_id(index)
    name = f"SynthNet{index}"
    group_zh, group_en = GROUPS[rng.randrange(len(GROUPS))]
    count = rng.randint(6, 10)
    sizes = SIZES[:count]
    models = []
    flops = rng.uniform(0.1, 0.6)
    params = rng.uniform(2.0, 6.0)
    top1 = rng.uniform(0.62, 0.70)
    for size in sizes:
        top5 = min(0.999, top1 + rng.uniform(0.12, 0.2))
        models.append((f"{name}_{size}", round(top1, 3), round(top5, 3), round(flops, 2), round(params, 1)))
        flops *= rng.uniform(1.6, 2.1)
        params *= rng.uniform(1.5, 1.9)
        top1 = min(0.89, top1 + rng.uniform(0.005, 0.025))
    largest = models[-1]
    lines = [
        SCHEMA_LINE,
        "schema_version: 1",
        f"id: {card_id}",
        "group:",
        f"  zh: {group_zh}",
        f"  en: {group_en}",
        "name:",
        f"  zh: {name} 系列",
        f"  en: {name}",
        "summary:",
        "  zh: |",
        *_indent(_SUMMARY_ZH.format(name=name, count=count, largest=largest[0], top1=largest[1] * 100), 4),
        "  en: |",
        *_indent(_SUMMARY_EN.format(name=name, count=count, largest=largest[0], top1=largest[1] * 100), 4),
        "task: image-classification",
        "dataset: ImageNet-1k",
        "papers:",
        f'  - title: "{name}: A Synthetic Family for Timing Static Site Generators"',
        f"    url: https://arxiv.org/abs/2{rng.randint(100, 999)}.{rng.randint(10000, 99999)}",
        "    venue: CVPR",
        f"    year: {rng.randint(2015, 2025)}",
        "code:",
        f"  - label: example/{card_id} (authors' release)",
        f"    url: https://github.com/example/{card_id}",
        "  - label: PaddleClas",
        "    url: https://github.com/PaddlePaddle/PaddleClas",
        f"training_config: ppcls/configs/ImageNet/{name}/",
        "weights:",
        "  zh: 预训练权重为合成数据，不对应任何真实训练。",
        "  en: The pretrained weights are synthetic and correspond to no real training run.",
        "units:",
        "  accuracy: fraction",
        "  flops: {scale: G, convention: MACs}",
        "  params: M",
        "models:",
    ]
    for model_name, m_top1, m_top5, m_flops, m_params in models:
        lines += [
            f"  - name: {model_name}",
            "    input_size: 224",
            f"    metrics: {{top1: {m_top1:.3f}, top5: {m_top5:.3f}, reference_top1: {m_top1:.3f}, flops: {m_flops:.2f}, params: {m_params:.1f}}}",
        ]
    lines += [
        "benchmarks:",
        "  - id: v100",
        "    hardware: NVIDIA V100",
        "    hardware_kind: gpu",
        "    runtime: Paddle Inference + TensorRT",
        "    runtime_version: '8.6'",
        "    source: Synthetic benchmark",
        f"    source_url: https://github.com/example/{card_id}/blob/main/benchmark.md",
        "    conditions:",
        "      zh: 在单张 V100 上测得，开启 TensorRT，输入先缩放到 256 再中心裁剪到 224。",
        "      en: Measured on one V100 with TensorRT, inputs resized to 256 and centre-cropped to 224.",
        "    columns:",
        "      - {metric: latency, unit: ms, precision: FP32, batch_size: 1}",
        "      - {metric: latency, unit: ms, precision: FP32, batch_size: 4}",
        "      - {metric: latency, unit: ms, precision: FP16, batch_size: 1}",
        "      - {metric: latency, unit: ms, precision: FP16, batch_size: 4}",
        "    rows:",
    ]
    for model_name, _, _, m_flops, _ in models:
        fp32 = 0.8 + m_flops * rng.uniform(0.8, 1.2)
        fp16 = fp32 * rng.uniform(0.5, 0.7)
        values = [fp32, fp32 * rng.uniform(2.0, 3.5), fp16, fp16 * rng.uniform(2.0, 3.5)]
        lines.append(f"      - {{model: {model_name}, values: [{', '.join(f'{v:.2f}' for v in values)}]}}")
    lines.append("downloads:")
    for model_name, *_ in models[:2]:
        lines.append(
            f"  - {{model: {model_name}, format: onnx, url: https://example.com/{card_id}/{model_name}.onnx, "
            f"note: {{zh: ONNX 模型（opset 13）, en: ONNX model (opset 13)}}}}"
        )
    return "\n".join(lines) + "\n"


def _indent(text: str, spaces: int) -> list[str]:
    return [" " * spaces + line if line else "" for line in text.split("\n")]


def write_zoo(cards_dir: Path, count: int, seed: int = 0) -> list[Path]:
    """Write `count` synthetic cards into `cards_dir` (created if needed); return their paths."""
    cards_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        path = cards_dir / f"{family_id(index)}.yaml"
        path.write_text(card_text(index, seed), encoding="utf-8")
        paths.append(path)
    return paths
