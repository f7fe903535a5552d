"""`zoocards new NAME`: a commented card that passes `zoocards check` as written."""

from __future__ import annotations

from pathlib import Path

from zoocards.errors import ZoocardsError
from zoocards.importer import ID_PATTERN

TEMPLATE = """\
# yaml-language-server: $schema=../zoocards/schema/card-v1.schema.json
# A new card. Every field is explained by the comment above it; editors that read the
# schema line complete and check the keys. `zoocards check` passes on this file as is:
# fill in the figures, then run `zoocards check` and `zoocards build`.

# Version of the card format; leave it at 1.
schema_version: 1
# Family id: must equal the file name without .yaml (it names the page models/{id}/).
id: {id}
# Display name of the family, once per language.
name:
  zh: {id} 系列
  en: {id}
# What the family is and what is new about it, in your own words, one to three short paragraphs.
summary:
  zh: |
    用自己的话写一到三段：这个系列是什么，新在哪里。
  en: |
    In your own words, one to three short paragraphs: what the family is and what is new about it.
# The task and the dataset the metrics are reported on.
task: image-classification
dataset: ImageNet-1k
# Papers behind the family: title as published and an absolute http(s) URL.
# papers:
#   - title: "The paper's title"
#     url: https://arxiv.org/abs/0000.00000
#     venue: CVPR
#     year: 2024
# Code repositories: the official release and the zoo's own implementation.
# code:
#   - label: owner/repository (authors' release)
#     url: https://github.com/owner/repository
# Where the training configs live inside the upstream zoo repository.
# training_config: ppcls/configs/ImageNet/MyNet/
# How every figure of the models table is written, declared once for the card:
#   accuracy: fraction (0.719) or percent (71.9);
#   flops: scale K/M/G/T, and MACs (what most zoo tables call "FLOPs") or true FLOPs (2 x MACs);
#   params: K/M/G.
units:
  accuracy: fraction
  flops: {{scale: G, convention: MACs}}
  params: M
# The models, in the order the page shows them. Figures are plain numbers in the units above;
# null (or leaving the key out) means the source gives no figure.
models:
  - name: {model}
    # module:callable that builds the architecture, for re-running params/FLOPs and export;
    # omit it when the architecture is not available (the figures are then 'not re-run').
    # builder: ppcls.arch.backbone.model_zoo.mynet:MyNet_S
    # Square input resolution the metrics were measured at.
    input_size: 224
    metrics:
      top1: null            # top-1 accuracy with the zoo's weights
      top5: null            # top-5 accuracy with the zoo's weights
      reference_top1: null  # top-1 reported by the original authors
      reference_top5: null
      flops: null           # compute per image, in units.flops
      params: null          # parameter count, in units.params
# Benchmark tables, one per hardware/runtime; each column declares its metric, unit and conditions.
# benchmarks:
#   - id: v100-tensorrt
#     hardware: NVIDIA V100
#     hardware_kind: gpu
#     runtime: TensorRT
#     columns:
#       - {{metric: latency, unit: ms, precision: FP32, batch_size: 1}}
#     rows:
#       - {{model: {model}, values: [1.00]}}
"""


def card_text(name: str) -> str:
    """The scaffold for card `name` (one example model named after it)."""
    model = "".join(part.capitalize() for part in name.split("-")) or "Model"
    if not model[0].isalpha():
        model = "Model" + model
    return TEMPLATE.format(id=name, model=model + "_S")


def new_card(name: str, cards_dir: Path) -> Path:
    """Write cards_dir/NAME.yaml; refuse a bad id or an existing file."""
    if not ID_PATTERN.match(name):
        raise ZoocardsError(f"'{name}' is not a card id: use lower-case letters, digits and '-', starting with a letter or digit (e.g. mynet)")
    path = cards_dir / f"{name}.yaml"
    if path.exists():
        raise ZoocardsError(f"{path} already exists; edit it, or pick another name")
    cards_dir.mkdir(parents=True, exist_ok=True)
    with path.open("x", encoding="utf-8") as handle:  # "x": never overwrite, even in a race
        handle.write(card_text(name))
    return path
