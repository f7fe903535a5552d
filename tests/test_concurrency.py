"""Concurrent runs never leave a broken site (issue 17): one writer at a time, staging of one's own.

The real CLI in subprocesses on a throwaway project: two builds at a random offset, a build
while `mkdocs serve` generates, two verifies of one card, --no-wait and the waiting message,
SIGTERM. After each: a complete site in both languages, no staging directory left, valid
measurement files holding every record, and no exit 0 where the work was not done.

The default run is the fast form (one of each). `pytest -m stress tests/test_concurrency.py`
runs the long form: ZOOCARDS_STRESS_PAIRS pairs of builds (default 10) at offsets 0-2 s, and
more verifies; ZOOCARDS_STRESS_SEED fixes the offsets.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.hostile.project import copy_project, interrupt_when
from zoocards import build, lock, measure, synthetic, write

ZOOCARDS = str(Path(sys.executable).with_name("zoocards"))
FAMILIES = 3
SEED = int(os.environ.get("ZOOCARDS_STRESS_SEED", str(random.randrange(1 << 30))))


@pytest.fixture
def stress(request: pytest.FixtureRequest) -> int:
    """The long form runs only when asked for (-m stress); the fast form always runs."""
    if "stress" not in (request.config.getoption("markexpr") or "") or "not stress" in request.config.getoption("markexpr"):
        pytest.skip("the long form: run it with -m stress")
    return int(os.environ.get("ZOOCARDS_STRESS_PAIRS", "10"))


@pytest.fixture
def project(tmp_path: Path) -> build.Project:
    """A small zoo (synthetic families, no search plugin) in a throwaway copy of the project."""
    project = copy_project(tmp_path / "zoo", search=False)
    for generated in write.GENERATED_DIRS:  # what a build in the repository left there: start from none
        shutil.rmtree(project.docs_dir / generated, ignore_errors=True)
    synthetic.write_zoo(project.cards_dir, FAMILIES, seed=0)
    return project


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZOOCARDS_")}
    return {**env, "PYTHONPATH": str(ROOT), "NO_MKDOCS_2_WARNING": "1"}


def start(project: build.Project, *args: str, script: str | None = None) -> subprocess.Popen[str]:
    """`zoocards ARGS` (or `python -c SCRIPT ARGS`) in the project, in a session of its own."""
    command = [sys.executable, "-c", script, *args] if script else [ZOOCARDS, "--root", str(project.root), *args]
    return subprocess.Popen(command, cwd=project.root, env=environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)


def finish(process: subprocess.Popen[str], timeout: float = 300) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


def leftovers(project: build.Project) -> list[str]:
    """Staging directories and staged pages that no run is using any more."""
    beside = [p.name for p in project.root.iterdir() if p.name.startswith((".site.new", ".site.old"))]
    staged = [str(p.relative_to(project.docs_dir)) for d in write.GENERATED_DIRS for p in (project.docs_dir / d).rglob(".*.tmp")]
    return sorted(beside + staged)


def assert_complete(project: build.Project) -> None:
    """site/ is a whole site: both languages, every family page of the cards there are now and no other."""
    site = project.site_dir
    assert (site / "index.html").is_file() and (site / "en" / "index.html").is_file(), "a language is missing"
    families = sorted(p.stem for p in project.cards_dir.glob("*.yaml"))
    for prefix in (site / "models", site / "en" / "models"):
        built = sorted(p.name for p in prefix.iterdir() if (p / "index.html").is_file())
        assert built == families, f"{prefix}: the family pages are not those of the cards"
    assert leftovers(project) == []


def waited_for(stderr: str, what: str, pid: int, command: str) -> bool:
    """Whether a run said it waited for `what` of process `pid`, whose command line starts with `command`."""
    said = rf"^zoocards: waiting for the {what} of pid {pid} \({re.escape(command)}.*\), started \d\d:\d\d:\d\d$"
    return re.search(said, stderr, re.MULTILINE) is not None and re.search(r"^zoocards: waited \d+\.\d s; going on$", stderr, re.MULTILINE) is not None


def add_family(project: build.Project, index: int) -> str:
    """One more synthetic family, as a contributor adds a card between two builds."""
    path = project.cards_dir / f"{synthetic.family_id(index)}.yaml"
    path.write_text(synthetic.card_text(index, seed=0), encoding="utf-8")
    return path.stem


def build_pair(project: build.Project, offset: float, new_family: int) -> dict[str, Any]:
    """Two `zoocards build`s, the second started `offset` s after the first and after a card was added."""
    first = start(project, "build")
    time.sleep(offset)
    add_family(project, new_family)  # the second build's work: a site without this family is a site it did not build
    second = start(project, "build")
    results = [finish(first), finish(second)]
    return {"offset": offset, "codes": [code for code, _, _ in results], "errors": [err for _, _, err in results], "pids": [first.pid, second.pid]}


def check_pair(project: build.Project, pair: dict[str, Any]) -> None:
    assert pair["codes"] == [0, 0], f"offset {pair['offset']:.2f} s (seed {SEED}):\n" + "\n".join(e[-2000:] for e in pair["errors"])
    assert_complete(project)
    for waiter, holder in ((1, 0), (0, 1)):  # whichever waited said for whom
        if "waiting for" in pair["errors"][waiter]:
            assert waited_for(pair["errors"][waiter], "build", pair["pids"][holder], "zoocards --root ")


@pytest.mark.timeout(300)
def test_two_builds_at_a_random_offset_leave_a_complete_site(project: build.Project) -> None:
    offset = random.Random(SEED).uniform(0.0, 1.0)
    check_pair(project, build_pair(project, offset, FAMILIES))


def test_a_card_added_while_mkdocs_starts_is_listed_exactly_when_it_has_a_page(project: build.Project) -> None:
    """The race seed 41562942 hit (0.88 s): a card added after mkdocs read its configuration but before
    the pages were generated got a page and no nav entry, and the strict build failed. The nav now
    comes from the cards the generation read; a second language's build lists what its own saw."""
    from mkdocs.config import load_config

    config = load_config(str(project.root / "mkdocs.yml"))
    plugin = config.plugins["zoocards"]
    config = plugin.on_config(config)
    added = add_family(project, FAMILIES)  # after on_config, before the generation
    plugin.on_pre_build(config=config)
    listed = set(_nav_pages(config.nav))
    assert (project.docs_dir / "models" / f"{added}.zh.md").is_file() and f"models/{added}.md" in listed
    families = {f"models/{p.stem}.md" for p in project.cards_dir.glob("*.yaml")}
    assert families <= listed
    later = add_family(project, FAMILIES + 1)  # between the two languages' builds: listed once, with its page
    plugin.on_pre_build(config=config)
    listed_again = [page for page in _nav_pages(config.nav) if page.startswith("models/") and page != "models/index.md"]
    assert f"models/{later}.md" in listed_again and len(listed_again) == len(set(listed_again)) == FAMILIES + 2


