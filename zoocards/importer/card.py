"""Writing the assembled card as YAML text, every number exactly as the page wrote it."""

from __future__ import annotations

import json
import re

from zoocards import names
from zoocards.importer.assemble import Comparison, Importer
from zoocards.importer.tables import Page
from zoocards.units import MODEL_METRICS

SCHEMA_LINE = "# yaml-language-server: $schema=../zoocards/schema/card-v1.schema.json"


# What PaddleClas pages call a runtime when they mean a Paddle Inference backend.
PADDLE_INFERENCE_BACKENDS = {"TensorRT": "tensorrt", "MKLDNN": "onednn"}


def _yaml_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _block(text: str, indent: int) -> str:
    pad = " " * indent
    lines = [line.rstrip().replace("\t", "    ") for line in text.strip("\n").split("\n")]
    lines[0] = lines[0].lstrip()
    return "|\n" + "\n".join(pad + line if line else "" for line in lines) + "\n"


def _metrics_flow(metrics: dict[str, str]) -> str:
    return "{" + ", ".join(f"{k}: {metrics[k]}" for k in MODEL_METRICS if k in metrics) + "}"


def render_card(importer: Importer, card_id: str, pages: list[Page], single: bool) -> str:
    """The card as YAML text, numbers written exactly as the page wrote them."""
    zh = next((p for p in pages if p.lang == "zh"), None)
    en = next((p for p in pages if p.lang == "en"), None)
    both = (zh or en, en or zh)
    out = [SCHEMA_LINE, "# Imported by `zoocards import` from " + ", ".join(p.name for p in pages) + "; review every field, then delete these comments."]
    if single:
        out.append(f"# One language only ({pages[0].lang}): name, summary and notes hold the same text in zh and en; translate them.")
    out += ["schema_version: 1", f"id: {card_id}", "name:"]
    for lang, page in zip(("zh", "en"), both):
        assert page is not None
        out.append(f"  {lang}: {_yaml_string(page.title or card_id)}")
    out.append("summary:  # the page's own introduction, imported as it is: shorten and edit it")
    for lang, page in zip(("zh", "en"), both):
        assert page is not None
        out.append(f"  {lang}: " + _block(page.intro or page.title or card_id, 4).rstrip("\n"))
    out += ["task: image-classification", "dataset: ImageNet-1k"]
    if importer.papers:
        out.append("papers:")
        for paper in importer.papers:
            out.append(f"  - title: {_yaml_string(paper['title'])}")
            out.append(f"    url: {paper['url']}")
    if importer.code:
        out.append("code:")
        for link in importer.code:
            out.append(f"  - label: {_yaml_string(link['label'])}")
            out.append(f"    url: {link['url']}")
    config = next((p.config for p in pages if p.config), None)
    if config:
        out.append(f"training_config: {config}")
    weights = {p.lang: _weights_note(p) for p in pages if _weights_note(p)}
    if weights:
        first = next(iter(weights.values()))
        out.append("weights:" + ("  # one language only: the same text in both" if len(weights) == 1 else ""))
        for lang in ("zh", "en"):
            out.append(f"  {lang}: {_yaml_string(weights.get(lang, first))}")
    accuracy = importer.units.get("accuracy", "fraction")
    out += ["units:", f"  accuracy: {accuracy}", f"  flops: {{scale: {importer.units.get('flops', 'G')}, convention: MACs}}  # PaddleClas 'FLOPs' count multiply-accumulates", f"  params: {importer.units.get('params', 'M')}"]
    if "storage" in importer.units:
        out.append(f"  storage: {importer.units['storage']}  # 'Storage Size(M)': megabytes of the model file")
    out.append("models:")
    for model in importer.models.values():
        out.append(f"  - name: {model['name']}")
        if "builder" in model:
            out.append(f"    builder: {model['builder']}")
        size = model.get("input_size")
        if size is None:
            # the size in the name of the architecture the weights belong to (NextViT_small_384_ssld: 384)
            base = names.architecture_candidates(model["architecture"])[-1]
            guessed = re.search(r"_(\d{3})$", base)
            size = int(guessed.group(1)) if guessed and 96 <= int(guessed.group(1)) <= 1024 else 224
            out.append(f"    input_size: {size}  # assumed: the page does not give it")
        else:
            out.append(f"    input_size: {size}")
        if "eval" in model:
            out.append(f"    eval: {{resize_short: {model['eval']['resize_short']}}}")
        out.append(f"    metrics: {_metrics_flow(model['metrics'])}")
    if importer.benchmarks:
        out.append("benchmarks:")
    for bench in importer.benchmarks:
        out.append(f"  - id: {bench.id}")
        out.append(f"    hardware: {_yaml_string(bench.hardware)}")
        out.append(f"    hardware_kind: {bench.kind}")
        if bench.runtime:
            out.append(f"    runtime: {_yaml_string(bench.runtime)}")
        if bench.runtime_version:
            out.append(f"    runtime_version: {_yaml_string(bench.runtime_version)}")
        # PaddleClas writes "TensorRT" and "MKLDNN" for Paddle Inference with that backend enabled:
        # say so, or a re-run would look for a standalone TensorRT engine.
        if bench.runtime in PADDLE_INFERENCE_BACKENDS:
            out.append(f"    runtime_id: paddle-inference  # PaddleClas times its models with Paddle Inference, {bench.runtime} enabled")
            out.append(f"    provider: {PADDLE_INFERENCE_BACKENDS[bench.runtime]}")
        if bench.conditions:
            first = next(iter(bench.conditions.values()))
            out.append("    conditions:" + ("  # one language only: the same text in both" if len(bench.conditions) == 1 else ""))
            for lang in ("zh", "en"):
                out.append(f"      {lang}: {_yaml_string(bench.conditions.get(lang, first))}")
        out.append("    columns:")
        for column in bench.columns:
            parts = [f"metric: {column['metric']}", f"unit: {column['unit']}"]
            for key in ("precision", "batch_size", "threads"):
                if key in column:
                    parts.append(f"{key}: {column[key]}")
            if "label" in column:
                label = _yaml_string(column["label"])
                parts.append(f"label: {{zh: {label}, en: {label}}}")
            out.append("      - {" + ", ".join(parts) + "}")
        out.append("    rows:")
        for name, row in bench.rows.items():
            values = ", ".join(row["values"].get(c["_index"], "null") for c in bench.columns)
            size = f", input_size: {row['input_size']}" if "input_size" in row and row["input_size"] != importer.models[name].get("input_size") else ""
            if "input_size" in row and not size and importer.models[name].get("input_size") is None:
                size = f", input_size: {row['input_size']}"
            resize = f", resize_short: {row['resize_short']}" if "resize_short" in row else ""
            out.append(f"      - {{model: {name}{size}{resize}, values: [{values}]}}")
    out += _comparison_lines(importer.comparisons)
    if importer.downloads:
        out.append("downloads:")
        for download in importer.downloads:
            target = f", target: {_yaml_string(download['target'])}" if "target" in download else ""
            out.append(f"  - {{model: {download['model']}, format: {download['format']}{target}, url: {download['url']}}}")
    return "\n".join(out) + "\n"


