"""`zoocards diff BASE`: a changed, added or removed figure shows up; nothing else does."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import MINIMAL_CARD
from zoocards import build, cli, diff
from zoocards.errors import ZoocardsError


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=root, check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "cards").mkdir()
    (tmp_path / "measurements").mkdir()
    (tmp_path / "cards" / "mini.yaml").write_text(MINIMAL_CARD, encoding="utf-8")
    _git(tmp_path, "init", "-q", "-b", "main")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-q", "-m", "base")
    return tmp_path


def _project(root: Path) -> build.Project:
    return build.Project(root=root, cards_dir=root / "cards", measurements_dir=root / "measurements",
                         templates_dir=root / "templates", docs_dir=root / "site_src", site_dir=root / "site")


def test_no_change_no_rows(repo: Path) -> None:
    assert diff.diff(_project(repo), "HEAD") == []


def test_a_changed_figure_shows_with_both_values(repo: Path) -> None:
    card = repo / "cards" / "mini.yaml"
    card.write_text(card.read_text(encoding="utf-8").replace("top1: 0.7620", "top1: 0.7650"), encoding="utf-8")
    found = diff.diff(_project(repo), "HEAD")
    assert [(c.kind, c.key[:3], c.before["claimed_raw"], c.after["claimed_raw"]) for c in found] == [
        ("changed", ("mini", "Mini_A", "top1"), "0.7620", "0.7650"),
    ]
    table = diff.format_changes(found, "HEAD")
    assert "| changed | mini | Mini_A | top1 |  | 0.7620 → 0.7650 | — | not_run |" in table
    assert diff.format_changes(found, "HEAD", "text").splitlines()[1] == "changed  mini/Mini_A top1: claimed 0.7620 → 0.7650, measured —, status not_run"


def test_added_and_removed_models(repo: Path) -> None:
    card = repo / "cards" / "mini.yaml"
    text = card.read_text(encoding="utf-8").replace("- name: Mini_B", "- name: Mini_C").replace("model: Mini_B", "model: Mini_C")
    card.write_text(text, encoding="utf-8")
    kinds = {(c.kind, c.key[1]) for c in diff.diff(_project(repo), "HEAD")}
    assert kinds == {("added", "Mini_C"), ("removed", "Mini_B")}


def test_a_card_new_since_base_is_all_added(repo: Path) -> None:
    shutil.copy(repo / "cards" / "mini.yaml", repo / "cards" / "mini2.yaml")
    other = repo / "cards" / "mini2.yaml"
    other.write_text(other.read_text(encoding="utf-8").replace("id: mini", "id: mini2"), encoding="utf-8")
    found = diff.diff(_project(repo), "HEAD")
    assert found and {c.kind for c in found} == {"added"} and {c.key[0] for c in found} == {"mini2"}


def test_an_unknown_revision_is_a_user_error(repo: Path) -> None:
    with pytest.raises(ZoocardsError, match="git rev-parse --verify --quiet nope\\^\\{commit\\} failed"):
        diff.diff(_project(repo), "nope")


def test_cli_prints_a_markdown_summary(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--root", str(repo), "diff", "HEAD"]) == 0
    assert capsys.readouterr().out == "### zoocards: figures since `HEAD`\n\n0 changed, 0 added, 0 removed figures since HEAD.\n"
