"""The on-disk cache (.cache/zoocards): a new process starts where the last build stopped, and never shows stale pages."""

from __future__ import annotations

import json
import multiprocessing
import random
import tempfile
from pathlib import Path
from typing import Any

import pytest

from zoocards import build, perf, plots, render, synthetic
from zoocards.errors import ZoocardsError


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> build.Project:
    perf.prepare(tmp_path, 4, seed=3)
    for name in ("ZOOCARDS_CARDS_DIR", "ZOOCARDS_MEASUREMENTS_DIR", "ZOOCARDS_CACHE_DIR"):
        monkeypatch.delenv(name, raising=False)
    return build.Project.at(tmp_path)


def _attached(project: build.Project) -> build.RenderCache:
    cache = build.RenderCache()
    cache.attach(project.cache_dir)
    return cache


def _edit_figure(project: build.Project, index: int) -> None:
    card = project.cards_dir / f"{synthetic.family_id(index)}.yaml"
    text = card.read_text(encoding="utf-8")
    value = text.split("top1: ", 1)[1].split(",", 1)[0]
    card.write_text(text.replace("top1: " + value, f"top1: {float(value) + 0.001:.3f}", 1), encoding="utf-8")


def test_project_keeps_its_cache_under_dot_cache(project: build.Project) -> None:
    assert project.cache_dir == project.root / ".cache" / "zoocards"


def test_a_new_process_reads_the_cache_and_renders_nothing(project: build.Project) -> None:
    first = build.generate(project, _attached(project))
    assert len(first.rendered) == 4 and first.zoo_rendered
    restarted = build.generate(project, _attached(project))
    assert restarted.rendered == [] and not restarted.zoo_rendered
    assert restarted.report.written == []
    assert restarted.pages == first.pages
    assert restarted.verifications == first.verifications


def test_zoo_pages_are_kept_as_the_files_written_and_rendered_again_when_a_file_changed(project: build.Project) -> None:
    first = build.generate(project, _attached(project))
    assert project.cache_dir is not None
    stored = list(project.cache_dir.rglob("zoo.pickle"))  # the pages' names and file stats, not the pages
    assert len(stored) == 1 and b"leaderboard.en.md" in stored[0].read_bytes() and stored[0].stat().st_size < 10_000
    leaderboard = project.docs_dir / "zoo" / "leaderboard.en.md"
    leaderboard.write_text("edited by hand\n", encoding="utf-8")
    again = build.generate(project, _attached(project))
    assert again.zoo_rendered and again.rendered == []
    assert again.report.written == ["zoo/leaderboard.en.md"] and again.pages == first.pages
    assert leaderboard.read_text(encoding="utf-8") == first.pages["zoo/leaderboard.en.md"]
    assert not build.generate(project, _attached(project)).zoo_rendered


def test_an_edit_between_processes_rerenders_that_card_and_matches_a_build_without_cache(project: build.Project) -> None:
    build.generate(project, _attached(project))
    _edit_figure(project, 1)
    after = build.generate(project, _attached(project))
    assert after.rendered == [synthetic.family_id(1)] and after.zoo_rendered
    assert after.pages == build.generate(project, build.RenderCache()).pages


def test_a_card_edited_into_an_error_is_reported_from_the_cache_too(project: build.Project) -> None:
    build.generate(project, _attached(project))
    card = project.cards_dir / f"{synthetic.family_id(2)}.yaml"
    card.write_text(card.read_text(encoding="utf-8").replace("schema_version: 1", "schema_version: 99", 1), encoding="utf-8")
    for _ in range(2):  # the second process finds the error in the cache, with the same message
        with pytest.raises(build.CardError) as caught:
            build.generate(project, _attached(project))
        assert "schema_version" in str(caught.value)


def test_unreadable_cache_files_are_misses_not_errors(project: build.Project) -> None:
    first = build.generate(project, _attached(project))
    for path in project.cache_dir.rglob("*.pickle"):
        path.write_bytes(b"not a pickle")
    again = build.generate(project, _attached(project))
    assert len(again.rendered) == 4 and again.pages == first.pages


