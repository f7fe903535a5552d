"""The importer: real-world page noise in, a card that checks clean out, and no figure dropped silently."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import ROOT, shared_or_skip
from zoocards import check, cli, importer, render
from zoocards.errors import ZoocardsError
from zoocards.load import Card, load_text

FIXTURES = Path(__file__).parent / "fixtures" / "import"
BUILDERS = {"TinyNet_S": "ppcls.arch.backbone.model_zoo.tinynet:TinyNet_S"}


def _import(*names: str, card_id: str = "tinynet") -> importer.ImportResult:
    langs = {"tinynet.md": "zh", "tinynet_en.md": "en", "comparison.md": "en", "pretrained.md": "en"}
    return importer.import_pages([((FIXTURES / n).read_text(encoding="utf-8"), n, langs[n]) for n in names], card_id, BUILDERS)


def _card(result: importer.ImportResult, card_id: str = "tinynet") -> Card:
    return load_text(result.text, Path(f"{card_id}.yaml"))


def _model(card: Card, name: str) -> tuple[int, dict]:
    return next((i, m) for i, m in enumerate(card.data["models"]) if m["name"] == name)


def test_the_card_passes_the_checks_and_starts_with_the_schema_line() -> None:
    result = _import("tinynet.md", "tinynet_en.md")
    assert result.text.splitlines()[0] == "# yaml-language-server: $schema=../zoocards/schema/card-v1.schema.json"
    assert check.check_card(_card(result)) == []


def test_numbers_are_written_exactly_as_the_page_wrote_them() -> None:
    card = _card(_import("tinynet.md"))
    index, _ = _model(card, "TinyNet_S")
    written = {metric: card.raw_number(("models", index, "metrics", metric)) for metric in ("top1", "reference_top1", "flops", "params")}
    assert written == {"top1": "0.5720", "reference_top1": "0.570", "flops": "1.370", "params": "3.100"}
    assert "values: [1.06447, 1.44993]" in _import("tinynet.md").text


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        # fractions, FLOPs<br>(G), Params<br>(M), 'Storage Size(M)' is megabytes
        ("tinynet.md", {"accuracy": "fraction", "flops": {"scale": "G", "convention": "MACs"}, "params": "M", "storage": "MB"}),
        # 'Top-1 Acc(\%)' says percent; 'FLOPs(M)' says M
        ("comparison.md", {"accuracy": "percent", "flops": {"scale": "M", "convention": "MACs"}, "params": "M"}),
    ],
)
def test_units_come_from_headers_and_values(page: str, expected: dict) -> None:
    assert _card(_import(page, card_id="x"), "x").data["units"] == expected


def test_benchmarks_read_hardware_precision_batch_and_runtime_from_headers_titles_and_footnotes() -> None:
    benchmarks = _card(_import("tinynet.md")).data["benchmarks"]
    summary = [(b["id"], b["hardware"], b["hardware_kind"], b.get("runtime"), b.get("runtime_version"),
                [(c["precision"], c["batch_size"]) for c in b["columns"]]) for b in benchmarks]
    assert summary == [
        ("v100-tensorrt", "NVIDIA V100", "gpu", "TensorRT", "8.0.3.4", [("FP32", 1), ("FP32", 4)]),
        ("t4-tensorrt", "NVIDIA T4", "gpu", "TensorRT", None, [("FP16", 1), ("FP32", 1)]),
    ]
    assert benchmarks[0]["rows"][1] == {"model": "TinyNet_M", "values": [1.20, None]}  # '-' is an empty cell


def test_sizes_names_and_links_are_read() -> None:
    card = _card(_import("tinynet.md"))
    assert [(m["name"], m["input_size"], m.get("builder")) for m in card.data["models"]] == [
        ("TinyNet_S", 224, "ppcls.arch.backbone.model_zoo.tinynet:TinyNet_S"),
        ("TinyNet_M", 256, None),
        ("TinyNet_L_wide", 288, None),  # 'TinyNet_L<br>_wide' is one name
    ]
    assert card.data["training_config"] == "ppcls/configs/ImageNet/TinyNet/"
    assert card.data["papers"] == [{"title": "TinyNet 系列", "url": "https://arxiv.org/abs/0000.00001"}]
    # The Paddle Serving link is a standard deployment route (covered by the site's pages), not code.
    assert card.data["code"] == [{"label": "example/tinynet", "url": "https://github.com/example/tinynet"}]


def test_every_figure_lands_in_the_card_or_in_the_report() -> None:
    result = _import("tinynet.md", "tinynet_en.md")
    messages = [str(n) for n in result.notes]
    assert (result.figures, result.landed) == (48, 47)
    assert "tinynet.md:25: not imported: TinyNet_L_wide: (no header) = 7 — a cell beyond the last header" in messages
    assert "tinynet.md:24: TinyNet_M: 7 cells for 8 columns; cells were matched to headers by position" in messages
    assert "tinynet_en.md:18: column 'Resize Short Size': 2 figures (lines 18-19) stored as models[].eval.resize_short (the metrics table shows it; accuracy re-runs resize to it)" in messages


def test_storage_sizes_and_resize_sizes_land_on_the_models() -> None:
    card = _card(_import("tinynet.md", "tinynet_en.md"))
    found = [(m["name"], m["metrics"].get("storage"), m.get("eval")) for m in card.data["models"]]
    assert found == [("TinyNet_S", 12.5, {"resize_short": 256}), ("TinyNet_M", None, {"resize_short": 292}), ("TinyNet_L_wide", 40.0, None)]
    index, _ = _model(card, "TinyNet_L_wide")
    assert card.raw_number(("models", index, "metrics", "storage")) == "40.0"


def test_a_resize_size_that_contradicts_an_earlier_one_is_kept_on_its_benchmark_row_or_reported() -> None:
    page = (
        "# X\n\n"
        "| Models | Crop Size | Resize Short Size | FP32<br>Batch Size=1<br>(ms) |\n|---|---|---|---|\n| TinyNet_S | 224 | 256 | 0.81 |\n\n"
        "| Models | Crop Size | Resize Short Size | FP16<br>Batch Size=1<br>(ms) |\n|---|---|---|---|\n| TinyNet_S | 224 | 288 | 0.51 |\n\n"
        "| Models | Top5 | Resize Short Size |\n|---|---|---|\n| TinyNet_S | 0.80 | 300 |\n"
    )
    result = importer.import_pages([(page, "x.md", "en")], "tinynet", BUILDERS)
    card = _card(result)
    messages = [str(n) for n in result.notes]
    # A timing run with other preprocessing: the page states a condition of that run.
    assert card.data["models"][0]["eval"] == {"resize_short": 256}
    assert card.data["benchmarks"][1]["rows"] == [{"model": "TinyNet_S", "resize_short": 288, "values": [0.51]}]
    assert "x.md:9: TinyNet_S: resize_short 288 differs from the 256 written earlier; kept on this benchmark's row as a condition of the run — check which is right" in messages
    # No run to attach it to: the contradiction goes to the report.
    assert "x.md:13: not imported: TinyNet_S: Resize Short Size = 300 — conflicts with resize_short 256 written earlier for the same model; keep the right one by hand" in messages


def test_an_english_table_equal_to_the_chinese_one_is_merged_not_repeated() -> None:
    card = _card(_import("tinynet.md", "tinynet_en.md"))
    v100 = card.data["benchmarks"][0]
    assert [b["id"] for b in card.data["benchmarks"]] == ["v100-tensorrt", "t4-tensorrt"]
    assert v100["conditions"] == {"zh": "精度类型为 FP32，推理过程使用 TensorRT-8.0.3.4。", "en": "TensorRT-8.0.3.4 was used."}
    assert card.data["name"] == {"zh": "TinyNet 系列", "en": "TinyNet series"}


def test_one_language_is_flagged_in_the_card_and_the_report() -> None:
    result = _import("tinynet.md")
    card = _card(result)
    assert card.data["summary"]["zh"] == card.data["summary"]["en"]
    assert "# One language only (zh): name, summary and notes hold the same text in zh and en; translate them." in result.text
    assert "tinynet.md:1: one language only (zh): name, summary and notes repeat the same text in zh and en; translate them" in [str(n) for n in result.notes]


def test_a_page_scraped_with_viewer_artefacts_imports_like_the_clean_page() -> None:
    clean = (FIXTURES / "tinynet.md").read_text(encoding="utf-8")
    # What a web file viewer leaves: a size header, then '|' and '||' after every line.
    scraped = "42 lines\n1.9 KiB\nMarkdown\n" + "".join(f"{line}\n|\n||\n" for line in clean.split("\n"))
    a = importer.import_pages([(clean, "p.md", "zh")], "tinynet", BUILDERS)
    b = importer.import_pages([(scraped, "p.md", "zh")], "tinynet", BUILDERS)
    assert a.text == b.text
    assert (a.figures, a.landed) == (b.figures, b.landed)


def test_ablation_and_other_task_tables_are_reported_not_imported() -> None:
    result = _import("comparison.md", card_id="litenet")
    assert [m["name"] for m in _card(result, "litenet").data["models"]] == ["LiteNet_x0_5", "LiteNet_x1_0"]
    messages = [str(n) for n in result.notes]
    assert "comparison.md:9: not imported: table 'SE Location | Top-1 Acc(\\%) | Latency(ms)' (4 figures) has no model names in its first column (an ablation or comparison of settings)" in messages
    assert "comparison.md:30: not imported: table 'Backbone | mAP(%) | Latency(ms)' (4 figures) reports another task (detection/segmentation)" in messages
    assert (result.figures, result.landed) == (24, 16)  # 4 + 4 reported, the bold LiteNet row matches its first figures


def test_other_families_rows_are_quoted_in_comparisons_not_made_models() -> None:
    card = _card(_import("comparison.md", card_id="litenet"), "litenet")
    assert "OtherNet_A" not in [m["name"] for m in card.data["models"]]  # a model belongs to one family
    assert card.data["comparisons"] == [{
        "title": {"zh": "Comparison with other networks", "en": "Comparison with other networks"},
        "columns": [{"metric": "params", "unit": "M"}, {"metric": "flops", "unit": "M"}, {"metric": "top1", "unit": "percent"}, {"metric": "top5", "unit": "percent"}],
        "rows": [{"model": "OtherNet_A", "values": [2.0, 99, 65.03, 85.72]}],
    }]
    assert card.raw_number(("comparisons", 0, "rows", 0, "values", 0)) == "2.0"


def test_rows_footnoted_with_another_pretraining_become_models_named_for_their_weights() -> None:
    backbones = {"GlassNet_base_384": "ppcls.arch.backbone.model_zoo.glassnet:GlassNet_base_384"}
    page = (FIXTURES / "pretrained.md").read_text(encoding="utf-8")
    result = importer.import_pages([(page, "pretrained.md", "en")], "glassnet", backbones)
    card = _card(result, "glassnet")
    assert [(m["name"], m.get("builder"), m["input_size"], m["metrics"]["top1"]) for m in card.data["models"]] == [
        ("GlassNet_small_224", None, 224, 0.741),
        ("GlassNet_base_384", backbones["GlassNet_base_384"], 384, 0.782),
        # the same architecture with other weights: built alike, named as the zoo names those weights
        ("GlassNet_base_384_22kto1k", backbones["GlassNet_base_384"], 384, 0.815),
        ("GlassNet_huge_384_22kto1k", None, 384, 0.834),
    ]
    messages = [str(n) for n in result.notes]
    assert "pretrained.md:9: rows marked [1] (lines 13-14): imported as other models, named with _22kto1k as the zoo names weights with the pretraining the footnote states ('pretrained on ImageNet-22k, then fine-tuned on ImageNet-1k.'); check the names" in messages
    assert "pretrained.md:14: GlassNet_huge_384_22kto1k: no `def GlassNet_huge_384(` in the installed paddleclas; builder omitted (its figures will be 'not re-run')" in messages
    # A footnote that names no pretraining gives no name: the second row stays in the report.
    assert "pretrained.md:15: not imported: GlassNet_small_224: Top1 = 0.7440, Top5 = 0.9180, FLOPs (G) = 1.20, Params (M) = 8.5 — a second row for GlassNet_small_224 in the same table (GlassNet_small_224[2]); a card names each model once — add it under its own name" in messages
    assert [row["model"] for row in card.data["comparisons"][0]["rows"]] == ["OtherNet_B"]
    assert (result.figures, result.landed) == (28, 24)


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("MobileNetV3_large_<br>x1_25", "MobileNetV3_large_x1_25"),
        ("<b>PPHGNet_tiny<b>", "PPHGNet_tiny"),
        ("Swin_base<sup>[1]</sup>", "Swin_base"),
        ("1100000000000", None),  # an ablation setting, not a model
        ("Models", None),  # a repeated header
    ],
)
def test_model_names_lose_markup(cell: str, expected: str | None) -> None:
    assert importer.model_name(cell) == expected


@pytest.mark.parametrize(
    ("header", "kind", "metric", "unit", "precision", "batch", "threads"),
    [
        ("Latency(ms)<br>FP16<br>bs=1", "bench", "latency", "ms", "FP16", 1, None),
        ("SD855 time(ms)<br/>bs=1, thread=4", "bench", "latency", "ms", None, 1, 4),
        ("FP32<br>Batch Size=8<br>(ms)", "bench", "latency", "ms", "FP32", 8, None),
        ("FLOPs<br>(G)", "metric", "flops", "G", None, None, None),
        ("FLOPs(M)", "metric", "flops", "M", None, None, None),
        ("Params<br/>(M)", "metric", "params", "M", None, None, None),
        ("Top-1 Acc(\\%)", "metric", "top1", "percent", None, None, None),
        ("Reference<br>top5", "metric", "reference_top5", "", None, None, None),  # unit from the values
        ("Storage Size(M)", "metric", "storage", "MB", None, None, None),  # megabytes of the model file, not a count
    ],
)
def test_columns_are_classified_from_their_headers(header: str, kind: str, metric: str, unit: str, precision: str | None, batch: int | None, threads: int | None) -> None:
    column = importer.classify(header, 1)
    assert (column.kind, column.metric, column.unit, column.precision, column.batch_size, column.threads) == (kind, metric, unit, precision, batch, threads)


def test_builders_are_guessed_only_from_real_definitions(tmp_path: Path) -> None:
    backbone = tmp_path / "paddleclas" / "ppcls" / "arch" / "backbone"
    (backbone / "model_zoo").mkdir(parents=True)
    (backbone / "model_zoo" / "tinynet.py").write_text("def TinyNet_S(pretrained=False):\n    pass\n\n    def TinyNet_inner():\n        pass\n", encoding="utf-8")
    index = importer.builder_index.__wrapped__(backbone)
    assert index == {"TinyNet_S": "ppcls.arch.backbone.model_zoo.tinynet:TinyNet_S"}


def test_a_bad_card_id_is_refused() -> None:
    with pytest.raises(ZoocardsError, match="'Tiny_Net' is not a card id"):
        importer.import_pages([("# x\n", "x.md", "en")], "Tiny_Net", {})


def test_cli_writes_the_card_and_refuses_to_overwrite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cards" / "tinynet.yaml"
    args = ["import", str(FIXTURES / "tinynet.md"), "--en", str(FIXTURES / "tinynet_en.md"), "-o", str(out)]
    assert cli.main(args) == 0
    assert f"{out}: 47/48 figures imported, 1 listed above as not imported" in capsys.readouterr().out
    assert cli.main(["check", str(out)]) == 0
    assert cli.main(args) == 1
    assert f"zoocards: {out} already exists; pass --force to replace it" in capsys.readouterr().err


def _roundtrip_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("import_roundtrip", ROOT / "scripts" / "import_roundtrip.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["import_roundtrip"] = module
    spec.loader.exec_module(module)
    return module


def test_round_trip_of_the_fixtures_keeps_every_figure_it_does_not_report(tmp_path: Path) -> None:
    script = _roundtrip_script()
    result = script.roundtrip([(FIXTURES / "tinynet.md", "zh"), (FIXTURES / "tinynet_en.md", "en")], "tinynet")
    assert result.unreported == []
    assert (result.found, result.total) == (47, 48)  # lost: the 7 past the last header (reported)


def test_round_trip_of_the_corpus_and_seeds_reports_everything_it_loses() -> None:
    shared = shared_or_skip()
    script = _roundtrip_script()
    results = [script.roundtrip(sources, card_id) for sources, card_id in script.pages(shared)]
    assert [r.unreported for r in results if r.unreported] == []
    seeds = [r for r in results if "/seeds/" in r.name]
    assert seeds and all(r.found == r.total for r in seeds), [(r.name, r.lost) for r in seeds if r.lost]


def test_every_seed_imports_into_a_card_that_renders() -> None:
    shared = shared_or_skip()
    for seed in sorted((shared / "seeds").glob("*.txt")):
        result = importer.import_files(seed, None, "seed")
        pages = render.render_family(load_text(result.text, Path("seed.yaml")), [], [])
        assert set(pages) == {"models/seed.zh.md", "models/seed.en.md"}
        assert re.search(r"^# yaml-language-server", result.text)


TINY_PAGE = """# TinyNet 系列

