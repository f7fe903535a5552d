"""Machine-readable copies of the zoo under site/api/, each in its own ecosystem's format.

- `models.csv`, `models.json`: one row per model; every figure in the site's display unit,
  with a `<figure> unit` and a `<figure> status` column beside it (pandas writes both).
- `model-index.yml`: the OpenMMLab / Papers with Code model index (Collections = families).
- `hf/<card>/README.md`: a Hugging Face model card per family, model-index in its front matter.

Figures come from `zoo.py`, so they equal the pages' figures digit for digit.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from zoocards import render, zoo

try:  # the C emitter and loader: the model index of a 1000-family zoo is written in a fraction of the time
    from yaml import CSafeDumper as _Dumper
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeDumper as _Dumper  # type: ignore[assignment]
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]
from zoocards.load import Card

if TYPE_CHECKING:
    import pandas as pd

TASK_NAME = {"image-classification": "Image Classification"}
# Hugging Face dataset ids of the datasets the cards name; others fall back to a slug.
HF_DATASET = {"ImageNet-1k": "imagenet-1k"}
INDEX_METRICS = (("top1", "Top 1 Accuracy"), ("top5", "Top 5 Accuracy"))
IDENTITY = ("card", "family_zh", "family_en", "group_zh", "group_en", "task", "dataset", "model", "input_size")
UNIT_NAME = {"percent": "%", "G": "G MACs", "M": "M", "ms": "ms", "fps": "fps", "count": "count"}


def figure_columns(entries: list[zoo.Entry]) -> list[str]:
    """Model metrics first (in the family table's order), then every claimed or measured benchmark figure."""
    keys = {key for entry in entries for key in entry["figures"]}
    head = [m for m in zoo.MODEL_METRICS if m in keys]
    return head + sorted(keys - set(head))


def models_frame(entries: list[zoo.Entry]) -> pd.DataFrame:
    """One row per model: identity, then per figure its value, unit and verification status."""
    import pandas as pd  # a second or more to import: only the site build pays it

    columns = figure_columns(entries)
    rows = []
    for entry in entries:
        row: dict[str, Any] = {
            "card": entry["card"], "family_zh": entry["family"]["zh"], "family_en": entry["family"]["en"],
            "group_zh": entry["group"]["zh"], "group_en": entry["group"]["en"], "task": entry["task"],
            "dataset": entry["dataset"], "model": entry["model"], "input_size": entry["input_size"],
        }
        for key in columns:
            figure = entry["figures"].get(key)
            row[key] = None if figure is None else float(figure["value"])
            row[f"{key} unit"] = None if figure is None else UNIT_NAME.get(figure["unit"], figure["unit"])
            # A latency this site measured is a measurement, not a claim: nothing to verify.
            row[f"{key} status"] = None if figure is None else figure["verification"]["status"] if figure["verification"] else "measured"
        rows.append(row)
    return pd.DataFrame(rows, columns=list(IDENTITY) + [f"{key}{suffix}" for key in columns for suffix in ("", " unit", " status")])


def _count(value: Decimal, exponent: int) -> int:
    """A figure in G or M as a plain count (model-index stores counts, not scaled figures)."""
    return int(value.scaleb(exponent).to_integral_value())


def model_index(cards: list[Card], entries: list[zoo.Entry]) -> dict[str, Any]:
    """The OpenMMLab model-index: one Collection per family, one Model per model.

    FLOPs are written as the count of multiply-accumulates, the convention OpenMMLab's own
    model-index files use under that key and this site's compute convention (G MACs).
    """
    collections = []
    for card in sorted(cards, key=lambda c: c.id):
        data = card.data
        collection: dict[str, Any] = {"Name": data["name"]["en"], "Metadata": {"Training Data": data["dataset"]}, "README": f"hf/{card.id}/README.md"}
        if data.get("papers"):
            collection["Paper"] = {"Title": data["papers"][0]["title"], "URL": data["papers"][0]["url"]}
        if data.get("code"):
            collection["Code"] = {"URL": data["code"][0]["url"]}
        collections.append(collection)
    names = {card.id: card.data["name"]["en"] for card in cards}
    models = []
    for entry in entries:
        figures = entry["figures"]
        metadata: dict[str, Any] = {"Training Data": entry["dataset"], "Input Size": entry["input_size"]}
        if "flops" in figures:
            metadata["FLOPs"] = _count(figures["flops"]["value"], 9)
        if "params" in figures:
            metadata["Parameters"] = _count(figures["params"]["value"], 6)
        metrics = {name: float(figures[key]["value"]) for key, name in INDEX_METRICS if key in figures}
        model: dict[str, Any] = {"Name": entry["model"], "In Collection": names[entry["card"]], "Metadata": metadata}
        if metrics:
            model["Results"] = [{"Task": TASK_NAME.get(entry["task"], entry["task"]), "Dataset": entry["dataset"], "Metrics": metrics}]
        models.append(model)
    return {"Collections": collections, "Models": models}


def hf_readme(card: Card, entries: list[zoo.Entry]) -> str:
    """A Hugging Face model card for one family: model-index front matter (one entry per model), then a short body."""
    from huggingface_hub import EvalResult, ModelCardData  # slow to import, like pandas
    from huggingface_hub.repocard_data import eval_results_to_model_index

    data = card.data
    dataset = data["dataset"]
    dataset_id = HF_DATASET.get(dataset, "-".join(dataset.lower().split()))
    front = ModelCardData(pipeline_tag=data["task"], tags=[data["task"], "zoocards"], datasets=[dataset_id]).to_dict()
    index: list[dict[str, Any]] = []
    for entry in entries:
        results = [
            EvalResult(task_type=entry["task"], dataset_type=dataset_id, dataset_name=dataset, metric_type="accuracy", metric_name=name, metric_value=float(entry["figures"][key]["value"]))
            for key, name in INDEX_METRICS if key in entry["figures"]
        ]
        if results:
            # huggingface_hub writes one model per index; a family has several, so the entries are joined.
            index.extend(eval_results_to_model_index(entry["model"], results))
    if index:
        front["model-index"] = index
    # Card text is inert here as on the site: the Hub renders this README as Markdown with HTML.
    lines = [f"# {render.cell(data['name']['en'])}", "", str(render.prose(data["summary"]["en"])), "", "| Model | Input size | Top-1 (%) | Top-5 (%) | Params (M) | Compute (G MACs) |", "| :-- | --: | --: | --: | --: | --: |"]
    for entry in entries:
        f = entry["figures"]
        cells = [f[k]["text"] if k in f else "" for k in ("top1", "top5", "params", "flops")]
        lines.append(f"| {render.cell(entry['model'])} | {entry['input_size']} | " + " | ".join(cells) + " |")
    lines += ["", f"Generated by zoocards from `cards/{card.id}.yaml`; figures, their verification status and the family page are on the zoocards site (`models/{card.id}/`)."]
    text = "---\n" + _dump(front) + "---\n\n" + "\n".join(lines) + "\n"
    _check_hub_card(text)
    return text


def _check_hub_card(text: str) -> None:
    """Read the card's metadata back as the Hub's client does (`huggingface_hub.ModelCard`): raise if it is malformed.

    The same steps as `ModelCard(text)`, with PyYAML's C loader: the client's pure-Python
    `yaml.safe_load` took 17 s for the 1000 cards of a 1000-family zoo.
    """
    from huggingface_hub import ModelCardData
    from huggingface_hub.repocard import REGEX_YAML_BLOCK

    match = REGEX_YAML_BLOCK.search(text)
    if match is None:
        raise ValueError("the model card has no YAML metadata block")
    data = yaml.load(match.group(2), Loader=_Loader) or {}
    if not isinstance(data, dict):
        raise ValueError("repo card metadata block should be a dict")
    ModelCardData(**data, ignore_metadata_errors=False)


def _dump(value: Any) -> str:
    return yaml.dump(value, Dumper=_Dumper, allow_unicode=True, sort_keys=False)


def export_texts(cards: list[Card], verifications: list[dict[str, Any]], records: dict[str, list[dict[str, Any]]]) -> dict[str, str]:
    """Every export: `{path under api/: text}`."""
    entries = zoo.zoo_entries(cards, verifications, records)
    frame = models_frame(entries)
    outputs: dict[str, str] = {
        "models.csv": frame.to_csv(index=False),
        "models.json": json.dumps(json.loads(frame.to_json(orient="records", force_ascii=False)), ensure_ascii=False, indent=1) + "\n",
        "model-index.yml": "# OpenMMLab model-index, generated by zoocards. FLOPs are multiply-accumulate counts (MACs).\n" + _dump(model_index(cards, entries)),
    }
    by_card: dict[str, list[zoo.Entry]] = {}
    for entry in entries:  # grouped once: a scan of the zoo per card is quadratic
        by_card.setdefault(entry["card"], []).append(entry)
    for card in cards:
        outputs[f"hf/{card.id}/README.md"] = hf_readme(card, by_card.get(card.id, []))
    return outputs


def write_texts(api_dir: Path, texts: dict[str, str]) -> list[Path]:
    """Write `export_texts`' output under `api_dir`; return the paths written.

    Plain writes, not fsynced: `api_dir` is inside a site being built, which replaces the old
    site as a whole only once it is complete (`build.build_site`). One fsync per file cost
    seconds at 1000 families, for files a crash would have the next build write again."""
    written = []
    made: set[Path] = set()
    for relative, text in texts.items():
        path = api_dir / relative
        if path.parent not in made:
            path.parent.mkdir(parents=True, exist_ok=True)
            made.add(path.parent)
        path.write_bytes(text.encode("utf-8"))
        written.append(path)
    return written


def write_exports(api_dir: Path, cards: list[Card], verifications: list[dict[str, Any]], records: dict[str, list[dict[str, Any]]]) -> list[Path]:
    """Write every export under `api_dir`; return the paths written."""
    return write_texts(api_dir, export_texts(cards, verifications, records))