def test_another_code_version_never_reads_these_entries_and_clears_them(project: build.Project, monkeypatch: pytest.MonkeyPatch) -> None:
    build.generate(project, _attached(project))
    (old,) = [p for p in project.cache_dir.iterdir() if p.is_dir()]
    monkeypatch.setattr(build, "_CODE_VERSION", "v-another")
    again = build.generate(project, _attached(project))
    assert len(again.rendered) == 4
    assert not old.exists() and (project.cache_dir / "v-another").is_dir()


def test_no_cache_dir_keeps_nothing_on_disk(project: build.Project, tmp_path: Path) -> None:
    cache = build.RenderCache()
    cache.attach(None)
    build.generate(project, cache)
    assert not (project.root / ".cache").exists()


def test_scatter_draws_the_same_with_and_without_its_memo() -> None:
    rng = random.Random(7)
    memo = plots.Memo()
    for round_ in range(3):
        points = [plots.Point(x=rng.uniform(0.1, 50), y=rng.uniform(60, 85), label=f"m{i}", series=str(i % 3), tooltip=f"m{i} <{round_}>", group=f"g{i // 7}") for i in range(60)]
        if round_ == 2:
            points = points[:30]  # a smaller zoo: other axes, entries of the old ones are dropped
        expected = plots.scatter(points, "x", "y", front_label="front", series=["0", "1", "2"])
        groups = [points[start:start + 7] for start in range(0, len(points), 7)]
        assert plots.scatter_groups(groups, "x", "y", front_label="front", series=["0", "1", "2"]) == expected
        assert plots.scatter_groups(groups, "x", "y", front_label="front", series=["0", "1", "2"], memo=memo) == expected
        groups[1] = [p._replace(y=p.y + 0.5) for p in groups[1]]  # one card changed: its group is a new list
        expected = plots.scatter([p for g in groups for p in g], "x", "y", front_label="front", series=["0", "1", "2"])
        assert plots.scatter_groups(groups, "x", "y", front_label="front", series=["0", "1", "2"], memo=memo) == expected
        memo.rotate()


