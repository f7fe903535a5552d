"""Checker: each bad card gives one exact message naming file:line:column and key path."""

from __future__ import annotations

from pathlib import Path

import pytest

from zoocards.check import check_cards
from zoocards.load import load_text

P = Path("cards/mini.yaml")


def problems(text: str) -> list[str]:
    return [str(p) for p in check_cards([load_text(text, P)])]


def test_minimal_card_is_clean(card_text: str) -> None:
    assert problems(card_text) == []


@pytest.mark.parametrize(
    "old, new, expected",
    [
        # the issue's own example: a percent written into a fraction card
        ("      top1: 0.7620", "      top1: 76.28",
         "cards/mini.yaml:20:7: models[0].metrics.top1: 76.28 is not a fraction in [0, 1]; write 0.7628 or set units.accuracy: percent"),
        # a typo in a key must not be silently ignored
        ("    input_size: 224\n    metrics:\n      top1: 0.7620", "    input_sise: 224\n    metrics:\n      top1: 0.7620",
         "cards/mini.yaml:17:5: models[0]: missing required key 'input_size' (for example: input_size: 224)\n"
         "cards/mini.yaml:18:5: models[0].input_sise: unknown key 'input_sise'; did you mean 'input_size'?"),
        # an unknown unit: suggest the closest allowed one
        ("accuracy: fraction", "accuracy: fracton",
         "cards/mini.yaml:13:3: units.accuracy: 'fracton' is not one of: fraction, percent; did you mean 'fraction'?"),
        # a number written as a string would break every comparison
        ("      top5: 0.930", '      top5: "0.930"',
         "cards/mini.yaml:21:7: models[0].metrics.top5: expected a number or null, got '0.930'; remove the quotes"),
        # two models with one name would make claims ambiguous
        ("  - name: Mini_B", "  - name: Mini_A",
         "cards/mini.yaml:24:5: models[1].name: model 'Mini_A' is already defined at models[0]; model names are unique within a card\n"
         "cards/mini.yaml:37:10: benchmarks[0].rows[1].model: 'Mini_B' is not a model of this card; did you mean 'Mini_A'?"),
        # a benchmark row must name a model of the card
        ("{model: Mini_B, values", "{model: Mini_C, values",
         "cards/mini.yaml:37:10: benchmarks[0].rows[1].model: 'Mini_C' is not a model of this card; did you mean 'Mini_B'?"),
        # one value per column, or the figures land in the wrong columns
        ("values: [1.00, 2.50]", "values: [1.00, 2.50, 3.0]",
         "cards/mini.yaml:36:25: benchmarks[0].rows[0].values: 3 values for 2 columns; give one value per column (null for an empty cell)"),
        # top-5 below top-1 means swapped columns
        ("      top5: 0.930", "      top5: 0.530",
         "cards/mini.yaml:21:7: models[0].metrics.top5: top5 0.53 is below top1 0.762; top-5 accuracy can never be lower than top-1 — are the columns swapped?"),
        # a latency column in fps is a unit mix-up
        ("{metric: latency, unit: ms, precision: FP32, batch_size: 4}", "{metric: latency, unit: fps, precision: FP32, batch_size: 4}",
         "cards/mini.yaml:34:27: benchmarks[0].columns[1].unit: unit 'fps' does not fit metric 'latency'; use one of: ms, s"),
        # the file name and id must agree, or pages and measurements drift apart
        ("id: mini", "id: maxi",
         "cards/mini.yaml:3:1: id: id 'maxi' must equal the file name 'mini'; rename the file to maxi.yaml or change the id"),
        # negative figures are never valid
        ("      params: 6.2", "      params: -6.2",
         "cards/mini.yaml:23:7: models[0].metrics.params: -6.2 is not a positive params figure; write the figure, or null when there is none"),
        # schema_version gates migrations
        ("schema_version: 1", "schema_version: 2",
         "cards/mini.yaml:2:1: schema_version: 2 is not supported; write 1"),
        # a file size without its unit could be MB or KB: the unit is declared once, in units
        ("      params: 6.2", "      params: 6.2\n      storage: 24.8",
         "cards/mini.yaml:12:1: units: missing key 'storage': models[0].metrics.storage gives a file size, so say its unit once here (for example: storage: MB)"),
        # an empty file is no model (and the missing unit is reported too)
        ("      params: 6.2", "      params: 6.2\n      storage: 0",
         "cards/mini.yaml:12:1: units: missing key 'storage': models[0].metrics.storage gives a file size, so say its unit once here (for example: storage: MB)\n"
         "cards/mini.yaml:24:7: models[0].metrics.storage: 0 is not a positive storage figure; write the figure, or null when there is none"),
    ],
)
def test_bad_card(card_text: str, old: str, new: str, expected: str) -> None:
    assert old in card_text
    assert problems(card_text.replace(old, new, 1)) == expected.split("\n")