## 1. 模型介绍

TinyNet 沿用 [PP-LCNetV1](PP-LCNet.md) 的设计，详见 [论文](https://arxiv.org/abs/1)。

![](../../images/models/tiny.png)

## 2. 精度

| Models | Top1 | Top5 | FLOPs<br>(G) | Params<br>(M) |
|:--:|:--:|:--:|:--:|:--:|
| TinyNet_x1_0_ssld | 0.700 | 0.890 | 0.40 | 3.0 |
| Tiny-Net-S | 0.650 | 0.860 | 0.20 | 1.5 |
"""


def test_import_teaches_what_was_fixed_by_hand() -> None:
    """Issue 14: relative links into the upstream repository, weight variants and names spelt two ways."""
    backbones = {"TinyNet_x1_0": "ppcls.arch.backbone.model_zoo.tiny:TinyNet_x1_0", "Tiny_Net_S": "ppcls.arch.backbone.model_zoo.tiny:Tiny_Net_S"}
    result = importer.import_pages([(TINY_PAGE, "TinyNet.md", "zh")], "tinynet", backbones)
    card = load_text(result.text, Path("tinynet.yaml"))
    builders = {m["name"]: m.get("builder") for m in card.data["models"]}
    assert builders == {"TinyNet_x1_0_ssld": backbones["TinyNet_x1_0"], "Tiny-Net-S": backbones["Tiny_Net_S"]}
    summary = card.data["summary"]["zh"]
    assert "PP-LCNetV1" in summary and "PP-LCNet.md" not in summary and "tiny.png" not in summary
    assert "[论文](https://arxiv.org/abs/1)" in summary  # absolute links stay
    messages = [n.message for n in result.notes]
    assert "relative link 'PP-LCNet.md' kept as plain text 'PP-LCNetV1'; link another card as [PP-LCNetV1](card:<id>) or use an absolute URL" in messages
    assert "image '../../images/models/tiny.png' left out (a path in the upstream repository, not on the site); link an absolute URL if the card needs it" in messages