def _nav_pages(nav: Any) -> list[str]:
    """The pages a nav lists, in order, repeats included."""
    if isinstance(nav, str):
        return [nav]
    if isinstance(nav, dict):
        return [page for value in nav.values() for page in _nav_pages(value)]
    return [page for item in nav for page in _nav_pages(item)] if isinstance(nav, list) else []


@pytest.mark.stress
@pytest.mark.timeout(3600)
def test_pairs_of_builds_at_offsets_up_to_two_seconds_leave_a_complete_site_every_time(project: build.Project, stress: int) -> None:
    rng = random.Random(SEED)
    for pair in range(stress):
        check_pair(project, build_pair(project, rng.uniform(0.0, 2.0), FAMILIES + pair))


# What `mkdocs serve` does on each rebuild, in a process of its own: the zoocards plugin's
# on_pre_build. Each round edits one card's prose (so each round generates and writes) until
# the stop file appears; then one more generation, from scratch, reports what it would change.
# The first round's generation takes up to SLOW_S longer after it has read the inputs, as a
# large zoo's rendering does: the test adds a card and starts a build meanwhile. (It ends its
# wait early if the build writes that card's page: without the lock, that is the moment
# this generation, which never read the card, would remove the page as stale.)
SERVE = textwrap.dedent("""
    import json, os, sys, time
    from pathlib import Path
    from mkdocs.config import load_config
    from zoocards import build
    root, stop, slow_s, late_page = Path(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3]), Path(sys.argv[4])
    config = load_config(config_file=str(root / "mkdocs.yml"))
    plugin = config.plugins["zoocards"]
    plugin.on_config(config)
    card = root / "cards" / "synth-00000.yaml"
    original = card.read_text(encoding="utf-8")
    loaded = build.load_and_check
    rounds, errors = 0, []

    def slow_first_round(*args, **kwargs):
        cards = loaded(*args, **kwargs)
        if rounds == 0:
            print("generating", file=sys.stderr, flush=True)
            until = time.monotonic() + slow_s
            while time.monotonic() < until and not late_page.exists():
                time.sleep(0.01)
        return cards

    build.load_and_check = slow_first_round
    while not stop.exists() or rounds == 0:
        aside = card.with_name(".edit")  # as editors save: the build never reads half a card
        aside.write_text(original.replace("synthetic family", f"synthetic family (edit {rounds})", 1), encoding="utf-8")
        os.replace(aside, card)
        try:
            plugin.on_pre_build(config)
        except Exception as error:
            errors.append(repr(error))
        rounds += 1
    card.write_text(original, encoding="utf-8")
    plugin.on_pre_build(config)
    plugin.generated = None  # as a restarted serve: what would one more generation change?
    plugin.on_pre_build(config)
    report = plugin.generated.report
    print(json.dumps({"rounds": rounds, "errors": errors, "written": report.written, "removed": report.removed}))
""")