def test_unknown_key_did_you_mean(card_text: str) -> None:
    text = card_text.replace("dataset: ImageNet-1k", "dataset: ImageNet-1k\ndatset: x")
    assert problems(text) == ["cards/mini.yaml:12:1: datset: unknown key 'datset'; did you mean 'dataset'?"]


def test_latency_falling_with_batch_is_a_warning(card_text: str) -> None:
    found = check_cards([load_text(card_text.replace("values: [1.00, 2.50]", "values: [1.00, 0.50]"), P)])
    assert [(p.severity, str(p)) for p in found] == [
        ("warning", "cards/mini.yaml:36:40: warning: benchmarks[0].rows[0].values[1]: latency 0.5 at batch 4 is below 1.0 at batch 1; latency usually grows with batch size — check the column order"),
    ]


def test_all_errors_of_all_cards_are_collected(card_text: str) -> None:
    first = load_text(card_text.replace("      top1: 0.7620", "      top1: 76.28"), P)
    second = load_text(card_text.replace("accuracy: fraction", "accuracy: fracton"), Path("cards/mini.yaml"))
    found = check_cards([first, second])
    assert len([p for p in found if p.severity == "error"]) == 3  # two bad fields + the id used twice


def test_repository_cards_are_clean() -> None:
    from zoocards.load import card_paths, load_file
    from tests.conftest import ROOT

    cards = [load_file(p) for p in card_paths(ROOT / "cards")]
    assert cards
    assert [str(p) for p in check_cards(cards) if p.severity == "error"] == []


COMPARED = """\
comparisons:
  - title: {zh: 与其他系列的对比, en: Compared with other families}
    hardware: NVIDIA V100
    columns:
      - {metric: top1, unit: percent}
      - {metric: latency, unit: ms, batch_size: 1}
    rows:
      - {model: OtherNet_A, values: [70.1, 2.4]}
      - {model: Mini_A, values: [76.2, 1.0]}
"""


def test_a_comparison_may_name_models_of_other_families(card_text: str) -> None:
    assert problems(card_text + COMPARED) == []


