"""`zoocards new`: a scaffolded card checks clean and renders; bad names and overwrites are refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from zoocards import cli, render, scaffold
from zoocards.check import check_card
from zoocards.errors import ZoocardsError
from zoocards.load import load_file


def test_a_new_card_checks_clean_and_renders(tmp_path: Path) -> None:
    path = scaffold.new_card("my-net", tmp_path)
    card = load_file(path)
    assert path == tmp_path / "my-net.yaml"
    assert check_card(card) == []  # not even a warning
    assert card.data["models"][0]["name"] == "MyNet_S"
    assert set(render.render_family(card, [], [])) == {"models/my-net.zh.md", "models/my-net.en.md"}


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("MyNet", "'MyNet' is not a card id"),  # upper case
        ("-net", "'-net' is not a card id"),  # must start with a letter or digit
        ("my_net", "'my_net' is not a card id"),  # '_' is not allowed in ids
    ],
)
def test_bad_names_are_refused(tmp_path: Path, name: str, message: str) -> None:
    with pytest.raises(ZoocardsError, match=message):
        scaffold.new_card(name, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_an_existing_card_is_never_overwritten(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "mine.yaml").write_text("keep me\n", encoding="utf-8")
    assert cli.main(["new", "mine", "--cards", str(tmp_path)]) == 1
    assert capsys.readouterr().err == f"zoocards: {tmp_path / 'mine.yaml'} already exists; edit it, or pick another name\n"
    assert (tmp_path / "mine.yaml").read_text(encoding="utf-8") == "keep me\n"


def test_cli_new_then_check(tmp_path: Path) -> None:
    assert cli.main(["new", "fresh", "--cards", str(tmp_path)]) == 0
    assert cli.main(["check", "--cards", str(tmp_path)]) == 0