@pytest.mark.timeout(300)
def test_a_build_while_serve_generates_leaves_a_complete_site_and_serve_settles(project: build.Project, tmp_path: Path) -> None:
    stop = tmp_path / "stop"
    late_page = project.docs_dir / "models" / f"{synthetic.family_id(FAMILIES)}.en.md"
    serve = start(project, str(project.root), str(stop), "6", str(late_page), script=SERVE)
    assert serve.stderr is not None
    while serve.stderr.readline() != "generating\n":  # serve has read the inputs and is rendering
        assert serve.poll() is None, "the serve loop stopped before its first generation"
    late = add_family(project, FAMILIES)  # a card serve's generation did not read: it must not remove the build's pages of it
    builder = start(project, "build")
    code, _, err = finish(builder)
    stop.touch()
    out, serve_err = serve.communicate(timeout=120)
    assert code == 0, err[-3000:]
    assert serve.returncode == 0, serve_err[-3000:]
    report = json.loads(out.splitlines()[-1])
    assert report["errors"] == [] and report["rounds"] >= 2
    assert (report["written"], report["removed"]) == ([], []), "serve would write again: it would reload more than once"
    assert_complete(project)
    assert late_page.is_file() and late_page.stem == f"{late}.en"
    assert waited_for(err, "page generation", serve.pid, "-c "), "the build did not wait for serve's generation"


# `zoocards verify` with a fake worker: each job sleeps a little and returns a record naming the
# process that measured it, saved as it comes (as test_measure.py's Recorder stands in for
# run_jobs, here in a subprocess, so two verifies really run side by side).
FAKE_VERIFY = textwrap.dedent("""
    import os, random, sys, time
    from zoocards import cli, measure
    def fake_run_jobs(jobs, root, **options):
        done = []
        for job in jobs:
            time.sleep(random.uniform(0.02, 0.2))
            record = {"model": job.model, "kind": job.kind, "key": job.key, "inputs": job.inputs, "status": "ok", "reason": None,
                      "result": {"params": 314, "macs": 1728, "outputs": 10}, "measured_at": "2026-11-23T15:00:00Z",
                      "duration_s": 0.1, "env": {"pid": os.getpid()}}
            options["on_record"](job, record)
            done.append((job, record))
        return done
    measure.run_jobs = fake_run_jobs
    sys.exit(cli.main(sys.argv[1:]))
""")
MODELS = [f"Tiny_{letter}" for letter in "ABCDEF"]


def write_measured_card(project: build.Project) -> None:
    models = "".join(f"  - {{name: {name}, builder: 'tests.fake_builders:TinyNet', input_size: 8, metrics: {{params: 0.314}}}}\n" for name in MODELS)
    (project.cards_dir / "tiny.yaml").write_text(
        "schema_version: 1\nid: tiny\nname: {zh: 小网络, en: Tiny}\nsummary: {zh: 测试卡片。, en: A test card.}\n"
        "task: image-classification\ndataset: ImageNet-1k\nunits: {accuracy: fraction, flops: {scale: M, convention: MACs}, params: K}\n"
        "models:\n" + models, encoding="utf-8")


