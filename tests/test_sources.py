"""Upstream sources: the loader's errors name file:line:col and the fix, claims come out in display units,
and the importer keeps every figure and link of the real zoo-wide pages."""

from __future__ import annotations

import importlib.util
import re
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import ROOT, shared_or_skip
from zoocards import check, cli, load, render, sources
from zoocards.errors import CardError, display_path
from zoocards.importer import source as source_importer

FIXTURE = Path(__file__).parent / "fixtures" / "sources" / "tiny-list.yaml"
REAL = {"model_list.md": "paddleclas-model-list", "README.md": "paddleclas-readme", "paddle_lite_benchmark.md": "paddleclas-lite-benchmark"}


def _project(tmp_path: Path, text: str, name: str = "tiny-list.yaml") -> Path:
    (tmp_path / "sources").mkdir(exist_ok=True)
    (tmp_path / "sources" / name).write_text(text, encoding="utf-8")
    return tmp_path


def _errors(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(CardError) as raised:
        sources.load_sources(_project(tmp_path, text))
    return [str(p) for p in raised.value.problems]


def test_the_fixture_loads_clean(tmp_path: Path) -> None:
    loaded = sources.load_sources(_project(tmp_path, FIXTURE.read_text(encoding="utf-8")))
    assert [s.id for s in loaded] == ["tiny-list"]
    assert sources.check_source(loaded[0]) == []


def test_a_project_without_sources_has_none(tmp_path: Path) -> None:
    assert sources.load_sources(tmp_path) == []


@pytest.mark.parametrize(
    "old, new, expected",
    [
        # a percentage in a fraction column: the upstream figure was copied wrong, or the unit is
        ("values: [0.790, 0.760", "values: [79.0, 0.760",
         ["sources/tiny-list.yaml:33:18: tables[0].rows[0].values[0]: 79.0 is not a fraction in [0, 1]; check the figure against line 12 upstream, or set the column's unit: percent"]),
        # a row with a value too few cannot be matched to its columns
        ("values: [0.715, null, null, null, null, 1049, 18.45, null]", "values: [0.715, null, null, null, 1049, 18.45, null]",
         ["sources/tiny-list.yaml:40:9: tables[0].rows[1].values: 7 values for 8 columns; give one value per column (null for an empty cell)"]),
        # the upstream spelling goes in `written`; `model` must join with the cards' names
        ("      - model: Tiny_128S\n        written: Tiny-128S", "      - model: Tiny-128S",
         ["sources/tiny-list.yaml:37:9: tables[0].rows[1].model: 'Tiny-128S' is not spelled as zoocards.names.canonical spells it; write Tiny_128S (keep the upstream spelling in `written`)"]),
        # a URL that does not pin the commit it claims
        ("url: https://github.com/example/zoo/blob/0123456789abcdef0123456789abcdef01234567/docs/list.md",
         "url: https://github.com/example/zoo/blob/main/docs/list.md",
         ["sources/tiny-list.yaml:12:3: upstream.url: does not match repo, commit and file; write https://github.com/example/zoo/blob/0123456789abcdef0123456789abcdef01234567/docs/list.md"]),
        # a timing condition on a column that is no timing
        ("{header: Params(M), metric: params, unit: M}", "{header: Params(M), metric: params, unit: M, batch_size: 1}",
         ["sources/tiny-list.yaml:27:54: tables[0].columns[6].batch_size: 'batch_size' describes a timing, but this column holds 'params'; remove it or set metric: latency"]),
        # flops without a convention could be read as FLOPs or MACs, a factor of two apart
        ("metric: flops, unit: M, convention: MACs}", "metric: flops, unit: M}",
         ["sources/tiny-list.yaml:26:9: tables[0].columns[5]: missing key 'convention': say what the flops count (for example: convention: MACs)"]),
        # a unit that does not fit its metric
        ("{header: 模型大小(M), metric: storage, unit: MB}", "{header: 模型大小(M), metric: storage, unit: M}",
         ["sources/tiny-list.yaml:28:44: tables[0].columns[7].unit: unit 'M' does not fit metric 'storage'; use one of: MB"]),
        # a baseline figure must say whose it is
        ("        baseline: TinyNet_S\n", "",
         ["sources/tiny-list.yaml:32:25: tables[0].rows[0].values[1]: a baseline_top1 figure, but the row names no baseline model; add `baseline: <model>` (for example: baseline: TinyNet_S)"]),
        # one model twice in one table: which row is right?
        ("      - model: Tiny_128S\n        written: Tiny-128S", "      - model: TinyNet_S_ssld",
         ["sources/tiny-list.yaml:37:9: tables[0].rows[1].model: 'TinyNet_S_ssld' already has a row in this table (rows[0]); a table lists each model once — merge the rows"]),
        # a typo in a key is never ignored
        ("    line: 10\n", "    lnie: 10\n",
         ["sources/tiny-list.yaml:16:5: tables[0]: missing required key 'line' (for example: line: 155)",
          "sources/tiny-list.yaml:17:5: tables[0].lnie: unknown key 'lnie'; did you mean 'line'?"]),
        # the id names the page: it must be the file's name
        ("id: tiny-list", "id: tiny",
         ["sources/tiny-list.yaml:3:1: id: id 'tiny' must equal the file name 'tiny-list'; rename the file to tiny.yaml or change the id"]),
        # malformed YAML is reported where it breaks
        ("title: {zh: 小模型表, en: Tiny model list}", "title: {zh: 小模型表, en: Tiny model list",
         ["sources/tiny-list.yaml:5:8: (document): YAML syntax error: did not find expected ',' or '}', while parsing a flow mapping that starts at line 4, column 8"]),
    ],
)
def test_bad_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, old: str, new: str, expected: list[str]) -> None:
    monkeypatch.chdir(tmp_path)  # problems name the file relative to the working directory
    text = FIXTURE.read_text(encoding="utf-8")
    assert old in text
    assert _errors(Path("."), text.replace(old, new)) == expected


