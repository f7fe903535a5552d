"""Synthetic zoos are valid, realistic and reproducible."""

from __future__ import annotations

from pathlib import Path

from zoocards import cli, load, synthetic


def test_synthetic_cards_pass_zoocards_check(tmp_path: Path, capsys: object) -> None:
    synthetic.write_zoo(tmp_path / "cards", 12, seed=5)
    assert cli.main(["check", "--cards", str(tmp_path / "cards")]) == 0
    out, err = capsys.readouterr()  # type: ignore[attr-defined]
    assert out.startswith("12 cards, ") and "no errors" in out
    assert err == ""  # not even a warning


def test_same_seed_same_zoo_other_seed_other_figures() -> None:
    assert synthetic.card_text(7, seed=1) == synthetic.card_text(7, seed=1)
    assert synthetic.card_text(7, seed=1) != synthetic.card_text(7, seed=2)


def test_a_synthetic_card_looks_like_a_real_one(tmp_path: Path) -> None:
    path = synthetic.write_zoo(tmp_path, 1)[0]
    card = load.load_file(path)
    assert 6 <= len(card.data["models"]) <= 10
    assert set(card.data["name"]) == set(card.data["summary"]) == {"zh", "en"}
    bench = card.data["benchmarks"][0]
    assert [row["model"] for row in bench["rows"]] == [m["name"] for m in card.data["models"]]
    assert all(len(row["values"]) == len(bench["columns"]) for row in bench["rows"])
    assert card.raw_number(("models", 0, "metrics", "flops")) is not None  # numbers keep their written text