def _comparison_lines(comparisons: list[Comparison]) -> list[str]:
    """The `comparisons:` section: other families' rows, columns without a figure left out."""
    out = ["comparisons:  # other families' figures, quoted by the page for comparison"] if comparisons else []
    for quoted in comparisons:
        columns = [c for c in quoted.columns if any(c["_index"] in row["values"] for row in quoted.rows.values())]
        first = "  - "
        if quoted.title:
            any_title = next(iter(quoted.title.values()))
            titles = ", ".join(f"{lang}: {_yaml_string(quoted.title.get(lang, any_title))}" for lang in ("zh", "en"))
            out.append(f"{first}title: {{{titles}}}" + ("  # one language only: the same text in both" if len(quoted.title) == 1 else ""))
            first = "    "
        if quoted.hardware:
            out.append(f"{first}hardware: {_yaml_string(quoted.hardware)}")
            first = "    "
        out.append(f"{first}columns:")
        for column in columns:
            parts = [f"metric: {column['metric']}", f"unit: {column['unit']}"]
            parts += [f"{key}: {column[key]}" for key in ("precision", "batch_size", "threads") if key in column]
            if "label" in column:
                label = _yaml_string(column["label"])
                parts.append(f"label: {{zh: {label}, en: {label}}}")
            out.append("      - {" + ", ".join(parts) + "}")
        out.append("    rows:")
        for name, row in quoted.rows.items():
            values = ", ".join(row["values"].get(c["_index"], "null") for c in columns)
            size = f", input_size: {row['input_size']}" if "input_size" in row else ""
            out.append(f"      - {{model: {name}{size}, values: [{values}]}}")
    return out


def _weights_note(page: Page) -> str:
    for _, line in page.lines:
        if re.search(r"权重.*(官方|转)|weights.*(official|convert)", line, re.I) and line.strip().startswith("**"):
            return re.sub(r"^\*\*[^*]*\*\*[:：]?\s*", "", line.strip())
    return ""