def verify_pair(project: build.Project, first: list[str], second: list[str], offset: float) -> None:
    """Two verifies of the card `tiny`, of overlapping models, the second `offset` s after the first."""
    a = start(project, "--root", str(project.root), "verify", "--kinds", "count,export", "--models", ",".join(first), "--force", script=FAKE_VERIFY)
    time.sleep(offset)
    b = start(project, "--root", str(project.root), "verify", "--kinds", "count,export", "--models", ",".join(second), "--force", script=FAKE_VERIFY)
    results = [finish(a, 120), finish(b, 120)]
    assert [code for code, _, _ in results] == [0, 0], "\n".join(err[-2000:] for _, _, err in results)
    records = measure.load_records(project.measurements_dir, "tiny")  # raises on a torn or invalid file
    found = sorted((r["model"], r["kind"]) for r in records)
    assert found == sorted((m, k) for m in set(first) | set(second) for k in ("count", "export")), "a record was lost"
    measurers = {r["env"]["pid"] for r in records if r["model"] in set(first) - set(second)}
    assert measurers == {a.pid}, "a model only the first verify measured is not its record"
    assert {r["env"]["pid"] for r in records if r["model"] in set(second) - set(first)} == {b.pid}


@pytest.mark.timeout(300)
def test_two_verifies_of_one_card_lose_no_record(project: build.Project) -> None:
    write_measured_card(project)
    verify_pair(project, MODELS[:4], MODELS[2:], offset=0.0)


@pytest.mark.stress
@pytest.mark.timeout(1800)
def test_many_verifies_of_one_card_lose_no_record(project: build.Project, stress: int) -> None:
    write_measured_card(project)
    rng = random.Random(SEED)
    for _ in range(stress):
        (project.measurements_dir / "tiny.json").unlink(missing_ok=True)
        first, second = rng.sample(MODELS, 3), rng.sample(MODELS, 3)
        verify_pair(project, first, second, rng.uniform(0.0, 0.5))


# A stand-in holder of the lock, named as `zoocards build` would be: takes it, says so, and
# keeps it until its stdin closes.
HOLDER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from zoocards.lock import project_lock
    root = Path(sys.argv[1])
    sys.argv = ["zoocards", "build"]
    with project_lock(root, what="build"):
        print("held", flush=True)
        sys.stdin.read()