@pytest.mark.parametrize("n_points, n_labels", [(300, 150), (50, 60), (24, 30), (6, 12)])  # a zoo's chart; a family's, few boxes or crossing _Boxes.FEW
def test_the_label_grid_finds_exactly_the_overlaps_a_full_scan_finds(n_points: int, n_labels: int) -> None:
    rng = random.Random(11)
    points = []
    for _ in range(n_points):  # point boxes, 10 units square, as scatter files them
        x, y = rng.uniform(-20, 500), rng.uniform(-20, 400)
        points.append((x - 5, y - 5, x + 5, y + 5))
    labels = []
    for _ in range(n_labels):
        left, top = rng.uniform(-20, 500), rng.uniform(-20, 400)
        labels.append((left, top, left + rng.uniform(0.5, 90), top + rng.uniform(0.5, 20)))
    grid = plots._Boxes()
    grid.add_points(points + points[:3])
    grid.remove_points(points[:3])  # filed twice, taken out once: still there
    placed = labels[: n_labels // 3]
    for label in placed:
        grid.add(label)
    for box in labels[n_labels // 3:] + points[:40]:
        brute = any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in points + placed)
        assert grid.overlaps(box) == brute


def test_performance_targets_are_judged_at_1000_families_and_unmeasured_ones_are_not_passed() -> None:
    t = render.strings(render.TEMPLATES_DIR, "en")
    small = {"families": 10, "zoocards": {"load_check_render_s": 99.0}}
    large = {
        "families": 1000, "zoocards": {"load_check_render_s": 4.2}, "zoocards_cached": {"load_check_render_s": 1.1},
        "ratios": {"load_check_render_to_mkdocs_build": 0.03, "make_cards_warm_to_plain": 1.25},
        "incremental": {"one_card": {"seconds": 0.4}},
    }
    larger = {"families": 3000, "zoocards": {"load_check_render_s": 11.0}}  # zoocards alone, no mkdocs build: not the targets' scale
    families, rows = render.performance_targets({"sizes": [small, large, larger, {"families": 5000, "error": "stopped"}]}, t)
    assert families == "1000"
    met = {str(row["target"]): row["met"] for row in rows}
    assert met[str(t["target_lcr_cold"])] is False and met[str(t["target_lcr_cached"])] is True
    assert met[str(t["target_share_cold"])] is True and met[str(t["target_warm"])] is False
    assert met[str(t["target_one_card"])] is True
    assert met[str(t["target_one_card_axis"])] is None and met[str(t["target_share_cached"])] is None
    assert render.performance_targets(None, t) == ("", [])
    assert render.performance_targets({"sizes": [small, {"families": 100, "zoocards": {"load_check_render_s": 0.5}}]}, t)[0] == "100"  # no 1000: the largest


def test_a_zoo_timed_without_mkdocs_shows_dashes_not_blanks_or_zeros() -> None:
    own = {"load_check": 2.0, "render": 6.0, "total_s": 9.5}
    row = {"families": 3000, "models": 24000, "zoocards": own, "zoocards_cached": {"load_check_render_s": 4.0},
           "incremental": {"one_card": {"seconds": 0.9}}}
    (shown,) = render.performance_rows({"sizes": [row]})
    assert shown["zoocards"] == "9.50" and shown["cached"] == "4.00" and shown["one_card"] == "0.90"
    assert {shown[k] for k in ("mkdocs", "plain", "share", "warm", "peak", "site")} == {render.NOT_TIMED}


def test_a_page_changed_or_deleted_on_disk_is_rewritten_though_its_text_is_cached(project: build.Project) -> None:
    cache = build.RenderCache()
    first = build.generate(project, cache)
    edited = project.docs_dir / "models" / f"{synthetic.family_id(0)}.en.md"
    deleted = project.docs_dir / "zoo" / "leaderboard.zh.md"
    edited.write_text(edited.read_text(encoding="utf-8") + "\nhand edit\n", encoding="utf-8")
    deleted.unlink()
    again = build.generate(project, cache)
    assert sorted(again.report.written) == [f"models/{synthetic.family_id(0)}.en.md", "zoo/leaderboard.zh.md"]
    assert edited.read_text(encoding="utf-8") == first.pages[f"models/{synthetic.family_id(0)}.en.md"]
    assert deleted.read_text(encoding="utf-8") == first.pages["zoo/leaderboard.zh.md"]
    assert build.generate(project, cache).report.written == []


def test_family_pages_rendered_by_forked_workers_equal_those_rendered_in_process(project: build.Project, monkeypatch: pytest.MonkeyPatch) -> None:
    serial = build.generate(project, build.RenderCache())
    monkeypatch.setattr(build, "PARALLEL_MIN_CARDS", 2)
    monkeypatch.setenv("ZOOCARDS_JOBS", "2")
    # Earlier tests may leave a server thread running; this test's forked workers only render.
    monkeypatch.setattr(build.threading, "active_count", lambda: 1)
    monkeypatch.setattr(build, "FAMILY_CHUNK", 1)  # the worker and this process each claim some
    assert build._shared_processes(4) == 2
    parallel = build.generate(project, build.RenderCache())
    assert parallel.rendered == serial.rendered and parallel.pages == serial.pages


def test_a_family_page_that_fails_in_a_worker_fails_the_build_with_its_traceback(project: build.Project, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the workers leave their pages
    monkeypatch.setattr(build, "PARALLEL_MIN_CARDS", 2)
    monkeypatch.setattr(build, "FAMILY_CHUNK", 1)
    monkeypatch.setenv("ZOOCARDS_JOBS", "2")
    monkeypatch.setattr(build.threading, "active_count", lambda: 1)
    real = build.render.render_family
    cards = build.load_and_check(project.cards_dir)[0]
    assert len(cards) >= 3
    victim = cards[-1].id  # rendered after the fork, by the worker or by this process

    def failing(card: Any, *args: Any) -> dict[str, str]:
        if card.id == victim:
            raise RuntimeError(f"boom in {card.id}")
        return real(card, *args)

    monkeypatch.setattr(build.render, "render_family", failing)
    with pytest.raises((ZoocardsError, RuntimeError), match=f"boom in {victim}"):
        build.generate(project, build.RenderCache())
    assert not list(tmp_path.glob("zoocards-work-*"))  # the workers' files are gone


def test_a_failed_zoo_render_stops_the_family_workers(project: build.Project, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(build, "PARALLEL_MIN_CARDS", 2)
    monkeypatch.setenv("ZOOCARDS_JOBS", "2")
    monkeypatch.setattr(build.threading, "active_count", lambda: 1)

    def failing(*args: Any, **kwargs: Any) -> dict[str, str]:
        assert list(tmp_path.glob("zoocards-work-*"))  # the family workers are running
        raise RuntimeError("zoo render failed")

    monkeypatch.setattr(build.render, "render_zoo_pages", failing)
    with pytest.raises(RuntimeError, match="zoo render failed"):
        build.generate(project, build.RenderCache())
    assert not multiprocessing.active_children() and not list(tmp_path.glob("zoocards-work-*"))


def test_no_fork_while_other_threads_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(build, "PARALLEL_MIN_CARDS", 2)
    monkeypatch.setenv("ZOOCARDS_JOBS", "2")
    monkeypatch.setattr(build.threading, "active_count", lambda: 3)  # as under `mkdocs serve`
    assert build._shared_processes(100) == 1


def test_cards_loaded_by_forked_workers_equal_those_loaded_here_down_to_their_zoo_digest(project: build.Project, monkeypatch: pytest.MonkeyPatch) -> None:
    serial = build.load_and_check(project.cards_dir)
    monkeypatch.setattr(build, "PARALLEL_MIN_CARDS", 2)
    monkeypatch.setattr(build, "LOAD_CHUNK", 1)
    monkeypatch.setenv("ZOOCARDS_JOBS", "2")
    monkeypatch.setattr(build.threading, "active_count", lambda: 1)
    forked = build.load_and_check(project.cards_dir)
    assert [c.data for c in forked[0]] == [c.data for c in serial[0]] and forked[1] == serial[1]
    # The digest is pickled: a card that came through a worker must not look changed (a needless zoo render).
    assert [build._zoo_digest(c, []) for c in forked[0]] == [build._zoo_digest(c, []) for c in serial[0]]


def test_the_api_exports_and_the_verification_json_come_from_the_cache_while_the_inputs_hold(project: build.Project, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    cache = build.RenderCache()
    cache.attach(project.cache_dir)
    generated = build.generate(project, cache)
    build.write_api(tmp_path / "first", generated, cache)
    first = {p.relative_to(tmp_path / "first"): p.read_bytes() for p in (tmp_path / "first").rglob("*") if p.is_file()}
    assert json.loads(first[Path("api/verification.json")]) == {"verifications": generated.verifications, "disagreements": generated.disagreements}
    assert Path("api/models.csv") in first and any(str(p).startswith("api/hf/") for p in first)

    def not_again(*args: Any) -> dict[str, str]:
        raise AssertionError("exports made again though no input changed")

    monkeypatch.setattr(build.exports, "export_texts", not_again)
    restarted = build.RenderCache()  # a new process: the texts come from .cache/
    restarted.attach(project.cache_dir)
    build.write_api(tmp_path / "second", build.generate(project, restarted), restarted)
    assert {p.relative_to(tmp_path / "second"): p.read_bytes() for p in (tmp_path / "second").rglob("*") if p.is_file()} == first
