"""Measurement workers: each runs in its own subprocess and imports paddle.

`python -m zoocards.workers.<kind>` reads ONE JSON job on stdin and prints ONE JSON
object on stdout; everything else (paddle's banners, warnings, progress) goes to stderr.
One process per model keeps paddle's global state (old-style layers name their
parameters process-wide) from leaking between models, and lets the orchestrator kill a
hung or memory-hungry job without losing the others.

Kinds: `count` (parameters and MACs), `export` (Paddle -> ONNX -> onnxruntime
equivalence), `latency` (onnxruntime timing on this host) and `accuracy` (top-1/top-5 on
a local ImageNet-format dataset with local weights).
"""

from __future__ import annotations

KINDS = ("count", "export", "latency", "accuracy")