def test_claims_are_in_display_units_with_their_upstream_line() -> None:
    source = sources.load_source(FIXTURE)
    claims = list(sources.source_claims(source))
    url = "https://github.com/example/zoo/blob/0123456789abcdef0123456789abcdef01234567/docs/list.md#L12"
    assert claims[0] == sources.SourceClaim("tiny-list", "TinyNet_S_ssld", "top1", Decimal("79.0"), "0.790", None, None, None, "docs/list.md", 12, url,
                                            where=f"{display_path(FIXTURE)}:33:18")
    summary = [(c.model, c.metric, str(c.value), c.hardware, c.precision, c.batch_size, c.threads, c.runtime) for c in claims]
    assert summary == [
        ("TinyNet_S_ssld", "top1", "79.0", None, None, None, None, None),
        ("TinyNet_S", "top1", "76.0", None, None, None, None, None),  # the baseline column: a claim about the baseline model
        ("TinyNet_S_ssld", "top1_gain", "3.0", None, None, None, None, None),
        ("TinyNet_S_ssld", "latency", "2.00", "NVIDIA V100", "FP32", 1, None, "TensorRT"),
        ("TinyNet_S_ssld", "latency", "10.30", "Qualcomm Snapdragon 855", None, 1, 4, None),
        ("TinyNet_S_ssld", "flops", "0.57888", None, None, None, None, None),  # 578.88 M MACs -> G, never halved
        ("TinyNet_S_ssld", "params", "4.25", None, None, None, None, None),
        ("TinyNet_S_ssld", "storage", "16", None, None, None, None, None),
        ("Tiny_128S", "top1", "71.5", None, None, None, None, None),
        ("Tiny_128S", "flops", "1.049", None, None, None, None, None),
        ("Tiny_128S", "params", "18.45", None, None, None, None, None),
    ]


def test_check_reports_source_errors_with_card_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cards").mkdir()
    _project(tmp_path, FIXTURE.read_text(encoding="utf-8"))
    assert cli.main(["--root", str(tmp_path), "check"]) == 0
    assert capsys.readouterr().out == "0 cards, 0 models, 1 sources: no errors\n"
    _project(tmp_path, FIXTURE.read_text(encoding="utf-8").replace("id: tiny-list", "id: tiny"))
    assert cli.main(["--root", str(tmp_path), "check"]) == 1
    assert "sources/tiny-list.yaml:3:1: id: id 'tiny' must equal the file name 'tiny-list'" in capsys.readouterr().err


def test_render_links_models_to_their_family_and_keeps_every_figure(tmp_path: Path) -> None:
    source = sources.load_source(FIXTURE)
    card = load.load_text((ROOT / "tests" / "fixtures" / "sources" / "tiny-card.yaml").read_text(encoding="utf-8"), Path("tinynet.yaml"))
    pages = render.render_sources([source], [card])
    assert sorted(pages) == ["zoo/sources/index.en.md", "zoo/sources/index.zh.md", "zoo/sources/tiny-list.en.md", "zoo/sources/tiny-list.zh.md"]
    page = pages["zoo/sources/tiny-list.en.md"]
    row = next(line for line in page.splitlines() if "TinyNet&#95;S&#95;ssld" in line)
    assert row.startswith("| [TinyNet&#95;S&#95;ssld](../../models/tinynet.md#model-tinynet_s_ssld) | 0.790 | 0.760 | 0.030 | 2.00 | 10.30 | 578.88 | 4.25 | 16 |")
    assert "[weights](https://example.com/TinyNet_S_ssld_pretrained.pdparams)" in row and "#L12)" in row
    # a model no card has is named as upstream writes it, with the name the claims use beside it
    assert "| Tiny-128S <small>(Tiny&#95;128S)</small> | 0.715 | — |" in page
    assert "[zoo](https://example.com/zoo)" in page
    assert "| [Tiny model list](tiny-list.md) |" in pages["zoo/sources/index.en.md"]