@pytest.mark.parametrize(
    "old, new, expected",
    [
        # one value per column, as in a benchmark
        ("[70.1, 2.4]", "[70.1, 2.4, 3.0]",
         "cards/mini.yaml:45:29: comparisons[0].rows[0].values: 3 values for 2 columns; give one value per column (null for an empty cell)"),
        # the column's unit is checked against its figures, and the fix names the column
        ("{metric: top1, unit: percent}", "{metric: top1, unit: fraction}",
         "cards/mini.yaml:45:38: comparisons[0].rows[0].values[0]: 70.1 is not a fraction in [0, 1]; write 0.701 or set comparisons[0].columns[0].unit: percent\n"
         "cards/mini.yaml:46:34: comparisons[0].rows[1].values[0]: 76.2 is not a fraction in [0, 1]; write 0.762 or set comparisons[0].columns[0].unit: percent"),
        # a unit that does not fit the metric
        ("{metric: latency, unit: ms, batch_size: 1}", "{metric: latency, unit: M, batch_size: 1}",
         "cards/mini.yaml:43:27: comparisons[0].columns[1].unit: unit 'M' does not fit metric 'latency'; use one of: ms, s"),
        # a model quoted twice in one table: which row is right?
        ("{model: Mini_A, values: [76.2", "{model: OtherNet_A, values: [76.2",
         "cards/mini.yaml:46:10: comparisons[0].rows[1].model: 'OtherNet_A' already has a row in this table (rows[0]); merge the two rows"),
        # negative figures are never valid, quoted or not
        ("[70.1, 2.4]", "[70.1, -2.4]",
         "cards/mini.yaml:45:44: comparisons[0].rows[0].values[1]: -2.4 is negative; a latency figure cannot be"),
    ],
)
def test_bad_comparison(card_text: str, old: str, new: str, expected: str) -> None:
    text = card_text + COMPARED
    assert old in text
    assert problems(text.replace(old, new, 1)) == expected.split("\n")


def test_name_that_a_spreadsheet_would_run_is_refused(card_text: str) -> None:
    # models.csv keeps names exact, so '=HYPERLINK(...)' would run when the export is opened
    text = card_text.replace("  en: MiniNet", '  en: "=HYPERLINK(\\"http://x\\")"')
    assert problems(text) == [
        "cards/mini.yaml:6:3: name.en: '=HYPERLINK(\"http://x\")' starts with '=', which spreadsheets run as a formula when they open the exports; start the name with a letter or digit"
    ]


@pytest.mark.parametrize(
    "summary, expected",
    [
        # issue 14: a relative link copied from an upstream page passes nowhere on the site; the strict build aborts on it
        ("  en: Builds on [PP-LCNetV1](PP-LCNet.md).",
         ["cards/mini.yaml:9:17: summary.en: relative link 'PP-LCNet.md' in prose: the site has no page at that path, so the strict build fails; "
          "write an absolute URL (https://...), or link another family's card as [text](card:<card id>)"]),
        # an upstream figure referenced by its path in the upstream repository
        ("  en: |\n    The curve: ![](../../images/models/t4.png)",
         ["cards/mini.yaml:10:17: summary.en: relative link '../../images/models/t4.png' in prose: the site has no page at that path, so the strict build fails; "
          "write an absolute URL (https://...), or link another family's card as [text](card:<card id>)"]),
        # a reference to a card that does not exist
        ("  en: Builds on [PP-LCNetV1](card:pp-lcnet).",
         ["cards/mini.yaml:9:17: summary.en: link to card 'pp-lcnet', but no card has that id; use the id of a file in cards/ (e.g. card:mini)"]),
        # what the fix looks like: a reference to an existing card (here the card itself), an absolute URL, an anchor
        ("  en: See [Mini](card:mini#Mini_A), [the paper](https://arxiv.org/abs/1) and [the table](#models).", []),
    ],
)
def test_links_in_prose(card_text: str, summary: str, expected: list[str]) -> None:
    text = card_text.replace("  en: A small card for tests.", summary)
    assert problems(text) == expected


def test_a_model_belongs_to_one_card(card_text: str) -> None:
    # issue 14: the DenseNet page lists the DPN models too; claimed twice, they would be measured twice
    other = load_text(card_text.replace("id: mini", "id: other").replace("Mini_B", "Other_B").replace("Mini_A", "Mini-A"), Path("cards/other.yaml"))
    assert [str(p) for p in check_cards([load_text(card_text, P), other])] == [
        "cards/other.yaml:17:5: warning: models[0].name: model 'Mini-A' is already a model of mini.yaml (as 'Mini_A'); "
        "a model belongs to one card: quote it here in a `comparisons` table instead"
    ]
