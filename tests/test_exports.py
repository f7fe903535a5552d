"""Exports, each read back with its own ecosystem's parser and checked against the cards."""

from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT
from zoocards import compare, exports, units, zoo
from zoocards.load import Card, card_paths, load_file

PINNED_HOST = {"cpu": "Test CPU", "cores": 2, "gpus": [], "machine": "x86_64", "memory_gb": 8.0, "os": "Linux"}
LATENCY_HERE = "latency[here, FP32, bs=1]"


def _expected(card: Card) -> dict[str, dict[str, Decimal]]:
    """model -> metric -> the figure in display units, straight from the card's written text."""
    unit_of = card.data["units"]
    out: dict[str, dict[str, Decimal]] = {}
    for index, model in enumerate(card.data["models"]):
        figures = out.setdefault(model["name"], {})
        for metric, value in model["metrics"].items():
            if value is None or metric == "storage":  # a file size: shown on its page, not exported (zoo.MODEL_METRICS)
                continue
            unit = units.model_metric_unit(unit_of, metric)
            raw = card.raw_number(("models", index, "metrics", metric)) or str(value)
            figures[metric] = units.to_display(metric, Decimal(raw), unit, unit_of["flops"]["convention"])
    return out


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Card], Path]:
    cards = [load_file(p) for p in card_paths(ROOT / "cards")]
    verifications = [dict(v) for v in compare.verify(cards, {}, PINNED_HOST)]
    record = {"model": cards[0].data["models"][0]["name"], "kind": "latency", "status": "ok", "result": {"batch_sizes": {"1": {"median_ms": 3.14159, "p90_ms": 3.5, "threads": 2, "batch_size": 1}}}}
    api = tmp_path_factory.mktemp("site") / "api"
    exports.write_exports(api, cards, verifications, {cards[0].id: [record]})
    return cards, api


def _all_models(cards: list[Card]) -> list[tuple[Card, str]]:
    return [(card, m["name"]) for card in sorted(cards, key=lambda c: c.id) for m in card.data["models"]]


def test_csv_and_json_have_one_row_per_model_with_every_figure_unit_and_status(written: tuple[list[Card], Path]) -> None:
    import pandas as pd

    cards, api = written
    frame = pd.read_csv(api / "models.csv")
    records = json.loads((api / "models.json").read_text(encoding="utf-8"))
    assert list(zip(frame["card"], frame["model"])) == [(c.id, name) for c, name in _all_models(cards)]
    assert [(r["card"], r["model"]) for r in records] == [(c.id, name) for c, name in _all_models(cards)]
    for card in cards:
        for model, figures in _expected(card).items():
            row = frame[(frame["card"] == card.id) & (frame["model"] == model)].iloc[0]
            record = next(r for r in records if r["card"] == card.id and r["model"] == model)
            for metric, value in figures.items():
                assert Decimal(str(row[metric])) == value and Decimal(str(record[metric])) == value, f"{model} {metric}"
                assert row[f"{metric} unit"] == record[f"{metric} unit"] == {"flops": "G MACs", "params": "M"}.get(metric, "%")
                assert row[f"{metric} status"] in compare.STATUSES
    first = records[0]
    assert first[LATENCY_HERE] == 3.14 and first[f"{LATENCY_HERE} status"] == "measured"
    assert records[1][LATENCY_HERE] is None


def test_benchmark_figures_are_exported_with_their_conditions(written: tuple[list[Card], Path]) -> None:
    cards, api = written
    records = json.loads((api / "models.json").read_text(encoding="utf-8"))
    for card in cards:
        # Two tables of one card may time a model under the same conditions (HRNet's zh and en pages
        # disagree on the V100): the zoo-wide row keeps the first table's figure; the family page shows both.
        taken: set[tuple[str, str]] = set()
        for bench in card.data.get("benchmarks", []):
            for row in bench["rows"]:
                record = next(r for r in records if r["card"] == card.id and r["model"] == row["model"])
                for value, column in zip(row["values"], bench["columns"]):
                    if value is None or column["metric"] != "latency":
                        continue
                    key = zoo.figure_key("latency", bench["hardware"], column.get("precision"), column.get("batch_size"), column.get("threads"))
                    if (row["model"], key) in taken:
                        continue
                    taken.add((row["model"], key))
                    assert record[key] == pytest.approx(float(units.to_display("latency", Decimal(str(value)), column["unit"])), rel=1e-12)
                    assert record[f"{key} unit"] == "ms"


def test_model_index_loads_and_checks_with_the_model_index_package(written: tuple[list[Card], Path]) -> None:
    import modelindex

    cards, api = written
    index = modelindex.load(str(api / "model-index.yml"))
    assert index.check(silent=True) == []
    assert [c.name for c in index.collections] == [c.data["name"]["en"] for c in sorted(cards, key=lambda c: c.id)]
    by_name = {m.name: m for m in index.models}
    assert len(by_name) == len(_all_models(cards))
    for card in cards:
        for model, figures in _expected(card).items():
            loaded = by_name[model]
            assert loaded.in_collection == card.data["name"]["en"]
            # a figure the card leaves out (many upstream tables have gaps) is left out of the index too
            assert loaded.metadata.flops == (int(figures["flops"] * 10**9) if "flops" in figures else None)  # MACs, as OpenMMLab counts them
            assert loaded.metadata.parameters == (int(figures["params"] * 10**6) if "params" in figures else None)
            results = loaded.results or []
            for result in results:
                assert (result.task, result.dataset) == ("Image Classification", card.data["dataset"])
                for key, name in (("top1", "Top 1 Accuracy"), ("top5", "Top 5 Accuracy")):
                    assert (Decimal(str(result.metrics[name])) if name in result.metrics else None) == figures.get(key)


def test_hugging_face_cards_load_with_huggingface_hub(written: tuple[list[Card], Path]) -> None:
    from huggingface_hub import ModelCard

    cards, api = written
    for card in cards:
        path = api / "hf" / card.id / "README.md"
        loaded = ModelCard.load(path)
        expected = _expected(card)
        got = Counter((r.metric_name, Decimal(str(r.metric_value))) for r in loaded.data.eval_results)
        want = Counter((name, figures[key]) for figures in expected.values() for key, name in (("top1", "Top 1 Accuracy"), ("top5", "Top 5 Accuracy")) if key in figures)
        assert got == want, card.id
        assert {r.task_type for r in loaded.data.eval_results} == {card.data["task"]}
        front = yaml.safe_load(path.read_text(encoding="utf-8").split("---\n")[1])
        # one model-index entry per model: the family's models stay apart in the file
        # (a model the page only times, with no accuracy, has no results to index: SE_ResNet18_vd)
        assert [entry["name"] for entry in front["model-index"]] == [m for m, f in expected.items() if "top1" in f or "top5" in f]
        assert loaded.text.lstrip().startswith(f"# {card.data['name']['en']}")