def test_an_empty_project_still_has_the_sources_index() -> None:
    assert sorted(render.render_sources([], [])) == ["zoo/sources/index.en.md", "zoo/sources/index.zh.md"]


# --------------------------------------------------------------------------- the real pages


def _seedcheck() -> ModuleType:
    shared = shared_or_skip()
    spec = importlib.util.spec_from_file_location("seedcheck", shared / "tools" / "seedcheck.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _figures_and_links(source: sources.Source) -> tuple[dict[str, set[str]], set[str]]:
    """Per model name (canonical and as written), the figures as written; and every link."""
    figures: dict[str, set[str]] = {}
    for t_index, table in enumerate(source.data["tables"]):
        for r_index, row in enumerate(table["rows"]):
            raw = {source.card.raw_number(("tables", t_index, "rows", r_index, "values", v)) for v in range(len(row["values"]))}
            for name in {row["model"], row.get("written", row["model"])}:
                figures.setdefault(name, set()).update(r for r in raw if r)
    links = {link["url"] for link in source.data.get("links", [])}
    links |= {url for table in source.data["tables"] for row in table["rows"] for url in row.get("downloads", {}).values()}
    return figures, links


@pytest.mark.parametrize("page", sorted(REAL))
def test_every_figure_and_link_of_the_real_pages_is_in_its_source(page: str) -> None:
    seed = _seedcheck()
    text = (shared_or_skip() / "corpus" / "zh_CN" / page).read_text(encoding="utf-8")
    for source in (sources.load_source(ROOT / "sources" / f"{REAL[page]}.yaml"),
                   sources.Source(Path("x.yaml"), load.load_text(source_importer.import_source(text, page, REAL[page], source_importer.upstream_of(
                       shared_or_skip() / "corpus" / "zh_CN" / page, "PaddlePaddle/PaddleClas", None, None)).text, Path("x.yaml")))):
        figures, links = _figures_and_links(source)
        missing = [(name, value) for name, value in seed.seed_rows(text) if value not in figures.get(name, set())]
        assert missing == []
        assert set(re.findall(r"https?://[^\s)\]>\"']+", text)) - links == set()


@pytest.mark.parametrize("page", sorted(REAL))
def test_the_committed_sources_hold_what_the_importer_reads_today(page: str) -> None:
    """Hand edits change prose, names and comments only: rows, lines, figures and downloads match a fresh import."""
    path = shared_or_skip() / "corpus" / "zh_CN" / page
    fresh = source_importer.import_source_file(path, REAL[page])
    assert fresh.figures == fresh.landed, [str(n) for n in fresh.notes]
    committed = sources.load_source(ROOT / "sources" / f"{REAL[page]}.yaml").data
    imported = load.load_text(fresh.text, Path(f"{REAL[page]}.yaml")).data

    def shape(data: dict) -> list:
        return [(t["line"], t["columns"], [(r["line"], r["values"], r.get("downloads")) for r in t["rows"]]) for t in data["tables"]]

    assert shape(committed) == shape(imported)
    assert committed["upstream"] == imported["upstream"] and committed.get("links") == imported.get("links")


def test_import_source_command_writes_a_source_that_checks_clean(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = shared_or_skip() / "corpus" / "zh_CN" / "paddle_lite_benchmark.md"
    out = tmp_path / "sources" / "lite.yaml"
    assert cli.main(["import-source", str(page), "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "paddle_lite_benchmark.md:87: the page calls the benchmark figures at line 76 FPS; imported as ms" in printed
    assert printed.endswith(f"{out}: 25/25 figures and links imported, 0 listed above as not imported; write its title and summary, review it, then run `zoocards check`\n")
    assert [p for p in check.check_sources(tmp_path) if p.severity == "error"] == []
    assert cli.main(["import-source", str(page), "-o", str(out)]) == 1  # never overwrites without --force


def test_the_repository_sources_are_clean() -> None:
    assert check.check_sources(ROOT) == []


def test_an_unchanged_source_is_not_read_again_and_a_changed_one_is(tmp_path: Path) -> None:
    project = _project(tmp_path, FIXTURE.read_text(encoding="utf-8"))
    first = sources.load_sources(project)
    assert sources.load_sources(project)[0] is first[0]
    _project(tmp_path, FIXTURE.read_text(encoding="utf-8").replace("Tiny model list", "Small model list"))
    again = sources.load_sources(project)
    assert again[0] is not first[0] and again[0].data["title"]["en"] == "Small model list"
    # the pages follow the source's text and the cards' models
    card = load.load_text((ROOT / "tests" / "fixtures" / "sources" / "tiny-card.yaml").read_text(encoding="utf-8"), Path("tinynet.yaml"))
    assert "| [Small model list](tiny-list.md) |" in render.render_sources(again, [card])["zoo/sources/index.en.md"]
    assert "../../models/tinynet.md" not in render.render_sources(again, [])["zoo/sources/tiny-list.en.md"]
