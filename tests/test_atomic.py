"""Interrupted runs: the real CLI in a subprocess, killed at a chosen moment.

Whatever the moment, site_src/ holds every page entirely old or entirely new, site/ is the
previous site until a build completes, measurement files stay valid JSON, and the next run
repairs everything.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import MINIMAL_CARD, ROOT
from tests.hostile.project import copy_project, interrupt_when, snapshot
from zoocards import build, measure, synthetic

ZOOCARDS = str(Path(sys.executable).with_name("zoocards"))
FAMILIES = 25  # enough that rendering and staging take a noticeable while


def environment(project: build.Project) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZOOCARDS_")}
    return {**env, "PYTHONPATH": str(ROOT)}


def generated(project: build.Project) -> dict[str, bytes]:
    return {f"{d}/{k}": v for d in ("models", "zoo") for k, v in snapshot(project.docs_dir / d).items()}


def staging_started(project: build.Project) -> bool:
    return any(p.name.endswith(".tmp") for d in ("models", "zoo") for p in os.scandir(project.docs_dir / d))


@pytest.mark.timeout(120)
@pytest.mark.parametrize("moment, sig", [
    ("rendering", signal.SIGKILL),  # before any page is written: all must be old
    ("staging", signal.SIGKILL),  # pages are being written aside: each old or new
    ("rendering", signal.SIGINT),  # Ctrl-C: exit 130 with a message, pages old
], ids=["kill-while-rendering", "kill-while-staging", "ctrl-c"])
def test_interrupted_render_leaves_pages_old_or_new(tmp_path: Path, moment: str, sig: signal.Signals) -> None:
    project = copy_project(tmp_path / "zoo")
    synthetic.write_zoo(project.cards_dir, FAMILIES, seed=0)
    old = _generate(project)
    synthetic.write_zoo(project.cards_dir, FAMILIES, seed=1)  # every page changes

    template = project.templates_dir / "family.md.j2"
    original = template.read_text(encoding="utf-8")
    if moment == "rendering":  # an idle loop makes rendering last ~1.5 s a page, so the signal lands inside it even on a loaded host
        template.write_text(original + "{% for _ in range(18000000) %}{% endfor %}", encoding="utf-8")
    process = subprocess.Popen([ZOOCARDS, "--root", str(project.root), "render"], cwd=project.root, env=environment(project),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    if moment == "staging":
        when = lambda: staging_started(project)  # noqa: E731
    else:  # past start-up and loading; rendering 2 x FAMILIES slow pages takes far longer
        started = time.monotonic()
        when = lambda: time.monotonic() - started > 4 and not staging_started(project)  # noqa: E731
    assert interrupt_when(process, when, sig), "the render finished before it could be interrupted"
    template.write_text(original, encoding="utf-8")
    staged_before_kill = moment == "staging"
    after = generated(project)

    visible = {k: v for k, v in after.items() if not k.split("/")[-1].startswith(".")}
    new = _generate(project)
    assert sorted(visible) == sorted(old)
    assert all(visible[k] in (old[k], new.get(k)) for k in visible), "a page is neither the old one nor the new one"
    if not staged_before_kill:
        assert visible == old
    if sig == signal.SIGINT:
        assert process.returncode == 130 and process.stderr is not None and process.stderr.read().decode().endswith("zoocards: interrupted\n")
    assert not any(k.endswith(".tmp") for k in generated(project)), "the next run left staging files behind"


def _generate(project: build.Project) -> dict[str, bytes]:
    build.generate(project)
    return generated(project)


@pytest.mark.timeout(180)
def test_killed_build_keeps_the_previous_site_and_the_next_build_leaves_no_orphans(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SIGKILL while mkdocs writes the new site: site/ stays the previous one. Then a card is
    removed and another renamed (file and id): the next build's site/ has no page of either."""
    for variable in ("ZOOCARDS_CARDS_DIR", "ZOOCARDS_MEASUREMENTS_DIR"):
        monkeypatch.delenv(variable, raising=False)
    project = copy_project(tmp_path / "zoo", search=False)
    for card_id in ("mini", "maxi", "midi"):
        (project.cards_dir / f"{card_id}.yaml").write_text(MINIMAL_CARD.replace("id: mini", f"id: {card_id}"), encoding="utf-8")
    monkeypatch.chdir(project.root)
    build.build_site(project)
    previous = snapshot(project.site_dir)
    assert "models/maxi/index.html" in previous and "en/models/midi/index.html" in previous

    (project.cards_dir / "mini.yaml").write_text(MINIMAL_CARD.replace("MiniNet", "MiniNet Two"), encoding="utf-8")
    process = subprocess.Popen([ZOOCARDS, "--root", str(project.root), "build"], cwd=project.root, env=environment(project),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    staging = lambda: sorted(project.root.glob(".site.new*")) + sorted(project.root.glob(".site.old*"))  # noqa: E731  (each run stages in its own)
    assert interrupt_when(process, lambda: any((fresh / "models").is_dir() for fresh in staging()), signal.SIGKILL, timeout=120)
    assert snapshot(project.site_dir) == previous

    (project.cards_dir / "maxi.yaml").unlink()
    (project.cards_dir / "midi.yaml").unlink()
    (project.cards_dir / "tiny.yaml").write_text(MINIMAL_CARD.replace("id: mini", "id: tiny"), encoding="utf-8")
    build.build_site(project)
    pages = snapshot(project.site_dir)
    families = sorted({m.group(2) for k in pages if (m := re.match(r"(en/)?models/([^/]+)/index\.html$", k))})
    assert families == ["mini", "tiny"]
    assert "MiniNet Two" in pages["en/models/mini/index.html"].decode()
    assert not any(("maxi" in k or "midi" in k) for k in pages), "a page of a removed or renamed card survived"
    assert not any(b"maxi.md" in v or b"/maxi/" in v or b"/midi/" in v for k, v in pages.items() if k.endswith(".html"))
    assert staging() == []


@pytest.mark.slow  # imports paddle in the workers
@pytest.mark.timeout(180)
def test_killed_verify_keeps_measurement_files_valid(tmp_path: Path) -> None:
    pytest.importorskip("paddle")
    project = copy_project(tmp_path / "zoo")
    card = (
        "schema_version: 1\nid: slow\nname: {zh: 慢, en: Slow}\nsummary: {zh: 测试。, en: A test.}\ntask: image-classification\n"
        "dataset: ImageNet-1k\nunits: {accuracy: fraction, flops: {scale: M, convention: MACs}, params: K}\nmodels:\n"
        "  - {name: Fine, builder: 'tests.fake_builders:TinyNet', input_size: 8, metrics: {params: 0.314}}\n"
        "  - {name: Hanging, builder: 'tests.fake_builders:Hang', input_size: 8, metrics: {params: 0.314}}\n"
    )
    (project.cards_dir / "slow.yaml").write_text(card, encoding="utf-8")
    earlier = [{"model": "Fine", "kind": "count", "key": "stale", "inputs": {}, "status": "ok", "reason": None,
                "result": {"params": 314, "macs": 1728, "outputs": 10}, "measured_at": "2026-11-01T00:00:00Z", "duration_s": 1.0, "env": None}]
    measure.save_records(project.measurements_dir, "slow", earlier)
    pid_file = tmp_path / "hang.pid"
    env = {**environment(project), "ZOOCARDS_TEST_PID_FILE": str(pid_file)}
    process = subprocess.Popen([ZOOCARDS, "--root", str(project.root), "verify", "--kinds", "count", "--jobs", "1", "--timeout", "120"],
                               cwd=project.root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        assert interrupt_when(process, pid_file.exists, signal.SIGKILL, timeout=150), "verify ended before the hanging builder started"
    finally:
        if pid_file.exists() and pid_file.read_text():
            try:
                os.kill(int(pid_file.read_text()), signal.SIGKILL)  # the worker runs in its own process group
            except ProcessLookupError:
                pass
    records = measure.load_records(project.measurements_dir, "slow")  # raises on a torn file
    assert {r["model"] for r in records} <= {"Fine", "Hanging"} and records
    document = json.loads((project.measurements_dir / "slow.json").read_text(encoding="utf-8"))
    assert document["card"] == "slow"


@pytest.mark.parametrize("fail_at", ["write", "fsync", "replace"])
def test_save_records_failing_midway_keeps_the_previous_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fail_at: str) -> None:
    """The same guarantee as a SIGKILL between any two steps of the write, step by step."""
    first = [{"model": "A", "kind": "count", "result": {"params": 1}}]
    path = measure.save_records(tmp_path, "card", first)
    before = path.read_bytes()

    def fail(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    if fail_at == "write":
        monkeypatch.setattr(json, "dumps", lambda *a, **k: (_ for _ in ()).throw(OSError(28, "No space left on device")))
    else:
        monkeypatch.setattr(os, fail_at, fail)
    with pytest.raises(OSError, match="No space left"):
        measure.save_records(tmp_path, "card", first + [{"model": "B", "kind": "count", "result": {"params": 2}}])
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["card.json"]


def test_cli_measurement_limits_reach_every_job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--timeout and --memory-mb are how a maintainer bounds a crash, hang or hog (isolation itself: test_measure.py)."""
    from zoocards import cli

    seen: dict[str, object] = {}

    def fake_run_jobs(jobs: list[measure.Job], root: Path, **limits: object) -> list[object]:
        seen.update(limits)
        return []

    (tmp_path / "cards").mkdir()
    (tmp_path / "cards" / "mini.yaml").write_text(MINIMAL_CARD.replace("  - name: Mini_B\n", "  - name: Mini_B\n    builder: tests.fake_builders:TinyNet\n"), encoding="utf-8")
    monkeypatch.setattr(measure, "run_jobs", fake_run_jobs)
    assert cli.main(["--root", str(tmp_path), "verify", "--kinds", "count", "--timeout", "7.5", "--memory-mb", "300"]) == 0
    assert (seen["timeout_s"], seen["memory_mb"]) == (7.5, 300)