""")


def hold(project: build.Project) -> tuple[subprocess.Popen[str], str]:
    """Start a holder; return it and the words that name it in messages."""
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(project.root)], cwd=project.root, env=environment(), stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, start_new_session=True)
    assert holder.stdout is not None and holder.stdout.readline() == "held\n"
    info = json.loads(lock.lock_path(project.root).read_text(encoding="utf-8"))
    started = time.strftime("%H:%M:%S", time.localtime(info["started"]))
    return holder, f"the build of pid {holder.pid} (zoocards build), started {started}"


def release(holder: subprocess.Popen[str]) -> None:
    assert holder.stdin is not None
    holder.stdin.close()
    holder.wait(timeout=30)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("command", [["build"], ["cards", "--no-verify"], ["render"], ["verify"]], ids=["build", "cards", "render", "verify"])
def test_no_wait_exits_1_naming_the_holder_and_writes_nothing(project: build.Project, command: list[str]) -> None:
    holder, named = hold(project)
    try:
        code, out, err = finish(start(project, *command, "--no-wait"), 60)
    finally:
        release(holder)
    assert code == 1
    assert err == (f"zoocards: {named}, holds this project's lock ({lock.lock_path(project.root)}): "
                   "run again when it has finished, or without --no-wait to wait for it\n")
    assert not (project.docs_dir / "models").exists() and not project.site_dir.exists()


@pytest.mark.timeout(120)
def test_a_second_run_waits_saying_for_whom_then_does_its_work(project: build.Project) -> None:
    holder, named = hold(project)
    render = start(project, "render")
    try:
        assert render.stderr is not None
        assert render.stderr.readline() == f"zoocards: waiting for {named}\n"
        time.sleep(0.5)
        assert render.poll() is None and not (project.docs_dir / "models").exists(), "it did not wait"
    finally:
        release(holder)
    code, out, err = finish(render, 60)
    assert code == 0 and re.match(r"zoocards: waited \d+\.\d s; going on\n", err)
    assert out.endswith("0 removed\n") and (project.docs_dir / "models" / f"{synthetic.family_id(0)}.zh.md").is_file()


@pytest.mark.timeout(60)
def test_a_killed_holder_never_blocks(project: build.Project) -> None:
    holder, _ = hold(project)
    os.killpg(holder.pid, signal.SIGKILL)
    holder.wait(timeout=30)
    code, _, err = finish(start(project, "render", "--no-wait"), 60)
    assert code == 0, err


@pytest.mark.timeout(300)
@pytest.mark.parametrize("sig, code, said", [
    (signal.SIGTERM, 143, "zoocards: terminated\n"),  # `kill PID`, a CI job cancelled
    (signal.SIGINT, 130, "zoocards: interrupted\n"),  # Ctrl-C, as a signal to the process alone
], ids=["sigterm", "sigint"])
def test_a_build_stopped_while_mkdocs_writes_removes_its_staging_and_keeps_the_site(project: build.Project, sig: signal.Signals, code: int, said: str) -> None:
    (project.site_dir / "en").mkdir(parents=True)
    (project.site_dir / "index.html").write_text("previous", encoding="utf-8")
    process = start(project, "build")
    # mkdocs has started writing (theme assets first, then each language's pages): the signal then
    # lands seconds before the build could finish, even on a loaded host (waiting for the pages
    # themselves left a window small enough to miss)
    staged = lambda: any(any(p.iterdir()) for p in project.root.glob(".site.new-*") if p.is_dir())  # noqa: E731
    deadline = time.monotonic() + 240
    while not staged():
        assert process.poll() is None and time.monotonic() < deadline, "the build ended before mkdocs wrote its pages"
        time.sleep(0.005)
    os.kill(process.pid, sig)  # the zoocards process alone, as `kill PID` does: it must stop its mkdocs child itself
    returned, _, err = finish(process, 60)
    assert (returned, err[-len(said):]) == (code, said)
    assert (project.site_dir / "index.html").read_text(encoding="utf-8") == "previous"
    assert leftovers(project) == []


def test_the_lock_is_reentrant_within_a_process_whichever_thread_asks(tmp_path: Path) -> None:
    """`zoocards cards` holds it while measurement threads save and mkdocs generates in process."""
    entered = []

    def save() -> None:  # as a measurement thread of `zoocards cards` saves a record
        with lock.project_lock(tmp_path, wait=False):  # LockHeld if the process' own lock were a stranger's
            entered.append(True)

    with lock.project_lock(tmp_path):
        with lock.project_lock(tmp_path, wait=False):
            worker = threading.Thread(target=save)
            worker.start()
            worker.join(timeout=10)
        assert entered == [True] and lock.holds(tmp_path)
    assert not lock.holds(tmp_path)


def test_a_child_works_under_the_lock_its_parent_hands_down(tmp_path: Path) -> None:
    """`zoocards build` runs mkdocs in a child: the child's generation must not wait for its own parent."""
    child = "import sys; from pathlib import Path; from zoocards.lock import project_lock\nwith project_lock(Path(sys.argv[1]), wait=False): print('ok')"
    with lock.project_lock(tmp_path):
        env, fds = lock.for_child(tmp_path, environment())
        handed = subprocess.run([sys.executable, "-c", child, str(tmp_path)], env=env, pass_fds=fds, capture_output=True, text=True, timeout=60)
        plain = subprocess.run([sys.executable, "-c", child, str(tmp_path)], env=environment(), capture_output=True, text=True, timeout=60)
    assert (handed.returncode, handed.stdout) == (0, "ok\n"), handed.stderr
    assert plain.returncode == 1 and "holds this project's lock" in plain.stderr  # LockHeld: a stranger is not let in


@pytest.mark.parametrize("failure", [KeyboardInterrupt, build.ZoocardsError], ids=["ctrl-c", "mkdocs-error"])
def test_build_site_removes_its_staging_on_every_way_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: type[BaseException]) -> None:
    project = build.Project.at(tmp_path)
    project.site_dir.mkdir()
    (project.site_dir / "index.html").write_text("previous", encoding="utf-8")

    def failing(project: build.Project, fresh: Path, strict: bool) -> None:
        (fresh / "models").mkdir()
        raise failure("stopped")

    monkeypatch.setattr(build, "_mkdocs_build_here", failing)
    with pytest.raises(failure):
        build.build_site(project, in_process=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".cache", "site"]
    assert (project.site_dir / "index.html").read_text(encoding="utf-8") == "previous"


def test_leftovers_of_killed_runs_are_cleared_and_a_site_left_aside_is_put_back(tmp_path: Path) -> None:
    site = tmp_path / "site"
    for name in (".site.new", ".site.new-999999-abc", ".site.old-999998", f".site.new-{os.getpid()}-mine"):
        (tmp_path / name).mkdir()
    (tmp_path / ".site.old-999998" / "index.html").write_text("previous", encoding="utf-8")  # killed between the two renames of a swap
    removed = write.clear_leftovers(site)
    assert sorted(p.name for p in removed) == [".site.new", ".site.new-999999-abc"]
    assert (site / "index.html").read_text(encoding="utf-8") == "previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == [f".site.new-{os.getpid()}-mine", "site"]  # this run's own staging stays
